// The `default` of a date field is written "YYYY-MM-DD".
use chrono::NaiveDate;

#[orm::model]
pub struct Invoice {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "31/01/2024")]
    pub sent: NaiveDate,
}

fn main() {}
