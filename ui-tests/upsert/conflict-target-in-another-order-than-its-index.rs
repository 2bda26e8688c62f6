// An upsert's conflict target lists the columns of a `unique(a, b)` index in
// the index's order.
use orm::prelude::*;

#[orm::model(table = "stock", unique(warehouse, sku))]
pub struct Stock {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(unique, max_length = 32)]
    pub code: String,
    pub warehouse: String,
    pub sku: String,
    pub qty: i64,
}

fn target(rows: &[Stock]) {
    let _ = Stock::upsert_many(rows).on_conflict((stock::sku, stock::warehouse));
}

fn main() {}
