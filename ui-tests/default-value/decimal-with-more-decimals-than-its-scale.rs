// A decimal `default` has no more decimals than the field's `scale`.
use rust_decimal::Decimal;

#[orm::model]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "1.234", precision = 6, scale = 2)]
    pub amount: Decimal,
}

fn main() {}
