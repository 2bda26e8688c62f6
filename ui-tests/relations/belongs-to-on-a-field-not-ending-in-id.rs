// A `belongs_to` field whose name does not end in `_id` names its relation with
// `relation = "..."`.
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
    #[orm(belongs_to = User)]
    pub author: i64,
}

fn main() {}
