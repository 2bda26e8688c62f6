// `is_null` needs an `Option` column.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
}

fn main() {
    let _ = Order::query().filter(order::status.is_null());
}
