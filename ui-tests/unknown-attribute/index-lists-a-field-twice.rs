// A model-level `unique(...)` lists each field once.
#[orm::model(unique(email, email))]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub email: String,
}

fn main() {}
