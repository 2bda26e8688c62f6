// A union needs queries that select the same types.
use orm::prelude::*;

#[orm::model]
pub struct Artist {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

fn main() {
    // A name united with an id.
    let _ = Artist::query()
        .select(artist::name)
        .union(Artist::query().select(artist::id));
}
