// A `has_many` accessor is a method of the model that declares it only: `Post`
// has no `posts`.
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
    #[orm(belongs_to = User)]
    pub user_id: i64,
}

async fn wrong(db: &orm::Database, post: Post) {
    let _ = post.posts(db).await;
}

fn main() {}
