// Statements take a transaction by mutable reference (`&mut tx`), not by value.
use orm::prelude::*;

orm::connections! {
    pub Essentials = "essentials";
}

#[orm::model(connection = Essentials)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

async fn read(db: &orm::Database) -> orm::Result<()> {
    let tx = db.begin().await?;
    let _ = Order::find(tx, 1).await?;
    Ok(())
}

fn main() {}
