// `cache(ttl)` caches the model's rows: it must be Serialize and Deserialize.
#[orm::model(cache(ttl = 60))]
pub struct Product {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

fn main() {}
