//! Exact figures recorded by `Guard`, on sizes the tests allocate on purpose.
//!
//! The tracking allocator is process-wide, so these tests have their own test
//! binary. Each test uses its own sites, and figures are per thread, so the
//! tests stay exact while the harness runs them in parallel.

use std::hint::black_box;

use heapmeter::{Guard, Site};

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

macro_rules! site {
    ($name:literal) => {{
        static SITE: Site = Site::new($name, "guard_test", file!(), line!());
        &SITE
    }};
}

fn collect_thousand() -> Vec<u64> {
    let _guard = Guard::enter(site!("collect_thousand"));
    (0..1000).collect()
}

#[test]
fn three_calls_of_collect() {
    for _ in 0..3 {
        black_box(collect_thousand());
    }
    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("collect_thousand").expect("recorded");
    assert_eq!(stats.calls, 3);
    assert_eq!(stats.inclusive.allocated, 24_000);
    assert_eq!(stats.inclusive.allocations, 3);
    assert_eq!(stats.allocated_per_call.min(), Some(8000));
    assert_eq!(stats.allocated_per_call.max(), Some(8000));
    assert_eq!(stats.peak_max, 8000);
}

fn inner_allocates() -> Vec<u8> {
    let _guard = Guard::enter(site!("inner_allocates"));
    let scratch = black_box(vec![0u8; 4096]);
    drop(scratch);
    Vec::with_capacity(1024)
}

fn outer_calls_inner() -> usize {
    let _guard = Guard::enter(site!("outer_calls_inner"));
    let own = black_box(Vec::<u8>::with_capacity(100));
    let kept = inner_allocates();
    kept.capacity() + own.capacity()
}

#[test]
fn nested_inclusive_and_self() {
    black_box(outer_calls_inner());
    let snapshot = heapmeter::snapshot();
    let inner = snapshot.function("inner_allocates").expect("inner recorded");
    assert_eq!(inner.inclusive.allocated, 4096 + 1024);
    assert_eq!(inner.inclusive.freed, 4096);
    assert_eq!(inner.retained(), 1024);
    assert_eq!(inner.peak_max, 4096);

    let outer = snapshot.function("outer_calls_inner").expect("outer recorded");
    assert_eq!(outer.inclusive.allocated, 100 + 4096 + 1024);
    assert_eq!(outer.inclusive.allocations, 3);
    assert_eq!(outer.inclusive.freed, 4096 + 1024 + 100);
    assert_eq!(outer.exclusive.allocated, 100);
    assert_eq!(outer.exclusive.allocations, 1);
    assert_eq!(outer.exclusive.freed, 1024 + 100);
    // Inclusive peak: 100 bytes of its own plus the inner call's 4096.
    assert_eq!(outer.peak_max, 100 + 4096);
    assert_eq!(outer.exclusive_peak_max, 100);
}
