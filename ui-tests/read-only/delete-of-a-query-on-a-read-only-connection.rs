// A model on a connection declared `read_only` cannot be deleted through a
// query: `query().delete(...)` does not compile.
use orm::prelude::*;

orm::connections! {
    pub Legacy = "legacy", read_only;
}

#[orm::model(table = "customers", connection = Legacy)]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn write(db: &orm::Database, row: Customer) {
    let _ = Customer::query().filter(customer::id.eq(row.id)).delete(db).await;
}

fn main() {}
