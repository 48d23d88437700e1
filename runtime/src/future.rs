//! Measuring `async` calls poll by poll.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::counters::Totals;
use crate::record;
use crate::scope::{self, CallStats, Frame, OpenScope};
use crate::site::Site;
use crate::thread;

/// What an `async` call has accumulated over the polls so far. It lives in
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
        }
    }

    fn absorb_poll(&mut self, frame: &Frame, inclusive: Totals) {
        self.inclusive = self.inclusive.plus(inclusive);
        self.children = frame.children;
        self.peak = self.peak.max(frame.peak_live.wrapping_sub(frame.entry_live));
        self.exclusive_peak = frame.self_peak;
    }

    fn stats(&self) -> CallStats {
        let finished_frame = Frame { entry_live: 0, peak_live: self.peak, self_peak: self.exclusive_peak, children: self.children };
        scope::finish_call(&finished_frame, self.inclusive, self.peak)
    }
}

pin_project! {
    /// A future measured poll by poll as one call of a [`Site`].
    ///
    /// Each poll swaps the call's figures into the polling thread's counters
    /// and out again afterwards, so the figures are exact whichever threads
    /// poll the future and whatever else runs on them between polls. The call
    /// is recorded when the future completes, when a poll panics, or when the
    /// future is dropped after its first poll without completing.
    ///
    /// The attribute wraps `async fn` bodies in this type; [`crate::instrument!`]
    /// wraps any future.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        site: &'static Site,
        state: CallState,
    }

    impl<F> PinnedDrop for Instrumented<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.state.started && !this.state.finished {
                this.state.finished = true;
                record::call_from_anywhere(this.site, &this.state.stats());
            }
        }
    }
}

impl<F> Instrumented<F> {
    /// Wraps `inner` so that its execution is recorded as a call of `site`.
    pub const fn new(site: &'static Site, inner: F) -> Self {
        Instrumented { inner, site, state: CallState { started: false, finished: false, inclusive: Totals::ZERO, children: Totals::ZERO, peak: 0, exclusive_peak: 0 } }
    }
}

/// Closes a poll's scope when dropped, so a panicking poll still restores the
/// thread's frame and records the call.
struct PollScope<'a> {
    scope: OpenScope,
    site: &'static Site,
    state: &'a mut CallState,
    ready: bool,
}

impl Drop for PollScope<'_> {
    fn drop(&mut self) {
        let _ = thread::with(|thread| {
            let (frame, inclusive) = self.scope.close(thread);
            self.state.absorb_poll(&frame, inclusive);
            if self.ready || std::thread::panicking() {
                self.state.finished = true;
                record::call(thread, self.site, self.state.stats());
            }
        });
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.state.finished {
            return this.inner.poll(cx);
        }
        this.state.started = true;

        let site = *this.site;
        let state = this.state;
        let opened = thread::with(|thread| {
            thread.prepare();
            OpenScope::open(thread, |live| state.resume_frame(live))
        });
        let Some(scope) = opened else {
            return this.inner.poll(cx);
        };

        // The scope drops where it lies at the end of this block. Moving it
        // into `drop` would copy it with 16-byte loads over the 8-byte stores
        // that just filled it, which stall on store-to-load forwarding.
        let mut poll_scope = PollScope { scope, site, state, ready: false };
        let result = this.inner.poll(cx);
        poll_scope.ready = result.is_ready();
        result
    }
}
