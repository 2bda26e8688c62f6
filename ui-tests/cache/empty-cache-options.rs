#[orm::model(cache())]
pub struct Product {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
