// A model attribute is given once.
#[orm::model(table = "a", table = "b")]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {}
