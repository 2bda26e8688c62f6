// A savepoint runs statements for models of its transaction's connection only.
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
    let mut tx = db.begin().await?;
    let mut sp = tx.savepoint().await?;
    User { uid: 0 }.insert(&mut sp).await?;
    sp.commit().await?;
    tx.commit().await
}

fn main() {}
