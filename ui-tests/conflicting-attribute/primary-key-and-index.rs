// A `primary_key` is already indexed: `index` on it is refused.
#[orm::model]
pub struct Order {
    #[orm(primary_key, index)]
    pub code: String,
}

fn main() {}
