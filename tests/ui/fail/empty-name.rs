#[heapmeter::profile_memory(name = "")]
fn parse(input: &str) -> Vec<u8> {
    input.as_bytes().to_vec()
}

fn main() {
    let _ = parse("x");
}
