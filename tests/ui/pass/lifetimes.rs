#![deny(warnings)]

#[heapmeter::profile_memory]
fn longest<'a, 'b: 'a>(first: &'a str, second: &'b str) -> &'a str {
    if first.len() >= second.len() { first } else { second }
}

#[heapmeter::profile_memory]
fn push_and_get(v: &mut Vec<String>) -> &mut String {
    v.push(String::from("x"));
    v.last_mut().unwrap()
}

fn main() {
    assert_eq!(longest("ab", "abc"), "abc");
    let mut strings = Vec::new();
    push_and_get(&mut strings).push('y');
    assert_eq!(strings, ["xy"]);
}
