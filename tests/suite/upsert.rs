// Upsert on every backend: the insert path, the update path (named columns
// changed, the others kept), do nothing, a unique non-key column and a
// unique index as the conflict target, bulk with new and stored rows, an
// empty bulk, refused targets, and the statements sent.

use orm::prelude::*;
use orm::{Backend, Error};
use orm_tests::models::Tag;
use orm_tests::Kind;

/// An `auto` key and a unique column: the target of most tests.
#[orm::model(table = "upsert_accounts")]
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(unique, max_length = 120)]
    pub email: String,
    pub name: String,
    pub total: i64,
    pub note: Option<String>,
}

impl Account {
    fn new(email: &str, name: &str, total: i64, note: Option<&str>) -> Account {
        Account {
            id: 0,
            email: email.into(),
            name: name.into(),
            total,
            note: note.map(Into::into),
        }
    }
}

/// An `auto` key and no other unique key: upserts by key run on MySQL too.
#[orm::model(table = "upsert_counters")]
#[derive(Clone, Debug, PartialEq)]
pub struct Counter {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    pub hits: i64,
}

/// A unique index over two columns.
#[orm::model(table = "upsert_stock", unique(warehouse, sku))]
#[derive(Clone, Debug, PartialEq)]
pub struct Stock {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub warehouse: String,
    #[orm(max_length = 20)]
    pub sku: String,
    pub qty: i64,
}

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Account>().await.unwrap();
    t.db.create_table::<Counter>().await.unwrap();
    t.db.create_table::<Stock>().await.unwrap();
    t.db.create_table::<Tag>().await.unwrap();
    Some(t)
}

fn queries(db: &orm::Database) -> u64 {
    db.metrics("db").unwrap().queries
}

fn backend() -> Backend {
    match crate::KIND {
        Kind::Sqlite => Backend::Sqlite,
        Kind::Postgres => Backend::Postgres,
        Kind::MySql => Backend::MySql,
    }
}

fn tag(code: &str, label: &str) -> Tag {
    Tag {
        code: code.into(),
        label: label.into(),
    }
}

async fn account_by_email(db: &orm::Database, email: &str) -> Account {
    Account::query()
        .filter(account::email.eq(email))
        .one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn upsert_inserts_a_new_row_then_updates_it_by_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let inserted = Tag::upsert(db, tag("rs", "Rust")).await.unwrap();
    assert_eq!(inserted, tag("rs", "Rust"));
    let updated = Tag::upsert(db, tag("rs", "Rust 2024")).await.unwrap();
    assert_eq!(updated, tag("rs", "Rust 2024"));
    assert_eq!(Tag::all(db).await.unwrap(), vec![tag("rs", "Rust 2024")]);
}

#[tokio::test]
async fn upsert_of_a_row_with_key_0_inserts_it_under_a_generated_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let first = Counter::upsert(db, Counter { id: 0, name: "a".into(), hits: 1 }).await.unwrap();
    let second = Counter::upsert(db, Counter { id: 0, name: "a".into(), hits: 1 }).await.unwrap();
    assert!(first.id > 0);
    assert_eq!(second.id, first.id + 1, "key 0 is never a conflict: two rows");
    // A key of its own: the stored row is updated...
    let updated = Counter::upsert(db, Counter { id: first.id, name: "a".into(), hits: 7 }).await.unwrap();
    assert_eq!(updated, Counter { id: first.id, name: "a".into(), hits: 7 });
    // ...or, not stored, inserted under that key, the generator moved past it.
    let kept = Counter::upsert(db, Counter { id: 50, name: "b".into(), hits: 2 }).await.unwrap();
    assert_eq!(kept.id, 50);
    let next = Counter::upsert(db, Counter { id: 0, name: "c".into(), hits: 0 }).await.unwrap();
    assert!(next.id > 50, "the next generated key follows 50, got {}", next.id);
    assert_eq!(Counter::count(db).await.unwrap(), 4);
}

#[tokio::test]
async fn upsert_by_key_of_a_model_with_another_unique_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let ada = Account::upsert(db, Account::new("ada@x.org", "Ada", 1, None)).await.unwrap();
    let changed = Account { name: "Ada L".into(), total: 2, ..ada.clone() };
    let before = queries(db);
    let result = Account::upsert(db, changed.clone()).await;
    if crate::KIND == Kind::MySql {
        // ON DUPLICATE KEY UPDATE would also fire on `email`.
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery { message } if message.contains("`email`") && message.contains("ON DUPLICATE KEY")),
            "{err}"
        );
        assert_eq!(queries(db), before, "refused before sending");
        assert_eq!(Account::get(db, ada.id).await.unwrap(), ada);
    } else {
        assert_eq!(result.unwrap(), changed);
        assert_eq!(Account::get(db, ada.id).await.unwrap(), changed);
    }
}

#[tokio::test]
async fn a_new_row_upserted_by_key_that_conflicts_on_a_unique_column_is_a_unique_violation() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Account::upsert(db, Account::new("ada@x.org", "Ada", 1, None)).await.unwrap();
    let err = Account::upsert(db, Account::new("ada@x.org", "Other", 2, None)).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(account_by_email(db, "ada@x.org").await.name, "Ada");
}

#[tokio::test]
async fn upsert_many_on_a_unique_column_updates_the_named_columns_and_keeps_the_others() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let ada = Account::new("ada@x.org", "Ada", 1, Some("keep")).insert(db).await.unwrap();
    let rows = [
        Account::new("ada@x.org", "Ada L", 9, None),
        Account::new("bob@x.org", "Bob", 3, Some("new")),
    ];
    let written = Account::upsert_many(&rows)
        .on_conflict(account::email)
        .update((account::name, account::total))
        .execute(db)
        .await
        .unwrap();
    assert_eq!(written, 2, "one row inserted, one updated: 1 each on every backend");
    let stored = account_by_email(db, "ada@x.org").await;
    assert_eq!(
        stored,
        Account { id: ada.id, name: "Ada L".into(), total: 9, ..ada.clone() },
        "name and total updated; the key and the note kept"
    );
    let bob = account_by_email(db, "bob@x.org").await;
    assert_eq!((bob.name.as_str(), bob.total, bob.note.as_deref()), ("Bob", 3, Some("new")));
    assert_eq!(Account::count(db).await.unwrap(), 2);
}

#[tokio::test]
async fn upsert_many_without_update_overwrites_every_column_but_the_key_and_the_target() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let ada = Account::new("ada@x.org", "Ada", 1, Some("old")).insert(db).await.unwrap();
    let rows = [Account::new("ada@x.org", "Ada L", 9, None)];
    let written = Account::upsert_many(&rows).on_conflict(account::email).execute(db).await.unwrap();
    assert_eq!(written, 1);
    assert_eq!(
        Account::get(db, ada.id).await.unwrap(),
        Account { id: ada.id, email: "ada@x.org".into(), name: "Ada L".into(), total: 9, note: None }
    );
}

#[tokio::test]
async fn do_nothing_leaves_the_stored_row_and_inserts_the_others() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let ada = Account::new("ada@x.org", "Ada", 1, None).insert(db).await.unwrap();
    let rows = [
        Account::new("ada@x.org", "Changed", 9, Some("x")),
        Account::new("bob@x.org", "Bob", 2, None),
    ];
    let written = Account::upsert_many(&rows)
        .on_conflict(account::email)
        .do_nothing()
        .execute(db)
        .await
        .unwrap();
    match crate::KIND {
        // The row left alone counts 0.
        Kind::Sqlite | Kind::Postgres => assert_eq!(written, 1),
        // CLIENT_FOUND_ROWS: 1 for the row left alone too (documented).
        Kind::MySql => assert_eq!(written, 2),
    }
    assert_eq!(Account::get(db, ada.id).await.unwrap(), ada, "unchanged");
    assert_eq!(account_by_email(db, "bob@x.org").await.name, "Bob");
    // Again: nothing to insert, nothing changed.
    let again = Account::upsert_many(&rows[..1])
        .on_conflict(account::email)
        .do_nothing()
        .execute(db)
        .await
        .unwrap();
    assert_eq!(again, if crate::KIND == Kind::MySql { 1 } else { 0 });
    assert_eq!(Account::get(db, ada.id).await.unwrap(), ada);
}

#[tokio::test]
async fn a_unique_index_is_a_conflict_target() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let stock = |warehouse: &str, sku: &str, qty| Stock {
        id: 0,
        warehouse: warehouse.into(),
        sku: sku.into(),
        qty,
    };
    Stock::insert_many(db, &[stock("north", "bolt", 5), stock("south", "bolt", 1)]).await.unwrap();
    let rows = [stock("north", "bolt", 8), stock("north", "nut", 3)];
    let written = Stock::upsert_many(&rows)
        .on_conflict((stock::warehouse, stock::sku))
        .update(stock::qty)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(written, 2);
    let all: Vec<(String, String, i64)> = Stock::all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.warehouse, s.sku, s.qty))
        .collect();
    assert_eq!(
        all,
        [
            ("north".into(), "bolt".into(), 8),
            ("south".into(), "bolt".into(), 1),
            ("north".into(), "nut".into(), 3),
        ]
    );
}

#[tokio::test]
async fn bulk_by_key_with_stored_new_and_keyed_rows() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let a = Counter { id: 0, name: "a".into(), hits: 1 }.insert(db).await.unwrap();
    let b = Counter { id: 0, name: "b".into(), hits: 1 }.insert(db).await.unwrap();
    let rows = [
        Counter { hits: 10, ..a.clone() },                  // stored: updated
        Counter { id: 0, name: "c".into(), hits: 3 },       // key 0: inserted, key generated
        Counter { id: 40, name: "d".into(), hits: 4 },      // a key not stored: inserted under it
    ];
    let written = Counter::upsert_many(&rows).execute(db).await.unwrap();
    assert_eq!(written, 3);
    let all = Counter::all(db).await.unwrap();
    let summary: Vec<(&str, i64)> = all.iter().map(|c| (c.name.as_str(), c.hits)).collect();
    assert_eq!(summary, [("a", 10), ("b", 1), ("c", 3), ("d", 4)]);
    assert_eq!(all[1], b, "a row not given is untouched");
    assert_eq!(all[3].id, 40);
    let next = Counter { id: 0, name: "e".into(), hits: 0 }.insert(db).await.unwrap();
    assert!(next.id > 40, "the next generated key follows 40, got {}", next.id);
}

#[tokio::test]
async fn an_empty_bulk_sends_nothing() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let before = queries(db);
    let written = Account::upsert_many(&[])
        .on_conflict(account::email)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(written, 0);
    assert_eq!(queries(db), before);
    assert_eq!(Account::upsert_many(&[]).statements(backend()).unwrap(), Vec::<String>::new());
}

// A conflict target that is not a unique key does not compile: ui-tests/upsert/.
#[tokio::test]
async fn an_update_of_the_primary_key_is_refused_before_sending() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows = [Account::new("ada@x.org", "Ada", 1, None)];
    let before = queries(db);
    let err = Account::upsert_many(&rows)
        .on_conflict(account::email)
        .update((account::id, account::name))
        .execute(db)
        .await
        .unwrap_err();
    let Error::InvalidQuery { message } = &err else { panic!("{err:?}") };
    assert!(message.contains("primary key `id`"), "{message}");
    assert_eq!(queries(db), before, "nothing sent");
    assert_eq!(Account::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn on_mysql_rows_that_write_another_unique_key_are_refused() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // Keyed rows write `id` as well as `email`.
    let ada = Account::new("ada@x.org", "Ada", 1, None).insert(db).await.unwrap();
    let rows = [Account { name: "Other".into(), ..ada.clone() }];
    let before = queries(db);
    let result = Account::upsert_many(&rows).on_conflict(account::email).execute(db).await;
    if crate::KIND == Kind::MySql {
        let err = result.unwrap_err();
        let Error::InvalidQuery { message } = &err else { panic!("{err:?}") };
        assert!(message.contains("`id`") && message.contains("at 0"), "{message}");
        assert_eq!(queries(db), before, "nothing sent");
        assert_eq!(Account::get(db, ada.id).await.unwrap(), ada);
    } else {
        assert_eq!(result.unwrap(), 1);
        assert_eq!(Account::get(db, ada.id).await.unwrap().name, "Other");
    }
}

#[tokio::test]
async fn the_statements_sent() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows = [Account::new("ada@x.org", "Ada", 1, None), Account::new("bob@x.org", "Bob", 2, None)];
    let upsert = || Account::upsert_many(&rows).on_conflict(account::email).update(account::total);
    let expected = match crate::KIND {
        Kind::Sqlite => r#"INSERT INTO "upsert_accounts" ("email", "name", "total", "note") VALUES (?, ?, ?, ?), (?, ?, ?, ?) ON CONFLICT ("email") DO UPDATE SET "total" = excluded."total""#,
        Kind::Postgres => r#"INSERT INTO "upsert_accounts" ("email", "name", "total", "note") VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) ON CONFLICT ("email") DO UPDATE SET "total" = excluded."total""#,
        Kind::MySql => "INSERT INTO `upsert_accounts` (`email`, `name`, `total`, `note`) VALUES (?, ?, ?, ?), (?, ?, ?, ?) ON DUPLICATE KEY UPDATE `total` = VALUES(`total`)",
    };
    assert_eq!(upsert().statements(backend()).unwrap(), [expected]);
    let before = queries(db);
    assert_eq!(upsert().execute(db).await.unwrap(), 2);
    assert_eq!(queries(db) - before, 1, "one statement for both rows");
    // The same rows again: both updated, counted once each (MySQL reports 4).
    let before = queries(db);
    let changed = [Account { total: 5, ..rows[0].clone() }, Account { total: 6, ..rows[1].clone() }];
    let written = Account::upsert_many(&changed)
        .on_conflict(account::email)
        .update(account::total)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(written, 2);
    assert_eq!(queries(db) - before, 1);
    assert_eq!(account_by_email(db, "bob@x.org").await.total, 6);
}

#[tokio::test]
async fn a_bulk_larger_than_the_parameter_limit_is_split_and_counted_per_row() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows: Vec<Account> = (0..20_000)
        .map(|i| Account::new(&format!("u{i}@x.org"), "n", i, None))
        .collect();
    let upsert = || Account::upsert_many(&rows).on_conflict(account::email).update(account::total);
    // Four parameters a row: 8191 rows a statement on SQLite, 16383 elsewhere.
    let statements = upsert().statements(backend()).unwrap().len();
    assert_eq!(statements, if crate::KIND == Kind::Sqlite { 3 } else { 2 });
    assert_eq!(upsert().execute(db).await.unwrap(), 20_000);
    assert_eq!(upsert().execute(db).await.unwrap(), 20_000, "all updated, 1 each");
    assert_eq!(Account::count(db).await.unwrap(), 20_000);
}

#[tokio::test]
async fn upserts_run_inside_a_transaction() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    let rows = [Account::new("ada@x.org", "Ada", 1, None)];
    let written = Account::upsert_many(&rows)
        .on_conflict(account::email)
        .execute(&mut tx)
        .await
        .unwrap();
    assert_eq!(written, 1);
    let tag = Tag::upsert(&mut tx, tag("rs", "Rust")).await.unwrap();
    assert_eq!(Tag::find(&mut tx, "rs").await.unwrap(), Some(tag));
    tx.rollback().await.unwrap();
    assert_eq!(Account::count(db).await.unwrap(), 0);
    assert_eq!(Tag::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn two_rows_of_one_bulk_on_the_same_target() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows = [
        Account::new("ada@x.org", "First", 1, None),
        Account::new("ada@x.org", "Second", 2, None),
    ];
    let result = Account::upsert_many(&rows).on_conflict(account::email).execute(db).await;
    if crate::KIND == Kind::Postgres {
        // "ON CONFLICT DO UPDATE command cannot affect row a second time" (SQLSTATE 21000).
        let err = result.unwrap_err();
        assert!(err.to_string().contains("second time"), "{err:?}");
        assert_eq!(Account::count(db).await.unwrap(), 0);
    } else {
        // SQLite and MySQL take the rows in order: the second updates the first.
        assert_eq!(result.unwrap(), 2);
        let stored = account_by_email(db, "ada@x.org").await;
        assert_eq!((stored.name.as_str(), stored.total), ("Second", 2));
        assert_eq!(Account::count(db).await.unwrap(), 1);
    }
}
