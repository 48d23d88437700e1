//! Process-wide totals. This file contains a single test because any other test
//! running in the same process would move the totals it compares.

use std::hint::black_box;
use std::thread;

use heapmeter::{Guard, Site};

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

fn produce() -> Vec<u8> {
    static SITE: Site = Site::new("produce", "process_totals_test", file!(), line!());
    let _guard = Guard::enter(&SITE);
    vec![1u8; 1 << 20]
}

#[test]
fn live_bytes_return_to_baseline() {
    // Warm up: the first instrumented call sets up the thread, and the first
    // spawn initialises the standard library's thread machinery, whose
    // allocations stay live.
    let warm_up = produce();
    thread::spawn(move || drop(black_box(warm_up))).join().expect("join");
    let _ = heapmeter::snapshot();

    let baseline = heapmeter::process_live_bytes();
    let buffer = produce();
    let with_buffer = heapmeter::process_live_bytes();
    thread::spawn(move || drop(black_box(buffer))).join().expect("join");
    let after = heapmeter::process_live_bytes();

    assert_eq!(with_buffer - baseline, 1 << 20);
    assert_eq!(after, baseline);

    // A snapshot is the caller's memory: taking and dropping them leaves the
    // application's live bytes where they were.
    for _ in 0..100 {
        drop(black_box(heapmeter::snapshot()));
    }
    assert_eq!(heapmeter::process_live_bytes(), baseline);
}
