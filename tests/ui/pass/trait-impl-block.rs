#![deny(warnings)]

use std::fmt;

struct Point(i32, i32);

#[heapmeter::profile_memory]
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.0, self.1)
    }
}

fn main() {
    assert_eq!(Point(1, 2).to_string(), "(1, 2)");
}
