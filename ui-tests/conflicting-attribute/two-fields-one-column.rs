// Two fields cannot map to the same column.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    #[orm(column = "name")]
    pub display_name: String,
}

fn main() {}
