#![deny(warnings)]

#[heapmeter::profile_memory]
async fn shout(mut s: String) -> String {
    s.push_str("!");
    s
}

#[heapmeter::profile_memory]
async fn read(path: &str) -> std::io::Result<usize> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.len())
}

#[heapmeter::profile_memory]
async fn nothing() {}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(shout(String::from("hey"))), "hey!");
    assert!(runtime.block_on(read("/nonexistent/heapmeter")).is_err());
    runtime.block_on(nothing());
}
