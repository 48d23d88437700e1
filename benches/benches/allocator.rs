//! Cost of the tracking allocator: an allocation and free through
//! `heapmeter::Allocator::system()` against the same pair sent to `System`
//! directly, both called through `GlobalAlloc` in this one binary.
//!
//! The binary's global allocator is heapmeter's too, so the benchmark thread
//! has its counter slot before the first measurement, as in an application.
#![allow(missing_docs, reason = "criterion_main! generates an undocumented `main`")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use heapmeter::Allocator;

#[global_allocator]
static ALLOCATOR: Allocator = Allocator::system();

/// A second tracking allocator, called directly like `System`, so that both
/// sides go through the same kind of call.
static TRACKING: Allocator = Allocator::system();

const SIZES: [usize; 4] = [16, 64, 1024, 64 * 1024];

/// Allocates and frees one block of `layout`. The pointer passes through
/// `black_box` because the optimiser may otherwise delete a `malloc` whose
/// result is only freed.
#[inline(always)]
fn allocate_and_free<A: GlobalAlloc>(allocator: &A, layout: Layout) {
    // SAFETY: `layout` has a non-zero size (see `SIZES`), and the block is
    // freed with the allocator and layout it was allocated with.
    unsafe {
        let pointer = black_box(allocator.alloc(layout));
        if !pointer.is_null() {
            allocator.dealloc(pointer, layout);
        }
    }
}

fn allocate_and_free_pairs(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("alloc");
    for size in SIZES {
        let Ok(layout) = Layout::from_size_align(size, 8) else { continue };
        group.bench_function(BenchmarkId::new("system", size), |bencher| {
            bencher.iter(|| allocate_and_free(&System, layout));
        });
        group.bench_function(BenchmarkId::new("tracking", size), |bencher| {
            bencher.iter(|| allocate_and_free(&TRACKING, layout));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = heapmeter_benches::criterion();
    targets = allocate_and_free_pairs
}
criterion_main!(benches);
