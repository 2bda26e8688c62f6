// `scale` comes with `precision`.
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(scale = 2)]
    pub amount: Decimal,
}

fn main() {}
