// A query sorts by the columns of its tables only: in a joined query, a
// model it did not join is named in the message.
use orm::prelude::*;

#[orm::model]
#[derive(Clone)]
pub struct Artist {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model]
#[derive(Clone)]
pub struct Album {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Artist)]
    pub artist_id: i64,
}

#[orm::model]
#[derive(Clone)]
pub struct Track {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Album)]
    pub album_id: i64,
}

fn main() {
    // `Artist` is not joined: `.join(album::artist)` first.
    let _ = Track::query().join(track::album).order_by(artist::name.asc());
}
