#![deny(warnings)]

#[heapmeter::profile_memory]
async fn sum_pair((first, second): (u32, u32), _: String, mut total: u32) -> u32 {
    total += first + second;
    total
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(sum_pair((1, 2), String::new(), 3)), 6);
}
