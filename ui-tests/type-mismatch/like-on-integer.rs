// Text matching (`contains`, `like`, ...) needs a text column.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {
    let _ = Order::query().filter(order::id.contains("1"));
}
