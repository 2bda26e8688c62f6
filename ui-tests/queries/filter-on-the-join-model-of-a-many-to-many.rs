// A many-to-many join does not make its join model one of the query's tables.
use orm::prelude::*;

#[orm::model(many_to_many(tracks = playlist_track::playlist_id -> playlist_track::track_id))]
#[derive(Clone)]
pub struct Playlist {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model]
#[derive(Clone)]
pub struct Track {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub title: String,
}

#[orm::model]
#[derive(Clone)]
pub struct PlaylistTrack {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Playlist)]
    pub playlist_id: i64,
    #[orm(belongs_to = Track)]
    pub track_id: i64,
    pub position: i32,
}

fn main() {
    // The join model is joined to reach tracks, but is not one of the
    // query's tables.
    let _ = Playlist::query()
        .join(playlist::tracks)
        .filter(playlist_track::position.lt(10));
}
