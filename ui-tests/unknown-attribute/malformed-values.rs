#[orm::model(table = orders)]
pub struct Order {
    #[orm(primary_key = true, auto)]
    pub id: i64,
    #[orm(max_length = "long")]
    pub name: String,
    #[orm(column = "")]
    pub code: String,
    #[orm(default = some_function())]
    pub note: String,
}

fn main() {}
