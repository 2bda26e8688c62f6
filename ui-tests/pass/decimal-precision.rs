// Decimal fields take `precision` up to 65 and `scale` up to 28, and the schema
// records them (a `precision` alone has scale 0).
use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 12, scale = 2)]
    pub amount: Decimal,
    #[orm(precision = 5)]
    pub units: Option<Decimal>,
    #[orm(precision = 65, scale = 28)]
    pub widest: Decimal,
}

fn main() {
    let columns = <Price as orm::Model>::SCHEMA.columns;
    let size = columns[1].decimal.unwrap();
    assert_eq!((size.precision, size.scale), (12, 2));
    let size = columns[2].decimal.unwrap();
    assert_eq!((size.precision, size.scale), (5, 0));
    assert!(columns[0].decimal.is_none());
}
