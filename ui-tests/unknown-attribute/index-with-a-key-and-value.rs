// A model-level `index(...)` lists field names, not `key = value` pairs.
#[orm::model(index(name = 1))]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

fn main() {}
