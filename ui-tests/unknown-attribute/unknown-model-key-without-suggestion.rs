// An unknown model attribute with no close match is an error that lists the accepted ones.
#[orm::model(schema = "sales")]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {}
