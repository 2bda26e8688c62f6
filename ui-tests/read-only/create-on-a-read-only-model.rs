// A model marked `read_only` cannot be created: `create` does not compile.
use orm::prelude::*;

#[orm::model(table = "customers", read_only)]
pub struct LegacyCustomer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn write(db: &orm::Database, row: LegacyCustomer) {
    let _ = LegacyCustomer::create(db, row).await;
}

fn main() {}
