// A decimal `default` written as a float keeps at most 15 significant digits.
use rust_decimal::Decimal;

#[orm::model]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = 1234567890123456.7)]
    pub big: Decimal,
}

fn main() {}
