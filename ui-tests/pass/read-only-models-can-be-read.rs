// Reads of read-only models compile; so do writes of writable ones on other connections.
use orm::prelude::*;

orm::connections! {
    pub Main = "db";
    pub Legacy = "legacy", read_only;
    pub Essentials = "essentials";
}

#[orm::model(table = "customers", connection = Legacy)]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

#[orm::model(connection = Essentials)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

#[orm::model(connection = Main)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
pub struct Line {
    #[orm(primary_key, auto)]
    pub id: i64,
}

async fn ok(db: &orm::Database) -> orm::Result<()> {
    let _ = Customer::find(db, 1).await?;
    let _ = Customer::query().filter(customer::name.eq("x")).all(db).await?;
    let _: Vec<(i64,)> = orm::raw("SELECT 1").fetch_all(db.connection("legacy")?).await?;
    User { uid: 0 }.insert(db).await?;
    let mut tx = db.begin_on::<Essentials>().await?;
    User { uid: 0 }.insert(&mut tx).await?;
    tx.commit().await?;
    // `Main` is the default connection: its transactions serve default models too.
    let mut tx = db.begin_on::<Main>().await?;
    Order { id: 0 }.insert(&mut tx).await?;
    Line { id: 0 }.insert(&mut tx).await?;
    tx.commit().await
}

fn main() {
    let _ = ok;
}
