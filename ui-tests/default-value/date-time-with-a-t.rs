// The `default` of a date-and-time field is written "YYYY-MM-DD HH:MM:SS", with a space.
use chrono::NaiveDateTime;

#[orm::model]
pub struct Shift {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "2024-01-31T09:30:00")]
    pub planned: NaiveDateTime,
}

fn main() {}
