// A primary key is not an `Option`.
#[orm::model]
pub struct Order {
    #[orm(primary_key)]
    pub id: Option<i64>,
}

fn main() {}
