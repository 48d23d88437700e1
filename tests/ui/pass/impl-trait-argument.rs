#![deny(warnings)]

#[heapmeter::profile_memory]
fn collect_all(items: impl IntoIterator<Item = u8>) -> Vec<u8> {
    items.into_iter().collect()
}

fn main() {
    assert_eq!(collect_all([1, 2]), [1, 2]);
}
