// `#[orm::model]` refuses an item that is not a struct, such as a function.
#[orm::model]
fn order() {}

fn main() {}
