// A transaction opened on a named connection runs statements for its models
// only: a query of a model on the default connection does not compile.
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
    let mut tx = db.begin_on::<Essentials>().await?;
    let _ = Order::query().all(&mut tx).await?;
    tx.commit().await
}

fn main() {}
