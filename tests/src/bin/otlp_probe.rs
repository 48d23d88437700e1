//! A small instrumented program that the OTLP tests run against a real
//! collector, one process per scenario because the allocator is process-wide.
//!
//! Usage: `otlp_probe MODE`, with export settings from the standard `OTEL_*`
//! environment variables. Modes:
//!
//! - `plain`: a plain `fn main`; calls the workload, then `Handle::shutdown`.
//! - `tokio-main`: the same inside `#[tokio::main]`, the handle dropped there.
//! - `current-thread`: the same inside a `current_thread` runtime, with
//!   `Handle::shutdown` called on the runtime's thread.
//! - `short-lived`: 10 calls, one second of sleep, then exit by dropping the
//!   handle, with no periodic export due.
//! - `long-running SECONDS`: calls the workload every 100 ms for SECONDS,
//!   prints `workload_rounds: N`, then shuts down.
//! - `many-functions COUNT`: calls COUNT generated functions, named
//!   `generated::handler_00000` and so on, 3 times each, then the workload,
//!   then shuts down.
//!
//! The workload: `allocate_kibibyte` 10 times (1024 bytes each) and
//! `collect_thousand` once (8000 bytes). Each mode prints `shutdown: ok` or
//! `shutdown: error: ...` and `shutdown_ms: N` on stdout; logs go to stderr.

use std::hint::black_box;
use std::time::{Duration, Instant};

use heapmeter::{Guard, Site};

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

static ALLOCATE_KIBIBYTE: Site = Site::new("allocate_kibibyte", "otlp_probe", file!(), line!());

fn allocate_kibibyte() -> usize {
    let _call = Guard::enter(&ALLOCATE_KIBIBYTE);
    let buffer = black_box(Vec::<u8>::with_capacity(1024));
    buffer.capacity()
}

static COLLECT_THOUSAND: Site = Site::new("collect_thousand", "otlp_probe", file!(), line!());

fn collect_thousand() -> usize {
    let _call = Guard::enter(&COLLECT_THOUSAND);
    let numbers = black_box((0..1000u64).collect::<Vec<_>>());
    numbers.len()
}

fn workload() {
    for _ in 0..10 {
        black_box(allocate_kibibyte());
    }
    black_box(collect_thousand());
}

fn start() -> heapmeter::Handle {
    let config = match heapmeter::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            std::process::exit(2);
        }
    };
    match heapmeter::init(config) {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("heapmeter::init failed: {error}");
            std::process::exit(2);
        }
    }
}

fn shut_down(handle: heapmeter::Handle) {
    let started = Instant::now();
    let result = handle.shutdown();
    report_shutdown(result, started.elapsed());
}

fn report_shutdown(result: Result<(), heapmeter::ShutdownError>, elapsed: Duration) {
    match result {
        Ok(()) => println!("shutdown: ok"),
        Err(error) => println!("shutdown: error: {error}"),
    }
    println!("shutdown_ms: {}", elapsed.as_millis());
}

#[tokio::main]
async fn run_tokio_main() {
    let handle = start();
    workload();
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The final export runs from `Drop` on a runtime worker thread.
    let started = Instant::now();
    drop(handle);
    report_shutdown(Ok(()), started.elapsed());
}

#[tokio::main(flavor = "current_thread")]
async fn run_current_thread() {
    let handle = start();
    workload();
    tokio::time::sleep(Duration::from_millis(10)).await;
    shut_down(handle);
}

fn run_long(seconds: u64) {
    let handle = start();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut rounds = 0u64;
    while Instant::now() < end {
        workload();
        rounds += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("workload_rounds: {rounds}");
    shut_down(handle);
}

/// Calls `count` functions made at run time, 3 times each. Each site is
/// leaked, so it lives as long as the `static` that `#[profile_memory]`
/// declares.
fn call_generated_functions(count: usize) {
    for index in 0..count {
        // A snapshot empties this thread's ring of 1,024 records. Calls that
        // find it full keep no histogram sample, and the checks read them.
        if index % 300 == 0 {
            drop(heapmeter::snapshot());
        }
        let name: &'static str = Box::leak(format!("handler_{index:05}").into_boxed_str());
        let site: &'static Site = Box::leak(Box::new(Site::new(name, "generated", "src/generated.rs", 1)));
        for _ in 0..3 {
            let _call = Guard::enter(site);
            black_box(Vec::<u8>::with_capacity(64 << (index % 8)));
        }
    }
}

fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).with_max_level(tracing::Level::INFO).init();

    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        Some("plain") => {
            let handle = start();
            workload();
            shut_down(handle);
        }
        Some("tokio-main") => run_tokio_main(),
        Some("current-thread") => run_current_thread(),
        Some("short-lived") => {
            let _handle = start();
            workload();
            std::thread::sleep(Duration::from_secs(1));
            println!("exiting");
        }
        Some("long-running") => {
            let seconds = arguments.get(1).and_then(|text| text.parse().ok()).unwrap_or(5);
            run_long(seconds);
        }
        Some("many-functions") => {
            let count = arguments.get(1).and_then(|text| text.parse().ok()).unwrap_or(2_000);
            let handle = start();
            call_generated_functions(count);
            drop(heapmeter::snapshot());
            workload();
            shut_down(handle);
        }
        _ => {
            eprintln!(
                "usage: otlp_probe plain|tokio-main|current-thread|short-lived|long-running SECONDS|many-functions COUNT"
            );
            std::process::exit(2);
        }
    }
}
