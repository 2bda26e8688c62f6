// A window function cannot be a condition: SQL computes it after `WHERE`.
use orm::prelude::*;
use orm::query::{row_number, window};

#[orm::model]
pub struct Sale {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub amount: i64,
}

fn main() {
    // Windows are computed after WHERE: only a selection may hold one.
    let _ = Sale::query().filter(row_number().over(window().order_by(sale::amount)));
}
