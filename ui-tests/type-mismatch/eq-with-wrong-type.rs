// A column is compared with a value of its type: `eq` of a text column with a number does not compile.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
}

fn main() {
    let _ = Order::query().filter(order::status.eq(5));
}
