// `relation` names a `belongs_to` relation: it comes with `belongs_to`.
#[orm::model]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(relation = "x")]
    pub plain: i64,
}

fn main() {}
