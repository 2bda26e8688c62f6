//! The nearest correct forms of the typed-query mistakes in `queries/`,
//! `type-mismatch/` and `wrong-model/`: each compiles.
use orm::prelude::*;
use orm::query::{exists, row_number, value, window};

#[orm::model]
#[derive(Clone)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
    pub name: String,
}

#[orm::model]
#[derive(Clone)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = User)]
    pub user_id: i64,
    pub total: f64,
    pub paid: bool,
    pub gift: Option<bool>,
    pub status: String,
    pub note: Option<String>,
}

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
    pub title: String,
}

#[orm::model(
    has_many(entries = playlist_track::playlist_id),
    many_to_many(tracks = playlist_track::playlist_id -> playlist_track::track_id)
)]
#[derive(Clone)]
pub struct Playlist {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
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

async fn run(db: &orm::Database) -> orm::Result<()> {
    // A condition: a `bool` column, a comparison, an `Option<bool>` compared.
    let _: Vec<Order> = Order::query().filter(order::paid).all(db).await?;
    let _: Vec<Order> = Order::query().filter(order::total.gt(100.0)).all(db).await?;
    let _: Vec<Order> = Order::query().filter(order::gift.eq(true)).all(db).await?;
    // Conditions and sort keys of two models, after joining the second.
    let _: Vec<(Order, User)> = Order::query()
        .join(order::user)
        .filter(order::total.gt(10.0).and(user::name.eq("ada")))
        .order_by(user::name)
        .all(db)
        .await?;
    // ... or without a join, the other model in a subquery.
    let _: Vec<Order> = Order::query()
        .filter(order::user_id.is_in(User::query().filter(user::name.eq("ada")).select(user::uid)))
        .all(db)
        .await?;
    // Another model's relation, once that model is joined.
    let _: Vec<(Track, Album, Artist)> = Track::query()
        .join(track::album)
        .join(album::artist)
        .filter(artist::name.eq("Nina"))
        .all(db)
        .await?;
    // A many-to-many from the side that declares it; the join model's
    // columns through its own relations.
    let _: Vec<(Playlist, Track)> = Playlist::query().join(playlist::tracks).all(db).await?;
    let _: Vec<(String, String)> = Playlist::query()
        .join(playlist::entries)
        .join(playlist_track::track)
        .filter(playlist_track::position.lt(10))
        .order_by(playlist_track::position)
        .select((playlist::name, track::title))
        .all(db)
        .await?;
    // Select columns of the query's own tables.
    let _: Vec<i64> = Order::query().select(order::id).all(db).await?;
    let _: Vec<(i64, String)> = Order::query()
        .join(order::user)
        .select((order::id, user::name))
        .all(db)
        .await?;
    // A tuple of one, of eight, of columns of both tables with an aggregate, a
    // constant and a window function; sort keys of both tables, descending.
    let _: Vec<(i64,)> = Order::query().select((order::id,)).all(db).await?;
    let _: Vec<(i64, i64, f64, bool, Option<bool>, String, Option<String>, i32)> = Order::query()
        .select((
            order::id,
            order::user_id,
            order::total,
            order::paid,
            order::gift,
            order::status,
            order::note,
            value(1),
        ))
        .all(db)
        .await?;
    let _: Vec<(String, i64, Option<f64>)> = Order::query()
        .join(order::user)
        .group_by(user::name)
        .select((user::name, count_all(), order::total.sum()))
        .all(db)
        .await?;
    let _: Vec<(i64, String, i64)> = Order::query()
        .join(order::user)
        .select((order::id, user::name, row_number().over(window().order_by(user::name.desc()))))
        .order_by(user::name.desc().nulls_last())
        .order_by(order::total * 2.0)
        .all(db)
        .await?;
    // Update, delete and page a query of one model, the other in a subquery.
    let ada = || User::query().filter(user::name.eq("ada")).select(user::uid);
    Order::query()
        .filter(order::user_id.is_in(ada()))
        .update()
        .set(order::total, 0.0)
        .execute(db)
        .await?;
    Order::query()
        .filter(exists(User::query().correlate::<Order>().filter(user::uid.eq(order::user_id))))
        .delete(db)
        .await?;
    let page = Order::query().filter(order::user_id.is_in(ada())).page(20).all(db).await?;
    let _: Vec<User> = order::user.load(&page.rows, db).await?;
    // A joined query is limited, not paged.
    let _: Vec<(Order, User)> = Order::query().join(order::user).limit(20).offset(40).all(db).await?;
    // Grouped: keys and aggregates, one or several keys, `first` and `one`.
    let _: Vec<(String, Option<f64>)> = Order::query()
        .group_by(order::status)
        .select((order::status, order::total.sum()))
        .all(db)
        .await?;
    let _: Option<(String, i64, i64)> = Order::query()
        .group_by(order::status)
        .group_by(order::user_id)
        .select((order::status, order::user_id, order::id.count()))
        .first(db)
        .await?;
    let _: (String, Option<f64>) = Order::query()
        .select((order::status, order::total.max()))
        .group_by(order::status)
        .one(db)
        .await?;
    // `group_by` after `select`; one more key after a `select` that needs no
    // more keys.
    let _: Vec<(String, i64, i64)> = Order::query()
        .select((order::status, order::user_id, count_all()))
        .group_by(order::status)
        .group_by(order::user_id)
        .all(db)
        .await?;
    let _: Vec<(String, i64)> = Order::query()
        .group_by(order::status)
        .select((order::status, count_all()))
        .group_by(order::user_id)
        .all(db)
        .await?;
    // A key the selection needs may come in a `group_by` after `select`.
    let _: Vec<(String, i64, i64)> = Order::query()
        .group_by(order::status)
        .select((order::status, order::user_id, count_all()))
        .group_by(order::user_id)
        .all(db)
        .await?;
    let _: Vec<i64> = Order::query().group_by(order::status).select(count_all()).all(db).await?;
    // Values of the column's type; `Some` of an owned value.
    let _: Vec<Order> = Order::query()
        .filter(order::status.eq("paid").and(order::id.gt(10)))
        .filter(order::status.contains("ai"))
        .filter(order::note.is_null())
        .all(db)
        .await?;
    // An `Option` column and a plain one compared either way, with a plain
    // value, a reference, `None` or an owned `Option`.
    let status = String::from("paid");
    let _: Vec<Order> = Order::query()
        .filter(order::note.eq(order::status).or(order::status.eq(order::note)))
        .filter(order::note.eq("gift").or(order::note.eq(&status)))
        .filter(order::note.ne(None).and(order::note.eq(Some(status.clone()))))
        .filter(order::status.eq(&status).and(order::id.ge(&10)))
        .all(db)
        .await?;
    Order::query()
        .update()
        .set(order::note, None)
        .set(order::status, order::status.concat("!"))
        .set(order::gift, true)
        .execute(db)
        .await?;
    Order::query()
        .filter(order::id.eq(1))
        .update()
        .set(order::paid, true)
        .set(order::note, Some("gift".to_owned()))
        .execute(db)
        .await?;
    Ok(())
}

fn main() {
    let _ = run;
}
