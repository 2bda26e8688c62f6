use rust_decimal::Decimal;

#[orm::model]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "1.234", precision = 6, scale = 2)]
    pub amount: Decimal,
    #[orm(default = 12345, precision = 6, scale = 2)]
    pub list: Decimal,
    #[orm(default = "12.5.0")]
    pub tax: Decimal,
    #[orm(default = 0.12345678901)]
    pub rate: Decimal,
    #[orm(default = 1234567890123456.7)]
    pub big: Decimal,
}

fn main() {}
