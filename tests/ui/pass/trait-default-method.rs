#![deny(warnings)]

trait Describe {
    fn name(&self) -> String;

    #[heapmeter::profile_memory]
    fn describe(&self) -> String {
        format!("<{}>", self.name())
    }
}

struct Item;

impl Describe for Item {
    fn name(&self) -> String {
        String::from("item")
    }
}

fn main() {
    assert_eq!(Item.describe(), "<item>");
}
