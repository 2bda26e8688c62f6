// `table` takes a string literal.
#[orm::model(table = orders)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {}
