// `ttl` is at least 1 second.
#[orm::model(cache(ttl = 0))]
pub struct Product {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
