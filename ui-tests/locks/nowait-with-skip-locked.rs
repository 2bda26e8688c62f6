// A row lock takes at most one of `nowait()` and `skip_locked()`.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

fn build() {
    let _ = Job::query().for_update().nowait().skip_locked();
}

fn main() {}
