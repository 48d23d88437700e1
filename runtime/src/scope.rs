//! Measuring one call: frames, the sync [`Guard`], and the per-call figures.
//!
//! # Frames and segments
//!
//! Each thread keeps the [`Frame`] of the innermost instrumented call that is
//! running on it. Entering a call saves the caller's frame inside the new
//! call's [`Guard`] (or poll scope) and installs a fresh one. Leaving restores
//! the caller's frame and adds the callee's inclusive figures to the caller's
//! `children`. Self figures are inclusive figures minus `children`.
//!
//! Peaks are tracked per *segment*: the stretch of execution between two
//! call boundaries on a thread. The allocator only raises the thread's
//! segment peak; each boundary folds that peak into the running frame.
//! Within a segment a frame's instrumented callees do not run, so the self
//! live bytes of the frame are `live - entry_live - children.net()` for the
//! whole segment, and the segment peak gives its maximum.

use crate::counters::Totals;
use crate::record;
use crate::site::Site;
use crate::thread::{self, ThreadState};

/// Figures of the call running innermost on a thread, in that thread's
/// live-byte coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// Thread live bytes when the call began. For an `async` call resumed in a
    /// later poll this is shifted down by the bytes the call still holds, so
    /// that `live - entry_live` is the call's net bytes across all polls.
    pub(crate) entry_live: i64,
    /// Largest thread live bytes seen during the call (or, for `async` calls,
    /// during the current poll), segments not yet folded in excluded.
    pub(crate) peak_live: i64,
    /// Largest self live bytes seen during the call, relative to entry.
    pub(crate) self_peak: i64,
    /// Sum of the inclusive figures of instrumented callees that finished.
    pub(crate) children: Totals,
    /// Token of the scope that owns the frame, unique on its thread. A scope
    /// that finds another token on closing detects that scopes were left out
    /// of order, as with a guard held across an `.await`.
    pub(crate) token: u64,
}

impl Frame {
    /// Frame of a thread outside every instrumented call. Its figures are
    /// updated like any other frame but never read.
    pub(crate) const ROOT: Frame =
        Frame { entry_live: 0, peak_live: 0, self_peak: 0, children: Totals::ZERO, token: 0 };

    pub(crate) const fn starting_at(live: i64) -> Frame {
        Frame { entry_live: live, peak_live: live, self_peak: 0, children: Totals::ZERO, token: 0 }
    }

    /// Folds the peak of the segment that just ended into this frame.
    ///
    /// It is always inlined because an out-of-line call takes the frame by
    /// pointer. The caller then spills the frame to the stack, and reading
    /// those 8-byte stores back with 16-byte loads stalls on store-to-load
    /// forwarding.
    #[inline(always)]
    fn close_segment(&mut self, segment_peak: i64) {
        self.peak_live = self.peak_live.max(segment_peak);
        let self_live = segment_peak.wrapping_sub(self.entry_live).wrapping_sub(self.children.net());
        self.self_peak = self.self_peak.max(self_live);
    }
}

/// Figures of one call, as recorded by the runtime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Everything allocated and freed on the call's thread while it ran,
    /// callees included.
    pub inclusive: Totals,
    /// `inclusive` minus the inclusive figures of instrumented callees: the
    /// call's self figures.
    pub exclusive: Totals,
    /// Peak live bytes above the level at entry, callees included.
    pub peak: u64,
    /// Peak of the call's self live bytes: live bytes above the level at
    /// entry, minus what instrumented callees still held at that moment.
    pub exclusive_peak: u64,
}

/// A call scope opened on the current thread. Closing it restores the
/// caller's frame. Shared by [`Guard`] and the per-poll scope of
/// [`crate::Instrumented`].
pub(crate) struct OpenScope {
    parent: Frame,
    entry: Totals,
    token: u64,
}

impl OpenScope {
    /// Opens a scope whose frame `make_frame` builds from the live bytes now.
    #[inline(always)]
    pub(crate) fn open(thread: &ThreadState, make_frame: impl FnOnce(i64) -> Frame) -> OpenScope {
        let (entry, live) = thread.read();
        let segment_peak = thread.take_segment_peak(live);
        let mut parent = thread.frame.get();
        parent.close_segment(segment_peak);
        let token = thread.next_token();
        let mut frame = make_frame(live);
        frame.token = token;
        thread.frame.set(frame);
        OpenScope { parent, entry, token }
    }

    /// Closes the scope. Returns the scope's final frame and the figures of
    /// the code that ran inside it, callees included.
    ///
    /// If the thread's frame is not this scope's, scopes were closed out of
    /// order (a guard held across an `.await`). The thread's frame then
    /// belongs to a scope that is still open, so it is left alone, and the
    /// call gets its inclusive figures with no callees and no peak.
    #[inline(always)]
    pub(crate) fn close(&self, thread: &ThreadState) -> (Frame, Totals) {
        let (now, live) = thread.read();
        let inclusive = now.since(self.entry);
        let mut frame = thread.frame.get();
        if frame.token != self.token {
            return (Frame::starting_at(live), inclusive);
        }

        let segment_peak = thread.take_segment_peak(live);
        frame.close_segment(segment_peak);
        let mut parent = self.parent;
        parent.children = parent.children.plus(inclusive);
        parent.peak_live = parent.peak_live.max(frame.peak_live);
        thread.frame.set(parent);
        (frame, inclusive)
    }
}

/// Measures a synchronous region: the call is recorded when the guard drops.
///
/// The attribute creates one at the top of each instrumented function; for
/// any other region use [`crate::scope!`]. Guards must drop in the reverse
/// order of creation on the thread that created them, which holds for a guard
/// bound to a local variable of synchronous code. A guard is neither `Send`
/// nor `Sync`.
///
/// Do not hold a guard across an `.await`: whatever the executor runs on the
/// thread while the future waits would be charged to the region, and the
/// frames of the calls around it get mixed up. Measure `async` code with
/// [`crate::instrument!`] or the attribute instead, which measure poll by
/// poll.
#[must_use = "the region ends when the guard drops, so bind it to a variable"]
pub struct Guard {
    site: &'static Site,
    /// `None` when the thread's state is gone (during thread teardown).
    scope: Option<OpenScope>,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl Guard {
    /// Starts measuring a call of `site` on the current thread.
    #[inline]
    pub fn enter(site: &'static Site) -> Guard {
        // The thread's ring is set up when the call is recorded, in `drop`:
        // setting it up allocates only in a runtime-internal section, which
        // no counter reading includes.
        let scope = thread::with(|thread| OpenScope::open(thread, Frame::starting_at));
        Guard { site, scope, _not_send: core::marker::PhantomData }
    }
}

impl Drop for Guard {
    #[inline(always)]
    fn drop(&mut self) {
        let Some(scope) = &self.scope else { return };
        let site = self.site;
        let _ = thread::with(|thread| {
            let (frame, inclusive) = scope.close(thread);
            record::call(thread, site, finish_call(&frame, inclusive, frame.peak_live));
        });
    }
}

/// Builds the figures of a finished call from its last frame. `peak_live` is
/// the largest live-byte value of the call in the frame's coordinates.
#[inline(always)]
pub(crate) fn finish_call(frame: &Frame, inclusive: Totals, peak_live: i64) -> CallStats {
    CallStats {
        inclusive,
        exclusive: inclusive.since(frame.children),
        peak: clamp_to_u64(peak_live.wrapping_sub(frame.entry_live)),
        exclusive_peak: clamp_to_u64(frame.self_peak),
    }
}

#[inline(always)]
fn clamp_to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
