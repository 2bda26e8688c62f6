// A `unique(...)` naming an unknown field is its only error: queries on the model still
// type-check.
use orm::prelude::*;

#[orm::model(unique(nmae))]
pub struct Order {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

pub async fn run(db: &orm::Database) -> orm::Result<()> {
    let _named = Order::query()
        .filter(order::name.eq("x"))
        .order_by(order::id.desc())
        .all(db)
        .await?;
    Ok(())
}

fn main() {}
