// A relation is joined from the model that declares it: a many-to-many of `Playlist` cannot be joined from `Track`.
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
}

fn main() {
    // `playlist::tracks` goes from playlists to tracks: query `Playlist`.
    let _ = Track::query().join(playlist::tracks);
}
