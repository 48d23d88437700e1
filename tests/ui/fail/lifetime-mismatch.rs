#[heapmeter::profile_memory]
fn shorter<'a>(text: &'a str, other: &str) -> &'a str {
    if text.len() > other.len() { text } else { other }
}

fn main() {
    let _ = shorter("a", "b");
}
