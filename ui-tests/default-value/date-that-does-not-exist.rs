// The `default` of a date field is a day that exists.
use chrono::NaiveDate;

#[orm::model]
pub struct Invoice {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "2023-02-29")]
    pub due: NaiveDate,
}

fn main() {}
