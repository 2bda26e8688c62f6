// A relation loads for rows of the model that declares it: `user::posts.load`
// of `Post` rows does not compile.
use orm::prelude::*;

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

async fn wrong(db: &orm::Database, posts: Vec<Post>) {
    let _ = user::posts.load(&posts, db).await;
}

fn main() {}
