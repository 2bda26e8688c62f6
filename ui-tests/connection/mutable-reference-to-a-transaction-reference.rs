// Inside `db.transaction(...)`, the closure's `tx` is already a
// `&mut Transaction`: `&mut tx` borrows the binding, which is not `mut`;
// the compiler says to reborrow it, `&mut *tx` (with `async |mut tx|`,
// `&mut tx` works too).
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
    db.transaction(async |tx| {
        Order { id: 0 }.insert(&mut tx).await?;
        Ok(())
    })
    .await
}

fn main() {}
