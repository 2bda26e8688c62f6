// Schema operations from snapshot differences, applied and reversed on the
// live backend; the result is checked by using the columns directly.

use orm::migrate::{apply, diff, Column, Default, Operation, Snapshot, Table};
use orm::{Error, SqlType};

fn column(name: &str, sql_type: SqlType, nullable: bool) -> Column {
    Column {
        name: name.into(),
        sql_type,
        nullable,
        auto_increment: false,
        unique: false,
        indexed: false,
        max_length: None,
        default: None,
        renamed_from: None,
    }
}

fn snapshot(columns: Vec<Column>) -> Snapshot {
    let mut s = Snapshot::default();
    let mut id = column("id", SqlType::BigInt, false);
    id.auto_increment = true;
    let mut all = vec![id];
    all.extend(columns);
    s.tables.insert(
        "gadgets".into(),
        Table { name: "gadgets".into(), primary_key: "id".into(), columns: all, renamed_from: None },
    );
    s
}

async fn works(t: &orm_tests::TestDb, sql: &str) -> bool {
    orm::raw(sql).execute(t.db.connection("db").unwrap()).await.is_ok()
}

#[tokio::test]
async fn create_add_drop_and_back() {
    let Some(t) = crate::db().await else { return };
    let v1 = snapshot(vec![column("name", SqlType::Text, false)]);
    let (up, down) = diff(&Snapshot::default(), &v1);
    apply(&t.db, "db", &up).await.unwrap();
    assert!(works(&t, "INSERT INTO gadgets (name) VALUES ('a')").await);

    let mut serial = column("serial", SqlType::Text, true);
    serial.unique = true;
    serial.max_length = Some(40);
    let mut rank = column("rank", SqlType::Int, false);
    rank.default = Some(Default::Int(3));
    rank.indexed = true;
    let v2 = snapshot(vec![column("name", SqlType::Text, false), serial, rank]);
    let (up2, down2) = diff(&v1, &v2);
    assert_eq!(up2.len(), 2);
    apply(&t.db, "db", &up2).await.unwrap();
    assert!(works(&t, "INSERT INTO gadgets (name, serial) VALUES ('b', 'S-1')").await);
    assert!(!works(&t, "INSERT INTO gadgets (name, serial) VALUES ('c', 'S-1')").await, "unique serial");
    let (rank,): (i32,) = orm::raw("SELECT rank FROM gadgets WHERE serial = 'S-1'")
        .fetch_one(t.db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(rank, 3, "the default applies");

    // Back to v1, then to nothing.
    apply(&t.db, "db", &down2).await.unwrap();
    assert!(!works(&t, "SELECT serial FROM gadgets").await);
    assert!(works(&t, "SELECT name FROM gadgets").await);
    apply(&t.db, "db", &down).await.unwrap();
    assert_eq!(t.direct_count("gadgets").await, None);
}

#[tokio::test]
async fn changing_nullability_and_type() {
    let Some(t) = crate::db().await else { return };
    let v1 = snapshot(vec![column("note", SqlType::Text, false), column("qty", SqlType::Int, false)]);
    apply(&t.db, "db", &diff(&Snapshot::default(), &v1).0).await.unwrap();
    let v2 = snapshot(vec![column("note", SqlType::Text, true), column("qty", SqlType::BigInt, false)]);
    let (up, down) = diff(&v1, &v2);
    match crate::KIND {
        orm_tests::Kind::Sqlite => {
            // No ALTER COLUMN in SQLite: refused before anything runs.
            let err = apply(&t.db, "db", &up).await.unwrap_err();
            assert!(matches!(&err, Error::Migration { message } if message.contains("by hand")), "{err:?}");
            assert!(!works(&t, "INSERT INTO gadgets (note, qty) VALUES (NULL, 1)").await);
        }
        _ => {
            apply(&t.db, "db", &up).await.unwrap();
            assert!(works(&t, "INSERT INTO gadgets (note, qty) VALUES (NULL, 5000000000)").await);
            assert!(works(&t, "DELETE FROM gadgets").await);
            apply(&t.db, "db", &down).await.unwrap();
            assert!(!works(&t, "INSERT INTO gadgets (note, qty) VALUES (NULL, 1)").await, "NOT NULL again");
        }
    }
}

#[tokio::test]
async fn a_failing_step_leaves_nothing_behind_where_ddl_is_transactional() {
    let Some(t) = crate::db().await else { return };
    let v1 = snapshot(vec![column("name", SqlType::Text, false)]);
    // The second table collides with one that exists: the first must not stay.
    t.db.create_table::<orm_tests::models::Tag>().await.unwrap();
    let mut ops = diff(&Snapshot::default(), &v1).0;
    ops.push(Operation::CreateTable {
        table: Table {
            name: "tags".into(),
            primary_key: "id".into(),
            columns: vec![column("id", SqlType::BigInt, false)],
            renamed_from: None,
        },
    });
    let err = apply(&t.db, "db", &ops).await.unwrap_err();
    match crate::KIND {
        orm_tests::Kind::MySql => {
            assert!(matches!(&err, Error::Migration { message } if message.contains("step 2 of 2")), "{err:?}");
            assert_eq!(t.direct_count("gadgets").await, Some(0), "MySQL committed step 1");
        }
        _ => assert_eq!(t.direct_count("gadgets").await, None, "rolled back: {err:?}"),
    }
}

mod runner {
    use super::*;
    use orm::migrate::{rollback, run, status, Migration};

    fn migrations() -> Vec<Migration> {
        let v1 = snapshot(vec![column("name", SqlType::Text, false)]);
        let mut v2_cols = vec![column("name", SqlType::Text, false)];
        let mut sku = column("sku", SqlType::Text, true);
        sku.unique = true;
        sku.max_length = Some(32);
        v2_cols.push(sku);
        let v2 = snapshot(v2_cols);
        let (up1, down1) = diff(&Snapshot::default(), &v1);
        let (up2, down2) = diff(&v1, &v2);
        vec![
            Migration { name: "0001_create_gadgets".into(), up: up1, down: down1 },
            Migration { name: "0002_add_sku".into(), up: up2, down: down2 },
        ]
    }

    #[tokio::test]
    async fn run_records_a_batch_and_rollback_undoes_it() {
        let Some(t) = crate::db().await else { return };
        let all = migrations();
        assert_eq!(run(&t.db, "db", &all[..1]).await.unwrap(), ["0001_create_gadgets"]);
        assert_eq!(run(&t.db, "db", &all).await.unwrap(), ["0002_add_sku"]);
        assert!(run(&t.db, "db", &all).await.unwrap().is_empty(), "nothing pending");
        let s = status(&t.db, "db").await.unwrap();
        assert_eq!(s.iter().map(|a| (a.name.as_str(), a.batch)).collect::<Vec<_>>(), [("0001_create_gadgets", 1), ("0002_add_sku", 2)]);
        assert!(works(&t, "INSERT INTO gadgets (name, sku) VALUES ('a', 'S')").await);
        // The last batch only.
        assert_eq!(rollback(&t.db, "db", &all, None).await.unwrap(), ["0002_add_sku"]);
        assert!(!works(&t, "SELECT sku FROM gadgets").await);
        assert_eq!(t.direct_count("gadgets").await, Some(1), "rows kept");
        assert_eq!(run(&t.db, "db", &all).await.unwrap(), ["0002_add_sku"]);
        assert_eq!(rollback(&t.db, "db", &all, Some(2)).await.unwrap(), ["0002_add_sku", "0001_create_gadgets"]);
        assert_eq!(t.direct_count("gadgets").await, None);
        assert!(status(&t.db, "db").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn edited_or_missing_applied_migrations_are_refused() {
        let Some(t) = crate::db().await else { return };
        let all = migrations();
        run(&t.db, "db", &all).await.unwrap();
        let mut edited = all.clone();
        edited[0].up.pop();
        edited[0].up.push(Operation::DropTable {
            table: Table { name: "x".into(), primary_key: "id".into(), columns: vec![], renamed_from: None },
        });
        let err = run(&t.db, "db", &edited).await.unwrap_err();
        assert!(matches!(&err, Error::Migration { message } if message.contains("0001_create_gadgets") && message.contains("edited")), "{err:?}");
        let err = run(&t.db, "db", &all[1..]).await.unwrap_err();
        assert!(matches!(&err, Error::Migration { message } if message.contains("missing")), "{err:?}");
    }

    #[tokio::test]
    async fn a_failing_migration_is_not_recorded_as_applied() {
        let Some(t) = crate::db().await else { return };
        let mut all = migrations();
        // Its second statement fails: the table it names exists already.
        t.db.create_table::<orm_tests::models::Tag>().await.unwrap();
        all[1].up.push(Operation::CreateTable {
            table: Table {
            name: "tags".into(),
            primary_key: "id".into(),
            columns: vec![column("id", SqlType::BigInt, false)],
            renamed_from: None,
        },
        });
        let err = run(&t.db, "db", &all).await.unwrap_err();
        assert!(matches!(err, Error::Migration { .. }), "{err:?}");
        let s = status(&t.db, "db").await.unwrap();
        match crate::KIND {
            orm_tests::Kind::MySql => {
                // DDL committed as it went: marked failed, and the next run says how to repair.
                assert!(s.iter().any(|a| a.name == "0002_add_sku" && a.failed));
                let err = run(&t.db, "db", &all).await.unwrap_err();
                assert!(matches!(&err, Error::Migration { message } if message.contains("repair")), "{err:?}");
            }
            _ => {
                assert_eq!(s.len(), 1, "only the first migration is recorded");
                assert!(!works(&t, "SELECT sku FROM gadgets").await, "the failed one left nothing");
            }
        }
    }

    #[tokio::test]
    async fn two_runners_at_once_apply_each_migration_exactly_once() {
        let Some(t) = crate::db().await else { return };
        let all = migrations();
        let (a, b) = tokio::join!(run(&t.db, "db", &all), run(&t.db, "db", &all));
        let applied: Vec<String> = [a, b].into_iter().filter_map(|r| r.ok()).flatten().collect();
        let mut sorted = applied.clone();
        sorted.sort();
        assert_eq!(sorted, ["0001_create_gadgets", "0002_add_sku"], "{applied:?}");
        assert_eq!(status(&t.db, "db").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn read_only_connections_are_never_migrated() {
        let Some(t) = crate::db().await else { return };
        let db = orm::Database::builder().connection("archive", &t.url).read_only("archive").build().await.unwrap();
        let err = run(&db, "archive", &migrations()).await.unwrap_err();
        assert!(matches!(&err, Error::Migration { message } if message.contains("read-only")), "{err:?}");
    }
}

mod files {
    use super::*;
    use orm::migrate::{files, rollback, run, status};

    #[tokio::test]
    async fn make_writes_the_next_migration_only_when_the_models_changed() {
        let Some(t) = crate::db().await else { return };
        let root = std::env::temp_dir().join(format!("orm-migrations-{}-{}", std::process::id(), crate::KIND as u8));
        let _ = std::fs::remove_dir_all(&root);
        // "essentials" holds one model in this program: `User` (table auser).
        assert!(files::has_changes(&root, "essentials").unwrap());
        let path = files::make(&root, "essentials", "create_users").unwrap().unwrap();
        assert!(path.ends_with("essentials/0001_create_users.json"), "{path:?}");
        assert_eq!(files::make(&root, "essentials", "again").unwrap(), None, "nothing to do");
        assert!(!files::has_changes(&root, "essentials").unwrap());
        let err = files::make(&root, "essentials", "Bad Name").unwrap_err();
        assert!(matches!(err, Error::Migration { .. }));

        let migrations = files::load(&root, "essentials").unwrap();
        assert_eq!(migrations.len(), 1);
        let db = orm::Database::builder().connection("essentials", &t.url).build().await.unwrap();
        assert_eq!(run(&db, "essentials", &migrations).await.unwrap(), ["0001_create_users"]);
        let user = orm_tests::models::User { uid: 0, email: "m@x.org".into(), name: "M".into() };
        use orm::prelude::*;
        assert_eq!(user.insert(&db).await.unwrap().email, "m@x.org");
        assert_eq!(status(&db, "essentials").await.unwrap().len(), 1);
        rollback(&db, "essentials", &migrations, None).await.unwrap();
        assert_eq!(t.direct_count("auser").await, None);
        let _ = std::fs::remove_dir_all(&root);
    }
}

#[tokio::test]
async fn renames_keep_the_rows_and_reverse() {
    let Some(t) = crate::db().await else { return };
    let mut name = column("name", SqlType::Text, false);
    name.indexed = true;
    let v1 = snapshot(vec![name]);
    apply(&t.db, "db", &diff(&Snapshot::default(), &v1).0).await.unwrap();
    assert!(works(&t, "INSERT INTO gadgets (name) VALUES ('kept')").await);

    // The model now says: table `widgets`, formerly `gadgets`; field `title`, formerly `name`.
    let mut v2 = snapshot(vec![]);
    let mut table = v2.tables.remove("gadgets").unwrap();
    table.name = "widgets".into();
    table.renamed_from = Some("gadgets".into());
    let mut title = column("title", SqlType::Text, false);
    title.indexed = true;
    title.renamed_from = Some("name".into());
    table.columns.push(title);
    v2.tables.insert("widgets".into(), table);

    let (up, down) = diff(&v1, &v2);
    assert!(matches!(&up[..], [Operation::RenameTable { .. }, Operation::RenameColumn { .. }]), "{up:?}");
    apply(&t.db, "db", &up).await.unwrap();
    let (title,): (String,) = orm::raw("SELECT title FROM widgets").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    assert_eq!(title, "kept");
    assert_eq!(t.direct_count("gadgets").await, None);
    apply(&t.db, "db", &down).await.unwrap();
    let (name,): (String,) = orm::raw("SELECT name FROM gadgets").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    assert_eq!(name, "kept");
}
