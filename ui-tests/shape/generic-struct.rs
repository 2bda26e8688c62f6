// `#[orm::model]` refuses a generic struct.
#[orm::model]
pub struct Wrapper<T> {
    #[orm(primary_key)]
    pub id: i64,
    pub value: T,
}

fn main() {}
