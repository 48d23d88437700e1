#![deny(warnings)]

#[heapmeter::profile_memory]
extern "C" fn callback(count: usize) -> usize {
    vec![0u8; count].len()
}

#[unsafe(no_mangle)]
#[heapmeter::profile_memory]
pub extern "C" fn heapmeter_ui_exported(count: usize) -> usize {
    vec![0u8; count].len()
}

fn main() {
    assert_eq!(callback(4), 4);
    assert_eq!(heapmeter_ui_exported(2), 2);
}
