// A query groups by the columns of its tables only.
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
    pub name: String,
}

fn main() {
    let _ = Order::query().group_by(user::name);
}
