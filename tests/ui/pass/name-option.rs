#![deny(warnings)]

#[heapmeter::profile_memory(name = "config.parse")]
fn parse(input: &str) -> Vec<u8> {
    input.as_bytes().to_vec()
}

#[heapmeter::profile_memory(name = "config.load",)]
async fn load() -> Vec<u8> {
    parse("x")
}

fn main() {
    assert_eq!(parse("ab"), b"ab");
    drop(load());
}
