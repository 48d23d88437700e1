//! Exact per-call figures of an instrumented `async fn` that a multi-thread
//! tokio runtime polls from 1000 tasks at once, interleaved with other tasks
//! that allocate on the same worker threads.
//!
//! The tracking allocator is process-wide, so this test has its own binary.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Wake, Waker};

use heapmeter::profile_memory;

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

const CALLS: u64 = 1000;

#[profile_memory]
async fn fetch() -> Vec<u8> {
    let a = vec![0u8; 1000];
    tokio::task::yield_now().await;
    let b = vec![0u8; 2000];
    [a, b].concat()
}

/// Allocates and frees between yields, on whichever worker polls it.
async fn noise(rounds: usize) -> usize {
    let mut total = 0;
    for round in 0..rounds {
        let scratch = std::hint::black_box(vec![1u8; 100 + round]);
        total += scratch.len();
        tokio::task::yield_now().await;
    }
    total
}

const WORKERS: usize = 2;

/// A waker that does nothing, distinct from every other one.
struct DistinctWaker;

impl Wake for DistinctWaker {
    fn wake(self: Arc<Self>) {}
}

/// Pushes `count` wakers on the current worker's list of deferred wakers.
///
/// `tokio::task::yield_now` pushes the yielding task's waker on a per-worker
/// list that the worker empties only when it runs out of tasks, so with 1000
/// tasks the list grows, and reallocates inside whichever poll of `fetch`
/// yields at that moment. The capacity stays once grown, so growing it first
/// keeps tokio's allocations out of the figures of `fetch`.
fn grow_defer_list(count: usize) {
    let wakers: Vec<Waker> = (0..count).map(|_| Waker::from(Arc::new(DistinctWaker))).collect();
    for waker in &wakers {
        let mut yielding = pin!(tokio::task::yield_now());
        let _pending = yielding.as_mut().poll(&mut Context::from_waker(waker));
    }
}

#[test]
fn concurrent_calls_are_exact() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).build().expect("a runtime");

    // Each warm-up task blocks its worker at the barrier until the other one
    // arrives, so every worker runs exactly one of them.
    let barrier = Arc::new(Barrier::new(WORKERS));
    let warm_ups: Vec<_> = (0..WORKERS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            runtime.spawn(async move {
                barrier.wait();
                // 2049 entries make a capacity of 4096 wakers, room for the
                // 1100 tasks below even if the worker has not yet emptied
                // the list of these 2049.
                grow_defer_list(2049);
            })
        })
        .collect();
    runtime.block_on(async {
        for warm_up in warm_ups {
            warm_up.await.expect("warm-up finished");
        }
    });

    runtime.block_on(async {
        let noise: Vec<_> = (0..100).map(|_| tokio::spawn(noise(20))).collect();
        let calls: Vec<_> = (0..CALLS).map(|_| tokio::spawn(fetch())).collect();
        for call in calls {
            assert_eq!(call.await.expect("fetch finished").len(), 3000);
        }
        for task in noise {
            task.await.expect("noise finished");
        }
    });
    drop(runtime);

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("fetch").expect("fetch recorded");
    assert_eq!(stats.calls, CALLS);
    assert_eq!(stats.allocated_per_call.min(), Some(6000));
    assert_eq!(stats.allocated_per_call.max(), Some(6000));
    assert_eq!(stats.allocations_per_call.min(), Some(3));
    assert_eq!(stats.allocations_per_call.max(), Some(3));
    assert_eq!(stats.inclusive.allocated, 6000 * CALLS);
    assert_eq!(stats.inclusive.allocations, 3 * CALLS);
    assert_eq!(stats.inclusive.freed, 3000 * CALLS);
    assert_eq!(stats.inclusive.frees, 2 * CALLS);
    assert_eq!(stats.retained(), 3000 * 1000);
}
