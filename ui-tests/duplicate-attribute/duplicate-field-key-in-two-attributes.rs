// A field attribute is given once, even across two `#[orm(...)]`.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 10)]
    #[orm(max_length = 20)]
    pub name: String,
}

fn main() {}
