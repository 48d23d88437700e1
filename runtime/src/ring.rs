//! Per-thread queues of finished calls.
//!
//! # Protocol
//!
//! A [`Ring`] is a bounded single-producer, single-consumer queue. The
//! producer is the thread that owns the ring, and the consumer is the thread holding the
//! aggregator's lock. `tail` is written only by the producer and `head` only by
//! the consumer:
//!
//! - The producer writes the record at `tail`, then stores `tail + 1` with
//!   Release, publishing the record.
//! - The consumer loads `tail` with Acquire, reads records up to it, then
//!   stores the new `head` with Release, handing the slots back.
//! - The producer loads `head` with Acquire only when its cached copy says the
//!   ring is full, so the usual push touches no line the consumer writes.
//!
//! Rings are never freed. When its thread exits, a ring is marked free and a
//! later thread may claim it; records left in it are still drained in order.
//! Ownership passes through `owned` (Release on release, Acquire on claim), so
//! the new producer sees the old producer's last `tail`.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use crate::counters::Totals;
use crate::scope::CallStats;
use crate::site::Site;

/// Records one ring can hold. At 88 bytes a record, a ring takes 88 KiB.
pub(crate) const RING_CAPACITY: usize = 1024;

/// Fill level at which a ring's producer wakes the background drain.
///
/// The producer wakes the drain when its cached fill level reaches this
/// value, when a refresh of `head` finds the ring at least this full, and
/// once when a push finds the ring full. The checks sit on the rare paths
/// except for one compare, because waking costs a system call when the drain
/// is parked. Waking on every 256th push instead added about 15 ns per call
/// in the `overhead` benchmark of `heapmeter-benches` (2-core AMD EPYC VM).
const WAKE_THRESHOLD: usize = RING_CAPACITY / 4;

/// One finished call waiting for aggregation.
#[derive(Clone, Copy)]
pub(crate) struct CallRecord {
    pub(crate) site: &'static Site,
    pub(crate) call: CallStats,
}

#[repr(align(128))]
struct Padded<T>(T);

struct ProducerState {
    /// The producer's last reading of `head`.
    cached_head: usize,
    /// True once a push that found the ring full has woken the drain, until
    /// a push succeeds again.
    woke_while_full: bool,
}

pub(crate) struct Ring {
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
    /// State only the producer reads and writes.
    producer: Padded<UnsafeCell<ProducerState>>,
    records: Box<[UnsafeCell<MaybeUninit<CallRecord>>]>,
    owned: AtomicBool,
    next: AtomicPtr<Ring>,
}

// SAFETY: the `UnsafeCell`s are accessed under the protocol in the module
// docs: `producer` and the record at `tail` only by the one producer, the
// records between `head` and `tail` only by the consumer, which holds the
// aggregator lock.
unsafe impl Sync for Ring {}

/// Head of the lock-free, push-only list of every ring ever created.
static RINGS: AtomicPtr<Ring> = AtomicPtr::new(ptr::null_mut());

impl Ring {
    /// Claims a free ring or creates one. Allocates, so callers run it in a
    /// runtime-internal section. Returns `None` if the allocation fails.
    pub(crate) fn claim() -> Option<&'static Ring> {
        let mut current = RINGS.load(Ordering::Acquire);
        while !current.is_null() {
            // SAFETY: rings on the list are leaked boxes that are never freed.
            let ring: &'static Ring = unsafe { &*current };
            if ring.owned.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return Some(ring);
            }
            current = ring.next.load(Ordering::Acquire);
        }
        Self::create()
    }

    fn create() -> Option<&'static Ring> {
        let mut records = Vec::new();
        records.try_reserve_exact(RING_CAPACITY).ok()?;
        records.resize_with(RING_CAPACITY, || UnsafeCell::new(MaybeUninit::uninit()));
        let ring: &'static Ring = Box::leak(Box::new(Ring {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            producer: Padded(UnsafeCell::new(ProducerState { cached_head: 0, woke_while_full: false })),
            records: records.into_boxed_slice(),
            owned: AtomicBool::new(true),
            next: AtomicPtr::new(ptr::null_mut()),
        }));

        let this = ptr::from_ref(ring).cast_mut();
        let mut head = RINGS.load(Ordering::Relaxed);
        loop {
            ring.next.store(head, Ordering::Relaxed);
            match RINGS.compare_exchange_weak(head, this, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return Some(ring),
                Err(current) => head = current,
            }
        }
    }

    /// Gives the ring up when its thread exits.
    pub(crate) fn release(&self) {
        self.owned.store(false, Ordering::Release);
    }

    /// Queues a record. Only the owning thread may call this. When the ring
    /// is full, adds the call to its site's overflow sums instead, so the
    /// figures reach the aggregator either way.
    #[inline(always)]
    pub(crate) fn push(&self, record: CallRecord) {
        let tail = self.tail.0.load(Ordering::Relaxed);
        // SAFETY: only the producer touches `producer`.
        let producer = unsafe { &mut *self.producer.0.get() };
        if tail.wrapping_sub(producer.cached_head) >= RING_CAPACITY {
            producer.cached_head = self.head.0.load(Ordering::Acquire);
            let filled = tail.wrapping_sub(producer.cached_head);
            if filled >= RING_CAPACITY {
                // Every push re-reads `head` while the ring is full, so the
                // flag keeps this to one wake-up until a push succeeds.
                if !producer.woke_while_full {
                    producer.woke_while_full = true;
                    crate::aggregate::wake_background_drain();
                }
                // Handling overflow here rather than in the caller lets the
                // compiler keep the record in registers on the usual path.
                record.site.record_overflow(record.call);
                return;
            }
            producer.woke_while_full = false;
            if filled >= WAKE_THRESHOLD {
                crate::aggregate::wake_background_drain();
            }
        }
        let cached_head = producer.cached_head;
        let Some(cell) = self.records.get(tail % RING_CAPACITY) else {
            record.site.record_overflow(record.call);
            return;
        };
        // SAFETY: the slot at `tail` lies outside `head..tail`, so the consumer
        // does not read it until the Release store below publishes it.
        unsafe { write_record(cell.get().cast::<CallRecord>(), &record) };
        self.tail.0.store(tail.wrapping_add(1), Ordering::Release);

        if tail.wrapping_sub(cached_head) == WAKE_THRESHOLD {
            crate::aggregate::wake_background_drain();
        }
    }

    /// Removes every published record, oldest first. Only the holder of the
    /// aggregator lock may call this.
    pub(crate) fn drain(&self, mut consume: impl FnMut(CallRecord)) {
        let mut head = self.head.0.load(Ordering::Relaxed);
        let tail = self.tail.0.load(Ordering::Acquire);
        while head != tail {
            if let Some(cell) = self.records.get(head % RING_CAPACITY) {
                // SAFETY: slots in `head..tail` were written and published by
                // the producer, which does not touch them again until `head`
                // moves past them.
                consume(unsafe { (*cell.get()).assume_init() });
            }
            head = head.wrapping_add(1);
        }
        self.head.0.store(head, Ordering::Release);
    }
}

/// Writes `record` to `slot` one 8-byte field at a time.
///
/// A plain struct write compiles to 16-byte copies through a stack
/// temporary that was filled with 8-byte stores. Such a load cannot take its
/// data from the pending stores and waits until they reach the cache. On an
/// AMD EPYC (Zen 4) that cost about 20 ns per call in the `overhead`
/// benchmark of `heapmeter-benches`. Volatile stores are never merged, so
/// each field goes from a register straight to the ring.
/// The Release store of `tail` that follows still orders them before the
/// record is published.
///
/// # Safety
///
/// `slot` must be valid for writes and aligned for a `CallRecord`.
#[inline(always)]
unsafe fn write_record(slot: *mut CallRecord, record: &CallRecord) {
    let call = &record.call;
    // SAFETY: the caller guarantees that `slot` is valid and aligned, so
    // every field pointer derived from it is too.
    unsafe {
        (&raw mut (*slot).site).write_volatile(record.site);
        write_totals(&raw mut (*slot).call.inclusive, call.inclusive);
        write_totals(&raw mut (*slot).call.exclusive, call.exclusive);
        (&raw mut (*slot).call.peak).write_volatile(call.peak);
        (&raw mut (*slot).call.exclusive_peak).write_volatile(call.exclusive_peak);
    }
}

/// Writes `totals` to `target` one field at a time, as [`write_record`] does.
///
/// # Safety
///
/// `target` must be valid for writes and aligned for a `Totals`.
#[inline(always)]
unsafe fn write_totals(target: *mut Totals, totals: Totals) {
    // SAFETY: the caller guarantees that `target` is valid and aligned.
    unsafe {
        (&raw mut (*target).allocated).write_volatile(totals.allocated);
        (&raw mut (*target).freed).write_volatile(totals.freed);
        (&raw mut (*target).allocations).write_volatile(totals.allocations);
        (&raw mut (*target).frees).write_volatile(totals.frees);
    }
}

/// Calls `visit` for every ring.
pub(crate) fn for_each_ring(mut visit: impl FnMut(&'static Ring)) {
    let mut current = RINGS.load(Ordering::Acquire);
    while !current.is_null() {
        // SAFETY: rings on the list are leaked boxes that are never freed.
        let ring: &'static Ring = unsafe { &*current };
        visit(ring);
        current = ring.next.load(Ordering::Acquire);
    }
}
