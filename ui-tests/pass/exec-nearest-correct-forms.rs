// The nearest correct form of each mistake in read-only/, connection/,
// locks/, upsert/ and cache/: writes of writable models through `&db`, a
// `Call`, a transaction and a savepoint of their own connection; reads of
// read-only models; locks in a transaction; upserts on unique keys; cached
// reads of serde types.
use orm::prelude::*;

orm::connections! {
    pub Main = "db";
    pub Essentials = "essentials";
    pub Legacy = "legacy", read_only;
}

#[orm::model(table = "stock", unique(warehouse, sku))]
#[derive(Clone)]
pub struct Stock {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(unique, max_length = 32)]
    pub code: String,
    pub warehouse: String,
    pub sku: String,
    pub qty: i64,
}

#[orm::model(connection = Essentials)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

#[orm::model(table = "customers", connection = Legacy)]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(table = "legacy_customers", read_only)]
pub struct LegacyCustomer {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(cache(ttl = 60))]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Product {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

async fn writes(db: &orm::Database, mut row: Stock) -> orm::Result<()> {
    let rows = std::slice::from_ref(&row);
    row.insert(db).await?;
    Stock::create(db, row.clone()).await?;
    Stock::insert_many(db, rows).await?;
    Stock::insert_with_keys(db, rows).await?;
    row.update(db).await?;
    row.delete(db).await?;
    Stock::delete_by_key(db, 1).await?;
    Stock::upsert(db, row.clone()).await?;
    Stock::upsert_many(rows).execute(db).await?;
    Stock::query().filter(stock::id.eq(1)).update().set(stock::qty, 0).execute(db).await?;
    Stock::query().filter(stock::id.eq(1)).delete(db).await?;
    row.save(db.call()).await?;
    Ok(())
}

async fn upserts(db: &orm::Database, rows: &[Stock]) -> orm::Result<()> {
    Stock::upsert_many(rows).on_conflict(stock::id).execute(db).await?;
    Stock::upsert_many(rows).on_conflict(stock::code).update(stock::qty).execute(db).await?;
    Stock::upsert_many(rows).on_conflict((stock::warehouse, stock::sku)).do_nothing().execute(db).await?;
    Ok(())
}

async fn transactions(db: &orm::Database) -> orm::Result<()> {
    // A transaction on the model's own connection.
    let mut tx = db.begin_on::<Essentials>().await?;
    let _ = User::find(&mut tx, 1).await?;
    User { uid: 0 }.insert(&mut tx).await?;
    let mut sp = tx.savepoint().await?;
    User { uid: 0 }.insert(&mut sp).await?;
    sp.commit().await?;
    tx.commit().await?;
    // `Main` is the default connection: its transactions serve default models.
    let mut tx = db.begin_on::<Main>().await?;
    let _ = Stock::query().all(&mut tx).await?;
    tx.commit().await?;
    // Inside `db.transaction`, `tx` is already a `&mut Transaction`.
    db.transaction(async |tx| {
        let _ = Stock::find(&mut *tx, 1).await?;
        Stock::delete_by_key(&mut *tx, 1).await?;
        Ok::<_, orm::Error>(())
    })
    .await?;
    // mutable-reference-to-a-transaction-reference: with a `mut` binding,
    // `&mut tx` of a `&mut Transaction` is the same as `&mut *tx`.
    db.transaction(async |mut tx| {
        let _ = Stock::find(&mut tx, 1).await?;
        Stock::delete_by_key(&mut tx, 1).await?;
        Ok::<_, orm::Error>(())
    })
    .await
}

async fn locks(db: &orm::Database) -> orm::Result<()> {
    let mut tx = db.begin().await?;
    let _ = Stock::query().for_update().all(&mut tx).await?;
    let _ = Stock::query().for_share().nowait().count(&mut tx).await?;
    let _ = Stock::query().for_update().skip_locked().first(&mut tx).await?;
    Stock::query().filter(stock::qty.eq(0)).update().set(stock::qty, 1).execute(&mut tx).await?;
    tx.commit().await
}

async fn reads(db: &orm::Database) -> orm::Result<()> {
    // Read-only models and models on read-only connections can be read.
    let _ = Customer::find(db, 1).await?;
    let _ = LegacyCustomer::query().all(db).await?;
    let _ = LegacyCustomer::count(db).await?;
    // Cached reads of serde types.
    let _ = Product::find(db, 1).await?;
    let _ = Product::query().cached().all(db).await?;
    let _ = Product::query().select(product::name).cached().first(db).await?;
    Ok(())
}

fn main() {
    let _ = (writes, upserts, transactions, locks, reads);
}
