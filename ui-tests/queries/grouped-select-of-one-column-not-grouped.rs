// A grouped query selects only its group keys and aggregates: one column
// neither grouped nor aggregated is refused where the query runs, naming the
// column.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
    pub total: f64,
}

async fn totals(db: &orm::Database) -> orm::Result<()> {
    // `total` is neither grouped nor aggregated: `order::total.sum()`.
    let _ = Order::query().group_by(order::status).select(order::total).all(db).await?;
    Ok(())
}

fn main() {}
