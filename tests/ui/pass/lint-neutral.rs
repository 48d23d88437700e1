//! A crate that denies the lints a macro could trip over.
#![deny(warnings, missing_docs, unreachable_code, unused, nonstandard_style, rust_2018_idioms)]
#![deny(clippy::all, clippy::pedantic)]

/// Parses the input.
#[heapmeter::profile_memory]
pub fn parse(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// Labels a flag.
#[heapmeter::profile_memory]
pub async fn label(flag: bool) -> String {
    format!("{}", if flag { "yes" } else { "no" })
}

/// A buffer.
pub struct Buffer(Vec<u8>);

#[heapmeter::profile_memory]
impl Buffer {
    /// Creates an empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Buffer(Vec::new())
    }

    /// Appends a byte.
    pub fn push(&mut self, byte: u8) {
        self.0.push(byte);
    }
}

impl Default for Buffer {
    fn default() -> Self {
        Self::new()
    }
}

fn main() {
    assert_eq!(parse("ab"), b"ab");
    drop(label(true));
    Buffer::default().push(1);
}
