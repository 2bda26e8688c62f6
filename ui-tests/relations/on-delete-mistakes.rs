// `on_delete` goes with `belongs_to`, takes a known action, and `set_null` needs an `Option` key.
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
    #[orm(on_delete = "cascade")]
    pub editor_id: i64,
    #[orm(belongs_to = User, relation = "reviewer", on_delete = "destroy")]
    pub reviewer_id: Option<i64>,
}

fn main() {}
