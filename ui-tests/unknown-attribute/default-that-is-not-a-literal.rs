// `default` takes a literal, not an expression.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = some_function())]
    pub note: String,
}

fn main() {}
