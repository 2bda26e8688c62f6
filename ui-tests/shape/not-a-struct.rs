#[orm::model]
fn order() {}

fn main() {}
