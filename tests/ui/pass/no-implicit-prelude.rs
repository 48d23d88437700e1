#![no_implicit_prelude]
#![deny(warnings)]

#[::heapmeter::profile_memory]
fn parse(input: &str) -> ::std::vec::Vec<u8> {
    input.as_bytes().to_vec()
}

#[::heapmeter::profile_memory]
async fn shout(mut text: ::std::string::String) -> ::std::string::String {
    text.push('!');
    text
}

struct Buffer(::std::vec::Vec<u8>);

#[::heapmeter::profile_memory]
impl Buffer {
    fn grow(&mut self) {
        self.0.push(0);
    }
}

fn main() {
    let bytes = parse("ab");
    ::std::assert_eq!(bytes.len(), 2);
    let mut buffer = Buffer(bytes);
    buffer.grow();
    ::std::mem::drop(shout(::std::string::String::new()));
}
