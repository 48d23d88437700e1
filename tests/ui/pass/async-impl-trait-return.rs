#![deny(warnings)]

use std::io::Write;

struct Sink;

impl Sink {
    #[heapmeter::profile_memory]
    async fn writer(&self) -> std::io::Result<impl std::io::Write> {
        Ok(Vec::<u8>::new())
    }
}

#[heapmeter::profile_memory]
async fn numbers() -> impl Iterator<Item = u8> {
    vec![1, 2, 3].into_iter()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut writer = runtime.block_on(Sink.writer()).unwrap();
    writer.write_all(b"x").unwrap();
    assert_eq!(runtime.block_on(numbers()).sum::<u8>(), 6);
}
