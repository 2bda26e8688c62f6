// `precision` is at least 1.
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 0)]
    pub none: Decimal,
}

fn main() {}
