#[orm::model]
pub struct Order {
    #[orm(primary_key, unique)]
    pub code: String,
    #[orm(unique, index)]
    pub email: String,
}

fn main() {}
