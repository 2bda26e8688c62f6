// `delete` is built from a query without a row lock: a DELETE locks the rows it
// removes by itself.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

async fn run(db: &orm::Database) {
    // A DELETE locks the rows it removes by itself.
    let _ = Job::query().for_update().delete(db).await;
}

fn main() {}
