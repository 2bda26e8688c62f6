use chrono::NaiveDate;

#[orm::model]
pub struct Invoice {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "2023-02-29")]
    pub due: NaiveDate,
    #[orm(default = "31/01/2024")]
    pub sent: NaiveDate,
}

fn main() {}
