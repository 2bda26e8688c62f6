// A decimal `default` written as a string is a number.
use rust_decimal::Decimal;

#[orm::model]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "12.5.0")]
    pub tax: Decimal,
}

fn main() {}
