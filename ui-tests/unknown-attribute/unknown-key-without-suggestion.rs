// An unknown field attribute with no close match is an error that lists the accepted ones.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(serialize_with = "x")]
    pub name: String,
}

fn main() {}
