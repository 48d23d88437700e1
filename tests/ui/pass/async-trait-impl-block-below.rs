#![deny(warnings)]

use async_trait::async_trait;

#[async_trait]
trait Fetch {
    async fn fetch(&self, size: usize) -> Vec<u8>;
}

struct Remote;

// `#[async_trait]` runs first on the `impl` block, then `#[profile_memory]`
// receives the rewritten methods.
#[async_trait]
#[heapmeter::profile_memory]
impl Fetch for Remote {
    async fn fetch(&self, size: usize) -> Vec<u8> {
        vec![0; size]
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(Remote.fetch(3)).len(), 3);
}
