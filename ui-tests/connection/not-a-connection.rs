// `connection = ...` names a connection declared in `orm::connections!`, not
// any type.
pub struct Settings;

#[orm::model(connection = Settings)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

fn main() {}
