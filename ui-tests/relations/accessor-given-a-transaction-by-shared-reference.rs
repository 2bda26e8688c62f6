// An accessor runs on `&db` or `&mut tx`: a transaction is passed by `&mut`.
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

async fn wrong(db: &orm::Database, user: User) -> orm::Result<()> {
    let tx = db.begin().await?;
    let _ = user.posts(&tx).await;
    Ok(())
}

fn main() {}
