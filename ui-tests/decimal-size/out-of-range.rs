use rust_decimal::Decimal;

#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 0)]
    pub none: Decimal,
    #[orm(precision = 66)]
    pub too_many: Decimal,
    #[orm(precision = 30, scale = 29)]
    pub too_fine: Decimal,
    #[orm(precision = "12")]
    pub quoted: Decimal,
}

fn main() {}
