#![deny(warnings)]

#[heapmeter::profile_memory]
fn squares(n: u64) -> Vec<u64> {
    (0..n).map(|i| i * i).collect()
}

#[heapmeter::profile_memory]
pub(crate) fn nothing() {}

fn main() {
    assert_eq!(squares(3), [0, 1, 4]);
    nothing();
}
