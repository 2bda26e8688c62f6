orm::connections! {
    pub Essentials = "essentials";
}

#[orm::model(connection = Essentails)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

fn main() {}
