// The `default` of a field whose type is an alias of a date is a day that
// exists, checked through the type the alias names.
type Day = chrono::NaiveDate;

#[orm::model]
pub struct Invoice {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "2023-02-29")]
    pub due: Day,
}

fn main() {}
