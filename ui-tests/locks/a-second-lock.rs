// A query takes one row lock: `for_share()` after `for_update()` does not
// compile.
use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

fn build() {
    let _ = Job::query().for_update().for_share();
}

fn main() {}
