#[orm::model]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model(has_many(author = post::id))]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User)]
    pub author: i64,
    #[orm(belongs_to = User)]
    pub editor_id: i64,
    #[orm(belongs_to = User, relation = "editor")]
    pub reviewer_id: i64,
    #[orm(relation = "x")]
    pub plain: i64,
}

fn main() {}
