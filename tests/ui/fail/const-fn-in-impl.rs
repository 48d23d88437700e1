struct Limits;

#[heapmeter::profile_memory]
impl Limits {
    const fn max() -> usize {
        8
    }

    fn current(&self) -> usize {
        Self::max()
    }
}

fn main() {
    let _ = Limits.current();
}
