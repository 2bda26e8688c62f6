// A grouped query selects only its group keys and aggregates: one column
// neither grouped nor aggregated is refused on the column.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
    pub total: f64,
}

fn main() {
    // `total` is neither grouped nor aggregated: `order::total.sum()`.
    let _ = Order::query().group_by(order::status).select(order::total);
}
