#![deny(warnings)]

#[heapmeter::profile_memory]
fn shadowing() -> u32 {
    #![allow(clippy::let_and_return)]
    let value = 1;
    value
}

#[heapmeter::profile_memory]
async fn shadowing_later() -> u32 {
    #![allow(clippy::let_and_return)]
    let value = 1;
    value
}

fn main() {
    assert_eq!(shadowing(), 1);
    drop(shadowing_later());
}
