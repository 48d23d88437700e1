//! The state heapmeter keeps for each thread.
//!
//! Everything the allocator touches sits in one `const`-initialised
//! thread-local whose type has no destructor. Such a thread-local needs no
//! lazy initialisation and registers no destructor, so reading it never
//! allocates and stays valid until the thread is gone, even while other
//! thread-locals are being destroyed. A thread-local with a destructor is
//! touched only outside the allocator, in [`ThreadState::prepare`], to learn
//! when the thread exits.

use core::cell::Cell;
use core::ptr;

use crate::counters::{self, Counters, RUNTIME, SHARED, Totals};
use crate::ring::Ring;
use crate::scope::Frame;

/// Lifecycle of a thread as seen by the runtime.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No instrumented code has run on this thread yet.
    New,
    /// The exit hook is registered and the thread owns a ring.
    Ready,
    /// The exit hook ran: the thread is being torn down.
    Exited,
}

pub(crate) struct ThreadState {
    /// The counters this thread writes on the fast path, or null when every
    /// event must take [`ThreadState::slow_allocation`]: before the first event,
    /// inside a runtime-internal section, and when the thread has no slot.
    fast_counters: Cell<*const Counters>,
    /// Index of the claimed slot, or `usize::MAX` when none is claimed.
    slot_index: Cell<usize>,
    /// True once claiming a slot failed, so later events skip the attempt.
    no_slot: Cell<bool>,
    /// Counters used when the thread has no slot.
    fallback: Counters,
    /// Depth of nested runtime-internal sections.
    untracked_depth: Cell<u32>,
    /// Largest live-byte reading since the current segment began. A segment
    /// starts whenever an instrumented call begins or ends on this thread.
    segment_peak: Cell<i64>,
    /// Figures of the innermost instrumented call running on this thread.
    pub(crate) frame: Cell<Frame>,
    /// Last token handed to a scope on this thread.
    last_token: Cell<u64>,
    /// This thread's ring of finished calls, or null before [`Self::prepare`].
    ring: Cell<*const Ring>,
    phase: Cell<Phase>,
}

thread_local! {
    static THREAD: ThreadState = const { ThreadState::new() };
}

/// Registered the first time instrumented code runs on a thread; its
/// destructor informs the runtime that the thread is exiting.
struct ExitHook;

impl Drop for ExitHook {
    fn drop(&mut self) {
        let _ = THREAD.try_with(ThreadState::on_exit);
    }
}

thread_local! {
    static EXIT_HOOK: ExitHook = const { ExitHook };
}

impl ThreadState {
    const fn new() -> Self {
        Self {
            fast_counters: Cell::new(ptr::null()),
            slot_index: Cell::new(usize::MAX),
            no_slot: Cell::new(false),
            fallback: Counters::new(),
            untracked_depth: Cell::new(0),
            segment_peak: Cell::new(0),
            frame: Cell::new(Frame::ROOT),
            last_token: Cell::new(0),
            ring: Cell::new(ptr::null()),
            phase: Cell::new(Phase::New),
        }
    }

    #[inline(always)]
    fn on_allocation(&self, size: u64) {
        let fast = self.fast_counters.get();
        if fast.is_null() {
            self.slow_allocation(size);
            return;
        }
        // SAFETY: a non-null `fast_counters` always points to a slot in the
        // static slot array (see `claim`), which lives for the whole program.
        let counters = unsafe { &*fast };
        let live = counters.add_allocation_owned(size);
        self.raise_peak(live);
    }

    #[inline(always)]
    fn on_free(&self, size: u64) {
        let fast = self.fast_counters.get();
        if fast.is_null() {
            self.slow_free(size);
            return;
        }
        // SAFETY: as in `on_allocation`.
        let counters = unsafe { &*fast };
        counters.add_free_owned(size);
    }

    #[inline(always)]
    fn raise_peak(&self, live: i64) {
        if live > self.segment_peak.get() {
            self.segment_peak.set(live);
        }
    }

    #[cold]
    fn slow_allocation(&self, size: u64) {
        if self.untracked_depth.get() > 0 {
            RUNTIME.add_allocation_shared(size);
            return;
        }
        if let Some(counters) = self.claim() {
            let live = counters.add_allocation_owned(size);
            self.raise_peak(live);
            return;
        }
        let live = self.fallback.add_allocation_owned(size);
        SHARED.add_allocation_shared(size);
        self.raise_peak(live);
    }

    #[cold]
    fn slow_free(&self, size: u64) {
        if self.untracked_depth.get() > 0 {
            RUNTIME.add_free_shared(size);
            return;
        }
        if let Some(counters) = self.claim() {
            counters.add_free_owned(size);
            return;
        }
        self.fallback.add_free_owned(size);
        SHARED.add_free_shared(size);
    }

    /// Claims a slot for this thread if it has none and may take one, and
    /// makes it the fast-path target. Allocation-free and lock-free.
    ///
    /// A thread claims its slot before it first reads or writes counters, and
    /// never claims twice, so every reading it takes comes from one block.
    fn claim(&self) -> Option<&'static Counters> {
        if self.no_slot.get() || self.phase.get() == Phase::Exited {
            return None;
        }
        let Some((index, counters)) = counters::claim_slot().and_then(|index| Some((index, counters::slot(index)?)))
        else {
            self.no_slot.set(true);
            return None;
        };
        self.slot_index.set(index);
        // Inside a runtime-internal section the fast path stays off, so the
        // section's allocations keep going to the runtime's counters;
        // `end_untracked` turns it on.
        if self.untracked_depth.get() == 0 {
            self.fast_counters.set(counters);
        }
        // A reused slot starts at its previous owner's values, so the running
        // peak starts from there too.
        self.segment_peak.set(counters.live());
        Some(counters)
    }

    /// Returns the counters this thread currently writes, claiming a slot
    /// first if it has none yet.
    #[inline(always)]
    fn current_counters(&self) -> &Counters {
        let fast = self.fast_counters.get();
        if fast.is_null() {
            return self.current_counters_cold();
        }
        // SAFETY: as in `on_allocation`.
        unsafe { &*fast }
    }

    #[cold]
    #[inline(never)]
    fn current_counters_cold(&self) -> &Counters {
        if let Some(index) = Some(self.slot_index.get()).filter(|&index| index != usize::MAX) {
            // Inside a runtime-internal section the fast pointer is null, but
            // the slot is still this thread's.
            return counters::slot(index).unwrap_or(&self.fallback);
        }
        // Claiming never allocates, so it is fine inside a runtime-internal
        // section too, and a call opened there must read the same block it
        // will read when it closes.
        if let Some(counters) = self.claim() {
            return counters;
        }
        &self.fallback
    }

    /// Sets up what instrumented code needs on this thread: the exit hook, a
    /// ring, and the background aggregator. Returns the ring, or `None` while
    /// the thread is exiting, when calls go to the overflow counters instead.
    #[inline(always)]
    pub(crate) fn prepare(&self) -> Option<&'static Ring> {
        let ring = self.ring.get();
        if ring.is_null() {
            return self.prepare_cold();
        }
        // SAFETY: rings are leaked on creation (see `Ring::claim`) and never
        // freed, so a pointer to one stays valid for the whole program.
        Some(unsafe { &*ring })
    }

    #[cold]
    fn prepare_cold(&self) -> Option<&'static Ring> {
        if self.phase.get() == Phase::Exited {
            return None;
        }
        let ring = untracked(|| {
            // Registering a thread-local destructor may allocate, which is
            // why this happens here and never inside the allocator.
            EXIT_HOOK.try_with(|_| ()).ok()?;
            let ring = Ring::claim()?;
            crate::aggregate::start_background_drain();
            Some(ring)
        })?;
        self.ring.set(ring);
        self.phase.set(Phase::Ready);
        Some(ring)
    }

    fn on_exit(&self) {
        self.phase.set(Phase::Exited);

        let ring = self.ring.replace(ptr::null());
        if !ring.is_null() {
            // SAFETY: as in `prepare`.
            unsafe { &*ring }.release();
        }

        // Move to the fallback block, seeded with the slot's values so that
        // readings stay monotonic. The slot keeps its partial sums for the
        // process totals, and later events go to the shared block too.
        let index = self.slot_index.replace(usize::MAX);
        if let Some(counters) = counters::slot(index) {
            self.fast_counters.set(ptr::null());
            self.fallback.overwrite_owned(counters.read());
            self.no_slot.set(true);
            counters::release_slot(index);
        }
    }

    /// Starts a runtime-internal section: until the matching
    /// [`Self::end_untracked`], allocations on this thread are counted in the
    /// process totals as runtime allocations and never charged to a call.
    fn begin_untracked(&self) {
        let depth = self.untracked_depth.get();
        if depth == 0 {
            self.fast_counters.set(ptr::null());
        }
        self.untracked_depth.set(depth.saturating_add(1));
    }

    fn end_untracked(&self) {
        let depth = self.untracked_depth.get().saturating_sub(1);
        self.untracked_depth.set(depth);
        if depth == 0 {
            let restored = counters::slot(self.slot_index.get()).map_or(ptr::null(), ptr::from_ref);
            self.fast_counters.set(restored);
        }
    }

    /// Returns a token no other scope on this thread has had. Tokens start
    /// at 1, so the root frame's 0 matches no scope.
    #[inline(always)]
    pub(crate) fn next_token(&self) -> u64 {
        let token = self.last_token.get().wrapping_add(1);
        self.last_token.set(token);
        token
    }

    /// Reads this thread's counters and its current live bytes.
    #[inline(always)]
    pub(crate) fn read(&self) -> (Totals, i64) {
        let totals = self.current_counters().read();
        (totals, totals.net())
    }

    /// Ends the current segment: returns its peak live bytes and starts a new
    /// segment at `live`.
    #[inline(always)]
    pub(crate) fn take_segment_peak(&self, live: i64) -> i64 {
        let peak = self.segment_peak.replace(live);
        peak.max(live)
    }
}

/// Runs `work` with this thread's state, or returns `None` if the state is
/// gone, which only happens after the thread's storage is deallocated.
#[inline(always)]
pub(crate) fn with<R>(work: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    THREAD.try_with(work).ok()
}

/// Counts an allocation of `size` bytes on the calling thread.
#[inline(always)]
pub(crate) fn record_allocation(size: u64) {
    if THREAD.try_with(|thread| thread.on_allocation(size)).is_err() {
        SHARED.add_allocation_shared(size);
    }
}

/// Counts a free of `size` bytes on the calling thread.
#[inline(always)]
pub(crate) fn record_free(size: u64) {
    if THREAD.try_with(|thread| thread.on_free(size)).is_err() {
        SHARED.add_free_shared(size);
    }
}

/// Guard of a runtime-internal section on the current thread, which ends
/// when the guard drops, also during unwinding.
pub(crate) struct UntrackedSection(());

impl UntrackedSection {
    pub(crate) fn begin() -> Self {
        let _ = THREAD.try_with(ThreadState::begin_untracked);
        Self(())
    }
}

impl Drop for UntrackedSection {
    fn drop(&mut self) {
        let _ = THREAD.try_with(ThreadState::end_untracked);
    }
}

/// Runs `work` without charging its allocations to any instrumented call.
pub(crate) fn untracked<R>(work: impl FnOnce() -> R) -> R {
    let _section = UntrackedSection::begin();
    work()
}
