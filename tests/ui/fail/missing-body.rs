trait Store {
    #[heapmeter::profile_memory]
    fn load(&self) -> Vec<u8>;
}

fn main() {}
