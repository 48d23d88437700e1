//! Per-thread allocation counters, and the process-wide totals built from them.
//!
//! # Protocol
//!
//! Every thread that allocates owns one [`Counters`] block. Only the owner
//! writes it, with a relaxed load followed by a relaxed store, which compiles
//! to plain moves on x86-64 and AArch64: there is no read-modify-write and no
//! lock on the allocation path. Other threads read the blocks with relaxed
//! loads to build process totals. Each value only grows, so a reader gets a
//! value that is at most slightly stale; after a `join` (or any other
//! happens-before edge) it reads the exact value.
//!
//! The blocks live in a static array of [`SLOT_COUNT`] slots, so they never
//! need allocating. A thread claims a free slot on its first allocation event
//! with a compare-and-swap on a bitmap. When the thread exits, the exit hook
//! (registered outside the allocator, see [`crate::thread`]) returns the slot.
//! A later thread that claims the same slot keeps adding to its values: a slot
//! holds partial sums, and process totals are the sum over all slots, so the
//! owner does not matter to them. Per-call figures are differences between two
//! readings on one thread, so the starting value does not matter to them either.
//!
//! A thread that finds every slot taken, or that allocates after its exit hook
//! ran, counts into a block inside its own thread-local state instead and also
//! adds each event to [`SHARED`] with an atomic read-modify-write, so process
//! totals stay exact on that slower path.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// Number of static counter slots. Threads beyond this many live at once take
/// the slower shared path described in the module docs.
pub(crate) const SLOT_COUNT: usize = 1024;

/// Cumulative allocation counters of one thread (or of one slot).
#[repr(align(128))]
pub(crate) struct Counters {
    allocated: AtomicU64,
    freed: AtomicU64,
    allocations: AtomicU64,
    frees: AtomicU64,
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Self {
            allocated: AtomicU64::new(0),
            freed: AtomicU64::new(0),
            allocations: AtomicU64::new(0),
            frees: AtomicU64::new(0),
        }
    }

    /// Adds one allocation of `size` bytes. Only the owning thread may call
    /// this: it is a load and a store, not an atomic add.
    /// Returns the thread's live bytes after the allocation.
    #[inline(always)]
    pub(crate) fn add_allocation_owned(&self, size: u64) -> i64 {
        let allocated = self.allocated.load(Ordering::Relaxed).wrapping_add(size);
        self.allocated.store(allocated, Ordering::Relaxed);
        let allocations = self.allocations.load(Ordering::Relaxed).wrapping_add(1);
        self.allocations.store(allocations, Ordering::Relaxed);
        // Computed from the value just stored rather than by reloading it.
        allocated.wrapping_sub(self.freed.load(Ordering::Relaxed)).cast_signed()
    }

    /// Adds one free of `size` bytes. Only the owning thread may call this.
    #[inline(always)]
    pub(crate) fn add_free_owned(&self, size: u64) {
        let freed = self.freed.load(Ordering::Relaxed).wrapping_add(size);
        self.freed.store(freed, Ordering::Relaxed);
        let frees = self.frees.load(Ordering::Relaxed).wrapping_add(1);
        self.frees.store(frees, Ordering::Relaxed);
    }

    /// Replaces all values. Only the owning thread may call this.
    pub(crate) fn overwrite_owned(&self, totals: Totals) {
        self.allocated.store(totals.allocated, Ordering::Relaxed);
        self.freed.store(totals.freed, Ordering::Relaxed);
        self.allocations.store(totals.allocations, Ordering::Relaxed);
        self.frees.store(totals.frees, Ordering::Relaxed);
    }

    /// Adds one allocation from any thread, with atomic read-modify-writes.
    pub(crate) fn add_allocation_shared(&self, size: u64) {
        self.allocated.fetch_add(size, Ordering::Relaxed);
        self.allocations.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds one free from any thread, with atomic read-modify-writes.
    pub(crate) fn add_free_shared(&self, size: u64) {
        self.freed.fetch_add(size, Ordering::Relaxed);
        self.frees.fetch_add(1, Ordering::Relaxed);
    }

    #[inline(always)]
    pub(crate) fn read(&self) -> Totals {
        Totals {
            allocated: self.allocated.load(Ordering::Relaxed),
            freed: self.freed.load(Ordering::Relaxed),
            allocations: self.allocations.load(Ordering::Relaxed),
            frees: self.frees.load(Ordering::Relaxed),
        }
    }

    /// Returns live bytes as seen by the owning thread: bytes it allocated
    /// minus bytes it freed. This goes negative on a thread that frees memory
    /// allocated elsewhere, so it is only compared with earlier readings.
    #[inline(always)]
    pub(crate) fn live(&self) -> i64 {
        let allocated = self.allocated.load(Ordering::Relaxed);
        let freed = self.freed.load(Ordering::Relaxed);
        allocated.wrapping_sub(freed).cast_signed()
    }
}

/// A reading of allocation counters, or the difference of two readings.
///
/// All fields wrap on overflow, so the difference of two readings of the same
/// counters is correct even after a counter wraps around.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Bytes allocated. A reallocation counts its new size here.
    pub allocated: u64,
    /// Bytes freed. A reallocation counts its old size here.
    pub freed: u64,
    /// Number of allocations, reallocations included.
    pub allocations: u64,
    /// Number of frees, reallocations included.
    pub frees: u64,
}

impl Totals {
    /// All fields zero.
    pub const ZERO: Totals = Totals { allocated: 0, freed: 0, allocations: 0, frees: 0 };

    /// Returns `self - earlier`, field by field, with wrapping arithmetic.
    #[inline(always)]
    #[must_use]
    pub const fn since(self, earlier: Totals) -> Totals {
        Totals {
            allocated: self.allocated.wrapping_sub(earlier.allocated),
            freed: self.freed.wrapping_sub(earlier.freed),
            allocations: self.allocations.wrapping_sub(earlier.allocations),
            frees: self.frees.wrapping_sub(earlier.frees),
        }
    }

    /// Returns `self + other`, field by field, with wrapping arithmetic.
    #[inline(always)]
    #[must_use]
    pub const fn plus(self, other: Totals) -> Totals {
        Totals {
            allocated: self.allocated.wrapping_add(other.allocated),
            freed: self.freed.wrapping_add(other.freed),
            allocations: self.allocations.wrapping_add(other.allocations),
            frees: self.frees.wrapping_add(other.frees),
        }
    }

    /// Returns bytes allocated minus bytes freed, negative when more was freed.
    #[inline(always)]
    #[must_use]
    pub const fn net(self) -> i64 {
        self.allocated.wrapping_sub(self.freed).cast_signed()
    }
}

static SLOTS: [Counters; SLOT_COUNT] = [const { Counters::new() }; SLOT_COUNT];

/// One bit per slot in [`SLOTS`]: set while a thread owns the slot.
static SLOT_IN_USE: [AtomicU64; SLOT_COUNT / 64] = [const { AtomicU64::new(0) }; SLOT_COUNT / 64];

/// Events of threads that have no slot, added with atomic read-modify-writes.
pub(crate) static SHARED: Counters = Counters::new();

/// Allocations the runtime makes for itself on application threads (thread
/// setup, starting the background thread). They count towards process totals
/// but never towards a function.
pub(crate) static RUNTIME: Counters = Counters::new();

/// Thread id of each slot's owner, or 0 for a free slot (or an owner whose
/// id is unknown). Lets a thread take over the slot of an owner that exited
/// without running its exit hook.
static SLOT_OWNER: [AtomicI32; SLOT_COUNT] = [const { AtomicI32::new(0) }; SLOT_COUNT];

/// Claims a free slot, returning its index, or `None` when all are taken.
///
/// Lock-free and allocation-free, so the allocator may call it. When every
/// slot is taken, it takes over the slot of an owner that has exited: a
/// thread that allocated but never ran instrumented code registers no exit
/// hook, so nothing else would return its slot.
pub(crate) fn claim_slot() -> Option<usize> {
    let me = current_thread_id();
    for (word_index, word) in SLOT_IN_USE.iter().enumerate() {
        let mut bits = word.load(Ordering::Relaxed);
        while bits != u64::MAX {
            let bit = (!bits).trailing_zeros();
            let claimed = bits | (1u64 << bit);
            // Acquire pairs with the Release in `release_slot`, so the new
            // owner's first load reads the previous owner's last store.
            match word.compare_exchange_weak(bits, claimed, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    let index = word_index * 64 + bit as usize;
                    if let Some(owner) = SLOT_OWNER.get(index) {
                        owner.store(me, Ordering::Relaxed);
                    }
                    return Some(index);
                }
                Err(current) => bits = current,
            }
        }
    }
    take_over_exited_slot(me)
}

/// Finds a slot whose owner thread no longer exists and makes `me` its owner.
///
/// NOTE: if the kernel gives the dead owner's id to a new thread that takes
/// the same slot between the liveness check and the compare-and-swap, two
/// threads write one slot and some counts are lost. The same holds for a
/// slot inherited across `fork`. An owner word with a generation next to the
/// thread id would close both windows.
fn take_over_exited_slot(me: i32) -> Option<usize> {
    if me == 0 {
        return None;
    }
    for (index, owner) in SLOT_OWNER.iter().enumerate() {
        let previous = owner.load(Ordering::Relaxed);
        if previous == 0 || previous == me || thread_is_alive(previous) {
            continue;
        }
        // Acquire: the exited owner's last stores happened before its exit,
        // which the kernel reported, so they are visible. The CAS settles a
        // race between two threads taking over the same slot.
        if owner.compare_exchange(previous, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return Some(index);
        }
    }
    None
}

/// Returns the kernel's id of the calling thread, or 0 where heapmeter cannot
/// tell, which disables taking over slots.
#[cfg(target_os = "linux")]
fn current_thread_id() -> i32 {
    // SAFETY: `gettid` takes no arguments, and gettid(2) documents no errors.
    let id = unsafe { libc::syscall(libc::SYS_gettid) };
    i32::try_from(id).unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
fn current_thread_id() -> i32 {
    // NOTE: only Linux can tell whether a slot's owner exited, so elsewhere a
    // thread without an exit hook keeps its slot until the process ends.
    0
}

/// Returns false only when the kernel reports that no thread `id` exists in
/// this process. An id the kernel has since given to a new thread reads as
/// alive, which only delays taking over the slot.
#[cfg(target_os = "linux")]
fn thread_is_alive(id: i32) -> bool {
    // SAFETY: signal 0 only checks that the thread exists; nothing is sent.
    let result = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), id, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(target_os = "linux"))]
fn thread_is_alive(_id: i32) -> bool {
    true
}

/// Returns a slot claimed with [`claim_slot`]. The caller must not write the
/// slot afterwards.
pub(crate) fn release_slot(index: usize) {
    if let Some(owner) = SLOT_OWNER.get(index) {
        owner.store(0, Ordering::Relaxed);
    }
    if let Some(word) = SLOT_IN_USE.get(index / 64) {
        word.fetch_and(!(1u64 << (index % 64)), Ordering::Release);
    }
}

pub(crate) fn slot(index: usize) -> Option<&'static Counters> {
    SLOTS.get(index)
}

/// Process-wide totals of the application's allocations and frees seen by
/// [`crate::Allocator`] since the process started. heapmeter's own
/// allocations are left out; [`runtime_totals`] has them.
///
/// Exact once the threads that allocated have been joined; while they run,
/// each thread's latest events may be missing from the sum.
#[must_use]
pub fn process_totals() -> Totals {
    let mut sum = SHARED.read();
    for slot in &SLOTS {
        sum = sum.plus(slot.read());
    }
    sum
}

/// Totals of the allocations heapmeter made for itself: per-thread queues,
/// aggregation and export.
#[must_use]
pub fn runtime_totals() -> Totals {
    RUNTIME.read()
}

/// Bytes the application has allocated and not yet freed through [`crate::Allocator`],
/// heapmeter's own allocations left out.
#[must_use]
pub fn process_live_bytes() -> i64 {
    process_totals().net()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claims slots from short-lived threads that never return them, as
    /// threads without an exit hook do, then checks that a new thread still
    /// gets a slot. This binary installs no tracking allocator, so nothing
    /// else claims slots here.
    #[test]
    #[cfg(target_os = "linux")]
    fn exited_owner_slot_taken_over() {
        let mut claimed = Vec::new();
        for _ in 0..SLOT_COUNT {
            let slot = std::thread::spawn(claim_slot).join().expect("join");
            claimed.push(slot);
        }
        assert!(claimed.iter().all(Option::is_some), "the first {SLOT_COUNT} claims find free slots");
        assert!(SLOT_IN_USE.iter().all(|word| word.load(Ordering::Relaxed) == u64::MAX));

        let taken_over = std::thread::spawn(claim_slot).join().expect("join");
        assert!(taken_over.is_some(), "a slot of an exited thread is taken over");
    }
}
