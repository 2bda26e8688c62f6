#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 12, scale = 2)]
    pub amount: String,
    #[orm(precision = 5)]
    pub ratio: Option<f64>,
}

fn main() {}
