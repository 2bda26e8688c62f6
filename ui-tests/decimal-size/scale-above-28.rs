// `scale` is at most 28, the most decimals `rust_decimal` keeps.
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 30, scale = 29)]
    pub too_fine: Decimal,
}

fn main() {}
