//! Handing finished calls to the aggregator without blocking.

use crate::ring::CallRecord;
use crate::scope::CallStats;
use crate::site::Site;
use crate::thread::ThreadState;

/// Queues a finished call on the thread's ring, or adds it to the site's
/// overflow sums when the ring is full or the thread is exiting. Never
/// allocates, locks or panics.
#[inline(always)]
pub(crate) fn call(thread: &ThreadState, site: &'static Site, call: CallStats) {
    match thread.prepare() {
        Some(ring) => ring.push(CallRecord { site, call }),
        None => site.record_overflow(call),
    }
}

/// Like [`call`], for a call that finishes outside any poll, such as an
/// `async` call dropped before completion.
pub(crate) fn call_from_anywhere(site: &'static Site, stats: &CallStats) {
    let recorded = crate::thread::with(|thread| call(thread, site, *stats));
    if recorded.is_none() {
        site.record_overflow(*stats);
    }
}
