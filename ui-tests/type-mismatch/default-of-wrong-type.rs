// A `default = ...` has the field's type.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "many")]
    pub quantity: i32,
}

fn main() {}
