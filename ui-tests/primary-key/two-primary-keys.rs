// A model has one primary key; composite keys are refused.
#[orm::model]
pub struct Membership {
    #[orm(primary_key)]
    pub user_id: i64,
    #[orm(primary_key)]
    pub group_id: i64,
}

fn main() {}
