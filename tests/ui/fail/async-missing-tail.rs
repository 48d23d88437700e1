#[heapmeter::profile_memory]
async fn count(items: Vec<u8>) -> usize {
    items.len();
}

fn main() {
    drop(count(Vec::new()));
}
