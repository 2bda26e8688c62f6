// A query that takes a row lock cannot be `cached()`: the lock needs a
// transaction, and a transaction's reads never use the cache.
use orm::prelude::*;

#[orm::model]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
}

async fn read(db: &orm::Database) -> orm::Result<()> {
    let mut tx = db.begin().await?;
    let _ = Job::query().for_update().cached().all(&mut tx).await?;
    tx.commit().await
}

fn main() {}
