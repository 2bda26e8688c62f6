// The `default` of a date field is a string, not a number.
use chrono::NaiveDate;

#[orm::model]
pub struct Invoice {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = 20240131)]
    pub due: NaiveDate,
}

fn main() {}
