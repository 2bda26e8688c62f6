// Statements take a transaction by mutable reference (`&mut tx`), not `&tx`.
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

async fn write(db: &orm::Database) -> orm::Result<()> {
    let tx = db.begin().await?;
    Order { id: 0 }.insert(&tx).await?;
    tx.commit().await
}

fn main() {}
