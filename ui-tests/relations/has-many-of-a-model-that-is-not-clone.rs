// `user.posts(&db)` loads `Post` rows, so `Post` must be `Clone`.
#[orm::model(has_many(posts = post::user_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User)]
    pub user_id: i64,
}

fn main() {}
