// A model-level `index()` lists at least one field.
#[orm::model(index())]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub email: String,
}

fn main() {}
