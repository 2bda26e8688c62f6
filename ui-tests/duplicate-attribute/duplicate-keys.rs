#[orm::model(table = "a", table = "b")]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 10)]
    #[orm(max_length = 20)]
    pub name: String,
}

fn main() {}
