// `cache(...)` is given once on a model.
#[orm::model(cache(ttl = 60), cache(ttl = 30))]
pub struct Product {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
