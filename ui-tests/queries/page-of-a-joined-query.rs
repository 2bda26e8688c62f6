// `page` needs a query of one model: a joined query cannot be paged by keyset.
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

async fn run(db: &orm::Database) {
    // `page` needs a query of one model: test `User` in a subquery instead.
    let _ = Order::query()
        .join(order::user)
        .filter(user::name.eq("ada"))
        .page(20).all(db).await;
}

fn main() {
    let _ = run;
}
