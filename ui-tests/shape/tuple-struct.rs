// `#[orm::model]` refuses a tuple struct.
#[orm::model]
pub struct Point(i64, i64);

fn main() {}
