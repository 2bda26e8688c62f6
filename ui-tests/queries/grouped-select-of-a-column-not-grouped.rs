// A grouped query selects only its group keys and aggregates.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
    pub total: f64,
}

async fn run(db: &orm::Database) {
    // `total` is neither grouped nor aggregated.
    let _ = Order::query()
        .group_by(order::status)
        .select((order::status, order::total))
        .all(db)
        .await;
}

fn main() {
    let _ = run;
}
