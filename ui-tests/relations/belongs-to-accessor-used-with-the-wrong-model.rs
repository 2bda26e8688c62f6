// A `belongs_to` accessor is a method of the model whose key field declares
// it only: `Comment` has no `author`, `Post` has.
#[orm::model]
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
    pub author_id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Comment {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Post)]
    pub post_id: i64,
}

async fn wrong(db: &orm::Database, comment: Comment) {
    let _ = comment.author(db).await;
}

fn main() {}
