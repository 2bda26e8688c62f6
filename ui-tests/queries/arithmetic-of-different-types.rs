// Arithmetic needs operands of one type: a float times an integer does not compile.
use orm::prelude::*;

#[orm::model]
pub struct Line {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub price: f64,
    pub quantity: i32,
}

fn main() {
    // A float times an integer: cast one first.
    let _ = Line::query().select(line::price * line::quantity);
}
