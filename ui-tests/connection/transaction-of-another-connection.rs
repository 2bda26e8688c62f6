use orm::prelude::*;

orm::connections! {
    pub Essentials = "essentials";
}

#[orm::model(connection = Essentials)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

async fn wrong(db: &orm::Database) -> orm::Result<()> {
    let mut tx = db.begin().await?; // a transaction on "db"
    let _ = User::find(&mut tx, 1).await?;
    User { uid: 0 }.insert(&mut tx).await?;
    tx.commit().await
}

fn main() {}
