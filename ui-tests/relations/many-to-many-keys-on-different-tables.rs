// Both keys of `many_to_many` are columns of the one join model.
#[orm::model(many_to_many(tracks = playlist_track::playlist_id -> other_table::track_id))]
#[derive(Clone)]
pub struct Playlist {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model]
#[derive(Clone)]
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

#[orm::model]
#[derive(Clone)]
pub struct OtherTable {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Track)]
    pub track_id: i64,
}

fn main() {}
