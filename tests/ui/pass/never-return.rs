#![deny(warnings, unreachable_code)]

#[heapmeter::profile_memory]
fn fail(message: &str) -> ! {
    panic!("{message}")
}

#[heapmeter::profile_memory]
async fn fail_later(message: &str) -> ! {
    panic!("{message}")
}

fn main() {
    // The panic is expected; keep its message out of the test output.
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| fail("stop"));
    assert!(result.is_err());
    drop(fail_later("later"));
}
