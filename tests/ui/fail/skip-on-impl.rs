struct Buffer(Vec<u8>);

#[heapmeter::profile_memory(skip)]
impl Buffer {
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {
    let _ = Buffer(Vec::new()).len();
}
