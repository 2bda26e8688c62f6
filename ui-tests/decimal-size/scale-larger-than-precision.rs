// `scale` is at most `precision`.
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 4, scale = 6)]
    pub amount: Decimal,
}

fn main() {}
