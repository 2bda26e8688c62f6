//! The nearest correct forms of the query rules: they compile.
use orm::prelude::*;
use orm::query::{exists, rank, window};

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
    pub title: String,
    pub note: Option<String>,
    pub price: f64,
    pub quantity: i32,
}

async fn run(db: &orm::Database) -> orm::Result<()> {
    // Grouped: keys and aggregates, in either order of select and group_by.
    let _: Vec<(String, i64, Option<f64>)> = Album::query()
        .join(album::artist)
        .group_by(artist::name)
        .select((artist::name, count_all(), (album::price * 2.0).sum()))
        .all(db)
        .await?;
    let _: Vec<(i64, i64)> = Album::query()
        .select((album::artist_id, album::id.count()))
        .group_by(album::artist_id)
        .all(db)
        .await?;
    // A window function over a grouped query, and in a plain one.
    let _: Vec<(i64, i64)> = Album::query()
        .group_by(album::artist_id)
        .select((album::artist_id, rank().over(window().order_by(count_all().desc()))))
        .all(db)
        .await?;
    // Updates: a value, `Some("..")`, an expression of the row.
    Album::query()
        .update()
        .set(album::note, Some("gift".to_string()))
        .set(album::quantity, album::quantity - 1)
        .execute(db)
        .await?;
    // A union of the same types from two models.
    let _: Vec<String> = Artist::query()
        .select(artist::name)
        .union(Album::query().select(album::title))
        .all(db)
        .await?;
    // A cast makes arithmetic of two types legal.
    let _: Vec<f64> = Album::query()
        .select(album::price * album::quantity.cast::<f64>())
        .all(db)
        .await?;
    // Conditions over two models after a join; a correlated subquery.
    let _ = Artist::query()
        .filter(exists(Album::query().correlate::<Artist>().filter(album::artist_id.eq(artist::id))))
        .count(db)
        .await?;
    let _ = Album::query().filter(album::note.eq(None)).count(db).await?;
    Ok(())
}

fn main() {
    let _ = run;
}
