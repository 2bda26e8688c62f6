// `on_delete` comes with `belongs_to`.
#[orm::model]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(on_delete = "cascade")]
    pub editor_id: i64,
}

fn main() {}
