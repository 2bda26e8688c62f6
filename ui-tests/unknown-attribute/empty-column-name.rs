// `column` takes a non-empty string.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(column = "")]
    pub code: String,
}

fn main() {}
