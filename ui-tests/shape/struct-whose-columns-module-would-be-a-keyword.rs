// A model's name gives its columns module a usable name: `Crate` would give `crate`.
#[orm::model]
pub struct Crate {
    #[orm(primary_key, auto)]
    pub id: i64,
}

fn main() {}
