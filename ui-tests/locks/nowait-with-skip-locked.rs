use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {
    let _ = Job::query().for_update().nowait().skip_locked();
    let _ = Job::query().for_share().skip_locked().skip_locked();
}
