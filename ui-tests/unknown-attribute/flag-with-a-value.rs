// A flag such as `primary_key` stands alone, without `= value`.
#[orm::model]
pub struct Order {
    #[orm(primary_key = true, auto)]
    pub id: i64,
}

fn main() {}
