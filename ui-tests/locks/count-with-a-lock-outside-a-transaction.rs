// A locking query runs in a transaction: its `count` through `&db` does not
// compile.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

async fn run(db: &orm::Database) {
    let _ = Job::query().for_share().nowait().count(db).await;
}

fn main() {}
