#![deny(warnings)]

#[heapmeter::profile_memory]
fn filled<const N: usize>(value: u8) -> Vec<[u8; N]> {
    vec![[value; N]; 2]
}

fn main() {
    assert_eq!(filled::<3>(7), [[7; 3]; 2]);
}
