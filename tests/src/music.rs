//! A music store (after the Chinook sample schema): artists, albums,
//! tracks, genres, playlists through a join model, employees reporting to
//! employees, customers, invoices and their lines, and products with a
//! stock counter. The query DSL suite asks it the questions a reporting
//! screen asks.

#[orm::model(table = "m_artists")]
#[derive(Clone, Debug, PartialEq)]
pub struct Artist {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model(table = "m_albums")]
#[derive(Clone, Debug, PartialEq)]
pub struct Album {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Artist, index)]
    pub artist_id: i64,
    pub title: String,
}

#[orm::model(table = "m_genres")]
#[derive(Clone, Debug, PartialEq)]
pub struct Genre {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model(
    table = "m_tracks",
    many_to_many(playlists = playlist_item::track_id -> playlist_item::playlist_id)
)]
#[derive(Clone, Debug, PartialEq)]
pub struct Song {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Album, index)]
    pub album_id: i64,
    #[orm(belongs_to = Genre)]
    pub genre_id: Option<i64>,
    pub name: String,
    pub milliseconds: i64,
    pub unit_price_cents: i32,
}

#[orm::model(
    table = "m_playlists",
    many_to_many(songs = playlist_item::playlist_id -> playlist_item::track_id)
)]
#[derive(Clone, Debug, PartialEq)]
pub struct List {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model(table = "m_playlist_items")]
#[derive(Clone, Debug, PartialEq)]
pub struct PlaylistItem {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = List)]
    pub playlist_id: i64,
    #[orm(belongs_to = Song)]
    pub track_id: i64,
}

/// Reports to another employee (none for the general manager).
#[orm::model(table = "m_staff")]
#[derive(Clone, Debug, PartialEq)]
pub struct Staff {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    #[orm(belongs_to = Staff, index)]
    pub manager_id: Option<i64>,
}

#[orm::model(table = "m_customers")]
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    pub country: String,
    #[orm(belongs_to = Staff)]
    pub support_rep_id: Option<i64>,
    pub note: Option<String>,
}

#[orm::model(table = "m_invoices")]
#[derive(Clone, Debug, PartialEq)]
pub struct Bill {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Client, index)]
    pub customer_id: i64,
    pub total_cents: i64,
}

#[orm::model(table = "m_invoice_lines")]
#[derive(Clone, Debug, PartialEq)]
pub struct BillLine {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Bill, index)]
    pub invoice_id: i64,
    #[orm(belongs_to = Song)]
    pub track_id: i64,
    pub unit_price_cents: i32,
    pub quantity: i32,
}

#[orm::model(table = "m_products")]
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    pub stock: i32,
    pub price: f64,
}

orm::alias!(pub Boss = Staff as "boss");
orm::alias!(pub GrandBoss = Staff as "grand_boss");

/// Creates every table of the store on `db`.
pub async fn create_tables(db: &orm::Database) {
    db.create_table::<Artist>().await.unwrap();
    db.create_table::<Album>().await.unwrap();
    db.create_table::<Genre>().await.unwrap();
    db.create_table::<Song>().await.unwrap();
    db.create_table::<List>().await.unwrap();
    db.create_table::<PlaylistItem>().await.unwrap();
    db.create_table::<Staff>().await.unwrap();
    db.create_table::<Client>().await.unwrap();
    db.create_table::<Bill>().await.unwrap();
    db.create_table::<BillLine>().await.unwrap();
    db.create_table::<Product>().await.unwrap();
}

/// A small store: 3 artists, 4 albums, 8 songs in 2 genres (one without),
/// 2 playlists, 5 staff in 3 levels, 4 customers, 5 invoices.
pub async fn fill(db: &orm::Database) {
    use orm::prelude::*;
    for name in ["AC/DC", "Miles Davis", "Nina Simone"] {
        Artist::create(
            db,
            Artist {
                id: 0,
                name: name.into(),
            },
        )
        .await
        .unwrap();
    }
    for (artist_id, title) in [
        (1, "Back in Black"),
        (1, "Highway"),
        (2, "Kind of Blue"),
        (3, "Pastel Blues"),
    ] {
        Album::create(
            db,
            Album {
                id: 0,
                artist_id,
                title: title.into(),
            },
        )
        .await
        .unwrap();
    }
    for name in ["Rock", "Jazz"] {
        Genre::create(
            db,
            Genre {
                id: 0,
                name: name.into(),
            },
        )
        .await
        .unwrap();
    }
    let songs = [
        (1, Some(1), "Hells Bells", 312_000, 99),
        (1, Some(1), "Shoot to Thrill", 317_000, 99),
        (2, Some(1), "Highway to Hell", 208_000, 129),
        (3, Some(2), "So What", 562_000, 129),
        (3, Some(2), "Blue in Green", 337_000, 99),
        (3, Some(2), "All Blues", 693_000, 129),
        (4, None, "Sinnerman", 622_000, 149),
        (4, Some(2), "Be My Husband", 168_000, 99),
    ];
    for (album_id, genre_id, name, milliseconds, unit_price_cents) in songs {
        let song = Song {
            id: 0,
            album_id,
            genre_id,
            name: name.into(),
            milliseconds,
            unit_price_cents,
        };
        Song::create(db, song).await.unwrap();
    }
    for name in ["Loud", "Late Night"] {
        List::create(
            db,
            List {
                id: 0,
                name: name.into(),
            },
        )
        .await
        .unwrap();
    }
    for (playlist_id, track_id) in [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 7), (2, 1)] {
        PlaylistItem::create(
            db,
            PlaylistItem {
                id: 0,
                playlist_id,
                track_id,
            },
        )
        .await
        .unwrap();
    }
    // Andrew <- Nancy <- (Jane, Margaret); Andrew <- Steve.
    for (name, manager_id) in [
        ("Andrew", None),
        ("Nancy", Some(1)),
        ("Jane", Some(2)),
        ("Margaret", Some(2)),
        ("Steve", Some(1)),
    ] {
        Staff::create(
            db,
            Staff {
                id: 0,
                name: name.into(),
                manager_id,
            },
        )
        .await
        .unwrap();
    }
    for (name, country, rep, note) in [
        ("Luis", "Brazil", Some(3), None),
        ("Leonie", "Germany", Some(4), Some("vip")),
        ("François", "Canada", Some(3), None),
        ("Bjørn", "Norway", None, Some("new")),
    ] {
        let client = Client {
            id: 0,
            name: name.into(),
            country: country.into(),
            support_rep_id: rep,
            note: note.map(Into::into),
        };
        Client::create(db, client).await.unwrap();
    }
    let bills = [(1, 198), (1, 129), (2, 357), (3, 99), (2, 149)];
    for (customer_id, total_cents) in bills {
        Bill::create(
            db,
            Bill {
                id: 0,
                customer_id,
                total_cents,
            },
        )
        .await
        .unwrap();
    }
    let lines = [
        (1, 1, 99, 2),
        (2, 3, 129, 1),
        (3, 4, 129, 2),
        (3, 5, 99, 1),
        (4, 5, 99, 1),
        (5, 7, 149, 1),
    ];
    for (invoice_id, track_id, unit_price_cents, quantity) in lines {
        let line = BillLine {
            id: 0,
            invoice_id,
            track_id,
            unit_price_cents,
            quantity,
        };
        BillLine::create(db, line).await.unwrap();
    }
    for (name, stock, price) in [("Vinyl", 10, 25.0), ("Poster", 3, 7.5)] {
        Product::create(
            db,
            Product {
                id: 0,
                name: name.into(),
                stock,
                price,
            },
        )
        .await
        .unwrap();
    }
}
