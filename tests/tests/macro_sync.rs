//! Exact figures recorded by `#[profile_memory]` on synchronous functions,
//! on sizes the tests allocate on purpose.
//!
//! The tracking allocator is process-wide, so these tests have their own test
//! binary. Figures are per thread and each test calls its own functions, so
//! the tests stay exact while the harness runs them in parallel.

use std::hint::black_box;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};

use heapmeter::profile_memory;

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

#[profile_memory]
fn push_and_get(v: &mut Vec<String>) -> &mut String {
    v.push(String::from("x"));
    v.last_mut().unwrap()
}

#[test]
fn reference_return_counts_both_allocations() {
    let mut strings = Vec::new();
    black_box(push_and_get(&mut strings));

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("push_and_get").expect("push_and_get recorded");
    assert_eq!(stats.calls, 1);
    // The vector grows to 4 strings of 24 bytes, and the string allocates 1 byte.
    assert_eq!(stats.inclusive.allocated, 4 * 24 + 1);
    assert_eq!(stats.inclusive.allocations, 2);
    assert_eq!(stats.inclusive.freed, 0);
}

struct Sink;

impl Sink {
    #[profile_memory]
    fn empty_writer(&self) -> std::io::Result<impl std::io::Write> {
        Ok(Vec::<u8>::new())
    }
}

#[test]
fn impl_trait_result_allocates_nothing() {
    let mut writer = Sink.empty_writer().expect("a writer");
    // Writing happens outside the call, so it is not charged to it.
    writer.write_all(b"abc").expect("write to a vector");

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("empty_writer").expect("empty_writer recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 0);
    assert_eq!(stats.inclusive.allocations, 0);
}

/// Returns the bytes of `s`.
#[profile_memory]
pub fn parse(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn parse_of_hello_allocates_five_bytes() {
    black_box(parse("hello"));

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("parse").expect("parse recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 5);
    assert_eq!(stats.inclusive.allocations, 1);
    assert_eq!(stats.retained(), 5);
}

#[profile_memory]
fn inner_kilobyte() -> Vec<u8> {
    Vec::with_capacity(1024)
}

#[profile_memory]
fn outer_hundred() -> usize {
    let own = black_box(Vec::<u8>::with_capacity(100));
    let kept = inner_kilobyte();
    own.capacity() + kept.capacity()
}

#[test]
fn nested_inclusive_and_self() {
    assert_eq!(outer_hundred(), 1124);

    let snapshot = heapmeter::snapshot();
    let inner = snapshot.function("inner_kilobyte").expect("inner recorded");
    assert_eq!(inner.calls, 1);
    assert_eq!(inner.inclusive.allocated, 1024);

    let outer = snapshot.function("outer_hundred").expect("outer recorded");
    assert_eq!(outer.calls, 1);
    assert_eq!(outer.inclusive.allocated, 1124);
    assert_eq!(outer.inclusive.allocations, 2);
    assert_eq!(outer.exclusive.allocated, 100);
    assert_eq!(outer.exclusive.allocations, 1);
    assert_eq!(outer.inclusive.freed, 1124);
    assert_eq!(outer.peak_max, 1124);
    assert_eq!(outer.exclusive_peak_max, 100);
}

#[profile_memory]
fn read_all(path: &str) -> std::io::Result<usize> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.len())
}

#[test]
fn question_mark_records_once_and_keeps_error() {
    let missing = "/nonexistent/heapmeter/read_all";
    let expected = std::fs::read(missing).expect_err("the path does not exist");
    let error = read_all(missing).expect_err("the path does not exist");
    assert_eq!(error.kind(), expected.kind());
    assert_eq!(error.raw_os_error(), expected.raw_os_error());

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("read_all").expect("read_all recorded");
    assert_eq!(stats.calls, 1);
}

#[profile_memory]
fn early_return(skip: bool) -> Vec<u8> {
    if skip {
        return Vec::with_capacity(10);
    }
    Vec::with_capacity(20)
}

#[test]
fn return_and_fall_through_record_once_each() {
    black_box(early_return(true));
    black_box(early_return(false));

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("early_return").expect("early_return recorded");
    assert_eq!(stats.calls, 2);
    assert_eq!(stats.inclusive.allocated, 30);
    assert_eq!(stats.allocated_per_call.min(), Some(10));
    assert_eq!(stats.allocated_per_call.max(), Some(20));
}

/// The payload that `panics_after_allocating` panics with.
struct Payload(u32);

#[profile_memory]
fn panics_after_allocating(size: usize) -> Vec<u8> {
    let buffer = black_box(vec![0u8; size]);
    if buffer.len() == size {
        panic::resume_unwind(Box::new(Payload(7)));
    }
    buffer
}

#[test]
fn unwinding_panic_records_once() {
    // `resume_unwind` skips the panic hook, which would print a message.
    let result = panic::catch_unwind(AssertUnwindSafe(|| panics_after_allocating(256)));
    let payload = result.expect_err("the call panics");
    let payload = payload.downcast::<Payload>().expect("the payload is unchanged");
    assert_eq!(payload.0, 7);

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("panics_after_allocating").expect("recorded");
    assert_eq!(stats.calls, 1);
    // The buffer drops while the panic unwinds through the call. The
    // unwinder's own exception object, whose size is a detail of std, is
    // allocated inside the call too, so only a lower bound is checked there.
    assert_eq!(stats.inclusive.freed, 256);
    assert!(stats.inclusive.allocated >= 256 + 4);
}

#[profile_memory(name = "config.load")]
fn load_config() -> String {
    String::from("abcdef")
}

#[test]
fn name_option_replaces_path() {
    black_box(load_config());

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("config.load").expect("config.load recorded");
    assert_eq!(stats.name, "config.load");
    assert_eq!(stats.inclusive.allocated, 6);
    assert!(snapshot.function("load_config").is_none());
}

struct Buffer(Vec<u8>);

#[profile_memory]
impl Buffer {
    fn filled(size: usize) -> Self {
        Buffer(vec![1; size])
    }

    fn grow(&mut self, extra: usize) {
        self.0.reserve_exact(extra);
    }

    #[profile_memory(name = "buffer.copy")]
    fn copy(&self) -> Vec<u8> {
        self.0.clone()
    }

    #[profile_memory(skip)]
    fn copy_unmeasured(&self) -> Vec<u8> {
        self.0.clone()
    }
}

#[test]
fn impl_block_names_methods_by_type() {
    let mut buffer = Buffer::filled(40);
    buffer.grow(60);
    black_box(buffer.copy());
    black_box(buffer.copy_unmeasured());

    let snapshot = heapmeter::snapshot();
    let filled = snapshot.function("Buffer::filled").expect("Buffer::filled recorded");
    assert_eq!(filled.name, concat!(module_path!(), "::Buffer::filled"));
    assert_eq!(filled.inclusive.allocated, 40);

    let grow = snapshot.function("Buffer::grow").expect("Buffer::grow recorded");
    // `reserve_exact` reallocates: 100 bytes allocated, the old 40 freed.
    assert_eq!(grow.inclusive.allocated, 100);
    assert_eq!(grow.inclusive.freed, 40);

    let copy = snapshot.function("buffer.copy").expect("buffer.copy recorded");
    assert_eq!(copy.inclusive.allocated, 40);
    assert!(snapshot.function("Buffer::copy_unmeasured").is_none());
}

#[test]
fn site_line_is_function_line() {
    black_box(line_probe());

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("line_probe").expect("line_probe recorded");
    assert_eq!(stats.line, LINE_PROBE_LINE);
    assert_eq!(stats.file, file!());
}

const LINE_PROBE_LINE: u32 = line!() + 3;

#[profile_memory]
fn line_probe() -> u8 {
    1
}
