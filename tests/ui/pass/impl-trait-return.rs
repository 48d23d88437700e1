#![deny(warnings)]

use std::io::Write;

#[heapmeter::profile_memory]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

struct Sink;

impl Sink {
    #[heapmeter::profile_memory]
    fn writer(&self) -> std::io::Result<impl std::io::Write> {
        Ok(Vec::<u8>::new())
    }
}

fn main() {
    assert_eq!(evens(5).count(), 3);
    let mut writer = Sink.writer().unwrap();
    writer.write_all(b"x").unwrap();
}
