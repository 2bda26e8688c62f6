// `has_one` goes through a column declared `belongs_to`: a plain column is
// refused.
#[orm::model(has_one(profile = profile::user_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Profile {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub user_id: i64,
}

fn main() {}
