// `default` for decimals (a number or a string) and for dates and times (a
// string in the form each backend stores).
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;

#[orm::model]
pub struct Invoice {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = 0)]
    pub total: Decimal,
    #[orm(default = "0.00", precision = 10, scale = 2)]
    pub paid: Decimal,
    #[orm(default = 1.5)]
    pub rate: Option<Decimal>,
    #[orm(default = -12.25, precision = 4, scale = 2)]
    pub adjustment: Decimal,
    #[orm(default = "2024-02-29")]
    pub due: NaiveDate,
    #[orm(default = "09:30:00")]
    pub at: NaiveTime,
    #[orm(default = "2024-01-31 09:30:00.250")]
    pub local: NaiveDateTime,
    #[orm(default = "2024-01-31 09:30:00")]
    pub instant: DateTime<Utc>,
    #[orm(default = "2024-01-31")]
    pub maybe_due: Option<NaiveDate>,
}

fn main() {}
