//! The tracking global allocator.

use std::alloc::{GlobalAlloc, Layout, System};

use crate::thread;

/// A global allocator that counts every allocation and free per thread, then
/// forwards to an inner allocator (the system allocator by default).
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();
/// ```
///
/// To count on top of another allocator, wrap it:
/// `heapmeter::Allocator::new(tikv_jemallocator::Jemalloc)`.
///
/// # Counting model
///
/// An allocation of `n` bytes counts `n` bytes allocated and one allocation,
/// and a free counts its size and one free. A reallocation from `old` to
/// `new` bytes counts one allocation of `new` bytes and one free of `old`
/// bytes, the convention of jemalloc's `thread.allocated` and of dhat.
/// Sizes are the sizes requested in the [`Layout`], not what the inner
/// allocator rounds them up to. A failed allocation counts nothing.
///
/// The counting never allocates, locks or panics, and touches only
/// `const`-initialised thread-locals without destructors, so it is safe to
/// run while other thread-locals are being destroyed. Events of a thread that
/// is exiting go to process-wide atomic counters instead.
#[derive(Debug, Default)]
pub struct Allocator<A = System> {
    inner: A,
}

impl Allocator<System> {
    /// Wraps the system allocator.
    #[must_use]
    pub const fn system() -> Self {
        Allocator { inner: System }
    }
}

impl<A> Allocator<A> {
    /// Wraps `inner`.
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Allocator { inner }
    }

    /// Returns the wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

/// Widens a `usize` size to the counters' `u64`. Lossless on every target
/// Rust supports, where `usize` has at most 64 bits.
#[inline(always)]
const fn size_of_layout(layout: Layout) -> u64 {
    layout.size() as u64
}

// SAFETY: every method forwards to the inner allocator with the caller's
// arguments unchanged and returns its result unchanged, so the inner
// allocator's guarantees carry over. The counting around each call reads and
// writes only thread-local cells and atomics, never allocates and never
// unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Allocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is
        // the inner allocator's contract too.
        let pointer = unsafe { self.inner.alloc(layout) };
        if !pointer.is_null() {
            thread::record_allocation(size_of_layout(layout));
        }
        pointer
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let pointer = unsafe { self.inner.alloc_zeroed(layout) };
        if !pointer.is_null() {
            thread::record_allocation(size_of_layout(layout));
        }
        pointer
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract:
        // `pointer` came from this allocator, so from the inner one, with
        // `layout`.
        unsafe { self.inner.dealloc(pointer, layout) };
        thread::record_free(size_of_layout(layout));
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which
        // is the inner allocator's contract too.
        let new_pointer = unsafe { self.inner.realloc(pointer, layout, new_size) };
        if !new_pointer.is_null() {
            thread::record_free(size_of_layout(layout));
            thread::record_allocation(new_size as u64);
        }
        new_pointer
    }
}
