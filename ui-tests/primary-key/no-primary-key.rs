// A model has a primary key.
#[orm::model]
pub struct Order {
    pub id: i64,
    pub status: String,
}

fn main() {}
