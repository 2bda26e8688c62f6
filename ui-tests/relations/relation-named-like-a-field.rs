// A relation cannot have the name of a field of its model.
#[orm::model(has_many(author = post::parent_id))]
#[derive(Clone)]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Post)]
    pub parent_id: Option<i64>,
    pub author: String,
}

fn main() {}
