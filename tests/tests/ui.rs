//! Compile tests of `#[profile_memory]`: `ui/pass` cases must build and run,
//! `ui/fail` cases must fail with the diagnostics in their `.stderr` files.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
