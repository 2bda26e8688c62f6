// `cache` takes a time to live in seconds: a bare `cache` is refused.
#[orm::model(cache)]
pub struct Product {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
