// The `default` of an integer field fits in its type.
#[orm::model]
pub struct Counter {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = 40000)]
    pub hits: i16,
}

fn main() {}
