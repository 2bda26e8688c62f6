use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};

#[orm::model]
pub struct Shift {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "9:30")]
    pub starts: NaiveTime,
    #[orm(default = "09:30:00.500000")]
    pub ends: NaiveTime,
    #[orm(default = "2024-01-31T09:30:00")]
    pub planned: NaiveDateTime,
    #[orm(default = "2024-01-31 09:30:00+02:00")]
    pub at: DateTime<Utc>,
}

fn main() {}
