// `update` is built from a query without a row lock: an UPDATE locks the rows
// it changes by itself.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

fn build() {
    // An UPDATE locks the rows it changes by itself.
    let _ = Job::query().for_update().update().set(job::state, "done");
}

fn main() {}
