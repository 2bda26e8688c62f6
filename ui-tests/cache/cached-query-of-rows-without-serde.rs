// A query can be `cached()` only when its rows are Serialize and Deserialize.
use orm::prelude::*;

#[orm::model]
pub struct Product {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

async fn read(db: &orm::Database) -> orm::Result<()> {
    let _ = Product::query().cached().all(db).await?;
    Ok(())
}

fn main() {}
