//! Measuring `async` calls poll by poll.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use core::mem::ManuallyDrop;

use crate::counters::Totals;
use crate::record;
use crate::scope::{self, CallStats, Frame, OpenScope};
use crate::site::Site;
use crate::thread;

/// Figures an `async` call has accumulated over the polls so far. It lives in
/// the future, so it follows the call from thread to thread.
#[derive(Clone, Copy, Debug, Default)]
struct CallState {
    started: bool,
    finished: bool,
    inclusive: Totals,
    children: Totals,
    /// Largest live bytes above the level at the first poll.
    peak: i64,
    exclusive_peak: i64,
}

impl CallState {
    /// Returns the frame that continues this call at the live level `live`.
    fn resume_frame(&self, live: i64) -> Frame {
        Frame {
            // Shifting entry down by what the call holds makes `live -
            // entry_live` the call's net bytes across all polls.
            entry_live: live.wrapping_sub(self.inclusive.net()),
            peak_live: live,
            self_peak: self.exclusive_peak,
            children: self.children,
            token: 0,
        }
    }

    fn absorb_poll(&mut self, frame: &Frame, inclusive: Totals) {
        self.inclusive = self.inclusive.plus(inclusive);
        self.children = frame.children;
        self.peak = self.peak.max(frame.peak_live.wrapping_sub(frame.entry_live));
        self.exclusive_peak = frame.self_peak;
    }

    fn stats(&self) -> CallStats {
        let finished_frame = Frame {
            entry_live: 0,
            peak_live: self.peak,
            self_peak: self.exclusive_peak,
            children: self.children,
            token: 0,
        };
        scope::finish_call(&finished_frame, self.inclusive, self.peak)
    }
}

/// A future measured poll by poll as one call of a [`Site`].
///
/// Each poll swaps the call's figures into the polling thread's counters
/// and out again afterwards, so the figures are exact whichever threads
/// poll the future and whatever else runs on them between polls. The call
/// is recorded when the future completes, when a poll panics, or when the
/// future is dropped after its first poll without completing. In the last
/// case the inner future is dropped inside the call's scope, so what its
/// locals free counts as freed by the call.
///
/// The attribute wraps `async fn` bodies in this type; [`crate::instrument!`]
/// wraps any future.
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F> {
    /// Dropped by hand in `Drop`, inside the call's scope.
    inner: ManuallyDrop<F>,
    site: &'static Site,
    state: CallState,
}

impl<F> Instrumented<F> {
    /// Wraps `inner` so that its execution is recorded as a call of `site`.
    pub const fn new(site: &'static Site, inner: F) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(inner),
            site,
            state: CallState {
                started: false,
                finished: false,
                inclusive: Totals::ZERO,
                children: Totals::ZERO,
                peak: 0,
                exclusive_peak: 0,
            },
        }
    }
}

/// Closes a call's scope when dropped, so a panicking poll still restores
/// the thread's frame and records the call.
struct PollScope<'a> {
    scope: OpenScope,
    site: &'static Site,
    state: &'a mut CallState,
    /// True once the inner future's `poll` returned. Still false in `drop`
    /// means that `poll` panicked.
    returned: bool,
    /// True when the call ends with this scope: the inner future completed
    /// or is being dropped.
    ends_call: bool,
}

impl Drop for PollScope<'_> {
    fn drop(&mut self) {
        let _ = thread::with(|thread| {
            let (frame, inclusive) = self.scope.close(thread);
            self.state.absorb_poll(&frame, inclusive);
            if self.ends_call || !self.returned {
                self.state.finished = true;
                record::call(thread, self.site, self.state.stats());
            }
        });
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is never moved out of `self`: it is only polled
        // through a pinned reference here and dropped in place in `drop`.
        // The other fields are not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `inner` stays where it is for as long as `self`
        // lives, which is what pinning it requires.
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        if this.state.finished {
            return inner.poll(cx);
        }
        this.state.started = true;

        let site = this.site;
        let state = &mut this.state;
        let opened = thread::with(|thread| {
            thread.prepare();
            OpenScope::open(thread, |live| state.resume_frame(live))
        });
        let Some(scope) = opened else {
            return inner.poll(cx);
        };

        // The scope drops where it lies at the end of this block. Moving it
        // into `drop` would copy it with 16-byte loads over the 8-byte stores
        // that just filled it, which stall on store-to-load forwarding.
        let mut poll_scope = PollScope { scope, site, state, returned: false, ends_call: false };
        let result = inner.poll(cx);
        poll_scope.returned = true;
        poll_scope.ends_call = result.is_ready();
        result
    }
}

impl<F> Drop for Instrumented<F> {
    fn drop(&mut self) {
        let cancelled = self.state.started && !self.state.finished;
        let site = self.site;
        let state = &mut self.state;
        let scope = if cancelled {
            thread::with(|thread| {
                thread.prepare();
                OpenScope::open(thread, |live| state.resume_frame(live))
            })
        } else {
            None
        };
        let recorded_by_scope = scope.is_some();
        let poll_scope = scope.map(|scope| PollScope { scope, site, state, returned: true, ends_call: true });
        // SAFETY: `inner` is dropped exactly once, here, in place, and never
        // used afterwards. Dropping in place is allowed for a pinned value.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        drop(poll_scope);

        if cancelled && !recorded_by_scope {
            // The thread's state is gone, so the call goes to the overflow sums.
            self.state.finished = true;
            record::call_from_anywhere(site, &self.state.stats());
        }
    }
}
