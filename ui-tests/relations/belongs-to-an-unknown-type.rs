// `belongs_to` names a model in scope: a misspelled one is an error with a
// suggestion.
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
    #[orm(belongs_to = Usr)]
    pub user_id: i64,
}

fn main() {}
