// The `default` of a `DateTime<Utc>` field is written in UTC, without a zone.
use chrono::{DateTime, Utc};

#[orm::model]
pub struct Shift {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "2024-01-31 09:30:00+02:00")]
    pub at: DateTime<Utc>,
}

fn main() {}
