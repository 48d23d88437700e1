#![deny(warnings)]

use std::pin::Pin;
use std::sync::Arc;

struct Counter(Vec<u32>);

impl Counter {
    #[heapmeter::profile_memory]
    fn by_ref(&self) -> usize {
        self.0.len()
    }

    #[heapmeter::profile_memory]
    fn by_mut_ref(&mut self) {
        self.0.push(1);
    }

    #[heapmeter::profile_memory]
    fn by_value(self) -> Vec<u32> {
        self.0
    }

    #[heapmeter::profile_memory]
    fn by_mut_value(mut self) -> Self {
        self.0.push(2);
        self
    }

    #[heapmeter::profile_memory]
    fn pinned(self: Pin<&mut Self>) {
        self.get_mut().0.push(3);
    }

    #[heapmeter::profile_memory]
    fn boxed(self: Box<Self>) -> usize {
        self.0.len()
    }

    #[heapmeter::profile_memory]
    fn shared(self: Arc<Self>) -> usize {
        self.0.len()
    }

    #[heapmeter::profile_memory]
    fn associated() -> Self {
        Counter(Vec::new())
    }
}

fn main() {
    let mut counter = Counter::associated();
    counter.by_mut_ref();
    assert_eq!(counter.by_ref(), 1);
    let mut counter = counter.by_mut_value();
    Pin::new(&mut counter).pinned();
    assert_eq!(Box::new(Counter(counter.0.clone())).boxed(), 3);
    assert_eq!(Arc::new(Counter(counter.0.clone())).shared(), 3);
    assert_eq!(counter.by_value(), [1, 2, 3]);
}
