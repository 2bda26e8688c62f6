use orm::prelude::*;

#[orm::model(table = "customers", read_only)]
#[derive(Clone)]
pub struct LegacyCustomer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn writes(db: &orm::Database, mut row: LegacyCustomer) {
    let _ = row.insert(db).await;
    let _ = LegacyCustomer::create(db, row.clone()).await;
    let _ = LegacyCustomer::insert_many(db, &[row.clone()]).await;
    let _ = row.update(db).await;
    let _ = row.save(db).await;
    let _ = row.delete(db).await;
    let _ = LegacyCustomer::delete_by_key(db, 1).await;
    let _ = LegacyCustomer::query().update().set(legacy_customer::name, "x").execute(db).await;
    let _ = LegacyCustomer::query().delete(db).await;
}

fn main() {}
