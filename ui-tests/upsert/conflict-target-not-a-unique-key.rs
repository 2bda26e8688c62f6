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

fn targets(rows: &[Stock]) {
    // The key, a unique column and a unique index in its order compile.
    let _ = Stock::upsert_many(rows).on_conflict(stock::id);
    let _ = Stock::upsert_many(rows).on_conflict(stock::code);
    let _ = Stock::upsert_many(rows).on_conflict((stock::warehouse, stock::sku));
    // A column that is not unique, part of a unique index, its columns in
    // another order, another model's key: none of them is a unique key.
    let _ = Stock::upsert_many(rows).on_conflict(stock::qty);
    let _ = Stock::upsert_many(rows).on_conflict(stock::sku);
    let _ = Stock::upsert_many(rows).on_conflict((stock::sku, stock::warehouse));
    let _ = Stock::upsert_many(rows).on_conflict(other::id);
}

fn main() {}
