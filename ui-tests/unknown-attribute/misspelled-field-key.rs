#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(uniqe)]
    pub code: String,
    #[orm(max_lenght = 10)]
    pub name: String,
}

fn main() {}
