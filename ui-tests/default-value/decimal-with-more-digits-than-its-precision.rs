// A decimal `default` has no more digits before the point than `precision` minus `scale`.
use rust_decimal::Decimal;

#[orm::model]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = 12345, precision = 6, scale = 2)]
    pub list: Decimal,
}

fn main() {}
