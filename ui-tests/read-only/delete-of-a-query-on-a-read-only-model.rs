// A model marked `read_only` cannot be deleted through a query:
// `query().delete(...)` does not compile.
use orm::prelude::*;

#[orm::model(table = "customers", read_only)]
pub struct LegacyCustomer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn write(db: &orm::Database, row: LegacyCustomer) {
    let _ = LegacyCustomer::query().filter(legacy_customer::id.eq(row.id)).delete(db).await;
}

fn main() {}
