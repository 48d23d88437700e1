#![deny(unused_variables)]

#[heapmeter::profile_memory]
pub fn ignore(unused_arg: u32) {}

fn main() {
    ignore(1);
}
