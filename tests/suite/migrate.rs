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
        Table { name: "gadgets".into(), primary_key: "id".into(), columns: all },
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
        table: Table { name: "tags".into(), primary_key: "id".into(), columns: vec![column("id", SqlType::BigInt, false)] },
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
