// `precision` takes a number, not a string.
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = "12")]
    pub quoted: Decimal,
}

fn main() {}
