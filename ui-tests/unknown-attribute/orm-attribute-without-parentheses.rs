// `#[orm]` on a field takes its attributes in parentheses.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm]
    pub name: String,
}

fn main() {}
