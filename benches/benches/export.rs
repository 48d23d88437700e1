//! Costs of many instrumented functions outside the hot path: the runtime
//! memory each one takes once it has been called, and the time to collect
//! 1,000 and 10,000 of them. For both counts the benchmark also times
//! encoding them as the exporter's OTLP requests of one export and reports
//! their total size and number.
//!
//! The sites are made at run time and leaked, one per generated name. The
//! runtime only ever receives a `&'static Site`, so a leaked site behaves like
//! the `static` the attribute declares, and the benchmark does not have to
//! compile 10,000 functions.
#![allow(missing_docs, reason = "criterion_main! generates an undocumented `main`")]

use std::hint::black_box;
use std::mem::size_of;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use heapmeter::__private::RequestEncoder;
use heapmeter::{Allocator, FunctionStats, Guard, Site};
use heapmeter_benches::{report_metric, require_recorded};

#[global_allocator]
static ALLOCATOR: Allocator = Allocator::system();

/// Function counts to collect, in increasing order: the sites of each count
/// include those of the counts before it.
const FUNCTION_COUNTS: [usize; 2] = [1_000, 10_000];

/// Calls made to each function before it is measured.
const CALLS_PER_FUNCTION: u64 = 20;

/// Calls between two snapshots, which empty the ring. The ring has room for
/// 1,024 records. Calls that find it full go to the overflow sums, which keep
/// no histogram and so would understate the memory.
const CALLS_BETWEEN_DRAINS: u64 = 1_000;

/// A small xorshift generator, so the call pattern is the same on every run.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn make_sites(first: usize, count: usize) -> Vec<&'static Site> {
    (first..first + count)
        .map(|index| {
            let name: &'static str = Box::leak(format!("handler_{index:05}").into_boxed_str());
            let site: &'static Site = Box::leak(Box::new(Site::new(name, "generated::service", "src/service.rs", 10)));
            site
        })
        .collect()
}

/// Calls every site `CALLS_PER_FUNCTION` times. Each function has a typical
/// request size between 16 bytes and 16 KiB. Each call allocates one to four
/// blocks of up to that size, so the per-call histograms spread over several
/// powers of two as they do for real code.
fn call_sites(sites: &[&'static Site], random: &mut Xorshift) {
    let mut calls_since_drain = 0;
    for site in sites {
        let typical_size = 16_usize << random.below(11);
        for _ in 0..CALLS_PER_FUNCTION {
            let _guard = Guard::enter(site);
            let blocks: Vec<Vec<u8>> = (0..1 + random.below(4))
                .map(|_| Vec::with_capacity(1 + usize::try_from(random.below(typical_size as u64)).unwrap_or(0)))
                .collect();
            black_box(blocks);

            calls_since_drain += 1;
            if calls_since_drain == CALLS_BETWEEN_DRAINS {
                calls_since_drain = 0;
                drop(heapmeter::snapshot());
            }
        }
    }
}

#[allow(clippy::cast_precision_loss, reason = "byte and call counts stay far below 2^52")]
fn report_memory(functions: &[FunctionStats]) {
    let count = functions.len() as f64;
    let heap_bytes: usize = functions.iter().map(FunctionStats::heap_bytes).sum();
    let unsampled: u64 = functions.iter().map(|stats| stats.unsampled_calls).sum();
    let heap_mean = heap_bytes as f64 / count;
    let per_function = heap_mean + size_of::<FunctionStats>() as f64 + size_of::<Site>() as f64;

    report_metric("memory/site_bytes", size_of::<Site>() as f64, "bytes");
    report_metric("memory/function_stats_bytes", size_of::<FunctionStats>() as f64, "bytes");
    report_metric("memory/heap_bytes_mean", heap_mean, "bytes");
    report_metric(
        "memory/heap_bytes_max",
        functions.iter().map(FunctionStats::heap_bytes).max().unwrap_or(0) as f64,
        "bytes",
    );
    report_metric("memory/per_function", per_function, "bytes");
    report_metric("memory/unsampled_calls", unsampled as f64, "calls");
}

/// Reports the size of one whole export of `count` functions, summed over
/// its requests, and the number of requests.
#[allow(clippy::cast_precision_loss, reason = "request sizes stay far below 2^52 bytes")]
fn report_request_size(count: usize, request_sizes: &[usize]) {
    let export_bytes: usize = request_sizes.iter().sum();
    report_metric(&format!("export/request_bytes/{count}"), export_bytes as f64, "bytes");
    report_metric(&format!("export/request_bytes_per_function/{count}"), export_bytes as f64 / count as f64, "bytes");
    report_metric(&format!("export/requests/{count}"), request_sizes.len() as f64, "requests");
    report_metric(
        &format!("export/largest_request_bytes/{count}"),
        request_sizes.iter().copied().max().unwrap_or(0) as f64,
        "bytes",
    );
}

fn collect_and_encode(criterion: &mut Criterion) {
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let mut sites: Vec<&'static Site> = Vec::new();
    let mut group = criterion.benchmark_group("export");
    group.sample_size(20);
    for count in FUNCTION_COUNTS {
        let added = make_sites(sites.len(), count - sites.len());
        call_sites(&added, &mut random);
        sites.extend(added);

        let snapshot = heapmeter::snapshot();
        assert_eq!(snapshot.functions.len(), count, "every generated function must be aggregated");
        if FUNCTION_COUNTS.last() == Some(&count) {
            report_memory(&snapshot.functions);
        }
        require_recorded("generated::service::handler_00000", CALLS_PER_FUNCTION);

        group.bench_function(BenchmarkId::new("collect", count), |bencher| bencher.iter(heapmeter::snapshot));

        let encoder = RequestEncoder::new();
        report_request_size(count, &encoder.encode(&snapshot));
        group.bench_function(BenchmarkId::new("encode", count), |bencher| {
            bencher.iter(|| encoder.encode(black_box(&snapshot)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = heapmeter_benches::criterion();
    targets = collect_and_encode
}
criterion_main!(benches);
