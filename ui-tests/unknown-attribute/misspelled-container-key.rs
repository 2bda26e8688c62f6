// A misspelled model attribute is an error with a suggestion, never ignored.
#[orm::model(tabel = "orders")]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {}
