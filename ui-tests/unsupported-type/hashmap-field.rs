// A field of a type no backend stores is refused, once, on the type.
use std::collections::HashMap;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub attributes: HashMap<String, String>,
}

fn main() {}
