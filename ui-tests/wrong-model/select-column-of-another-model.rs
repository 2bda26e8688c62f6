// A query selects the columns of its tables only (in a tuple).
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

fn main() {
    let _ = Order::query().select((order::id, user::uid));
}
