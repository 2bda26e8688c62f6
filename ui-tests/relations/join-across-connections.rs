// An SQL join stays on one connection: a relation to a model on another
// connection cannot be joined.
use orm::prelude::*;

orm::connections! {
    pub Essentials = "essentials";
}

#[orm::model(connection = Essentials)]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Ticket {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User)]
    pub user_id: i64,
}

fn main() {
    let _ = Ticket::query().join(ticket::user);
}
