// A `primary_key` is already unique: `unique` on it is refused.
#[orm::model]
pub struct Order {
    #[orm(primary_key, unique)]
    pub code: String,
}

fn main() {}
