// A `unique` column is already indexed: `index` on it is refused.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(unique, index)]
    pub email: String,
}

fn main() {}
