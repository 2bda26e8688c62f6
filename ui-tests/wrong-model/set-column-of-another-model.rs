// An update sets columns of its own model only.
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
    let _ = Order::query().update().set(user::name, "ada");
}
