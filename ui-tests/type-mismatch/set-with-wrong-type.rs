// An update sets a column to a value of its type.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub paid: bool,
}

fn main() {
    let _ = Order::query().update().set(order::paid, "yes");
}
