// The `default` of an integer field is a number, not a string.
#[orm::model]
pub struct Counter {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "0")]
    pub hits: Option<i32>,
}

fn main() {}
