// A decimal `default` without `precision` has at most 10 decimals (MySQL's DECIMAL(38, 10)).
use rust_decimal::Decimal;

#[orm::model]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = 0.12345678901)]
    pub rate: Decimal,
}

fn main() {}
