#![deny(warnings)]

use async_trait::async_trait;

#[async_trait]
trait Fetch {
    async fn fetch(&self, size: usize) -> Vec<u8>;
}

struct Remote;

// `#[async_trait]` runs first and rewrites the method; the attribute then
// measures the async block inside the boxed future.
#[async_trait]
impl Fetch for Remote {
    #[heapmeter::profile_memory]
    async fn fetch(&self, size: usize) -> Vec<u8> {
        vec![0; size]
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(Remote.fetch(3)).len(), 3);
}
