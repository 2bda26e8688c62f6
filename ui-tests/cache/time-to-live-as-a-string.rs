// `ttl` takes a number of seconds, not a string.
#[orm::model(cache(ttl = "60"))]
pub struct Product {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
