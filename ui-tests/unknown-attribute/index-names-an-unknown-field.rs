// A model-level `index(...)` names fields of the model; a misspelled one gets a suggestion.
#[orm::model(index(nmae, email))]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    pub email: String,
}

fn main() {}
