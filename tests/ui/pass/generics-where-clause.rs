#![deny(warnings)]

use std::fmt::Display;

#[heapmeter::profile_memory]
fn join<T, U>(items: &[T], separator: U) -> String
where
    T: Display,
    U: AsRef<str>,
{
    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
    parts.join(separator.as_ref())
}

fn main() {
    assert_eq!(join(&[1, 2], ", "), "1, 2");
}
