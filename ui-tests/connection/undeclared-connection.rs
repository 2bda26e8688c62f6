// `connection = ...` names a declared connection: a misspelled one is an error
// with a suggestion.
orm::connections! {
    pub Essentials = "essentials";
}

#[orm::model(connection = Essentails)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
}

fn main() {}
