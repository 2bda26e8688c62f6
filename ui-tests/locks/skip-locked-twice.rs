// A row lock takes `nowait()` or `skip_locked()` once: a second `skip_locked()`
// does not compile.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

fn build() {
    let _ = Job::query().for_share().skip_locked().skip_locked();
}

fn main() {}
