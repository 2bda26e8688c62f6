// The `default` of a time field has no trailing zeros beyond 3 decimals.
use chrono::NaiveTime;

#[orm::model]
pub struct Shift {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "09:30:00.500000")]
    pub ends: NaiveTime,
}

fn main() {}
