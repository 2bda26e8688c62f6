#[orm::model]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(relation = "x")]
    pub plain: i64,
}

fn main() {}
