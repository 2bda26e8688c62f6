// A column is compared with a value of its type: `gt` of an integer column with text does not compile.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub total: f64,
}

fn main() {
    let _ = Order::query().filter(order::id.gt("10"));
}
