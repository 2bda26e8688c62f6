use orm::prelude::*;

#[orm::model]
pub struct Job {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub state: String,
}

async fn run(db: &orm::Database) {
    let _ = Job::query().for_update().for_share();
    // An UPDATE or DELETE locks the rows it changes by itself.
    let _ = Job::query().for_update().update().set(job::state, "done");
    let _ = Job::query().for_update().skip_locked().delete(db).await;
}

fn main() {
    let _ = run;
}
