//! Per-thread accounting across threads: concurrent callers, frees on another
//! thread, panics, and thread teardown.
//!
//! The tracking allocator is process-wide, so these tests have their own test
//! binary, and each test uses its own sites.

use std::hint::black_box;
use std::panic;
use std::sync::Barrier;
use std::thread;

use heapmeter::{Guard, Site};

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

macro_rules! site {
    ($name:literal) => {{
        static SITE: Site = Site::new($name, "threads_test", file!(), line!());
        &SITE
    }};
}

fn boxed_kilobyte() -> Box<[u8; 1024]> {
    let _guard = Guard::enter(site!("boxed_kilobyte"));
    Box::new([7u8; 1024])
}

#[test]
fn two_threads_same_function() {
    let barrier = Barrier::new(2);
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..500 {
                    black_box(boxed_kilobyte());
                }
            });
        }
    });
    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("boxed_kilobyte").expect("recorded");
    assert_eq!(stats.calls, 1000);
    assert_eq!(stats.inclusive.allocated, 1000 * 1024);
    assert_eq!(stats.inclusive.allocations, 1000);
    assert_eq!(stats.inclusive.freed, 0);
    assert_eq!(stats.allocated_per_call.min(), Some(1024));
    assert_eq!(stats.allocated_per_call.max(), Some(1024));
}

fn produce() -> Vec<u8> {
    let _guard = Guard::enter(site!("produce"));
    vec![1u8; 1 << 20]
}

#[test]
fn freed_on_another_thread() {
    let buffer = produce();
    thread::spawn(move || drop(black_box(buffer))).join().expect("join");

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("produce").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 1 << 20);
    assert_eq!(stats.retained(), 1 << 20);
    assert_eq!(stats.peak_max, 1 << 20);
}

fn live_probe(foreign: Vec<u8>) -> usize {
    let _guard = Guard::enter(site!("live_probe"));
    // Freeing memory another thread allocated drives this thread's live bytes
    // below the entry level; figures after that must still be exact.
    drop(foreign);
    let kept = black_box(vec![0u8; 512]);
    kept.len()
}

#[test]
fn peak_after_negative_live() {
    let foreign = thread::spawn(|| vec![0u8; 4096]).join().expect("join");
    black_box(live_probe(foreign));

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("live_probe").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 512);
    assert_eq!(stats.inclusive.freed, 4096 + 512);
    assert_eq!(stats.retained(), -4096);
    assert_eq!(stats.peak_max, 0, "live bytes never rose above the entry level");
}

fn panics_after_allocating() {
    let _guard = Guard::enter(site!("panics_after_allocating"));
    let buffer = black_box(vec![0u8; 2048]);
    if buffer.len() == 2048 {
        #[allow(clippy::panic, reason = "the test needs a panic that unwinds")]
        panic::panic_any("expected test panic");
    }
}

#[test]
fn panic_records_one_call() {
    let result = panic::catch_unwind(panics_after_allocating);
    let payload = result.expect_err("the function panics");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"expected test panic"));

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("panics_after_allocating").expect("recorded");
    assert_eq!(stats.calls, 1);
    // The panic machinery allocates too (payload, message, backtrace), so
    // only lower bounds are exact here.
    assert!(stats.inclusive.allocated >= 2048, "allocated {}", stats.inclusive.allocated);
    assert!(stats.inclusive.freed >= 2048, "the buffer is dropped while unwinding");
}

thread_local! {
    static ON_EXIT: DropAllocates = const { DropAllocates };
}

struct DropAllocates;

impl Drop for DropAllocates {
    fn drop(&mut self) {
        // Runs during thread teardown, possibly after heapmeter's own exit
        // hook: an instrumented call and plain allocations must not crash.
        let _guard = Guard::enter(site!("during_teardown"));
        black_box(vec![0u8; 256]);
    }
}

#[test]
fn teardown_allocations_survive() {
    let before = heapmeter::process_totals();
    for _ in 0..4 {
        thread::spawn(|| {
            ON_EXIT.with(|_| ());
            let _guard = Guard::enter(site!("before_teardown"));
            println!("{}", black_box(String::from("allocating thread")));
        })
        .join()
        .expect("join");
    }
    let snapshot = heapmeter::snapshot();
    assert_eq!(snapshot.function("before_teardown").map(|stats| stats.calls), Some(4));
    let during = snapshot.function("during_teardown").expect("recorded");
    assert_eq!(during.calls, 4);
    assert_eq!(during.inclusive.allocated, 4 * 256);
    let after = heapmeter::process_totals();
    assert!(after.allocated - before.allocated >= 4 * 256);
}

fn sums_without_allocating(values: &[u64]) -> u64 {
    let _guard = Guard::enter(site!("sums_without_allocating"));
    values.iter().sum()
}

#[test]
fn other_threads_not_charged() {
    let values: Vec<u64> = (0..64).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                black_box(vec![0u8; 100]);
            }
        });
        for _ in 0..10_000 {
            black_box(sums_without_allocating(black_box(&values)));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("sums_without_allocating").expect("recorded");
    assert_eq!(stats.calls, 10_000);
    assert_eq!(stats.inclusive.allocated, 0);
    assert_eq!(stats.inclusive.freed, 0);
    assert_eq!(stats.inclusive.allocations, 0);
}
