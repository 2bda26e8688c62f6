// An upsert updates columns of its own model only.
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

#[orm::model(table = "other")]
pub struct Other {
    #[orm(primary_key)]
    pub id: i64,
}

fn target(rows: &[Stock]) {
    let _ = Stock::upsert_many(rows).update(other::id);
}

fn main() {}
