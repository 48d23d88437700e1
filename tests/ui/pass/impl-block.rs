#![deny(warnings)]

struct Cache<K> {
    keys: Vec<K>,
}

#[heapmeter::profile_memory]
impl<K: Clone> Cache<K> {
    const LIMIT: usize = 8;

    fn new() -> Self {
        Cache { keys: Vec::with_capacity(Self::LIMIT) }
    }

    fn insert(&mut self, key: &K) {
        self.keys.push(key.clone());
    }

    async fn first(&self) -> Option<K> {
        self.keys.first().cloned()
    }

    #[heapmeter::profile_memory(skip)]
    const fn limit() -> usize {
        Self::LIMIT
    }

    #[profile_memory(name = "cache.len")]
    fn len(&self) -> usize {
        self.keys.len()
    }
}

fn main() {
    let mut cache = Cache::new();
    cache.insert(&3);
    assert_eq!(cache.len(), 1);
    assert_eq!(Cache::<u8>::limit(), 8);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(cache.first()), Some(3));
}
