//! With the `off` feature, `scope!` and `instrument!` measure nothing. Run
//! with `cargo test -p heapmeter --features off --test off_feature`; without
//! the feature this file is empty.
#![cfg(feature = "off")]

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

#[test]
fn scope_records_nothing() {
    {
        let _region = heapmeter::scope!("off.region");
        black_box(vec![0u8; 300]);
    }
    assert!(heapmeter::snapshot().function("off.region").is_none());
}

#[test]
fn instrument_returns_future_unchanged() {
    let future = heapmeter::instrument!("off.future", async { vec![0u8; 64].len() });
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    assert_eq!(future.as_mut().poll(&mut context), Poll::Ready(64));
    assert!(heapmeter::snapshot().function("off.future").is_none());
}

#[heapmeter::profile_memory]
fn annotated() -> Vec<u8> {
    vec![0u8; 16]
}

#[test]
fn attribute_records_nothing() {
    assert_eq!(annotated().len(), 16);
    assert!(heapmeter::snapshot().function("annotated").is_none());
}
