// A column is compared with a value of its type: `eq` of an `Option<String>`
// column with a number does not compile, and the message says what an
// `Option` column takes.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub note: Option<String>,
}

fn main() {
    let _ = Order::query().filter(order::note.eq(5));
}
