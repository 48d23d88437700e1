#[heapmeter::profile_memory(skip)]
fn parse(input: &str) -> Vec<u8> {
    input.as_bytes().to_vec()
}

fn main() {
    let _ = parse("x");
}
