#![deny(warnings)]

// A local module named like the crate must not capture the generated paths.
mod heapmeter {
    pub mod __private {
        pub struct Guard;
        pub struct Site;
    }
}

use ::heapmeter::profile_memory;

#[profile_memory]
fn parse(input: &str) -> Vec<u8> {
    let _unused = heapmeter::__private::Guard;
    let _also_unused = heapmeter::__private::Site;
    input.as_bytes().to_vec()
}

#[profile_memory]
async fn shout(mut text: String) -> String {
    text.push('!');
    text
}

fn main() {
    assert_eq!(parse("ab"), b"ab");
    drop(shout(String::new()));
}
