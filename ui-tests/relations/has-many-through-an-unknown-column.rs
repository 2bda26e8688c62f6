// `has_many` names a column of the related model: an unknown column does not
// compile.
#[orm::model(has_many(posts = post::author_id))]
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
