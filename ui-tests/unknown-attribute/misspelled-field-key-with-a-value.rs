// A misspelled field attribute with a value is an error with a suggestion, never ignored.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_lenght = 10)]
    pub name: String,
}

fn main() {}
