struct Buffer(Vec<u8>);

#[heapmeter::profile_memory]
impl Buffer {
    #[profile_memory(skip, name = "buffer.len")]
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {
    let _ = Buffer(Vec::new()).len();
}
