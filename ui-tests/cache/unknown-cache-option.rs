// A misspelled `cache(...)` option is an error naming the accepted one, never
// ignored.
#[orm::model(cache(tll = 60))]
pub struct Product {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
