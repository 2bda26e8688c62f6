// A model's relations have distinct names: two `belongs_to` named `editor` are
// refused.
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
    pub editor_id: i64,
    #[orm(belongs_to = User, relation = "editor")]
    pub reviewer_id: i64,
}

fn main() {}
