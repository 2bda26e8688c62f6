// `max_length` takes a whole number.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = "long")]
    pub name: String,
}

fn main() {}
