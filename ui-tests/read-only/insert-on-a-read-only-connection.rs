// A model on a connection declared `read_only` cannot be inserted: `insert`
// does not compile.
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
    let _ = row.insert(db).await;
}

fn main() {}
