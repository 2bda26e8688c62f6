#[orm::model]
pub struct Order {
    pub id: i64,
    pub status: String,
}

fn main() {}
