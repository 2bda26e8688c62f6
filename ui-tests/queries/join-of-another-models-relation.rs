// A join follows a relation of a table the query has: another model's relation needs that model joined first.
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
    // `album::artist` starts from `Album`: join `track::album` first.
    let _ = Track::query().join(album::artist);
}
