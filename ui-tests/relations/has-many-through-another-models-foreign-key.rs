// `post::editor_id` refers to `Editor`: it cannot list the posts of a `User`.
#[orm::model(has_many(posts = post::editor_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Editor {
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
    #[orm(belongs_to = Editor)]
    pub editor_id: i64,
}

fn main() {}
