// A misspelled field attribute is an error with a suggestion, never ignored.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(uniqe)]
    pub code: String,
}

fn main() {}
