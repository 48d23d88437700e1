//! Cost of instrumentation per call: sync functions, an `async fn` polled ten
//! times, and throughput with two threads against one.
//!
//! Both sides of every comparison run under the tracking allocator, so the
//! difference is what the call guard adds. Functions are called through a
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
use heapmeter::{Allocator, Guard, Instrumented, Site};
use heapmeter_benches::{poll_to_completion, require_recorded};

#[global_allocator]
static ALLOCATOR: Allocator = Allocator::system();

// The instrumented functions below are written exactly as
// `#[heapmeter::profile_memory]` will expand them.
// TODO: switch to the attribute once it expands instead of emitting the
// function unchanged.

#[inline(never)]
fn empty_plain() {}

#[inline(never)]
fn empty_instrumented() {
    static SITE: Site = Site::new("empty_instrumented", module_path!(), file!(), line!());
    let _guard = Guard::enter(&SITE);
}

#[inline(never)]
fn box64_plain() {
    drop(black_box(Box::new([0_u8; 64])));
}

#[inline(never)]
fn box64_instrumented() {
    static SITE: Site = Site::new("box64_instrumented", module_path!(), file!(), line!());
    let _guard = Guard::enter(&SITE);
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

async fn ten_polls_instrumented() {
    static SITE: Site = Site::new("ten_polls_instrumented", module_path!(), file!(), line!());
    Instrumented::new(&SITE, async move {
        YieldTimes { remaining: POLLS_PER_CALL - 1 }.await;
    })
    .await;
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

fn sync_calls(criterion: &mut Criterion) {
    check_setup();
    let mut group = criterion.benchmark_group("call");
    let pairs: [(&str, fn(), fn()); 2] =
        [("empty", empty_plain, empty_instrumented), ("box64", box64_plain, box64_instrumented)];
    for (name, plain, instrumented) in pairs {
        let plain = black_box(plain);
        let instrumented = black_box(instrumented);
        group.bench_function(BenchmarkId::new(name, "plain"), |bencher| bencher.iter(|| plain()));
        group.bench_function(BenchmarkId::new(name, "instrumented"), |bencher| bencher.iter(|| instrumented()));
    }
    group.finish();
}

fn async_calls(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("async");
    group.bench_function(BenchmarkId::new("ten_polls", "plain"), |bencher| {
        bencher.iter(|| poll_to_completion(ten_polls_plain()));
    });
    group.bench_function(BenchmarkId::new("ten_polls", "instrumented"), |bencher| {
        bencher.iter(|| poll_to_completion(ten_polls_instrumented()));
    });
    group.finish();
}

/// Runs `function` `iterations` times on each of `threads` new threads, all
/// released together, and returns the wall time until the last one is done.
/// Spawning happens before the clock starts.
fn run_on_threads(threads: usize, iterations: u64, function: fn()) -> Duration {
    let barrier = Barrier::new(threads + 1);
    let start = thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..iterations {
                    function();
                }
            });
        }
        barrier.wait();
        Instant::now()
    });
    start.elapsed()
}

/// Reports wall time per iteration, where one iteration is one call on each
/// thread; throughput with `n` threads relative to one is `n * t1 / tn`.
fn threads(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("threads");
    let sides: [(&str, fn()); 2] = [("plain", box64_plain), ("instrumented", box64_instrumented)];
    for (side, function) in sides {
        let function = black_box(function);
        for threads in [1, 2] {
            group.bench_function(BenchmarkId::new(side, threads), |bencher| {
                bencher.iter_custom(|iterations| run_on_threads(threads, iterations, function));
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = heapmeter_benches::criterion();
    targets = sync_calls, async_calls, threads
}
criterion_main!(benches);
