use orm::prelude::*;

orm::connections! {
    pub Legacy = "legacy", read_only;
}

#[orm::model(table = "customers", connection = Legacy)]
#[derive(Clone)]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn writes(db: &orm::Database, mut row: Customer) {
    let _ = row.insert(db).await;
    let _ = Customer::create(db, row.clone()).await;
    let _ = Customer::insert_many(db, &[row.clone()]).await;
    let _ = row.update(db).await;
    let _ = row.save(db).await;
    let _ = row.delete(db).await;
    let _ = Customer::delete_by_key(db, 1).await;
    let _ = Customer::query().update().set(customer::name, "x").execute(db).await;
    let _ = Customer::query().delete(db).await;
}

fn main() {}
