// A transaction runs statements for models of its own connection only: `insert`
// of a model on another connection does not compile.
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
    let mut tx = db.begin().await?; // a transaction on the default connection
    User { uid: 0 }.insert(&mut tx).await?;
    tx.commit().await
}

fn main() {}
