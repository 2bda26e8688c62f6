// `precision` applies to decimal fields only, not floats.
#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 5)]
    pub ratio: Option<f64>,
}

fn main() {}
