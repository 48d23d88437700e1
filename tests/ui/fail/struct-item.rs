#[heapmeter::profile_memory]
#[derive(Debug)]
struct Buffer(Vec<u8>);

fn main() {
    let _ = Buffer(Vec::new());
}
