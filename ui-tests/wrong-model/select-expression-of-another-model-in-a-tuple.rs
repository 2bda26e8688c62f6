// A query selects the columns of its tables only: an aggregate of another
// model's column in a tuple is refused, naming that model.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
}

#[orm::model]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

fn main() {
    let _ = Order::query()
        .group_by(order::status)
        .select((order::status, user::uid.count()));
}
