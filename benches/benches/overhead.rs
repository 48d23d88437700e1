//! Cost of instrumentation per call: sync functions, an `async fn` polled ten
//! times, and throughput with two threads against one.
//!
//! Both sides of every comparison run under the tracking allocator, so the
//! difference is what the call guard adds. Per-call timings are thread CPU
//! time, so that other processes on this shared machine do not inflate them.
//! The two-thread comparison has a wall-time and a CPU-time variant.
//! Functions are called through a
//! function pointer hidden behind `black_box`, because the optimiser may
//! delete a direct call to a function without side effects even when it is
//! not inlined.
#![allow(missing_docs, reason = "criterion_main! generates an undocumented `main`")]

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use heapmeter::Allocator;
use heapmeter_benches::{poll_to_completion, require_recorded, time_loop, time_queued};

#[global_allocator]
static ALLOCATOR: Allocator = Allocator::system();

#[inline(never)]
fn empty_plain() {}

#[heapmeter::profile_memory]
#[inline(never)]
fn empty_instrumented() {}

#[inline(never)]
fn box64_plain() {
    drop(black_box(Box::new([0_u8; 64])));
}

#[heapmeter::profile_memory]
#[inline(never)]
fn box64_instrumented() {
    drop(black_box(Box::new([0_u8; 64])));
}

/// A future that returns `Pending` `remaining` times, waking itself each time,
/// and then completes.
struct YieldTimes {
    remaining: u32,
}

impl Future for YieldTimes {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls per call of the `async` functions: nine `Pending` and one `Ready`.
const POLLS_PER_CALL: u32 = 10;

async fn ten_polls_plain() {
    YieldTimes { remaining: POLLS_PER_CALL - 1 }.await;
}

#[heapmeter::profile_memory]
async fn ten_polls_instrumented() {
    YieldTimes { remaining: POLLS_PER_CALL - 1 }.await;
}

fn check_setup() {
    empty_instrumented();
    box64_instrumented();
    let ((), polls) = poll_to_completion(ten_polls_instrumented());
    assert_eq!(polls, POLLS_PER_CALL, "the async benchmark must poll {POLLS_PER_CALL} times per call");
    require_recorded("empty_instrumented", 1);
    require_recorded("box64_instrumented", 1);
    require_recorded("ten_polls_instrumented", 1);
}

/// A named pair of functions that differ only in instrumentation: the
/// name, the plain function and the instrumented one.
type Pair = (&'static str, fn(), fn());

/// Pairs of plain and instrumented functions of the sync comparisons.
const SYNC_PAIRS: [Pair; 2] = [("empty", empty_plain, empty_instrumented), ("box64", box64_plain, box64_instrumented)];

/// Sync calls in batches that leave room on the ring (see `time_queued`):
/// the cost of the path heapmeter is built for.
fn sync_calls(criterion: &mut Criterion) {
    check_setup();
    let mut group = criterion.benchmark_group("call");
    for (name, plain, instrumented) in SYNC_PAIRS {
        let plain = black_box(plain);
        let instrumented = black_box(instrumented);
        group.bench_function(BenchmarkId::new(name, "plain"), |bencher| {
            bencher.iter_custom(|iterations| time_queued(iterations, plain));
        });
        group.bench_function(BenchmarkId::new(name, "instrumented"), |bencher| {
            bencher.iter_custom(|iterations| time_queued(iterations, instrumented));
        });
    }
    group.finish();
}

/// Sync calls in a tight loop: one thread makes calls far faster than the
/// drain thread aggregates them, so the ring stays full and most calls go to
/// the site's overflow sums.
fn sync_calls_loop(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("call_loop");
    for (name, plain, instrumented) in SYNC_PAIRS {
        let plain = black_box(plain);
        let instrumented = black_box(instrumented);
        group.bench_function(BenchmarkId::new(name, "plain"), |bencher| {
            bencher.iter_custom(|iterations| time_loop(iterations, plain));
        });
        group.bench_function(BenchmarkId::new(name, "instrumented"), |bencher| {
            bencher.iter_custom(|iterations| time_loop(iterations, instrumented));
        });
    }
    group.finish();
}

fn async_calls(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("async");
    group.bench_function(BenchmarkId::new("ten_polls", "plain"), |bencher| {
        bencher.iter_custom(|iterations| {
            time_queued(iterations, || {
                black_box(poll_to_completion(ten_polls_plain()));
            })
        });
    });
    group.bench_function(BenchmarkId::new("ten_polls", "instrumented"), |bencher| {
        bencher.iter_custom(|iterations| {
            time_queued(iterations, || {
                black_box(poll_to_completion(ten_polls_instrumented()));
            })
        });
    });
    group.finish();
}

/// Clock that `run_on_threads` reads to time a run.
#[derive(Clone, Copy)]
enum Clock {
    /// Wall time from the release of the threads until the last one is done.
    Wall,
    /// CPU time of the calling threads, averaged over them: what one call
    /// costs each thread, leaving out time spent descheduled.
    ThreadCpu,
}

/// Runs `function` `iterations` times on each of `threads` new threads, all
/// released together, and returns the time taken as `clock` measures it.
/// Spawning happens before the clock starts.
fn run_on_threads(threads: usize, iterations: u64, function: fn(), clock: Clock) -> Duration {
    let barrier = Barrier::new(threads + 1);
    let (start, cpu_total) = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    time_loop(iterations, function)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let cpu_total: Duration = workers.into_iter().map(|worker| worker.join().unwrap_or_default()).sum();
        (start, cpu_total)
    });
    match clock {
        Clock::Wall => start.elapsed(),
        Clock::ThreadCpu => cpu_total / u32::try_from(threads).unwrap_or(1),
    }
}

/// Work of a small request handler: fills a 256-byte buffer on the heap
/// with a serial chain of 256 multiply-adds (a few hundred nanoseconds).
#[inline(always)]
fn handle_request_body(seed: u64) -> u64 {
    let mut buffer = vec![0_u64; 32];
    let mut state = seed;
    for _ in 0..8 {
        for slot in &mut buffer {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            *slot ^= state;
        }
    }
    buffer.iter().fold(0, |checksum, value| checksum ^ value)
}

#[inline(never)]
fn handle_request_plain() {
    black_box(handle_request_body(black_box(1)));
}

#[heapmeter::profile_memory]
#[inline(never)]
fn handle_request_instrumented() {
    black_box(handle_request_body(black_box(1)));
}

/// Wall time per iteration, where one iteration is one call on each thread;
/// throughput with `n` threads relative to one is `n * t1 / tn`. Each group
/// runs one function pair: `threads` a request handler of a few hundred
/// nanoseconds, `threads_loop` the 64-byte `Box` function in a tight loop.
///
/// The `_cpu` groups report each thread's CPU time instead, so that
/// `2 * t1 / t2` estimates the speed-up the code would reach on two idle
/// cores: other processes do not count, and neither does heapmeter's drain
/// thread, which the wall-time groups include.
fn threads(criterion: &mut Criterion) {
    let groups: [(Pair, Clock); 4] = [
        (("threads", handle_request_plain, handle_request_instrumented), Clock::Wall),
        (("threads_cpu", handle_request_plain, handle_request_instrumented), Clock::ThreadCpu),
        (("threads_loop", box64_plain, box64_instrumented), Clock::Wall),
        (("threads_loop_cpu", box64_plain, box64_instrumented), Clock::ThreadCpu),
    ];
    handle_request_instrumented();
    require_recorded("handle_request_instrumented", 1);
    for ((group_name, plain, instrumented), clock) in groups {
        let mut group = criterion.benchmark_group(group_name);
        for (side, function) in [("plain", black_box(plain)), ("instrumented", black_box(instrumented))] {
            for threads in [1, 2] {
                group.bench_function(BenchmarkId::new(side, threads), |bencher| {
                    bencher.iter_custom(|iterations| run_on_threads(threads, iterations, function, clock));
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = heapmeter_benches::criterion();
    targets = sync_calls, sync_calls_loop, async_calls, threads
}
criterion_main!(benches);
