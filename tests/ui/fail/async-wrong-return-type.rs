#[heapmeter::profile_memory]
async fn count() -> usize {
    "three"
}

fn main() {
    drop(count());
}
