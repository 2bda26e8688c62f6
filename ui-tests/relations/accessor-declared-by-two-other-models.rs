// A relation accessor that two other models declare, called on a model that
// declares none, is still one error naming one model that has it.
#[orm::model(has_many(posts = post::user_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model(has_many(posts = post::topic_id))]
#[derive(Clone)]
pub struct Topic {
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
    #[orm(belongs_to = Topic)]
    pub topic_id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Tag {
    #[orm(primary_key, auto)]
    pub id: i64,
}

async fn wrong(db: &orm::Database, tag: Tag) {
    let _ = tag.posts(db).await;
}

fn main() {}
