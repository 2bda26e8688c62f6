// The query cache on every backend: each write path invalidates exactly the
// tables it wrote, only once it is stored (after the commit; never on a
// rollback); reads in a transaction go to the database; joins and
// subqueries record their tables; cached lookups by key; TTL expiry;
// coalesced misses; migrations; and a Zipf load test (statements and
// throughput with the cache on and off).

use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{CacheOptions, Error};
use serde::{Deserialize, Serialize};

#[orm::model(table = "cache_shelves")]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shelf {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(unique, max_length = 40)]
    pub name: String,
    pub books: i64,
}

#[orm::model(table = "cache_labels")]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Shelf)]
    pub shelf_id: i64,
    #[orm(max_length = 40)]
    pub text: String,
}

/// Lookups by key cached for a minute.
#[orm::model(table = "cache_items", cache(ttl = 60))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    #[orm(primary_key)]
    pub id: i64,
    pub price: i64,
}

/// A carton and its parts, deleted with it by the database.
#[orm::model(table = "cache_cartons")]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Carton {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub weight: i64,
}

#[orm::model(table = "cache_parts")]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Carton, on_delete = "cascade")]
    pub carton_id: i64,
}

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Shelf>().await.unwrap();
    t.db.create_table::<Label>().await.unwrap();
    t.db.create_table::<Item>().await.unwrap();
    Some(t)
}

fn queries(db: &orm::Database) -> u64 {
    db.metrics("db").unwrap().queries
}

fn shelf(name: &str, books: i64) -> Shelf {
    Shelf {
        id: 0,
        name: name.into(),
        books,
    }
}

/// The cached reads of both tables: their rows, and how many statements
/// each sent (0: from the cache).
async fn read_both(db: &orm::Database) -> ((Vec<Shelf>, u64), (Vec<Label>, u64)) {
    let before = queries(db);
    let shelves = Shelf::query()
        .order_by(shelf::id)
        .cached()
        .all(db)
        .await
        .unwrap();
    let between = queries(db);
    let labels = Label::query()
        .order_by(label::id)
        .cached()
        .all(db)
        .await
        .unwrap();
    let after = queries(db);
    ((shelves, between - before), (labels, after - between))
}

/// Fills the cache with both reads, and checks that a second round is
/// served from it.
async fn warm(db: &orm::Database) {
    read_both(db).await;
    let ((_, s), (_, l)) = read_both(db).await;
    assert_eq!((s, l), (0, 0), "both reads are cached");
}

/// After a write to `cache_shelves`: the shelves' read runs again and sees
/// `expected`; the labels' is still served from the cache.
async fn only_shelves_invalidated(db: &orm::Database, what: &str, expected: &[(&str, i64)]) {
    let ((shelves, s), (_, l)) = read_both(db).await;
    assert_eq!(s, 1, "{what}: the shelves' read is sent again");
    assert_eq!(l, 0, "{what}: the labels' read is still cached");
    let got: Vec<(&str, i64)> = shelves.iter().map(|s| (s.name.as_str(), s.books)).collect();
    assert_eq!(got, expected, "{what}: the read sees the write");
}

#[tokio::test]
async fn every_write_path_invalidates_exactly_the_tables_it_wrote() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let a = shelf("a", 1).insert(db).await.unwrap();
    Label { id: 0, shelf_id: a.id, text: "x".into() }.insert(db).await.unwrap();

    warm(db).await;
    let mut b = shelf("b", 2).insert(db).await.unwrap();
    only_shelves_invalidated(db, "insert", &[("a", 1), ("b", 2)]).await;

    warm(db).await;
    Shelf::insert_many(db, &[shelf("c", 3), shelf("d", 4)]).await.unwrap();
    only_shelves_invalidated(db, "insert_many", &[("a", 1), ("b", 2), ("c", 3), ("d", 4)]).await;

    warm(db).await;
    b.books = 20;
    b.update(db).await.unwrap();
    only_shelves_invalidated(db, "update", &[("a", 1), ("b", 20), ("c", 3), ("d", 4)]).await;

    warm(db).await;
    b.books = 21;
    b.save(db).await.unwrap();
    only_shelves_invalidated(db, "save", &[("a", 1), ("b", 21), ("c", 3), ("d", 4)]).await;

    warm(db).await;
    Shelf::query()
        .filter(shelf::name.eq("c"))
        .update()
        .set(shelf::books, 30)
        .execute(db)
        .await
        .unwrap();
    only_shelves_invalidated(db, "query update", &[("a", 1), ("b", 21), ("c", 30), ("d", 4)]).await;

    warm(db).await;
    Shelf::query().filter(shelf::name.eq("d")).delete(db).await.unwrap();
    only_shelves_invalidated(db, "query delete", &[("a", 1), ("b", 21), ("c", 30)]).await;

    warm(db).await;
    let c = Shelf::query().filter(shelf::name.eq("c")).one(db).await.unwrap();
    c.delete(db).await.unwrap();
    only_shelves_invalidated(db, "delete", &[("a", 1), ("b", 21)]).await;

    warm(db).await;
    // The key left at 0: upserted on `name` alone on every backend (MySQL
    // refuses an upsert that writes a second unique key).
    Shelf::upsert_many(&[shelf("b", 22)])
        .on_conflict(shelf::name)
        .update(shelf::books)
        .execute(db)
        .await
        .unwrap();
    only_shelves_invalidated(db, "upsert", &[("a", 1), ("b", 22)]).await;

    warm(db).await;
    orm::raw("UPDATE cache_shelves SET books = books + 100")
        .tables(&["cache_shelves"])
        .execute(db.connection("db").unwrap())
        .await
        .unwrap();
    only_shelves_invalidated(db, "raw write naming its table", &[("a", 101), ("b", 122)]).await;

    // The other way round: a write to the labels leaves the shelves cached.
    warm(db).await;
    Label { id: 0, shelf_id: a.id, text: "y".into() }.insert(db).await.unwrap();
    let ((_, s), (labels, l)) = read_both(db).await;
    assert_eq!((s, l), (0, 1));
    assert_eq!(labels.len(), 2);

    // A raw write that names no table invalidates nothing (the TTL bounds it).
    warm(db).await;
    orm::raw("UPDATE cache_shelves SET books = 0")
        .execute(db.connection("db").unwrap())
        .await
        .unwrap();
    let ((shelves, s), _) = read_both(db).await;
    assert_eq!(s, 0, "nothing invalidated");
    assert_eq!(shelves[0].books, 101, "the stale result, as documented");
}

#[tokio::test]
async fn a_transaction_invalidates_after_its_commit_and_a_rollback_invalidates_nothing() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    shelf("a", 1).insert(db).await.unwrap();
    warm(db).await;

    let mut tx = db.begin().await.unwrap();
    shelf("b", 2).insert(&mut tx).await.unwrap();
    // Not committed: other readers are still served the committed rows.
    let ((shelves, s), _) = read_both(db).await;
    assert_eq!((shelves.len(), s), (1, 0), "before the commit the cache still holds");
    tx.commit().await.unwrap();
    only_shelves_invalidated(db, "after commit", &[("a", 1), ("b", 2)]).await;

    warm(db).await;
    let invalidations = db.cache_metrics().invalidations;
    let mut tx = db.begin().await.unwrap();
    shelf("c", 3).insert(&mut tx).await.unwrap();
    Label { id: 0, shelf_id: 1, text: "x".into() }.insert(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    let ((_, s), (_, l)) = read_both(db).await;
    assert_eq!((s, l), (0, 0), "a rollback invalidates nothing");
    assert_eq!(db.cache_metrics().invalidations, invalidations);

    // Dropped without commit: the same.
    let mut tx = db.begin().await.unwrap();
    shelf("c", 3).insert(&mut tx).await.unwrap();
    drop(tx);
    let ((_, s), _) = read_both(db).await;
    assert_eq!(s, 0);

    // `Database::transaction`: committed when the closure returns `Ok`,
    // with a savepoint inside; only the tables it wrote.
    db.transaction(async |tx| {
        let mut sp = tx.savepoint().await?;
        shelf("d", 4).insert(&mut sp).await?;
        sp.commit().await?;
        Ok::<_, Error>(())
    })
    .await
    .unwrap();
    only_shelves_invalidated(db, "Database::transaction", &[("a", 1), ("b", 2), ("d", 4)]).await;

    // A closure that fails rolls back: nothing invalidated.
    warm(db).await;
    let failed: Result<(), Error> = db
        .transaction(async |tx| {
            shelf("e", 5).insert(&mut *tx).await?;
            Err(Error::NotFound { model: "test" })
        })
        .await;
    assert!(failed.is_err());
    let ((_, s), _) = read_both(db).await;
    assert_eq!(s, 0);
}

#[tokio::test]
async fn a_transaction_that_raw_sql_committed_still_invalidates() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut a = shelf("a", 1).insert(db).await.unwrap();
    warm(db).await;

    // Raw SQL ends the transaction: its write is committed, and the
    // transaction's own commit reports it with an error.
    let mut tx = db.begin().await.unwrap();
    a.books = 10;
    a.update(&mut tx).await.unwrap();
    orm::raw("COMMIT").execute(&mut tx).await.unwrap();
    let committed = tx.commit().await;
    assert!(
        matches!(committed, Err(Error::InvalidQuery { .. })),
        "the commit reports that raw SQL ended the transaction: {committed:?}"
    );
    only_shelves_invalidated(db, "raw COMMIT", &[("a", 10)]).await;

    // The same through a rollback that finds the transaction ended.
    warm(db).await;
    let mut tx = db.begin().await.unwrap();
    a.books = 11;
    a.update(&mut tx).await.unwrap();
    orm::raw("COMMIT").execute(&mut tx).await.unwrap();
    assert!(matches!(tx.rollback().await, Err(Error::InvalidQuery { .. })));
    only_shelves_invalidated(db, "raw COMMIT, then rollback", &[("a", 11)]).await;
}

#[tokio::test]
async fn a_write_cancelled_in_flight_never_leaves_a_stale_entry() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut a = shelf("a", 1).insert(db).await.unwrap();
    for books in 2..12 {
        warm(db).await;
        // Cancelled at once: the statement may or may not reach the
        // server, and the server may or may not apply it.
        a.books = books;
        let _ = tokio::time::timeout(Duration::ZERO, a.update(db)).await;
        let cached = Shelf::query().order_by(shelf::id).cached().all(db).await.unwrap();
        let stored = Shelf::query().order_by(shelf::id).all(db).await.unwrap();
        assert_eq!(cached, stored, "round {books}: the cached read is what is stored");
    }
    // Once the connection was invalidated in the background, reads are
    // served from the cache again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        read_both(db).await;
        let ((_, s), _) = read_both(db).await;
        if s == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the cache is used again after a cancelled write");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_delete_invalidates_the_tables_its_foreign_keys_cascade_to() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    db.create_table::<Carton>().await.unwrap();
    db.create_table::<Part>().await.unwrap();
    let parts = || Part::query().order_by(part::id).cached().all(db);
    let (one, two) = (
        Carton { id: 0, weight: 1 }.insert(db).await.unwrap(),
        Carton { id: 0, weight: 2 }.insert(db).await.unwrap(),
    );
    for c in [&one, &one, &two] {
        Part { id: 0, carton_id: c.id }.insert(db).await.unwrap();
    }
    assert_eq!(parts().await.unwrap().len(), 3);
    assert_eq!(parts().await.unwrap().len(), 3, "cached");
    // The database deletes the carton's parts (ON DELETE CASCADE): the
    // parts' cached read is stale unless the delete invalidates them.
    assert!(Carton::delete_by_key(db, one.id).await.unwrap());
    assert_eq!(parts().await.unwrap().len(), 1, "by key");
    Carton::query().filter(carton::id.eq(two.id)).delete(db).await.unwrap();
    assert_eq!(parts().await.unwrap().len(), 0, "by a query");
}

#[tokio::test]
async fn a_read_in_a_transaction_sees_its_own_write_and_never_the_cache() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    shelf("a", 1).insert(db).await.unwrap();
    warm(db).await;
    let hits = db.cache_metrics().hits;

    let mut tx = db.begin().await.unwrap();
    shelf("b", 2).insert(&mut tx).await.unwrap();
    let before = queries(db);
    let seen = Shelf::query()
        .order_by(shelf::id)
        .cached()
        .all(&mut tx)
        .await
        .unwrap();
    assert_eq!(seen.len(), 2, "the transaction's own write");
    assert_eq!(queries(db) - before, 1, "sent to the database");
    let again = Shelf::query().order_by(shelf::id).cached().count(&mut tx).await.unwrap();
    assert_eq!(again, 2);
    assert_eq!(db.cache_metrics().hits, hits, "no read in the transaction used the cache");
    tx.rollback().await.unwrap();

    // Nor did it fill the cache: the committed rows are what is served.
    let ((shelves, s), _) = read_both(db).await;
    assert_eq!((shelves.len(), s), (1, 0));
}

#[tokio::test]
async fn joins_and_subqueries_record_the_tables_they_read() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let a = shelf("a", 1).insert(db).await.unwrap();
    let b = shelf("b", 2).insert(db).await.unwrap();
    Label { id: 0, shelf_id: a.id, text: "x".into() }.insert(db).await.unwrap();

    let joined = || async {
        let before = queries(db);
        let rows = Label::query()
            .join(label::shelf)
            .order_by(label::id)
            .cached()
            .all(db)
            .await
            .unwrap();
        (rows.len(), queries(db) - before)
    };
    let labelled = || async {
        let before = queries(db);
        let rows = Shelf::query()
            .filter(shelf::id.is_in(Label::query().select(label::shelf_id)))
            .cached()
            .all(db)
            .await
            .unwrap();
        let names: Vec<String> = rows.into_iter().map(|s| s.name).collect();
        (names, queries(db) - before)
    };
    assert_eq!(joined().await, (1, 1));
    assert_eq!(joined().await, (1, 0));
    assert_eq!(labelled().await, (vec!["a".to_owned()], 1));
    assert_eq!(labelled().await, (vec!["a".to_owned()], 0));

    // A write to the joined table and to the subquery's table.
    Label { id: 0, shelf_id: b.id, text: "y".into() }.insert(db).await.unwrap();
    assert_eq!(joined().await, (2, 1));
    assert_eq!(labelled().await, (vec!["a".to_owned(), "b".to_owned()], 1));

    // A write to the outer table of each.
    shelf("c", 3).insert(db).await.unwrap();
    assert_eq!(joined().await, (2, 1));
    assert_eq!(labelled().await.1, 1);
}

#[tokio::test]
async fn a_model_with_cache_ttl_caches_its_lookups_by_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut item = Item { id: 7, price: 100 }.insert(db).await.unwrap();
    let before = queries(db);
    assert_eq!(Item::find(db, 7).await.unwrap(), Some(item.clone()));
    assert_eq!(Item::get(db, 7).await.unwrap(), item);
    assert_eq!(Item::find(db, 8).await.unwrap(), None);
    assert_eq!(Item::find(db, 8).await.unwrap(), None, "a missing row is cached too");
    assert_eq!(queries(db) - before, 2, "one statement per key");

    item.price = 150;
    item.update(db).await.unwrap();
    let before = queries(db);
    assert_eq!(Item::get(db, 7).await.unwrap().price, 150);
    assert_eq!(queries(db) - before, 1);
    Item { id: 8, price: 1 }.insert(db).await.unwrap();
    assert_eq!(Item::find(db, 8).await.unwrap().map(|i| i.price), Some(1));

    // A model without `cache` is not cached by key.
    let a = shelf("a", 1).insert(db).await.unwrap();
    let before = queries(db);
    Shelf::get(db, a.id).await.unwrap();
    Shelf::get(db, a.id).await.unwrap();
    assert_eq!(queries(db) - before, 2);
}

#[tokio::test]
async fn entries_expire_after_their_ttl() {
    let Some(t) = setup().await else { return };
    let db = orm::Database::builder()
        .connection("db", &t.url)
        .cache(CacheOptions::new().default_ttl(Duration::from_millis(300)))
        .build()
        .await
        .unwrap();
    shelf("a", 1).insert(&db).await.unwrap();
    let read = |ttl: Option<Duration>| {
        let db = &db;
        async move {
            let before = queries(db);
            let query = Shelf::query().filter(shelf::books.gt(0));
            match ttl {
                Some(ttl) => query.cached_for(ttl).count(db).await.unwrap(),
                None => query.cached().count(db).await.unwrap(),
            };
            queries(db) - before
        }
    };
    assert_eq!(read(None).await, 1);
    assert_eq!(read(None).await, 0);
    // A write that bypasses the ORM: served until the TTL passes.
    t.direct_execute("UPDATE cache_shelves SET books = 0").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(read(None).await, 1, "the default TTL passed");
    let n: i64 = Shelf::query().filter(shelf::books.gt(0)).cached().count(&db).await.unwrap();
    assert_eq!(n, 0, "the expired entry was read again from the database");

    // A longer TTL of its own (another key: another SQL text).
    let long = || Shelf::query().filter(shelf::books.ge(0)).cached_for(Duration::from_secs(60));
    let before = queries(&db);
    long().count(&db).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    long().count(&db).await.unwrap();
    assert_eq!(queries(&db) - before, 1, "still cached past the default TTL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_of_one_key_send_one_statement() {
    let Some(t) = setup().await else { return };
    let db = t.db.clone();
    Shelf::insert_many(&db, &[shelf("a", 1), shelf("b", 2)]).await.unwrap();
    let before = queries(&db);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (db, start) = (db.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                Shelf::query()
                    .filter(shelf::books.gt(0))
                    .order_by(shelf::id)
                    .cached()
                    .all(&db)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().len(), 2);
    }
    assert_eq!(queries(&db) - before, 1, "64 concurrent misses, one statement");
    let m = db.cache_metrics();
    assert_eq!((m.misses, m.hits), (1, 63), "{m:?}");
}

#[tokio::test]
async fn a_migration_invalidates_every_entry_of_its_connection() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    shelf("a", 1).insert(db).await.unwrap();
    warm(db).await;
    Item::find(db, 1).await.unwrap();
    db.create_table::<orm_tests::models::Tag>().await.unwrap();
    let ((_, s), (_, l)) = read_both(db).await;
    assert_eq!((s, l), (1, 1), "a schema change drops every entry of the connection");
    let before = queries(db);
    Item::find(db, 1).await.unwrap();
    assert_eq!(queries(db) - before, 1);
}

#[tokio::test]
async fn a_cached_raw_read_names_its_tables() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    shelf("a", 1).insert(db).await.unwrap();
    let read = || async {
        let before = queries(db);
        let rows: Vec<(i64,)> = orm::raw("SELECT books FROM cache_shelves")
            .tables(&["cache_shelves"])
            .cached()
            .fetch_all(db.connection("db").unwrap())
            .await
            .unwrap();
        (rows, queries(db) - before)
    };
    assert_eq!(read().await, (vec![(1,)], 1));
    assert_eq!(read().await, (vec![(1,)], 0));
    shelf("b", 2).insert(db).await.unwrap();
    assert_eq!(read().await.1, 1, "a typed write invalidates the raw read");

    let before = queries(db);
    let err = orm::raw("SELECT books FROM cache_shelves")
        .cached()
        .fetch_all::<(i64,)>(db.connection("db").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidQuery { message } if message.contains(".tables(")),
        "{err}"
    );
    assert_eq!(queries(db), before, "refused before sending");
}

/// 64 tasks read 1,000 keys drawn from a Zipf distribution (s = 1.1), with
/// the cache on (`Item::find`, cached by key) and off (`Shelf::find`):
/// the statements sent and the reads per second of each. The cache must
/// cut the statements by more than half.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zipf_load_cuts_the_statements_by_more_than_half() {
    use rand::SeedableRng as _;
    use rand_distr::Distribution as _;

    const TASKS: u64 = 64;
    const KEYS: i64 = 1_000;
    const READS_PER_TASK: u64 = 60;
    let Some(t) = setup().await else { return };
    let db = t.db.clone();
    let items: Vec<Item> = (1..=KEYS).map(|id| Item { id, price: id }).collect();
    Item::insert_many(&db, &items).await.unwrap();
    let shelves: Vec<Shelf> = (1..=KEYS).map(|i| shelf(&format!("s{i}"), i)).collect();
    Shelf::insert_many(&db, &shelves).await.unwrap();

    async fn run(db: &orm::Database, cached: bool) -> (u64, f64) {
        let before = db.metrics("db").unwrap().queries;
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let db = db.clone();
                tokio::spawn(async move {
                    let zipf = rand_distr::Zipf::new(KEYS as f64, 1.1).unwrap();
                    let mut rng = rand::rngs::StdRng::seed_from_u64(task);
                    for _ in 0..READS_PER_TASK {
                        let key = zipf.sample(&mut rng) as i64;
                        if cached {
                            assert_eq!(Item::get(&db, key).await.unwrap().price, key);
                        } else {
                            assert_eq!(Shelf::get(&db, key).await.unwrap().books, key);
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let statements = db.metrics("db").unwrap().queries - before;
        (statements, (TASKS * READS_PER_TASK) as f64 / elapsed)
    }
    let (off, off_rate) = run(&db, false).await;
    let (on, on_rate) = run(&db, true).await;
    println!(
        "zipf load ({:?}, {TASKS} tasks x {READS_PER_TASK} reads of {KEYS} keys): \
         cache off {off} statements, {off_rate:.0} reads/s; \
         cache on {on} statements, {on_rate:.0} reads/s; cut {:.1}%",
        crate::KIND,
        100.0 * (1.0 - on as f64 / off as f64)
    );
    assert_eq!(off, TASKS * READS_PER_TASK, "uncached: one statement per read");
    assert!(on * 2 < off, "the cache cut the statements by less than half: {on} of {off}");
}
