#[heapmeter::profile_memory]
const fn seven() -> u8 {
    7
}

fn main() {
    // The function is still emitted, so this call raises no second error.
    let _ = seven();
}
