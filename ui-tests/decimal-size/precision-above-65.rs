// `precision` is at most 65 (MySQL's largest DECIMAL).
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 66)]
    pub too_many: Decimal,
}

fn main() {}
