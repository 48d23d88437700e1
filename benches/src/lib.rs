//! Helpers shared by the heapmeter benchmarks: the Criterion settings, a
//! process CPU-time clock, a minimal executor, and the check that the
//! instrumented side of a comparison really records calls.
//!
//! Every benchmark prints extra figures that are not timings as lines that
//! start with [`METRIC_PREFIX`]; `scripts/bench_ratios.py` reads them from
//! the log next to Criterion's own results.
#![allow(clippy::panic, reason = "a benchmark whose setup is wrong must stop, not report numbers")]

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

/// Start of every line that reports a figure which is not a Criterion timing.
pub const METRIC_PREFIX: &str = "heapmeter-bench-metric";

/// Returns the Criterion settings every benchmark starts from: 1 s of
/// warm-up and 3 s of measurement per benchmark, so that the full suite stays
/// within a few minutes on two cores. Command-line options override them.
#[must_use]
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// Returns the CPU time used so far by all threads of this process,
/// heapmeter's background drain thread included.
#[must_use]
pub fn process_cpu_time() -> Duration {
    read_clock(libc::CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID")
}

/// Returns the CPU time used so far by the calling thread. Unlike wall time,
/// it does not grow while other processes hold the CPU, which matters on a
/// two-core machine shared with builds. Reading it is a system call of
/// about 0.1 to 0.2 µs, so callers read it once per batch of calls.
#[must_use]
pub fn thread_cpu_time() -> Duration {
    read_clock(libc::CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID")
}

fn read_clock(clock: libc::clockid_t, clock_name: &str) -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable `timespec`, and both clocks passed
    // here exist on every Linux kernel since 2.6.12.
    let result = unsafe { libc::clock_gettime(clock, &raw mut now) };
    if result != 0 {
        panic!("clock_gettime({clock_name}) failed: {}", std::io::Error::last_os_error());
    }
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanoseconds = u32::try_from(now.tv_nsec).unwrap_or(0);
    Duration::new(seconds, nanoseconds)
}

/// Calls `call` `iterations` times and returns the thread CPU time taken.
pub fn time_loop(iterations: u64, mut call: impl FnMut()) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iterations {
        call();
    }
    thread_cpu_time().saturating_sub(start)
}

/// Polls `future` on the current thread with a waker that does nothing until
/// it completes. Returns its output and the number of polls it took.
pub fn poll_to_completion<F: Future>(future: F) -> (F::Output, u32) {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    let mut polls = 0;
    loop {
        polls += 1;
        // Hiding the context keeps the optimiser from folding the polls of a
        // trivial future into a constant, which no real executor allows.
        if let Poll::Ready(output) = future.as_mut().poll(black_box(&mut context)) {
            return (output, polls);
        }
    }
}

/// Calls made between two drains by [`time_queued`]: fewer than the 1,024
/// records a thread's ring has room for, so no call finds the ring full.
pub const QUEUED_BATCH: u64 = 1_000;

/// Calls `call` `iterations` times in batches of [`QUEUED_BATCH`] and
/// returns the thread CPU time spent in the calls alone. Before each batch,
/// untimed, [`heapmeter::snapshot`] empties the ring, so every instrumented
/// call takes the path heapmeter is built for: its record is queued on the
/// ring and aggregated later off the hot path. Plain code gets the same batches and
/// snapshots, so both sides see the same cache disturbance.
pub fn time_queued(iterations: u64, mut call: impl FnMut()) -> Duration {
    let mut measured = Duration::ZERO;
    let mut remaining = iterations;
    while remaining > 0 {
        drop(heapmeter::snapshot());
        let batch = remaining.min(QUEUED_BATCH);
        measured += time_loop(batch, &mut call);
        remaining -= batch;
    }
    measured
}

/// Stops the benchmark unless `function` recorded at least `min_calls`
/// calls, so that an instrumented side which records nothing (for example
/// an attribute that emits the function unchanged) never passes as cheap.
pub fn require_recorded(function: &str, min_calls: u64) {
    let snapshot = heapmeter::snapshot();
    let calls = snapshot.function(function).map_or(0, |stats| stats.calls);
    if calls < min_calls {
        panic!("instrumented function `{function}` recorded {calls} calls, expected at least {min_calls}");
    }
}

/// Prints one figure for `scripts/bench_ratios.py`: `name` identifies it,
/// `value` is in `unit`.
pub fn report_metric(name: &str, value: f64, unit: &str) {
    println!("{METRIC_PREFIX} {name} {value} {unit}");
}
