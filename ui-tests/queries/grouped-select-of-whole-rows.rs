// A grouped query cannot return whole rows.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
}

async fn run(db: &orm::Database) {
    let _ = Order::query().group_by(order::status).all(db).await;
}

fn main() {
    let _ = run;
}
