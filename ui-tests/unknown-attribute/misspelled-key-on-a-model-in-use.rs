// A mistake in a model's attributes is its only error: queries and operations on the model
// still type-check, instead of failing at every use.
use orm::prelude::*;

#[orm::model(tabel = "orders")]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub status: String,
}

pub async fn run(db: &orm::Database) -> orm::Result<()> {
    let _pending = Order::query().filter(order::status.eq("pending")).all(db).await?;
    if let Some(order) = Order::find(db, 1).await? {
        order.delete(db).await?;
    }
    Ok(())
}

fn main() {}
