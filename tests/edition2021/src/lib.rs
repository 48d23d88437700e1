//! Instrumented functions of every common shape, compiled in edition 2021
//! under lints that fail the build on any warning. The rest of the workspace
//! uses edition 2024, so this crate is where the older edition's temporary
//! and capture rules meet the expansion.
#![deny(warnings, missing_docs, unreachable_code, unused, rust_2018_idioms)]
#![deny(clippy::all, clippy::pedantic)]

use std::future::Future;
use std::io;
use std::sync::Arc;

/// Copies the input into a new vector.
#[heapmeter::profile_memory]
#[must_use]
pub fn parse(input: &str) -> Vec<u8> {
    input.as_bytes().to_vec()
}

/// Reads a file, returning the error unchanged.
///
/// # Errors
///
/// Whatever [`std::fs::read`] returns.
#[heapmeter::profile_memory]
pub fn read(path: &str) -> io::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes)
}

/// Returns a boxed job, relying on coercion at the tail.
///
/// # Errors
///
/// Never, but the signature matches real job factories.
#[heapmeter::profile_memory]
pub async fn make_job() -> Result<Box<dyn FnOnce() + Send>, io::Error> {
    Ok(Box::new(|| ()))
}

/// Appends an exclamation mark.
#[heapmeter::profile_memory]
pub async fn shout(mut text: String) -> String {
    text.push('!');
    text
}

/// Returns a writer behind `impl Trait`.
///
/// # Errors
///
/// Never.
#[heapmeter::profile_memory]
pub fn writer() -> io::Result<impl io::Write> {
    Ok(Vec::<u8>::new())
}

/// A cache of byte buffers.
#[derive(Default)]
pub struct Cache {
    entries: Vec<Vec<u8>>,
}

#[heapmeter::profile_memory]
impl Cache {
    /// Stores a copy of `bytes`.
    pub fn store(&mut self, bytes: &[u8]) {
        self.entries.push(bytes.to_vec());
    }

    /// Returns the number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true when the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Consumes a shared cache and sums its entry lengths.
    #[must_use]
    pub fn total(self: Arc<Self>) -> usize {
        self.entries.iter().map(Vec::len).sum()
    }

    /// Returns the newest entry; left out of the measurement.
    #[heapmeter::profile_memory(skip)]
    #[must_use]
    pub fn newest(&self) -> Option<&[u8]> {
        self.entries.last().map(Vec::as_slice)
    }

    /// Returns a future that stores `bytes` when polled.
    pub fn store_later<'a>(&'a mut self, bytes: &'a [u8]) -> impl Future<Output = ()> + 'a {
        async move { self.entries.push(bytes.to_vec()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

    #[test]
    fn sync_call_records_bytes() {
        let _ = parse("edition");
        let snapshot = heapmeter::snapshot();
        let stats = snapshot.function("parse").expect("parse recorded");
        assert_eq!(stats.calls, 1);
        assert_eq!(stats.inclusive.allocated, 7);
    }

    #[tokio::test]
    async fn async_call_records_bytes() {
        let shouted = shout(String::from("hey")).await;
        assert_eq!(shouted, "hey!");
        let job = make_job().await.expect("job");
        job();
        let snapshot = heapmeter::snapshot();
        let stats = snapshot.function("shout").expect("shout recorded");
        assert_eq!(stats.calls, 1);
        assert_eq!(stats.inclusive.allocated, 8);
        assert_eq!(stats.inclusive.freed, 3);
        let job_stats = snapshot.function("make_job").expect("make_job recorded");
        assert_eq!(job_stats.inclusive.allocated, 0);
    }

    #[test]
    fn impl_block_methods_named_with_type() {
        let mut cache = Cache::default();
        cache.store(b"abc");
        assert_eq!(cache.newest(), Some(&b"abc"[..]));
        assert_eq!(Arc::new(cache).total(), 3);
        let snapshot = heapmeter::snapshot();
        assert!(snapshot.function("Cache::store").is_some());
        assert!(snapshot.function("Cache::total").is_some());
        assert!(snapshot.function("Cache::newest").is_none());
    }
}
