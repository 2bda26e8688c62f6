// `precision` and `scale` apply to decimal fields only, not text.
#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 12, scale = 2)]
    pub amount: String,
}

fn main() {}
