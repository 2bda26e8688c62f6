// `belongs_to` refers to a struct annotated with `#[orm::model]`.
pub struct Settings {
    pub id: i64,
}

#[orm::model]
pub struct Account {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Settings)]
    pub settings_id: i64,
}

fn main() {}
