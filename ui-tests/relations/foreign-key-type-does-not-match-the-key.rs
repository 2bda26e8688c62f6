// A foreign key has the type of the primary key it refers to: a `String` cannot
// refer to an `i64` key.
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
    pub user_id: String,
}

fn main() {}
