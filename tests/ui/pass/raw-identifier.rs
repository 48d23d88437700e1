#![deny(warnings)]

#[heapmeter::profile_memory]
fn r#match(input: &str) -> bool {
    input.is_empty()
}

fn main() {
    assert!(r#match(""));
}
