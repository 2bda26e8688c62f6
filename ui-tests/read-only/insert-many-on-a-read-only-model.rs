// A model marked `read_only` cannot be inserted: `insert_many` does not
// compile.
use orm::prelude::*;

#[orm::model(table = "customers", read_only)]
pub struct LegacyCustomer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn write(db: &orm::Database, row: LegacyCustomer) {
    let _ = LegacyCustomer::insert_many(db, std::slice::from_ref(&row)).await;
}

fn main() {}
