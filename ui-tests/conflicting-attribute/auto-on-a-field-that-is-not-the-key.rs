// `auto` applies to the primary key only.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(auto)]
    pub counter: i64,
}

fn main() {}
