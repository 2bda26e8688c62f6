//! Models with relations: authors -> posts -> comments, a profile per
//! author, a self-referencing employee, two relations to the same model, a
//! many-to-many through a join model, and a relation across connections.

use crate::models::User;

#[orm::model(
    table = "authors",
    has_many(posts = post::author_id, sent = message::sender_id, received = message::recipient_id),
    has_one(profile = profile::author_id)
)]
#[derive(Clone, Debug, PartialEq)]
pub struct Author {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model(has_many(comments = comment::post_id))]
#[derive(Clone, Debug, PartialEq)]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Author, index)]
    pub author_id: i64,
    pub title: String,
}

#[orm::model]
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Post, index, on_delete = "cascade")]
    pub post_id: i64,
    pub body: String,
}

#[orm::model]
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Author, unique)]
    pub author_id: i64,
    pub bio: String,
}

/// Reports to another employee: a nullable self-reference.
#[orm::model(has_many(reports = employee::manager_id))]
#[derive(Clone, Debug, PartialEq)]
pub struct Employee {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    #[orm(belongs_to = Employee, on_delete = "set_null")]
    pub manager_id: Option<i64>,
}

/// Two relations to the same model under different names.
#[orm::model]
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Author)]
    pub sender_id: i64,
    #[orm(belongs_to = Author, relation = "addressee")]
    pub recipient_id: i64,
    pub text: String,
}

#[orm::model(many_to_many(tracks = playlist_track::playlist_id -> playlist_track::track_id))]
#[derive(Clone, Debug, PartialEq)]
pub struct Playlist {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model(many_to_many(playlists = playlist_track::track_id -> playlist_track::playlist_id))]
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub title: String,
}

/// The join model of playlists and tracks.
#[orm::model(table = "playlist_tracks")]
#[derive(Clone, Debug, PartialEq)]
pub struct PlaylistTrack {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Playlist, index)]
    pub playlist_id: i64,
    #[orm(belongs_to = Track)]
    pub track_id: i64,
}

/// On "db", referring to a user on "essentials".
#[orm::model(table = "tickets")]
#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User)]
    pub user_id: i64,
    #[orm(belongs_to = User, relation = "assignee")]
    pub assignee_id: Option<i64>,
    pub subject: String,
}
