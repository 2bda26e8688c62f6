// `max_length` applies to text fields only.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 10)]
    pub quantity: i32,
}

fn main() {}
