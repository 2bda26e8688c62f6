// `max_length` is at least 1.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 0)]
    pub name: String,
}

fn main() {}
