include!("../suite/values.rs");

// A database whose default character set cannot hold every Rust string
// (MariaDB's default before 11.6 was latin1): the tables and text columns the
// ORM makes are utf8mb4 all the same.
mod charsets {
    use orm::migrate::{apply, diff, Column, Snapshot, Table};
    use orm::prelude::*;
    use orm::SqlType;
    use orm_tests::models::{sample, Sample};
    use orm_tests::TestDb;

    const CRAB: &str = "crab 🦀 \u{10FFFF} Ωμέγα";

    async fn holds_every_string(t: &TestDb) {
        let row = Sample {
            text: Some(CRAB.into()),
            json: Some(serde_json::json!({ "🦀": CRAB })),
            ..Sample::default()
        };
        let id = row.clone().insert(&t.db).await.unwrap().id;
        let read = Sample::get(&t.db, id).await.unwrap();
        assert_eq!((read.text, read.json), (row.text, row.json));
        // Compared byte for byte (utf8mb4_bin): case and accents count.
        let same = |s: &str| Sample::query().filter(sample::text.eq(s)).count(&t.db);
        assert_eq!(
            (
                same(CRAB).await.unwrap(),
                same(&CRAB.to_uppercase()).await.unwrap()
            ),
            (1, 0)
        );
    }

    #[tokio::test]
    async fn tables_hold_every_string_whatever_the_database_default() {
        for charset in ["latin1", "utf8mb3"] {
            let t = TestDb::mysql_in_charset(charset).await.unwrap();
            let mut conn = t.direct_connect().await;
            let default = conn.fetch_strings("SELECT @@character_set_database").await;
            assert_eq!(default, [charset]);
            t.db.create_table::<Sample>().await.unwrap();
            holds_every_string(&t).await;
            let charsets = conn
                .fetch_strings(
                    "SELECT DISTINCT CHARACTER_SET_NAME FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = DATABASE() AND CHARACTER_SET_NAME IS NOT NULL",
                )
                .await;
            assert_eq!(charsets, ["utf8mb4"]);
        }
    }

    #[tokio::test]
    async fn migrations_make_utf8mb4_tables_and_columns_in_a_latin1_database() {
        let t = TestDb::mysql_in_charset("latin1").await.unwrap();
        let v1 = Snapshot::of([<Sample as orm::Model>::SCHEMA]);
        let (up, _) = diff(&Snapshot::default(), &v1);
        apply(&t.db, "db", &Snapshot::default(), &up).await.unwrap();
        holds_every_string(&t).await;
        // A text column added to a table made in latin1 outside the ORM.
        t.direct_execute("CREATE TABLE legacy (id BIGINT NOT NULL PRIMARY KEY, old TEXT)")
            .await;
        let before = Table::new("legacy", Column::new("id", SqlType::BigInt));
        let after = before
            .clone()
            .column(Column::new("note", SqlType::Text).nullable());
        let snapshot = |table: Table| {
            let mut s = Snapshot::default();
            s.tables.insert("legacy".into(), table);
            s
        };
        let (up, _) = diff(&snapshot(before.clone()), &snapshot(after));
        apply(&t.db, "db", &snapshot(before), &up).await.unwrap();
        t.direct_execute(&format!(
            "INSERT INTO legacy (id, note) VALUES (1, '{CRAB}')"
        ))
        .await;
        let note = t
            .direct_connect()
            .await
            .fetch_strings("SELECT note FROM legacy WHERE id = 1")
            .await;
        assert_eq!(note, [CRAB]);
    }

    #[tokio::test]
    async fn the_connection_speaks_utf8mb4() {
        let t = TestDb::mysql_in_charset("latin1").await.unwrap();
        let (client, connection): (String, String) =
            orm::raw("SELECT @@character_set_client, @@character_set_connection")
                .fetch_one(t.db.connection("db").unwrap())
                .await
                .unwrap();
        assert_eq!(
            (client.as_str(), connection.as_str()),
            ("utf8mb4", "utf8mb4")
        );
    }
}
