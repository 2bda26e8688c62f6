// `has_many` names the foreign key column (`post::user_id`), not its
// `belongs_to` relation (`post::user`).
#[orm::model(has_many(posts = post::user))]
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
    #[orm(belongs_to = User)]
    pub user_id: i64,
}

fn main() {}
