// `user.profile(&db)` loads a `Profile` row, so `Profile` must be `Clone`.
#[orm::model(has_one(profile = profile::user_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
pub struct Profile {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User, unique)]
    pub user_id: i64,
}

fn main() {}
