// `default` at the edges of what each spelled-out type takes (an integer
// at its type's limits, a float with a point, a string, a boolean), and
// through a type alias, which the compiler checks instead of the macro.
type Day = chrono::NaiveDate;
type Money = rust_decimal::Decimal;

#[orm::model]
pub struct Counter {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = -32768)]
    pub low: i16,
    #[orm(default = 32767)]
    pub high: Option<i16>,
    #[orm(default = 2147483647)]
    pub wide: i32,
    #[orm(default = -9223372036854775808)]
    pub widest: i64,
    #[orm(default = 0.5)]
    pub ratio: f64,
    #[orm(default = -1.5)]
    pub small: Option<f32>,
    #[orm(default = true)]
    pub on: bool,
    #[orm(default = "pending")]
    pub state: Option<String>,
    #[orm(default = "2024-02-29")]
    pub day: Day,
    #[orm(default = "12.50", precision = 4, scale = 2)]
    pub price: Money,
}

fn main() {}
