#[orm::model(tabel = "orders")]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {}
