// `#[orm::model]` refuses a unit struct: it has no columns.
#[orm::model]
pub struct Marker;

fn main() {}
