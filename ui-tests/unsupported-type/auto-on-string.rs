// `auto` applies to an integer key only.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub code: String,
}

fn main() {}
