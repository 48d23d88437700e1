//! Exact figures recorded by `#[profile_memory]` on `async fn`, on sizes the
//! tests allocate on purpose.
//!
//! The tracking allocator is process-wide, so these tests have their own test
//! binary. Each test calls its own functions, and an async call counts only
//! the polls of its own future, so the tests stay exact while the harness
//! runs them in parallel.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use heapmeter::profile_memory;

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(future)
}

#[profile_memory]
async fn make_job() -> Result<Box<dyn FnOnce() + Send>, std::io::Error> {
    Ok(Box::new(|| ()))
}

#[test]
fn boxed_closure_result_allocates_nothing() {
    let job = block_on(make_job()).expect("a job");
    job();

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("make_job").expect("make_job recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 0);
    assert_eq!(stats.inclusive.allocations, 0);
}

struct Sink;

impl Sink {
    #[profile_memory]
    async fn empty_writer(&self) -> std::io::Result<impl std::io::Write> {
        Ok(Vec::<u8>::new())
    }
}

#[test]
fn impl_trait_result_allocates_nothing() {
    black_box(block_on(Sink.empty_writer()).expect("a writer"));

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("empty_writer").expect("empty_writer recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 0);
}

#[profile_memory]
#[expect(clippy::single_char_add_str, reason = "a one-byte string grows the same way as the char")]
async fn shout(mut s: String) -> String {
    s.push_str("!");
    s
}

#[test]
fn shout_reallocates_three_to_eight() {
    let shouted = block_on(shout(String::from("hey")));
    assert_eq!(shouted, "hey!");

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("shout").expect("shout recorded");
    assert_eq!(stats.calls, 1);
    // Growing "hey" reallocates: 8 bytes allocated, the old 3 freed.
    assert_eq!(stats.inclusive.allocated, 8);
    assert_eq!(stats.inclusive.allocations, 1);
    assert_eq!(stats.inclusive.freed, 3);
    assert_eq!(stats.inclusive.frees, 1);
    assert_eq!(stats.retained(), 5);
}

/// Labels a flag.
#[profile_memory]
pub async fn label(flag: bool) -> String {
    format!("{}", if flag { "yes" } else { "no" })
}

#[test]
fn label_allocates_eight_bytes() {
    assert_eq!(block_on(label(true)), "yes");

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("label").expect("label recorded");
    assert_eq!(stats.calls, 1);
    // `format!` starts empty and grows to the minimum capacity of 8 bytes.
    assert_eq!(stats.inclusive.allocated, 8);
}

/// Returns `Pending` once, waking its task at once, and allocates nothing.
/// (`tokio::task::yield_now` can grow a list inside tokio while it yields.)
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|context| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        context.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

#[profile_memory]
async fn inner_kilobyte() -> Vec<u8> {
    yield_once().await;
    Vec::with_capacity(1024)
}

#[profile_memory]
async fn outer_hundred() -> usize {
    let own = black_box(Vec::<u8>::with_capacity(100));
    let kept = inner_kilobyte().await;
    yield_once().await;
    own.capacity() + kept.capacity()
}

#[test]
fn nested_async_inclusive_and_self() {
    assert_eq!(block_on(outer_hundred()), 1124);

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
}

#[profile_memory]
async fn allocate_then_wait(size: usize) -> Vec<u8> {
    let buffer = black_box(vec![0u8; size]);
    std::future::pending::<()>().await;
    buffer
}

#[test]
fn dropped_future_records_once() {
    {
        let mut future = pin!(allocate_then_wait(64));
        let mut context = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut context).is_pending());
        assert!(future.as_mut().poll(&mut context).is_pending());
    }

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("allocate_then_wait").expect("recorded on drop");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 64);
    assert_eq!(stats.inclusive.allocations, 1);
}

#[profile_memory]
async fn never_polled() -> Vec<u8> {
    vec![0; 8]
}

#[test]
fn unpolled_future_records_nothing() {
    drop(never_polled());

    let snapshot = heapmeter::snapshot();
    assert!(snapshot.function("never_polled").is_none());
}

#[profile_memory]
async fn read_later(path: &str) -> std::io::Result<usize> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.len())
}

#[test]
fn question_mark_records_once_and_keeps_error() {
    let missing = "/nonexistent/heapmeter/read_later";
    let expected = std::fs::read(missing).expect_err("the path does not exist");
    let error = block_on(read_later(missing)).expect_err("the path does not exist");
    assert_eq!(error.kind(), expected.kind());
    assert_eq!(error.raw_os_error(), expected.raw_os_error());

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("read_later").expect("read_later recorded");
    assert_eq!(stats.calls, 1);
}

#[profile_memory]
async fn sum_parts((first, second): (Vec<u8>, Vec<u8>), _: Vec<u8>, mut total: usize) -> usize {
    total += first.len() + second.len();
    total
}

#[test]
fn patterns_and_wildcard_parameters() {
    let total = block_on(sum_parts((vec![1; 3], vec![2; 4]), vec![3; 5], 1));
    assert_eq!(total, 8);

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("sum_parts").expect("sum_parts recorded");
    assert_eq!(stats.calls, 1);
    assert_eq!(stats.inclusive.allocated, 0);
}

static WILDCARD_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets `WILDCARD_DROPPED` when dropped.
struct DropFlag;

impl Drop for DropFlag {
    fn drop(&mut self) {
        WILDCARD_DROPPED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[profile_memory]
async fn keep_wildcard(_: DropFlag) -> bool {
    yield_once().await;
    WILDCARD_DROPPED.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn wildcard_parameter_drops_at_end() {
    let mut future = pin!(keep_wildcard(DropFlag));
    let mut context = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut context).is_pending());
    assert!(!WILDCARD_DROPPED.load(std::sync::atomic::Ordering::SeqCst));

    let Poll::Ready(dropped_inside) = future.as_mut().poll(&mut context) else {
        panic!("the second poll completes");
    };
    // As without the attribute, `_` lives to the end of the body, so the body
    // does not see it dropped, and it is dropped once the call completes.
    assert!(!dropped_inside);
    assert!(WILDCARD_DROPPED.load(std::sync::atomic::Ordering::SeqCst));
}
