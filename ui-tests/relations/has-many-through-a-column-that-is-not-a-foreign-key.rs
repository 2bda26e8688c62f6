// `has_many` goes through a column declared `belongs_to`: a plain column is
// refused.
#[orm::model(has_many(posts = post::user_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub user_id: i64,
}

fn main() {}
