//! `#[profile_memory]` combined with `#[async_trait]` in each attribute
//! order: the figures are those of the body's execution, not of the creation
//! of the boxed future.
//!
//! The tracking allocator is process-wide, so these tests have their own test
//! binary, and each test calls its own methods.

use async_trait::async_trait;
use heapmeter::profile_memory;

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(future)
}

#[async_trait]
trait Fetch {
    async fn fetch(&self) -> Vec<u8>;
}

struct MethodFirst;

// `#[async_trait]` runs first, so `#[profile_memory]` receives the rewritten
// method and measures the async block inside `Box::pin`.
#[async_trait]
impl Fetch for MethodFirst {
    #[profile_memory(name = "async_trait.method")]
    async fn fetch(&self) -> Vec<u8> {
        vec![0u8; 4096]
    }
}

struct ImplAbove;

#[profile_memory]
#[async_trait]
impl Fetch for ImplAbove {
    async fn fetch(&self) -> Vec<u8> {
        vec![0u8; 4096]
    }
}

struct ImplBelow;

#[async_trait]
#[profile_memory]
impl Fetch for ImplBelow {
    async fn fetch(&self) -> Vec<u8> {
        vec![0u8; 4096]
    }
}

fn check_body_only(name: &str) {
    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function(name).expect("recorded");
    assert_eq!(stats.calls, 1);
    // The boxed future itself is allocated before the call starts.
    assert_eq!(stats.inclusive.allocated, 4096);
    assert_eq!(stats.inclusive.allocations, 1);
}

#[test]
fn method_attribute_measures_body() {
    let future = MethodFirst.fetch();
    assert_eq!(block_on(future).len(), 4096);
    check_body_only("async_trait.method");
}

#[test]
fn impl_attribute_above_measures_body() {
    assert_eq!(block_on(ImplAbove.fetch()).len(), 4096);
    check_body_only("ImplAbove::fetch");
}

#[test]
fn impl_attribute_below_measures_body() {
    assert_eq!(block_on(ImplBelow.fetch()).len(), 4096);
    check_body_only("ImplBelow::fetch");
}
