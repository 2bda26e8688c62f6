// `nowait()` applies only to a query that takes a row lock.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

fn build() {
    let _ = Job::query().filter(job::state.eq("queued")).nowait();
}

fn main() {}
