// `#[orm::model]` refuses a union.
#[orm::model]
pub union Number {
    pub int: i64,
    pub float: f64,
}

fn main() {}
