struct Buffer(Vec<u8>);

#[heapmeter::profile_memory]
impl Buffer {
    #[profile_memory(name = "buffer.len")]
    #[profile_memory(skip)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {
    let _ = Buffer(Vec::new()).len();
}
