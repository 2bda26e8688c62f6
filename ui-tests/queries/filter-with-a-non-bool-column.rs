// `filter` takes a condition: a column that is not `bool` is not one.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub total: f64,
}

fn main() {
    // A number is not a condition: compare it, `order::total.gt(100.0)`.
    let _ = Order::query().filter(order::total);
}
