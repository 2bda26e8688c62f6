// `profile::editor_id` refers to `Editor`: it cannot find the profile of a `User`.
#[orm::model(has_one(profile = profile::editor_id))]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Editor {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Profile {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User, unique)]
    pub user_id: i64,
    #[orm(belongs_to = Editor, unique)]
    pub editor_id: i64,
}

fn main() {}
