//! Call sites: one static [`Site`] per instrumented function or region.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use crate::counters::Totals;
use crate::scope::CallStats;

/// The static identity of an instrumented function or region.
///
/// The attribute and the [`crate::scope!`] and [`crate::instrument!`] macros
/// declare one as a `static` next to the code they measure, so a site costs
/// no allocation and no registration on the hot path. Sites are identified by
/// address: a generic function has one site for all its instantiations.
pub struct Site {
    name: &'static str,
    module_path: &'static str,
    file: &'static str,
    line: u32,
    overflow: Overflow,
    /// Set once the site is on the overflow list.
    listed: AtomicBool,
    /// One more than the position of the site's statistics in the
    /// aggregator, or 0 before the aggregator first records a call of the site.
    aggregate_position: AtomicUsize,
    /// Next site on the overflow list.
    next: AtomicPtr<Site>,
}

/// Sums of calls that could not be queued because the thread's ring was full
/// or the thread was exiting. They keep counters exact; their per-call
/// samples are missing from the histograms, and `calls` counts them.
struct Overflow {
    calls: AtomicU64,
    inclusive: [AtomicU64; 4],
    exclusive: [AtomicU64; 4],
    peak_max: AtomicU64,
    exclusive_peak_max: AtomicU64,
}

/// A reading of a site's overflow sums, taken by the aggregator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OverflowReading {
    pub(crate) calls: u64,
    pub(crate) inclusive: Totals,
    pub(crate) exclusive: Totals,
    pub(crate) peak_max: u64,
    pub(crate) exclusive_peak_max: u64,
}

/// Head of the lock-free, push-only list of sites that overflowed.
static OVERFLOW_LIST: AtomicPtr<Site> = AtomicPtr::new(ptr::null_mut());

impl Site {
    /// Creates a site. `name` is the function name as it is reported after the
    /// module path: `parse`, or `Cache::get` for a method.
    #[must_use]
    pub const fn new(name: &'static str, module_path: &'static str, file: &'static str, line: u32) -> Site {
        Site {
            name,
            module_path,
            file,
            line,
            overflow: Overflow {
                calls: AtomicU64::new(0),
                inclusive: [const { AtomicU64::new(0) }; 4],
                exclusive: [const { AtomicU64::new(0) }; 4],
                peak_max: AtomicU64::new(0),
                exclusive_peak_max: AtomicU64::new(0),
            },
            listed: AtomicBool::new(false),
            aggregate_position: AtomicUsize::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Returns the name given at creation, without the module path.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Returns the module path of the code that declared the site.
    #[must_use]
    pub const fn module_path(&self) -> &'static str {
        self.module_path
    }

    /// The source file of the instrumented function.
    #[must_use]
    pub const fn file(&self) -> &'static str {
        self.file
    }

    /// The line of the instrumented function in [`Site::file`].
    #[must_use]
    pub const fn line(&self) -> u32 {
        self.line
    }

    /// Position of the site's statistics in the aggregator, if it has any.
    /// Called only by the aggregator while it holds its lock.
    pub(crate) fn aggregate_position(&self) -> Option<usize> {
        self.aggregate_position.load(Ordering::Relaxed).checked_sub(1)
    }

    /// Stores the position of the site's statistics in the aggregator.
    /// Called only by the aggregator while it holds its lock.
    pub(crate) fn set_aggregate_position(&self, position: usize) {
        self.aggregate_position.store(position.saturating_add(1), Ordering::Relaxed);
    }

    /// Adds a call to the overflow sums. Lock-free and allocation-free.
    ///
    /// Takes `call` by value: a reference would make the hot path in
    /// [`crate::record::call`] keep the figures in a stack slot and copy them
    /// to the ring with wide loads over narrow stores, which stall on
    /// store-to-load forwarding.
    #[cold]
    #[inline(never)]
    pub(crate) fn record_overflow(&'static self, call: CallStats) {
        let overflow = &self.overflow;
        add_totals(&overflow.inclusive, call.inclusive);
        add_totals(&overflow.exclusive, call.exclusive);
        overflow.peak_max.fetch_max(call.peak, Ordering::Relaxed);
        overflow.exclusive_peak_max.fetch_max(call.exclusive_peak, Ordering::Relaxed);
        // Release pairs with the Acquire in `read_overflow`: a reader that reads
        // this call counted also reads its sums.
        overflow.calls.fetch_add(1, Ordering::Release);
        // A plain load first keeps calls after the first from writing the
        // shared cache line of `listed`.
        if !self.listed.load(Ordering::Relaxed) {
            self.list();
        }
    }

    fn list(&'static self) {
        if self.listed.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = ptr::from_ref(self).cast_mut();
        let mut head = OVERFLOW_LIST.load(Ordering::Relaxed);
        loop {
            self.next.store(head, Ordering::Relaxed);
            // Release publishes `next` before the site becomes reachable.
            match OVERFLOW_LIST.compare_exchange_weak(head, this, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    pub(crate) fn read_overflow(&self) -> OverflowReading {
        let overflow = &self.overflow;
        let calls = overflow.calls.load(Ordering::Acquire);
        OverflowReading {
            calls,
            inclusive: read_totals(&overflow.inclusive),
            exclusive: read_totals(&overflow.exclusive),
            peak_max: overflow.peak_max.load(Ordering::Relaxed),
            exclusive_peak_max: overflow.exclusive_peak_max.load(Ordering::Relaxed),
        }
    }
}

impl core::fmt::Debug for Site {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Site")
            .field("name", &self.name)
            .field("module_path", &self.module_path)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

fn add_totals(target: &[AtomicU64; 4], totals: Totals) {
    let [allocated, freed, allocations, frees] = target;
    allocated.fetch_add(totals.allocated, Ordering::Relaxed);
    freed.fetch_add(totals.freed, Ordering::Relaxed);
    allocations.fetch_add(totals.allocations, Ordering::Relaxed);
    frees.fetch_add(totals.frees, Ordering::Relaxed);
}

fn read_totals(source: &[AtomicU64; 4]) -> Totals {
    let [allocated, freed, allocations, frees] = source;
    Totals {
        allocated: allocated.load(Ordering::Relaxed),
        freed: freed.load(Ordering::Relaxed),
        allocations: allocations.load(Ordering::Relaxed),
        frees: frees.load(Ordering::Relaxed),
    }
}

/// Calls `visit` for every site that has overflow sums.
pub(crate) fn for_each_overflowed(mut visit: impl FnMut(&'static Site)) {
    let mut current = OVERFLOW_LIST.load(Ordering::Acquire);
    while !current.is_null() {
        // SAFETY: only `&'static Site` values are pushed onto the list (see
        // `Site::list`), and nothing is ever removed, so every pointer on it
        // refers to a live static.
        let site: &'static Site = unsafe { &*current };
        visit(site);
        current = site.next.load(Ordering::Acquire);
    }
}
