// A condition may read only the query's tables: combining a condition on another model without joining it does not compile.
use orm::prelude::*;

#[orm::model]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
    pub name: String,
}

#[orm::model]
#[derive(Clone)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User)]
    pub user_id: i64,
    pub total: f64,
}

fn main() {
    // `User` is not joined: `.join(order::user)` first.
    let _ = Order::query().filter(order::total.gt(10.0).and(user::name.eq("ada")));
}
