// The nearest correct form of each mistake in relations/: these compile.
use orm::prelude::*;

orm::connections! {
    pub Essentials = "essentials";
}

// belongs-to-a-model-that-is-not-clone: the target derives `Clone`.
// relation-to-a-type-that-is-not-a-model: the target is a model.
#[orm::model(
    connection = Essentials,
    has_many(posts = post::user_id),
    has_one(profile = profile::user_id)
)]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i64,
}

// has-many-through-another-models-foreign-key: `Editor` lists its posts
// through `post::editor_id`, the column that refers to it.
#[orm::model(has_many(edited = post::editor_id))]
#[derive(Clone)]
pub struct Editor {
    #[orm(primary_key)]
    pub code: String,
}

#[orm::model(has_many(replies = post::parent_id))]
#[derive(Clone)]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i64,
    // foreign-key-type-does-not-match-the-key: the key's type, or an
    // `Option` of it.
    #[orm(belongs_to = User, on_delete = "cascade")]
    pub user_id: i64,
    #[orm(belongs_to = Editor, on_delete = "set_null")]
    pub editor_id: Option<String>,
    // belongs-to-on-a-field-not-ending-in-id, relation-declared-twice:
    // the relation is named.
    #[orm(belongs_to = User, relation = "reviewer", on_delete = "restrict")]
    pub reviewed_by: Option<i64>,
    // relation-named-like-a-field: `replies` is no field's name.
    #[orm(belongs_to = Post)]
    pub parent_id: Option<i64>,
    pub author: String,
}

// has-one-through-a-column-that-is-not-a-foreign-key: `user_id` is declared
// `belongs_to = User`.
#[orm::model(connection = Essentials)]
#[derive(Clone)]
pub struct Profile {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User, unique)]
    pub user_id: i64,
}

// many-to-many-keys-on-different-tables, many-to-many-through-a-key-to-another-model,
// many-to-many-across-connections: both keys are columns of the join model,
// the first refers to `Playlist`, and all three models share a connection.
#[orm::model(many_to_many(tracks = playlist_track::playlist_id -> playlist_track::track_id))]
#[derive(Clone)]
pub struct Playlist {
    #[orm(primary_key, auto)]
    pub id: i64,
}

#[orm::model(many_to_many(playlists = playlist_track::track_id -> playlist_track::playlist_id))]
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

// accessor-used-with-the-wrong-model, loader-used-with-the-wrong-model:
// each relation from the model it starts from.
async fn load(
    db: &orm::Database,
    user: User,
    editor: Editor,
    post: Post,
    playlist: Playlist,
) -> orm::Result<()> {
    let _: Vec<Post> = user.posts(db).await?;
    let _: Option<Profile> = user.profile(db).await?;
    let _: User = post.user(db).await?;
    let _: Option<Editor> = post.editor(db).await?;
    let _: Option<User> = post.reviewer(db).await?;
    let _: Option<Post> = post.parent(db).await?;
    let _: Vec<Post> = post.replies(db).await?;
    let _: Vec<Track> = playlist.tracks(db).await?;
    let _: Vec<Post> = editor.edited(db).await?;

    let users = User::all(db).await?;
    let posts: Vec<Vec<Post>> = user::posts.load(&users, db).await?;
    let _: Vec<Vec<User>> = post::user.load_nested(&posts, db).await?;
    let _: Vec<Option<Profile>> = user::profile.load(&users, db).await?;
    let _: Vec<Vec<Playlist>> = track::playlists.load(&Track::all(db).await?, db).await?;

    let mut tx = db.begin_on::<Essentials>().await?;
    let _: Vec<User> = post::user.load(std::slice::from_ref(&post), &mut tx).await?;
    tx.commit().await?;
    Ok(())
}

// accessor-used-with-the-wrong-model: a model's own trait method named like
// another model's relation is still the one called (the relation hints are
// looked up only after every method of the model), and so are the methods
// every model has.
pub trait Published {
    fn posts(&self) -> usize;
}

impl Published for Editor {
    fn posts(&self) -> usize {
        1
    }
}

fn own_methods(editor: &Editor, post: &Post) -> usize {
    let copy: Post = post.clone();
    editor.posts() + copy.author.len() + post.author.len()
}

// join-across-connections: a join stays on one connection.
fn joins() {
    let _ = Post::query().join(post::editor);
    let _ = Post::query().join(post::replies);
    let _ = Playlist::query().join(playlist::tracks);
    let _ = User::query().join(user::profile);
}

fn main() {
    let _ = load;
    let _ = joins;
    let _ = own_methods;
}
