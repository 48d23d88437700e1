#[heapmeter::profile_memory]
fn parse(input: &str) -> usize {
    let x:
}

fn main() {
    let _ = parse("x");
}
