#[orm::model]
pub struct Order {
    #[orm(primary_key, auto, default = 1)]
    pub id: i64,
    #[orm(auto)]
    pub counter: i64,
}

fn main() {}
