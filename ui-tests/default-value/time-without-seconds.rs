// The `default` of a time field is written "HH:MM:SS".
use chrono::NaiveTime;

#[orm::model]
pub struct Shift {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "9:30")]
    pub starts: NaiveTime,
}

fn main() {}
