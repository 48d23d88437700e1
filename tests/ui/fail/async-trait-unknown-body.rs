// A method shaped like `#[async_trait]` output (the `'async_trait` lifetime)
// whose body is not the `Box::pin(async move { ... })` the attribute looks
// for. Measuring it as a sync function would only measure the creation of
// the future, so the attribute rejects it.
use std::future::Future;
use std::pin::Pin;

struct Remote;

impl Remote {
    #[heapmeter::profile_memory]
    fn fetch<'async_trait>(&'async_trait self) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send + 'async_trait>> {
        let future = async move { vec![0; 4] };
        Box::pin(future)
    }
}

fn main() {
    drop(Remote.fetch());
}
