// Relations: lazy accessors, batch loading with a constant number of queries,
// nested loading, self-references, nullable keys, two relations to one
// model, many-to-many, typed joins, and a relation across two connections.
// Every loaded result is compared with what the rows say.

use orm::prelude::*;
use orm::Error;
use orm_tests::blog::*;
use orm_tests::models::{User, Essentials};

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    let db = &t.db;
    db.create_table::<Author>().await.unwrap();
    db.create_table::<Post>().await.unwrap();
    db.create_table::<Comment>().await.unwrap();
    db.create_table::<Profile>().await.unwrap();
    db.create_table::<Employee>().await.unwrap();
    db.create_table::<Message>().await.unwrap();
    db.create_table::<Playlist>().await.unwrap();
    db.create_table::<Track>().await.unwrap();
    db.create_table::<PlaylistTrack>().await.unwrap();
    Some(t)
}

/// Statements sent on every connection of `db` so far.
fn queries(db: &orm::Database) -> u64 {
    db.connection_names().map(|n| db.metrics(n).unwrap().queries).sum()
}

/// `n` authors, each with `i % 3` posts, each post with 2 comments.
async fn blog(db: &orm::Database, n: usize) -> Vec<Author> {
    let authors: Vec<Author> = (0..n).map(|i| Author { id: 0, name: format!("a{i}") }).collect();
    Author::insert_many(db, &authors).await.unwrap();
    let authors = Author::all(db).await.unwrap();
    let posts: Vec<Post> = authors
        .iter()
        .enumerate()
        .flat_map(|(i, a)| (0..i % 3).map(move |p| Post { id: 0, author_id: a.id, title: format!("{}-p{p}", a.name) }))
        .collect();
    Post::insert_many(db, &posts).await.unwrap();
    let posts = Post::all(db).await.unwrap();
    let comments: Vec<Comment> = posts
        .iter()
        .flat_map(|p| (0..2).map(move |c| Comment { id: 0, post_id: p.id, body: format!("{}-c{c}", p.title) }))
        .collect();
    Comment::insert_many(db, &comments).await.unwrap();
    authors
}

#[tokio::test]
async fn lazy_accessors_follow_each_kind_of_relation() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let ada = Author::create(db, Author { id: 0, name: "Ada".into() }).await.unwrap();
    let bob = Author::create(db, Author { id: 0, name: "Bob".into() }).await.unwrap();
    let post = Post::create(db, Post { id: 0, author_id: ada.id, title: "Engines".into() }).await.unwrap();
    Post::create(db, Post { id: 0, author_id: ada.id, title: "Looms".into() }).await.unwrap();
    Profile::create(db, Profile { id: 0, author_id: ada.id, bio: "Countess".into() }).await.unwrap();

    assert_eq!(post.author(db).await.unwrap(), ada);
    let titles: Vec<String> = ada.posts(db).await.unwrap().into_iter().map(|p| p.title).collect();
    assert_eq!(titles, ["Engines", "Looms"]);
    assert!(bob.posts(db).await.unwrap().is_empty());
    assert_eq!(ada.profile(db).await.unwrap().unwrap().bio, "Countess");
    assert_eq!(bob.profile(db).await.unwrap(), None);

    // Two relations to the same model, under their own names.
    let m = Message::create(db, Message { id: 0, sender_id: ada.id, recipient_id: bob.id, text: "hi".into() }).await.unwrap();
    assert_eq!(m.sender(db).await.unwrap(), ada);
    assert_eq!(m.addressee(db).await.unwrap(), bob);
    assert_eq!(ada.sent(db).await.unwrap(), std::slice::from_ref(&m));
    assert!(ada.received(db).await.unwrap().is_empty());
    assert_eq!(bob.received(db).await.unwrap(), [m]);

    // A key that points nowhere is an error, not a silent None.
    let orphan = Post { id: 0, author_id: 999_999, title: "x".into() };
    assert!(matches!(orphan.author(db).await.unwrap_err(), Error::NotFound { model: "Author" }));
}

#[tokio::test]
async fn a_nullable_self_reference() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let boss = Employee::create(db, Employee { id: 0, name: "Boss".into(), manager_id: None }).await.unwrap();
    let mid = Employee::create(db, Employee { id: 0, name: "Mid".into(), manager_id: Some(boss.id) }).await.unwrap();
    let dev = Employee::create(db, Employee { id: 0, name: "Dev".into(), manager_id: Some(mid.id) }).await.unwrap();
    assert_eq!(boss.manager(db).await.unwrap(), None);
    assert_eq!(dev.manager(db).await.unwrap(), Some(mid.clone()));
    assert_eq!(boss.reports(db).await.unwrap(), std::slice::from_ref(&mid));
    let everyone = Employee::all(db).await.unwrap();
    let managers = employee::manager.load(&everyone, db).await.unwrap();
    assert_eq!(managers, [None, Some(boss.clone()), Some(mid.clone())]);
    let reports = employee::reports.load(&everyone, db).await.unwrap();
    assert_eq!(reports, [vec![mid], vec![dev], vec![]]);
}

#[tokio::test]
async fn batch_loading_costs_the_same_number_of_queries_for_1_to_1000_parents() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // Author 0 has no posts: start at 1 so that every level has rows to load.
    let all = blog(db, 1001).await;
    for n in [1, 10, 100, 1000] {
        let authors = &all[1..=n];
        let before = queries(db);
        let posts = author::posts.load(authors, db).await.unwrap();
        let comments = post::comments.load_nested(&posts, db).await.unwrap();
        let profiles = author::profile.load(authors, db).await.unwrap();
        assert_eq!(queries(db) - before, 3, "three levels, three queries, for {n} authors");

        // Compare with what the rows say, one by one.
        for ((author, posts), comments) in authors.iter().zip(&posts).zip(&comments) {
            let expected: Vec<Post> = Post::query().filter(post::author_id.eq(author.id)).order_by(post::id).all(db).await.unwrap();
            assert_eq!(posts, &expected);
            for (post, comments) in posts.iter().zip(comments) {
                assert_eq!(comments.len(), 2);
                assert!(comments.iter().all(|c| c.post_id == post.id));
            }
        }
        assert!(profiles.iter().all(Option::is_none));
        assert_eq!(posts.iter().map(Vec::len).sum::<usize>(), (1..=n).map(|i| i % 3).sum::<usize>());
    }
    // belongs_to for every post: one query.
    let posts = Post::all(db).await.unwrap();
    let before = queries(db);
    let authors = post::author.load(&posts, db).await.unwrap();
    assert_eq!(queries(db) - before, 1);
    assert!(posts.iter().zip(&authors).all(|(p, a)| p.author_id == a.id));
    assert_eq!(posts.len(), 1000, "0 + 1 + 2 posts per three authors");
}

#[tokio::test]
async fn many_to_many_through_a_join_model() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rock = Playlist::create(db, Playlist { id: 0, name: "Rock".into() }).await.unwrap();
    let calm = Playlist::create(db, Playlist { id: 0, name: "Calm".into() }).await.unwrap();
    let empty = Playlist::create(db, Playlist { id: 0, name: "Empty".into() }).await.unwrap();
    let mut tracks = Vec::new();
    for title in ["One", "Two", "Three"] {
        tracks.push(Track::create(db, Track { id: 0, title: title.into() }).await.unwrap());
    }
    for (p, t) in [(&rock, 0), (&rock, 1), (&calm, 1), (&calm, 2)] {
        PlaylistTrack::create(db, PlaylistTrack { id: 0, playlist_id: p.id, track_id: tracks[t].id }).await.unwrap();
    }
    assert_eq!(rock.tracks(db).await.unwrap(), tracks[0..2]);
    assert_eq!(tracks[1].playlists(db).await.unwrap(), [rock.clone(), calm.clone()]);
    let before = queries(db);
    let loaded = playlist::tracks.load(&[rock, calm, empty], db).await.unwrap();
    assert_eq!(queries(db) - before, 2, "the join rows, then the tracks");
    assert_eq!(loaded, [tracks[0..2].to_vec(), tracks[1..3].to_vec(), vec![]]);
}

#[tokio::test]
async fn typed_joins_filter_order_and_select_across_both_models() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    blog(db, 6).await;
    // Inner join: posts with their authors, filtered and ordered by the author.
    let rows: Vec<(Post, Author)> = Post::query()
        .join(post::author)
        .filter(author::name.ne("a1"))
        .filter(post::title.ends_with("p1"))
        .order_by(author::name.desc())
        .all(db)
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|(p, a)| (p.title.as_str(), a.name.as_str())).collect::<Vec<_>>(), [("a5-p1", "a5"), ("a2-p1", "a2")]);
    assert!(rows.iter().all(|(p, a)| p.author_id == a.id));
    // Selecting columns of both.
    let pairs: Vec<(String, String)> = Post::query()
        .join(post::author)
        .select((author::name, post::title))
        .filter(author::name.eq("a2"))
        .order_by(post::id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(pairs, [("a2".to_owned(), "a2-p0".to_owned()), ("a2".to_owned(), "a2-p1".to_owned())]);
    // has_many as a left join: authors without posts appear once, with None.
    let rows: Vec<(Author, Option<Post>)> = Author::query().left_join(author::posts).order_by(author::id).order_by(post::id).all(db).await.unwrap();
    assert_eq!(rows.len(), 1 + 1 + 2 + 1 + 1 + 2 + 1 - 1);
    assert_eq!(rows.iter().filter(|(_, p)| p.is_none()).count(), 2, "a0 and a3 have no posts");
    assert_eq!(Post::query().join(post::author).filter(author::name.eq("a5")).count(db).await.unwrap(), 2);
}

#[tokio::test]
async fn relations_across_connections_load_with_a_second_query() {
    let Some(main) = crate::db().await else { return };
    let Some(essentials) = crate::db().await else { return };
    let db = orm::Database::builder()
        .connection("db", &main.url)
        .connection("essentials", &essentials.url)
        .build()
        .await
        .unwrap();
    db.create_table::<Ticket>().await.unwrap();
    db.create_table::<User>().await.unwrap();
    let ada = User { uid: 0, email: "ada@x.org".into(), name: "Ada".into() }.insert(&db).await.unwrap();
    let bob = User { uid: 0, email: "bob@x.org".into(), name: "Bob".into() }.insert(&db).await.unwrap();
    let t1 = Ticket { id: 0, user_id: ada.uid, assignee_id: Some(bob.uid), subject: "Printer".into() }.insert(&db).await.unwrap();
    let t2 = Ticket { id: 0, user_id: ada.uid, assignee_id: None, subject: "VPN".into() }.insert(&db).await.unwrap();
    assert_eq!(t1.user(&db).await.unwrap(), ada);
    assert_eq!(t1.assignee(&db).await.unwrap(), Some(bob.clone()));
    assert_eq!(t2.assignee(&db).await.unwrap(), None);
    assert_eq!(ada.tickets(&db).await.unwrap(), [t1.clone(), t2.clone()]);
    // In a transaction on the related model's connection.
    let mut tx = db.begin_on::<Essentials>().await.unwrap();
    assert_eq!(t1.user(&mut tx).await.unwrap(), ada);
    tx.commit().await.unwrap();
    let users = ticket::user.load(&[t1, t2], &db).await.unwrap();
    assert_eq!(users, [ada.clone(), ada]);
    assert_eq!(main.direct_count("tickets").await, Some(2));
    assert_eq!(essentials.direct_count("auser").await, Some(2));
}

/// A legacy database whose text keys compare ignoring case (MySQL's
/// default `_ci` collations, SQLite `NOCASE`, a nondeterministic collation
/// on PostgreSQL): the foreign key accepts `City { country_code: "fr" }`
/// for `Country { code: "FR" }`, a typed join finds the pair, and so must
/// every accessor and loader, which ask the database which key matched.
#[tokio::test]
async fn relations_match_text_keys_as_the_database_does() {
    use orm_tests::models::{
        city, country, Capital, City, Country, CountryLanguage, Language,
    };
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    t.direct_execute(&orm_tests::models::country_tables(crate::KIND)).await;
    let country = |code: &str, name: &str| Country { code: code.into(), name: name.into() };
    let (fr, de, it) = (country("FR", "France"), country("de", "Germany"), country("IT", "Italy"));
    Country::insert_many(db, &[fr.clone(), de.clone(), it.clone()]).await.unwrap();
    // MySQL's PAD SPACE collations also ignore trailing spaces.
    let spaced = if crate::KIND == orm_tests::Kind::MySql { "fr " } else { "Fr" };
    let city = |code: &str, name: &str| City { id: 0, country_code: code.into(), name: name.into() };
    City::insert_many(db, &[city("fr", "Lyon"), city("FR", "Paris"), city("DE", "Berlin"), city(spaced, "Nice")]).await.unwrap();
    let cities = City::query().order_by(city::id).all(db).await.unwrap();
    Capital::create(db, Capital { id: 0, country_code: "fR".into(), name: "Paris".into() }).await.unwrap();
    Language::insert_many(db, &[Language { code: "FR".into(), name: "French".into() }, Language { code: "de".into(), name: "German".into() }]).await.unwrap();
    for (c, l) in [("fr", "fr"), ("De", "DE"), ("it", "Fr")] {
        CountryLanguage::create(db, CountryLanguage { id: 0, country_code: c.into(), language_code: l.into() }).await.unwrap();
    }
    let (french, german) = (Language { code: "FR".into(), name: "French".into() }, Language { code: "de".into(), name: "German".into() });

    // The database's own answer: every city has its country.
    assert_eq!(City::query().join(city::country).count(db).await.unwrap(), 4);

    // Accessors on one row.
    assert_eq!(cities[0].country(db).await.unwrap(), fr);
    assert_eq!(cities[2].country(db).await.unwrap(), de);
    assert_eq!(cities[3].country(db).await.unwrap(), fr);
    let names = |rows: Vec<City>| rows.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(names(fr.cities(db).await.unwrap()), ["Lyon", "Paris", "Nice"]);
    assert_eq!(names(de.cities(db).await.unwrap()), ["Berlin"]);
    assert_eq!(fr.capital(db).await.unwrap().map(|c| c.name).as_deref(), Some("Paris"));
    assert_eq!(fr.languages(db).await.unwrap(), std::slice::from_ref(&french));

    // Batch loaders, several keys at once.
    let countries = vec![fr.clone(), de.clone(), it.clone()];
    let loaded = city::country.load(&cities, db).await.unwrap();
    assert_eq!(loaded, [fr.clone(), fr.clone(), de.clone(), fr.clone()]);
    let loaded = country::cities.load(&countries, db).await.unwrap();
    assert_eq!(loaded.into_iter().map(names).collect::<Vec<_>>(), [vec!["Lyon", "Paris", "Nice"], vec!["Berlin"], vec![]]);
    let loaded = country::capital.load(&countries, db).await.unwrap();
    assert_eq!(loaded.iter().map(|c| c.is_some()).collect::<Vec<_>>(), [true, false, false]);
    let loaded = country::languages.load(&countries, db).await.unwrap();
    assert_eq!(loaded, [vec![french.clone()], vec![german], vec![french]]);
    // Parents written by the application in another case still find their rows.
    let lower = vec![country("fr", "France"), country("DE", "Germany")];
    let loaded = country::cities.load(&lower, db).await.unwrap();
    assert_eq!(loaded.into_iter().map(names).collect::<Vec<_>>(), [vec!["Lyon", "Paris", "Nice"], vec!["Berlin"]]);
}
