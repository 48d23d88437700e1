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
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable `timespec`, and
    // `CLOCK_PROCESS_CPUTIME_ID` is a clock every Linux kernel provides.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut now) };
    if result != 0 {
        panic!("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed: {}", std::io::Error::last_os_error());
    }
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanoseconds = u32::try_from(now.tv_nsec).unwrap_or(0);
    Duration::new(seconds, nanoseconds)
}

/// Polls `future` on the current thread with a waker that does nothing until
/// it completes. Returns its output and the number of polls it took.
pub fn poll_to_completion<F: Future>(future: F) -> (F::Output, u32) {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return (output, polls);
        }
    }
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
