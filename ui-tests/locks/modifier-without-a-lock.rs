use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

fn main() {
    let _ = Job::query().skip_locked();
    let _ = Job::query().filter(job::state.eq("queued")).nowait();
}
