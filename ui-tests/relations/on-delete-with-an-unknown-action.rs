// `on_delete` is one of "cascade", "set_null" or "restrict".
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
    #[orm(belongs_to = User, on_delete = "destroy")]
    pub user_id: Option<i64>,
}

fn main() {}
