// `on_delete = "set_null"` needs a key that is an `Option`.
#[orm::model]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User, on_delete = "set_null")]
    pub user_id: i64,
}

fn main() {}
