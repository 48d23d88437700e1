//! Aggregation of finished calls into per-function statistics, off the hot path.
//!
//! Instrumented code only queues records on its thread's ring. The holder of
//! the aggregator lock drains every ring: the background drain thread, on a
//! timer or when a ring fills up, and any caller of [`snapshot`]. Everything
//! here may allocate and lock, and runs in a runtime-internal section so that
//! none of it is charged to an instrumented call.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, SystemTime};

use crate::counters::{self, Totals};
use crate::histogram::Histogram;
use crate::ring::{self, CallRecord};
use crate::site::{self, OverflowReading, Site};
use crate::thread;

/// How often the background thread drains the rings when none fills up.
const DRAIN_INTERVAL: Duration = Duration::from_millis(100);

/// Aggregated statistics of one instrumented function or region.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FunctionStats {
    /// The reported name: module path and function name joined by `::`, or
    /// the `name = "..."` given to the attribute.
    pub name: String,
    /// Source file of the function.
    pub file: &'static str,
    /// Line of the function in `file`.
    pub line: u32,
    /// Number of calls recorded.
    pub calls: u64,
    /// Sums over all calls of the inclusive figures (callees counted).
    pub inclusive: Totals,
    /// Sums over all calls of the self figures (instrumented callees
    /// subtracted).
    pub exclusive: Totals,
    /// Largest inclusive peak of any call, in bytes above the entry level.
    pub peak_max: u64,
    /// Largest self peak of any call, in bytes.
    pub exclusive_peak_max: u64,
    /// Inclusive bytes allocated per call.
    pub allocated_per_call: Histogram,
    /// Self bytes allocated per call.
    pub exclusive_allocated_per_call: Histogram,
    /// Inclusive allocations per call.
    pub allocations_per_call: Histogram,
    /// Inclusive peak live bytes per call.
    pub peak_per_call: Histogram,
    /// Calls counted in the sums above but missing from the histograms,
    /// because their thread's queue was full or the thread was exiting.
    pub unsampled_calls: u64,
    site: &'static Site,
}

impl FunctionStats {
    fn new(site: &'static Site) -> Self {
        let name = if site.module_path().is_empty() {
            site.name().to_owned()
        } else {
            format!("{}::{}", site.module_path(), site.name())
        };
        FunctionStats {
            name,
            file: site.file(),
            line: site.line(),
            calls: 0,
            inclusive: Totals::ZERO,
            exclusive: Totals::ZERO,
            peak_max: 0,
            exclusive_peak_max: 0,
            allocated_per_call: Histogram::default(),
            exclusive_allocated_per_call: Histogram::default(),
            allocations_per_call: Histogram::default(),
            peak_per_call: Histogram::default(),
            unsampled_calls: 0,
            site,
        }
    }

    /// Net bytes the calls allocated and did not free, summed over all calls.
    /// Negative when the calls freed more than they allocated.
    #[must_use]
    pub const fn retained(&self) -> i64 {
        self.inclusive.net()
    }

    /// Returns the site the statistics belong to.
    #[must_use]
    pub const fn site(&self) -> &'static Site {
        self.site
    }

    /// Bytes of heap memory these statistics own.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.name.capacity()
            + self.allocated_per_call.heap_bytes()
            + self.exclusive_allocated_per_call.heap_bytes()
            + self.allocations_per_call.heap_bytes()
            + self.peak_per_call.heap_bytes()
    }

    fn add_call(&mut self, record: &CallRecord) {
        let call = &record.call;
        self.calls += 1;
        self.inclusive = self.inclusive.plus(call.inclusive);
        self.exclusive = self.exclusive.plus(call.exclusive);
        self.peak_max = self.peak_max.max(call.peak);
        self.exclusive_peak_max = self.exclusive_peak_max.max(call.exclusive_peak);
        self.allocated_per_call.record(call.inclusive.allocated);
        self.exclusive_allocated_per_call.record(call.exclusive.allocated);
        self.allocations_per_call.record(call.inclusive.allocations);
        self.peak_per_call.record(call.peak);
    }

    fn add_overflow(&mut self, delta: &OverflowReading) {
        self.calls += delta.calls;
        self.unsampled_calls += delta.calls;
        self.inclusive = self.inclusive.plus(delta.inclusive);
        self.exclusive = self.exclusive.plus(delta.exclusive);
        self.peak_max = self.peak_max.max(delta.peak_max);
        self.exclusive_peak_max = self.exclusive_peak_max.max(delta.exclusive_peak_max);
    }
}

/// A consistent copy of everything aggregated so far.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Snapshot {
    /// One entry per function that recorded at least one call, in the order
    /// the functions were first seen.
    pub functions: Vec<FunctionStats>,
    /// Process-wide allocation totals at the time of the snapshot.
    pub process: Totals,
    /// When the snapshot was taken.
    pub taken_at: SystemTime,
}

impl Snapshot {
    /// Finds a function by its reported name, or by a suffix of it that starts
    /// after a `::` (`"parse"` and `"config::parse"` both find
    /// `"my_app::config::parse"`). Returns the first match.
    #[must_use]
    pub fn function(&self, name: &str) -> Option<&FunctionStats> {
        self.functions.iter().find(|stats| {
            stats.name == name || stats.name.strip_suffix(name).is_some_and(|prefix| prefix.ends_with("::"))
        })
    }
}

#[derive(Default)]
struct Aggregator {
    /// Statistics of each site, at the position stored in the site (see
    /// `Site::aggregate_position`).
    functions: Vec<FunctionStats>,
    /// Overflow sums of each site as last read.
    overflow_read: HashMap<usize, OverflowReading>,
}

impl Aggregator {
    fn function_mut(&mut self, site: &'static Site) -> Option<&mut FunctionStats> {
        // The position lives in the site, so draining a record costs a load
        // instead of hashing the site's address. Only the aggregator, under
        // its lock, reads or writes it, and there is one aggregator.
        let position = match site.aggregate_position() {
            Some(position) => position,
            None => {
                self.functions.push(FunctionStats::new(site));
                let position = self.functions.len() - 1;
                site.set_aggregate_position(position);
                position
            }
        };
        self.functions.get_mut(position)
    }

    fn drain(&mut self) {
        ring::for_each_ring(|ring| {
            ring.drain(|record| {
                if let Some(stats) = self.function_mut(record.site) {
                    stats.add_call(&record);
                }
            });
        });
        site::for_each_overflowed(|site| {
            let reading = site.read_overflow();
            let key = core::ptr::from_ref(site).addr();
            // A producer adds a call's sums before its count, so a reading can
            // hold sums whose count comes later. Every changed reading is
            // applied, even with no new count, so each sum is counted once.
            let last = self.overflow_read.insert(key, reading).unwrap_or_default();
            if reading == last {
                return;
            }
            let delta = OverflowReading {
                calls: reading.calls.wrapping_sub(last.calls),
                inclusive: reading.inclusive.since(last.inclusive),
                exclusive: reading.exclusive.since(last.exclusive),
                peak_max: reading.peak_max,
                exclusive_peak_max: reading.exclusive_peak_max,
            };
            if let Some(stats) = self.function_mut(site) {
                stats.add_overflow(&delta);
            }
        });
    }
}

fn aggregator() -> MutexGuard<'static, Aggregator> {
    static AGGREGATOR: OnceLock<Mutex<Aggregator>> = OnceLock::new();
    // A panic while holding the lock cannot leave the statistics torn in a
    // way that matters more than losing them, so a poisoned lock is reused.
    AGGREGATOR.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner)
}

/// Drains every thread's queue and returns a copy of all statistics.
///
/// Calls that finished on any thread before this call began are included.
/// The work is never charged to an instrumented function that calls this.
#[must_use]
pub fn snapshot() -> Snapshot {
    let aggregator = thread::untracked(|| {
        let mut aggregator = aggregator();
        aggregator.drain();
        aggregator
    });
    // The copy is the caller's memory, which the caller frees with tracking
    // on, so it is allocated with tracking on too.
    Snapshot {
        functions: aggregator.functions.clone(),
        process: counters::process_totals(),
        taken_at: SystemTime::now(),
    }
}

static DRAIN_THREAD: OnceLock<Option<Thread>> = OnceLock::new();

/// Starts the background thread that drains the rings, once per process.
/// Called from a runtime-internal section.
pub(crate) fn start_background_drain() {
    let mut spawn_error = None;
    DRAIN_THREAD.get_or_init(|| {
        // The caller waits until the thread runs, so the standard library's
        // allocations for starting it end before instrumented code resumes.
        // Measurements that begin afterwards never include them.
        let started = std::sync::Arc::new(std::sync::Barrier::new(2));
        let started_in_thread = std::sync::Arc::clone(&started);
        let spawned = std::thread::Builder::new().name("heapmeter-drain".to_owned()).spawn(move || {
            thread::untracked(|| {
                started_in_thread.wait();
                drop(started_in_thread);
                loop {
                    std::thread::park_timeout(DRAIN_INTERVAL);
                    aggregator().drain();
                }
            });
        });
        match spawned {
            Ok(handle) => {
                started.wait();
                Some(handle.thread().clone())
            }
            Err(error) => {
                spawn_error = Some(error);
                None
            }
        }
    });
    // Logged after the initialisation returns: a subscriber that runs
    // instrumented code would otherwise reenter it and deadlock.
    if let Some(error) = spawn_error {
        tracing::error!(
            %error,
            "heapmeter could not start its drain thread; calls are still counted, \
             but per-call histograms only fill when a snapshot or export runs"
        );
    }
}

/// Wakes the background drain thread early. Called by a producer whose ring
/// is filling up; lock-free and allocation-free.
pub(crate) fn wake_background_drain() {
    if let Some(Some(drain_thread)) = DRAIN_THREAD.get() {
        drain_thread.unpark();
    }
}
