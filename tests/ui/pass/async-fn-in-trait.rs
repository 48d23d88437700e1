#![deny(warnings)]

trait Store {
    async fn load(&self, key: u32) -> Vec<u8>;

    #[heapmeter::profile_memory]
    async fn load_twice(&self, key: u32) -> Vec<u8> {
        let mut first = self.load(key).await;
        first.extend(self.load(key).await);
        first
    }
}

struct Memory;

impl Store for Memory {
    #[heapmeter::profile_memory]
    async fn load(&self, key: u32) -> Vec<u8> {
        vec![0; key as usize]
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(Memory.load_twice(2)).len(), 4);
}
