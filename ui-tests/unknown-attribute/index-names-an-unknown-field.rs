// A model-level index names fields of the model, each once.
#[orm::model(index(nmae, email), unique(email, email), index(), index(name = 1))]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    pub email: String,
}

fn main() {}
