// A locking query runs in a transaction: through `&db` its lock would end with
// the statement, so it does not compile.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

async fn run(db: &orm::Database) {
    let _ = Job::query().for_update().all(db).await;
}

fn main() {}
