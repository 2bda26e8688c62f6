// An optional primary key is its only error: finding and writing the model still type-check.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key)]
    pub id: Option<i64>,
    pub name: String,
}

pub async fn run(db: &orm::Database) -> orm::Result<()> {
    if let Some(order) = Order::find(db, 1).await? {
        order.update(db).await?;
    }
    Ok(())
}

fn main() {}
