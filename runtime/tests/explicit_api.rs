//! The explicit API for code the attribute cannot reach: `scope!` for a
//! region of a block and `instrument!` for any future.
//!
//! The tracking allocator is process-wide, so these tests have their own
//! test binary, and each test uses its own names.

#![cfg(not(feature = "off"))]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

/// Returns `Pending` once, then `Ready`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            context.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls `future` to completion on this thread, running `between` after
/// each `Pending` as other work on the same thread would.
fn block_on<F: Future>(future: F, mut between: impl FnMut()) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        between();
    }
}

#[test]
fn scope_measures_rest_of_block() {
    let before = black_box(vec![0u8; 100]);
    {
        let _region = heapmeter::scope!("explicit.region");
        black_box(vec![0u8; 300]);
        black_box(Box::new(7u64));
    }
    drop(before);

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("explicit.region").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 308);
    assert_eq!(stats.inclusive.allocations, 2);
    assert_eq!(stats.inclusive.freed, 308);
    assert_eq!(stats.peak_max, 300);
}

#[test]
fn instrument_measures_only_polls() {
    let future = async {
        let first = vec![0u8; 1000];
        YieldOnce(false).await;
        let second = vec![0u8; 2000];
        first.len() + second.len()
    };
    let mut interleaved = Vec::new();
    let total = block_on(heapmeter::instrument!("explicit.future", future), || {
        // Work between polls on the same thread is not the future's.
        interleaved.push(vec![0u8; 5000]);
    });
    assert_eq!(total, 3000);
    assert_eq!(interleaved.len(), 1);

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("explicit.future").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 3000);
    assert_eq!(stats.inclusive.allocations, 2);
    assert_eq!(stats.inclusive.freed, 3000);
    assert_eq!(stats.peak_max, 3000);
}

#[test]
fn nested_future_counts_as_child() {
    let inner = async {
        YieldOnce(false).await;
        vec![0u8; 64]
    };
    let outer = async {
        let own = black_box(vec![0u8; 32]);
        let child = heapmeter::instrument!("explicit.inner", inner).await;
        own.len() + child.len()
    };
    assert_eq!(block_on(heapmeter::instrument!("explicit.outer", outer), || ()), 96);

    let snapshot = heapmeter::snapshot();
    let outer_stats = snapshot.function("explicit.outer").expect("outer recorded");
    assert_eq!(outer_stats.inclusive.allocated, 96);
    assert_eq!(outer_stats.exclusive.allocated, 32);
    let inner_stats = snapshot.function("explicit.inner").expect("inner recorded");
    assert_eq!(inner_stats.inclusive.allocated, 64);
    assert_eq!(inner_stats.retained(), 64);
}

#[test]
fn cancelled_future_frees_inside_call() {
    let future = async {
        let held = black_box(vec![0u8; 4096]);
        YieldOnce(false).await;
        held.len()
    };
    let mut future = Box::pin(heapmeter::instrument!("explicit.cancelled", future));
    let mut context = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut context).is_pending());
    drop(future);

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("explicit.cancelled").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 4096);
    assert_eq!(stats.inclusive.freed, 4096, "the held vector is freed as the call is dropped");
    assert_eq!(stats.retained(), 0);
}

/// Drives a two-poll future to completion from its destructor, which runs
/// while the thread unwinds from a panic.
struct PollsWhileUnwinding;

impl Drop for PollsWhileUnwinding {
    fn drop(&mut self) {
        let future = async {
            let first = black_box(vec![0u8; 100]);
            YieldOnce(false).await;
            let second = black_box(vec![0u8; 900]);
            first.len() + second.len()
        };
        assert_eq!(block_on(heapmeter::instrument!("explicit.unwinding", future), || ()), 1000);
    }
}

#[test]
fn polls_during_unwinding_measured() {
    let result = std::panic::catch_unwind(|| {
        let _cleanup = PollsWhileUnwinding;
        std::panic::resume_unwind(Box::new("expected test panic"));
    });
    assert!(result.is_err());

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("explicit.unwinding").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 1000);
    assert_eq!(stats.inclusive.allocations, 2);
}

fn reports() -> usize {
    let _region = heapmeter::scope!("explicit.reports");
    heapmeter::snapshot().functions.len()
}

#[test]
fn snapshot_copy_is_callers_memory() {
    black_box(reports());
    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("explicit.reports").expect("recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, stats.inclusive.freed);
    assert_eq!(stats.inclusive.allocations, stats.inclusive.frees);
}

fn unrelated_work() {
    let _region = heapmeter::scope!("explicit.unrelated");
    black_box(vec![0u8; 50_000]);
}

/// Holding a `scope!` guard across an `.await` is documented as wrong, but
/// it must not corrupt the figures of other calls on the thread.
#[test]
fn guard_across_await_contained() {
    let future = async {
        let _region = heapmeter::scope!("explicit.held_region");
        black_box(vec![0u8; 300]);
        YieldOnce(false).await;
        black_box(vec![0u8; 200]);
    };
    block_on(heapmeter::instrument!("explicit.held_outer", future), unrelated_work);
    unrelated_work();

    let snapshot = heapmeter::snapshot();
    let unrelated = snapshot.function("explicit.unrelated").expect("unrelated recorded");
    assert_eq!(unrelated.calls, 2);
    assert_eq!(unrelated.inclusive.allocated, 100_000);
    assert_eq!(unrelated.exclusive.allocated, 100_000);

    let outer = snapshot.function("explicit.held_outer").expect("outer recorded");
    assert_eq!(outer.calls, 1);
    assert_eq!(outer.inclusive.allocated, 500);
    assert!(outer.exclusive.allocated <= outer.inclusive.allocated, "self {} wrapped", outer.exclusive.allocated);
    let region = snapshot.function("explicit.held_region").expect("region recorded");
    assert_eq!(region.calls, 1);
}
