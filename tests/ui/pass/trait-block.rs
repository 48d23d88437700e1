#![deny(warnings)]

#[heapmeter::profile_memory]
trait Describe {
    fn name(&self) -> String;

    fn describe(&self) -> String {
        format!("<{}>", self.name())
    }

    async fn describe_later(&self) -> String {
        self.describe()
    }

    #[profile_memory(skip)]
    fn plain(&self) -> String {
        self.name()
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
    assert_eq!(Item.plain(), "item");
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(Item.describe_later()), "<item>");
}
