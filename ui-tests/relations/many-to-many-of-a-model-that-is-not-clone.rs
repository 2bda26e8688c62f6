// `playlist.tracks(&db)` loads `Track` rows, so `Track` must be `Clone`: said
// once, by the join model's `belongs_to = Track`, which loads them too.
#[orm::model(many_to_many(tracks = playlist_track::playlist_id -> playlist_track::track_id))]
#[derive(Clone)]
pub struct Playlist {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
pub struct Track {
    #[orm(primary_key, auto)]
    pub id: i64,
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

fn main() {}
