// Schema operations from snapshot differences, applied and reversed on the
// live backend; the result is checked by using the columns directly.

use orm::migrate::{apply, diff, Column, Default, Operation, Snapshot, Table};
use orm::{Error, SqlType};

fn column(name: &str, sql_type: SqlType, nullable: bool) -> Column {
    let c = Column::new(name, sql_type);
    if nullable { c.nullable() } else { c }
}

fn snapshot(columns: Vec<Column>) -> Snapshot {
    let mut s = Snapshot::default();
    let table = columns.into_iter().fold(Table::new("gadgets", Column::new("id", SqlType::BigInt).auto_increment()), Table::column);
    s.tables.insert("gadgets".into(), table);
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
    apply(&t.db, "db", &Snapshot::default(), &up).await.unwrap();
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
    apply(&t.db, "db", &v1, &up2).await.unwrap();
    assert!(works(&t, "INSERT INTO gadgets (name, serial) VALUES ('b', 'S-1')").await);
    assert!(!works(&t, "INSERT INTO gadgets (name, serial) VALUES ('c', 'S-1')").await, "unique serial");
    let (rank,): (i32,) = orm::raw("SELECT rank FROM gadgets WHERE serial = 'S-1'")
        .fetch_one(t.db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(rank, 3, "the default applies");

    // Back to v1, then to nothing.
    apply(&t.db, "db", &v2, &down2).await.unwrap();
    assert!(!works(&t, "SELECT serial FROM gadgets").await);
    assert!(works(&t, "SELECT name FROM gadgets").await);
    apply(&t.db, "db", &v1, &down).await.unwrap();
    assert_eq!(t.direct_count("gadgets").await, None);
}

#[tokio::test]
async fn changing_nullability_and_type() {
    let Some(t) = crate::db().await else { return };
    let v1 = snapshot(vec![column("note", SqlType::Text, false), column("qty", SqlType::Int, false)]);
    apply(&t.db, "db", &Snapshot::default(), &diff(&Snapshot::default(), &v1).0).await.unwrap();
    let v2 = snapshot(vec![column("note", SqlType::Text, true), column("qty", SqlType::BigInt, false)]);
    let (up, down) = diff(&v1, &v2);
    assert!(works(&t, "INSERT INTO gadgets (note, qty) VALUES ('kept', 7)").await);
    // SQLite has no ALTER COLUMN: it rebuilds the table, keeping the rows.
    apply(&t.db, "db", &v1, &up).await.unwrap();
    assert!(works(&t, "INSERT INTO gadgets (note, qty) VALUES (NULL, 5000000000)").await);
    let (big,): (i64,) = orm::raw("SELECT qty FROM gadgets WHERE note IS NULL").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    assert_eq!(big, 5_000_000_000);
    let (note, qty): (Option<String>, i64) = orm::raw("SELECT note, qty FROM gadgets WHERE id = 1").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    assert_eq!((note.as_deref(), qty), (Some("kept"), 7), "the rows survive");
    // Back to NOT NULL fails while a NULL is stored, and changes nothing.
    let err = apply(&t.db, "db", &v2, &down).await.unwrap_err();
    assert!(!matches!(err, Error::Migration { .. }), "the database's own refusal: {err:?}");
    assert!(works(&t, "DELETE FROM gadgets WHERE note IS NULL").await);
    apply(&t.db, "db", &v2, &down).await.unwrap();
    assert!(!works(&t, "INSERT INTO gadgets (note, qty) VALUES (NULL, 1)").await, "NOT NULL again");
    assert_eq!(t.direct_count("gadgets").await, Some(1));
}

#[tokio::test]
async fn a_failing_step_leaves_nothing_behind_where_ddl_is_transactional() {
    let Some(t) = crate::db().await else { return };
    let v1 = snapshot(vec![column("name", SqlType::Text, false)]);
    // The second table collides with one that exists: the first must not stay.
    t.db.create_table::<orm_tests::models::Tag>().await.unwrap();
    let mut ops = diff(&Snapshot::default(), &v1).0;
    ops.push(Operation::CreateTable {
        table: Table::new("tags", column("id", SqlType::BigInt, false)),
    });
    let err = apply(&t.db, "db", &Snapshot::default(), &ops).await.unwrap_err();
    match crate::KIND {
        orm_tests::Kind::MySql => {
            assert!(matches!(&err, Error::Migration { message } if message.contains("step 2 of 2")), "{err:?}");
            assert_eq!(t.direct_count("gadgets").await, Some(0), "MySQL committed step 1");
        }
        _ => assert_eq!(t.direct_count("gadgets").await, None, "rolled back: {err:?}"),
    }
}

fn runner_migrations() -> Vec<orm::migrate::Migration> {
    runner::migrations()
}

mod runner {
    use super::*;
    use orm::migrate::{rollback, run, status, Migration};

    pub(super) fn migrations() -> Vec<Migration> {
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
            table: Table::new("x", column("id", SqlType::BigInt, false)),
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
            table: Table::new("tags", column("id", SqlType::BigInt, false)),
        });
        let err = run(&t.db, "db", &all).await.unwrap_err();
        assert!(matches!(err, Error::Migration { .. }), "{err:?}");
        let s = status(&t.db, "db").await.unwrap();
        match crate::KIND {
            orm_tests::Kind::MySql => {
                // DDL committed as it went: marked failed, and the next run says how to repair.
                assert!(s.iter().any(|a| a.name == "0002_add_sku" && a.state == orm::migrate::MigrationState::Failed));
                let err = run(&t.db, "db", &all).await.unwrap_err();
                assert!(matches!(&err, Error::Migration { message } if message.contains("repair")), "{err:?}");
            }
            _ => {
                assert_eq!(s.len(), 1, "only the first migration is recorded");
                assert!(!works(&t, "SELECT sku FROM gadgets").await, "the failed one left nothing");
            }
        }
        // The failure released the lock: a runner on another session goes through at once.
        let other = orm::Database::connect(&t.url).await.unwrap();
        let fixed = migrations();
        let again = tokio::time::timeout(std::time::Duration::from_secs(20), run(&other, "db", &fixed)).await;
        let again = again.expect("the lock was released");
        match crate::KIND {
            orm_tests::Kind::MySql => assert!(again.is_err(), "refused until repaired"),
            _ => assert_eq!(again.unwrap(), ["0002_add_sku"]),
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
    async fn the_command_line_writes_migrations_for_writable_connections_only() {
        let root = std::env::temp_dir().join(format!("orm-cli-{}-{}", std::process::id(), crate::KIND as u8));
        let _ = std::fs::remove_dir_all(&root);
        let cli = |words: &[&str]| orm::migrate::cli::main(root.clone(), words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
        assert_eq!(cli(&["check"]).await, 1, "models without migrations");
        assert_eq!(cli(&["make", "init"]).await, 0);
        assert!(root.join("db/0001_init.json").exists());
        assert!(root.join("essentials/0001_init.json").exists());
        assert!(!root.join("legacy").exists(), "legacy is declared read-only: never migrated");
        assert_eq!(cli(&["check"]).await, 0, "nothing left to make");
        assert_eq!(cli(&["make", "again"]).await, 0);
        assert!(!root.join("db/0002_again.json").exists(), "nothing to do writes nothing");
        assert_eq!(cli(&["new", "db", "backfill"]).await, 0);
        assert!(root.join("db/0002_backfill.json").exists());
        assert_eq!(cli(&["new", "db", "Bad Name"]).await, 1);
        assert_eq!(cli(&["frobnicate"]).await, 2, "usage");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn make_dry_run_writes_nothing_and_connection_limits_the_command() {
        let root = std::env::temp_dir().join(format!("orm-cli-dry-{}-{}", std::process::id(), crate::KIND as u8));
        let _ = std::fs::remove_dir_all(&root);
        let cli = |words: &[&str]| orm::migrate::cli::main(root.clone(), words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
        assert_eq!(cli(&["make", "init", "--dry-run"]).await, 0);
        assert!(!root.exists(), "a dry run writes nothing");
        assert_eq!(cli(&["make", "init", "--connection", "essentials"]).await, 0);
        assert!(root.join("essentials/0001_init.json").exists());
        assert!(!root.join("db").exists(), "only the connection named");
        assert_eq!(cli(&["check", "--connection", "essentials"]).await, 0);
        assert_eq!(cli(&["check"]).await, 1, "db has no migration yet");
        assert_eq!(cli(&["check", "--connection", "nowhere"]).await, 1, "no model lives there");
        assert_eq!(cli(&["make", "--help"]).await, 0);
        let _ = std::fs::remove_dir_all(&root);
    }

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
        // A dry run says what the rollback would send, and undoes nothing.
        let planned = orm::migrate::rollback_sql(&db, "essentials", &migrations, None).await.unwrap();
        assert_eq!(planned.len(), 1, "{planned:?}");
        assert_eq!(planned[0].0, "0001_create_users");
        assert!(planned[0].1.iter().any(|sql| sql.starts_with("DROP TABLE") && sql.contains("auser")), "{planned:?}");
        assert_eq!(status(&db, "essentials").await.unwrap().len(), 1, "still applied");
        assert_eq!(t.direct_count("auser").await, Some(1), "the table and its row are there");
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
    apply(&t.db, "db", &Snapshot::default(), &diff(&Snapshot::default(), &v1).0).await.unwrap();
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
    apply(&t.db, "db", &v1, &up).await.unwrap();
    let (title,): (String,) = orm::raw("SELECT title FROM widgets").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    assert_eq!(title, "kept");
    assert_eq!(t.direct_count("gadgets").await, None);
    apply(&t.db, "db", &v2, &down).await.unwrap();
    let (name,): (String,) = orm::raw("SELECT name FROM gadgets").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    assert_eq!(name, "kept");
}

/// The blog models, migrated from an empty database: the catalog shows
/// their columns, indexes and foreign keys; rows round-trip; down and up again.
mod from_models {
    use super::*;
    use orm::migrate::{rollback, run, Migration};
    use orm::prelude::*;
    use orm::Model;
    use orm_tests::blog::*;
    use orm_tests::catalog::{CatalogForeignKey, CatalogIndex};

    fn blog() -> Vec<Migration> {
        let schema = Snapshot::of([
            Author::SCHEMA,
            Post::SCHEMA,
            Comment::SCHEMA,
            Profile::SCHEMA,
            Employee::SCHEMA,
            Message::SCHEMA,
            Playlist::SCHEMA,
            Track::SCHEMA,
            PlaylistTrack::SCHEMA,
            Ticket::SCHEMA,
        ]);
        let (up, down) = diff(&Snapshot::default(), &schema);
        vec![Migration { name: "0001_blog".into(), up, down }]
    }

    fn fk(column: &str, table: &str) -> CatalogForeignKey {
        CatalogForeignKey { columns: vec![column.into()], references_table: table.into(), references_columns: vec!["id".into()] }
    }

    /// The indexes the models declare (MariaDB adds its own for foreign keys; they are not ours).
    async fn declared_indexes(t: &orm_tests::TestDb, table: &str) -> Vec<CatalogIndex> {
        t.catalog_indexes(table).await.into_iter().filter(|i| i.name.starts_with("idx_") || i.name.starts_with("uq_")).collect()
    }

    async fn check_schema(t: &orm_tests::TestDb) {
        let posts = t.catalog_columns("posts").await;
        let names: Vec<(&str, bool)> = posts.iter().map(|c| (c.name.as_str(), c.nullable)).collect();
        assert_eq!(names, [("id", false), ("author_id", false), ("title", false)]);
        let types: Vec<&str> = posts.iter().map(|c| c.data_type.as_str()).collect();
        match crate::KIND {
            orm_tests::Kind::Sqlite => assert_eq!(types, ["integer", "integer", "text"]),
            orm_tests::Kind::Postgres => assert_eq!(types, ["bigint", "bigint", "text"]),
            orm_tests::Kind::MySql => assert_eq!(types, ["bigint(20)", "bigint(20)", "longtext"]),
        }
        let manager = t.catalog_columns("employees").await.into_iter().find(|c| c.name == "manager_id").unwrap();
        assert!(manager.nullable, "Option<i64> is nullable");

        let index = |name: &str, column: &str, unique| CatalogIndex { name: name.into(), columns: vec![column.into()], unique };
        assert_eq!(declared_indexes(t, "posts").await, [index("idx_posts_author_id", "author_id", false)]);
        assert_eq!(declared_indexes(t, "profiles").await, [index("uq_profiles_author_id", "author_id", true)]);
        // Every foreign key gets an index, also one into another connection's table.
        assert_eq!(
            declared_indexes(t, "messages").await,
            [index("idx_messages_recipient_id", "recipient_id", false), index("idx_messages_sender_id", "sender_id", false)]
        );
        assert_eq!(
            declared_indexes(t, "tickets").await,
            [index("idx_tickets_assignee_id", "assignee_id", false), index("idx_tickets_user_id", "user_id", false)]
        );

        assert_eq!(t.catalog_foreign_keys("posts").await, [fk("author_id", "authors")]);
        assert_eq!(t.catalog_foreign_keys("comments").await, [fk("post_id", "posts")]);
        assert_eq!(t.catalog_foreign_keys("employees").await, [fk("manager_id", "employees")], "a self-reference");
        assert_eq!(t.catalog_foreign_keys("messages").await, [fk("recipient_id", "authors"), fk("sender_id", "authors")]);
        assert_eq!(t.catalog_foreign_keys("playlist_tracks").await, [fk("playlist_id", "playlists"), fk("track_id", "tracks")]);
        assert_eq!(t.catalog_foreign_keys("tickets").await, [], "users live on another connection: no constraint");
    }

    #[tokio::test]
    async fn the_live_schema_matches_the_models_and_survives_down_and_up() {
        let Some(t) = crate::db().await else { return };
        let all = blog();
        run(&t.db, "db", &all).await.unwrap();
        check_schema(&t).await;

        let ada = Author { id: 0, name: "Ada".into() }.insert(&t.db).await.unwrap();
        let post = Post { id: 0, author_id: ada.id, title: "Notes".into() }.insert(&t.db).await.unwrap();
        assert_eq!(Post::find(&t.db, post.id).await.unwrap(), Some(post.clone()));
        let boss = Employee { id: 0, name: "Boss".into(), manager_id: None }.insert(&t.db).await.unwrap();
        let report = Employee { id: 0, name: "Report".into(), manager_id: Some(boss.id) }.insert(&t.db).await.unwrap();
        // on_delete = "set_null": the report stays, without a manager.
        boss.delete(&t.db).await.unwrap();
        assert_eq!(Employee::get(&t.db, report.id).await.unwrap().manager_id, None);
        // on_delete = "cascade": a post's comments go with it.
        let doomed = Post { id: 0, author_id: ada.id, title: "Doomed".into() }.insert(&t.db).await.unwrap();
        Comment { id: 0, post_id: doomed.id, body: "gone too".into() }.insert(&t.db).await.unwrap();
        Comment { id: 0, post_id: post.id, body: "kept".into() }.insert(&t.db).await.unwrap();
        doomed.delete(&t.db).await.unwrap();
        assert_eq!(t.direct_count("comments").await, Some(1));
        // The default (no action): an author with posts cannot be deleted.
        let err = ada.delete(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{err:?}");
        // The constraint holds: a post of an author that does not exist is refused, and not stored.
        let err = Post { id: 0, author_id: ada.id + 100, title: "Orphan".into() }.insert(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{err:?}");
        assert_eq!(t.direct_count("posts").await, Some(1));

        assert_eq!(rollback(&t.db, "db", &all, None).await.unwrap(), ["0001_blog"]);
        for table in ["authors", "posts", "comments", "profiles", "employees", "messages", "playlists", "tracks", "playlist_tracks", "tickets"] {
            assert_eq!(t.direct_count(table).await, None, "{table} dropped");
        }
        run(&t.db, "db", &all).await.unwrap();
        check_schema(&t).await;
        assert_eq!(t.direct_count("posts").await, Some(0));
    }
}

/// A foreign key to a text key: MySQL needs both columns to be keyable
/// (VARCHAR); the index every foreign key gets makes it so.
mod text_keys {
    use super::*;
    use orm::prelude::*;

    #[orm::model(table = "countries")]
    #[derive(Clone, Debug, PartialEq)]
    pub struct Country {
        #[orm(primary_key)]
        pub code: String,
        pub name: String,
    }

    #[orm::model(table = "cities")]
    #[derive(Clone, Debug, PartialEq)]
    pub struct City {
        #[orm(primary_key, auto)]
        pub id: i64,
        #[orm(belongs_to = Country, relation = "country")]
        pub country_code: String,
        pub name: String,
    }

    #[tokio::test]
    async fn a_foreign_key_to_a_text_key_is_created_and_holds() {
        let Some(t) = crate::db().await else { return };
        t.db.create_table::<Country>().await.unwrap();
        t.db.create_table::<City>().await.unwrap();
        let fr = Country { code: "FR".into(), name: "France".into() }.insert(&t.db).await.unwrap();
        let lyon = City { id: 0, country_code: "FR".into(), name: "Lyon".into() }.insert(&t.db).await.unwrap();
        assert_eq!(lyon.country(&t.db).await.unwrap(), fr);
        let err = City { id: 0, country_code: "XX".into(), name: "Nowhere".into() }.insert(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{err:?}");
        assert_eq!(t.catalog_foreign_keys("cities").await.len(), 1);
    }
}

/// One model through six versions: each generated migration applies, the
/// catalog shows the change, rows written by that version read back; then
/// each migration is rolled back and the catalog is as it was before it.
mod evolve {
    use super::*;
    use orm::migrate::{rollback, run, Migration};
    use orm::prelude::*;
    use orm::Model;

    mod v1 {
        #[orm::model(table = "evolving")]
        #[derive(Clone, Debug, PartialEq)]
        pub struct Gizmo {
            #[orm(primary_key, auto)]
            pub id: i64,
            pub name: String,
        }
    }
    mod v2 {
        #[orm::model(table = "evolving")]
        #[derive(Clone, Debug, PartialEq)]
        pub struct Gizmo {
            #[orm(primary_key, auto)]
            pub id: i64,
            pub name: String,
            pub color: Option<String>,
        }
    }
    mod v3 {
        #[orm::model(table = "evolving")]
        #[derive(Clone, Debug, PartialEq)]
        pub struct Gizmo {
            #[orm(primary_key, auto)]
            pub id: i64,
            pub name: String,
            #[orm(default = "red")]
            pub color: String,
        }
    }
    mod v4 {
        #[orm::model(table = "evolving", index(name, color))]
        #[derive(Clone, Debug, PartialEq)]
        pub struct Gizmo {
            #[orm(primary_key, auto)]
            pub id: i64,
            pub name: String,
            #[orm(default = "red", index)]
            pub color: String,
        }
    }
    mod v5 {
        #[orm::model(table = "gizmos", renamed_from = "evolving", index(title, color))]
        #[derive(Clone, Debug, PartialEq)]
        pub struct Gizmo {
            #[orm(primary_key, auto)]
            pub id: i64,
            #[orm(renamed_from = "name")]
            pub title: String,
            #[orm(default = "red", index)]
            pub color: String,
        }
    }
    mod v6 {
        #[orm::model(table = "gizmos")]
        #[derive(Clone, Debug, PartialEq)]
        pub struct Gizmo {
            #[orm(primary_key, auto)]
            pub id: i64,
            pub title: String,
        }
    }

    type Catalog = (Vec<orm_tests::catalog::CatalogColumn>, Vec<orm_tests::catalog::CatalogIndex>);

    async fn catalog(t: &orm_tests::TestDb, table: &str) -> Catalog {
        (t.catalog_columns(table).await, t.catalog_indexes(table).await)
    }

    fn names(c: &Catalog) -> (Vec<(&str, bool)>, Vec<&str>) {
        (c.0.iter().map(|c| (c.name.as_str(), c.nullable)).collect(), c.1.iter().map(|i| i.name.as_str()).collect())
    }

    #[tokio::test]
    async fn every_step_applies_shows_in_the_catalog_and_reverts() {
        let Some(t) = crate::db().await else { return };
        let versions = [v1::Gizmo::SCHEMA, v2::Gizmo::SCHEMA, v3::Gizmo::SCHEMA, v4::Gizmo::SCHEMA, v5::Gizmo::SCHEMA, v6::Gizmo::SCHEMA];
        let steps = ["create", "add_color", "color_required", "index_color", "rename", "drop_color"];
        let mut all = Vec::new();
        let mut before = Snapshot::default();
        for (i, schema) in versions.iter().enumerate() {
            let after = Snapshot::of([*schema]);
            let (up, down) = diff(&before, &after);
            assert!(!up.is_empty(), "step {i} changes something");
            all.push(Migration { name: format!("{:04}_{}", i + 1, steps[i]), up, down });
            before = after;
        }
        let db = &t.db;
        let mut seen: Vec<Catalog> = Vec::new();
        for (i, m) in all.iter().enumerate() {
            assert_eq!(run(db, "db", &all[..=i]).await.unwrap(), std::slice::from_ref(&m.name));
            match i {
                0 => {
                    let g = v1::Gizmo { id: 0, name: "first".into() }.insert(db).await.unwrap();
                    assert_eq!(v1::Gizmo::get(db, g.id).await.unwrap(), g);
                }
                1 => {
                    let g = v2::Gizmo { id: 0, name: "second".into(), color: None }.insert(db).await.unwrap();
                    assert_eq!(v2::Gizmo::get(db, g.id).await.unwrap().color, None);
                    // Every row has a color before the column becomes required.
                    v2::Gizmo::query().update().set(v2::gizmo::color, Some("blue".to_owned())).execute(db).await.unwrap();
                }
                2 => {
                    let g = v3::Gizmo { id: 0, name: "third".into(), color: "green".into() }.insert(db).await.unwrap();
                    assert_eq!(v3::Gizmo::get(db, g.id).await.unwrap(), g);
                    assert!(works(&t, "INSERT INTO evolving (name) VALUES ('defaulted')").await);
                    let colors: Vec<String> = v3::Gizmo::query().order_by(v3::gizmo::id.asc()).all(db).await.unwrap().into_iter().map(|g| g.color).collect();
                    assert_eq!(colors, ["blue", "blue", "green", "red"], "rows kept, the default applies");
                }
                3 => {
                    let red = v4::Gizmo::query().filter(v4::gizmo::color.eq("red")).count(db).await.unwrap();
                    assert_eq!(red, 1);
                }
                4 => {
                    assert_eq!(t.direct_count("evolving").await, None);
                    let titles: Vec<String> = v5::Gizmo::query().order_by(v5::gizmo::id.asc()).all(db).await.unwrap().into_iter().map(|g| g.title).collect();
                    assert_eq!(titles, ["first", "second", "third", "defaulted"]);
                }
                _ => {
                    let g = v6::Gizmo { id: 0, title: "sixth".into() }.insert(db).await.unwrap();
                    assert_eq!(v6::Gizmo::get(db, g.id).await.unwrap(), g);
                }
            }
            let table = if i < 4 { "evolving" } else { "gizmos" };
            seen.push(catalog(&t, table).await);
        }
        let shapes: Vec<_> = seen.iter().map(names).collect();
        assert_eq!(shapes[0], (vec![("id", false), ("name", false)], vec![]));
        assert_eq!(shapes[1], (vec![("id", false), ("name", false), ("color", true)], vec![]));
        assert_eq!(shapes[2], (vec![("id", false), ("name", false), ("color", false)], vec![]));
        fn declared<'a>(names: &[&'a str]) -> Vec<&'a str> {
            names.iter().filter(|n| n.starts_with("idx_")).copied().collect()
        }
        assert_eq!(declared(&shapes[3].1), ["idx_evolving_color", "idx_evolving_name_color"]);
        assert_eq!(shapes[4].0, [("id", false), ("title", false), ("color", false)]);
        assert_eq!(declared(&shapes[4].1), ["idx_gizmos_color", "idx_gizmos_title_color"]);
        assert_eq!(shapes[5], (vec![("id", false), ("title", false)], vec![]));

        // Down, one step at a time: each leaves the catalog as the step before it found it.
        for i in (1..all.len()).rev() {
            assert_eq!(rollback(db, "db", &all, Some(1)).await.unwrap(), [all[i].name.clone()]);
            let table = if i - 1 < 4 { "evolving" } else { "gizmos" };
            assert_eq!(catalog(&t, table).await, seen[i - 1], "after rolling back {}", all[i].name);
            assert_eq!(t.direct_count(table).await, Some(5), "rows kept");
        }
    }
}

/// Two processes run the same migrations at once: each migration is applied
/// exactly once, and neither fails. The children are this test binary again,
/// running only `processes::child`.
mod processes {
    use super::*;
    use orm::migrate::{run, status, Migration};

    const URL_VAR: &str = "ORM_TEST_MIGRATE_CHILD_URL";

    /// The runner's migrations, and one that takes a while, so that the two
    /// processes overlap.
    fn migrations() -> Vec<Migration> {
        let mut all = super::runner_migrations();
        let slow = Operation::Sql {
            sql: None,
            postgres: Some("SELECT pg_sleep(0.4)".into()),
            mysql: Some("SELECT SLEEP(0.4)".into()),
            sqlite: Some("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT COUNT(*) FROM c".into()),
        };
        all.insert(0, Migration::new("0000_slow").up(slow.clone()).down(slow));
        all
    }

    #[tokio::test]
    #[ignore = "a child process of two_processes_apply_each_migration_exactly_once, which runs it with --ignored"]
    async fn child() {
        let url = std::env::var(URL_VAR).expect("run by two_processes_apply_each_migration_exactly_once");
        let db = orm::Database::connect(&url).await.unwrap();
        let applied = run(&db, "db", &migrations()).await.unwrap();
        println!("APPLIED:{}", applied.join(","));
    }

    #[tokio::test]
    async fn two_processes_apply_each_migration_exactly_once() {
        let Some(t) = crate::db().await else { return };
        let exe = std::env::current_exe().unwrap();
        let spawn = || {
            let (exe, url) = (exe.clone(), t.url.clone());
            std::thread::spawn(move || {
                std::process::Command::new(exe)
                    .args(["--exact", "migrate::processes::child", "--ignored", "--nocapture", "--test-threads=1"])
                    .env(URL_VAR, url)
                    .output()
                    .unwrap()
            })
        };
        let (a, b) = (spawn(), spawn());
        let mut applied = Vec::new();
        for out in [a.join().unwrap(), b.join().unwrap()] {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "a runner failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            let line = stdout.lines().find_map(|l| l.split("APPLIED:").nth(1)).unwrap_or_else(|| panic!("the child did not run:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
            applied.extend(line.split(',').filter(|n| !n.is_empty()).map(str::to_owned));
        }
        applied.sort();
        assert_eq!(applied, ["0000_slow", "0001_create_gadgets", "0002_add_sku"], "each exactly once");
        assert_eq!(status(&t.db, "db").await.unwrap().len(), 3);
    }
}

/// A foreign key added over rows that break it is refused by every backend
/// (SQLite: by the key check before the rebuild commits), and nothing changes.
#[tokio::test]
async fn a_foreign_key_over_broken_rows_is_refused_and_changes_nothing() {
    let Some(t) = crate::db().await else { return };
    let owners = Table::new("owners", Column::new("id", SqlType::BigInt).auto_increment());
    let pets = |with_key: bool| {
        let table = Table::new("pets", Column::new("id", SqlType::BigInt).auto_increment())
            .column(Column::new("owner_id", SqlType::BigInt).indexed());
        if with_key { table.foreign_key("owner_id", "owners", "id") } else { table }
    };
    let mut v1 = Snapshot::default();
    v1.tables.insert("owners".into(), owners.clone());
    v1.tables.insert("pets".into(), pets(false));
    let mut v2 = v1.clone();
    v2.tables.insert("pets".into(), pets(true));
    apply(&t.db, "db", &Snapshot::default(), &diff(&Snapshot::default(), &v1).0).await.unwrap();
    assert!(works(&t, "INSERT INTO owners (id) VALUES (1)").await);
    assert!(works(&t, "INSERT INTO pets (owner_id) VALUES (1)").await);
    assert!(works(&t, "INSERT INTO pets (owner_id) VALUES (2)").await, "no key yet: an orphan");

    let (up, down) = diff(&v1, &v2);
    assert!(matches!(&up[..], [Operation::AddForeignKey { .. }]), "{up:?}");
    let err = apply(&t.db, "db", &v1, &up).await.unwrap_err();
    assert!(matches!(err, Error::ForeignKeyViolation { .. }), "the same typed error on every backend: {err:?}");
    assert_eq!(t.catalog_foreign_keys("pets").await, []);
    assert_eq!(t.direct_count("pets").await, Some(2), "the rows are untouched");

    assert!(works(&t, "DELETE FROM pets WHERE owner_id = 2").await);
    apply(&t.db, "db", &v1, &up).await.unwrap();
    assert_eq!(t.catalog_foreign_keys("pets").await.len(), 1);
    assert!(!works(&t, "INSERT INTO pets (owner_id) VALUES (3)").await, "the key holds");
    assert_eq!(t.direct_count("pets").await, Some(1));
    let indexes: Vec<String> = t.catalog_indexes("pets").await.into_iter().map(|i| i.name).collect();
    assert!(indexes.contains(&"idx_pets_owner_id".to_owned()), "indexes survive the rebuild: {indexes:?}");

    // The key's column changes while the key stays: nullable, then unique
    // instead of indexed (MySQL refuses to leave a foreign key without an index).
    let with_column = |column: Column| {
        let mut s = v2.clone();
        let pets = s.tables.get_mut("pets").unwrap();
        pets.columns[1] = column;
        s
    };
    let v3 = with_column(Column::new("owner_id", SqlType::BigInt).indexed().nullable());
    let v4 = with_column(Column::new("owner_id", SqlType::BigInt).unique().nullable());
    let (up3, down3) = diff(&v2, &v3);
    let (up4, down4) = diff(&v3, &v4);
    apply(&t.db, "db", &v2, &up3).await.unwrap();
    assert!(works(&t, "INSERT INTO pets (owner_id) VALUES (NULL)").await);
    apply(&t.db, "db", &v3, &up4).await.unwrap();
    let indexes: Vec<(String, bool)> = t.catalog_indexes("pets").await.into_iter().map(|i| (i.name, i.unique)).collect();
    assert!(indexes.contains(&("uq_pets_owner_id".to_owned(), true)), "{indexes:?}");
    assert!(!indexes.iter().any(|(n, _)| n == "idx_pets_owner_id"), "{indexes:?}");
    assert!(!works(&t, "INSERT INTO pets (owner_id) VALUES (1)").await, "unique now");
    assert_eq!(t.catalog_foreign_keys("pets").await.len(), 1, "the key stayed");
    apply(&t.db, "db", &v4, &down4).await.unwrap();
    assert!(works(&t, "DELETE FROM pets WHERE owner_id IS NULL").await);
    apply(&t.db, "db", &v3, &down3).await.unwrap();
    assert!(!works(&t, "INSERT INTO pets (owner_id) VALUES (NULL)").await, "required again");

    apply(&t.db, "db", &v2, &down).await.unwrap();
    assert_eq!(t.catalog_foreign_keys("pets").await, []);
    assert!(works(&t, "INSERT INTO pets (owner_id) VALUES (3)").await, "the key is gone");
}

/// A hand-written migration: a table from the builder, then a data step in
/// raw SQL with one statement per backend; `pending_sql` shows what `run`
/// sends, and `run_reporting` reports each migration with its duration.
#[tokio::test]
async fn hand_written_steps_raw_sql_per_backend_and_the_sql_shown_first() {
    use orm::migrate::{pending_sql, run_reporting, Index, Migration};
    let Some(t) = crate::db().await else { return };
    let table = Table::new("audit", Column::new("id", SqlType::BigInt).auto_increment())
        .column(Column::new("actor", SqlType::Text).max_length(40))
        .column(Column::new("action", SqlType::Text).default(Default::Text("none".into())))
        .index(Index::new(&["actor", "action"]));
    let fill = Operation::Sql {
        sql: Some("INSERT INTO audit (actor) VALUES ('generic')".into()),
        postgres: Some("INSERT INTO audit (actor) VALUES ('postgres')".into()),
        mysql: Some("INSERT INTO `audit` (`actor`) VALUES ('mysql')".into()),
        sqlite: None,
    };
    let all = vec![
        Migration::new("0001_audit").up(Operation::CreateTable { table: table.clone() }).down(Operation::DropTable { table }),
        Migration::new("0002_fill").up(fill).down(Operation::sql_for_all("DELETE FROM audit")),
    ];
    let shown = pending_sql(&t.db, "db", &all).await.unwrap();
    assert_eq!(shown.iter().map(|(n, s)| (n.as_str(), s.len())).collect::<Vec<_>>(), [("0001_audit", 2), ("0002_fill", 1)]);
    assert!(shown[1].1[0].contains(match crate::KIND {
        orm_tests::Kind::Sqlite => "'generic'",
        orm_tests::Kind::Postgres => "'postgres'",
        orm_tests::Kind::MySql => "'mysql'",
    }));
    let mut reported = Vec::new();
    let applied = run_reporting(&t.db, "db", &all, &mut |name, took| reported.push((name.to_owned(), took))).await.unwrap();
    assert_eq!(applied, ["0001_audit", "0002_fill"]);
    assert_eq!(reported.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), applied);
    let (actor, action): (String, String) = orm::raw("SELECT actor, action FROM audit").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    let expected = match crate::KIND {
        orm_tests::Kind::Sqlite => "generic",
        orm_tests::Kind::Postgres => "postgres",
        orm_tests::Kind::MySql => "mysql",
    };
    assert_eq!((actor.as_str(), action.as_str()), (expected, "none"));
    assert!(pending_sql(&t.db, "db", &all).await.unwrap().is_empty(), "nothing left to show");
    orm::migrate::rollback(&t.db, "db", &all, Some(1)).await.unwrap();
    assert_eq!(t.direct_count("audit").await, Some(0), "the data step's way back ran");
}

async fn max_id(t: &orm_tests::TestDb, table: &str) -> i64 {
    t.direct_connect().await.fetch_i64s(&format!("SELECT MAX(id) FROM {table}")).await[0]
}

/// Kind 3: a migration that loses state. SQLite changes a column by
/// rebuilding its table; the rebuild keeps what the table had: the
/// AUTOINCREMENT sequence (a deleted last key is never handed out again),
/// views and triggers that name it, indexes made by hand, and the foreign
/// keys of other tables that point at it. The same migration on the other
/// backends gives the same answers.
mod rebuilds {
    use super::*;

    fn gadgets(note_nullable: bool) -> Snapshot {
        let mut s = snapshot(vec![column("note", SqlType::Text, note_nullable)]);
        let parts = Table::new("gadget_parts", Column::new("id", SqlType::BigInt).auto_increment())
            .column(Column::new("gadget_id", SqlType::BigInt).indexed())
            .foreign_key("gadget_id", "gadgets", "id")
            .on_delete(orm::migrate::OnDelete::Cascade);
        s.tables.insert("gadget_parts".into(), parts);
        s
    }

    fn trigger_sql() -> &'static str {
        match crate::KIND {
            orm_tests::Kind::Sqlite => {
                "CREATE TRIGGER gadget_logged AFTER INSERT ON gadgets FOR EACH ROW BEGIN INSERT INTO gadget_log (note) VALUES (NEW.note); END"
            }
            orm_tests::Kind::MySql => {
                "CREATE TRIGGER gadget_logged AFTER INSERT ON gadgets FOR EACH ROW INSERT INTO gadget_log (note) VALUES (NEW.note)"
            }
            orm_tests::Kind::Postgres => {
                "CREATE FUNCTION gadget_log_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO gadget_log (note) VALUES (NEW.note); RETURN NEW; END $$; \
                 CREATE TRIGGER gadget_logged AFTER INSERT ON gadgets FOR EACH ROW EXECUTE FUNCTION gadget_log_row()"
            }
        }
    }

    /// The example: rows 1..3, row 3 deleted, a column becomes nullable.
    #[tokio::test]
    async fn a_deleted_last_key_is_not_handed_out_again_after_a_column_changes() {
        let Some(t) = crate::db().await else { return };
        let v1 = snapshot(vec![column("note", SqlType::Text, false)]);
        let v2 = snapshot(vec![column("note", SqlType::Text, true)]);
        apply(&t.db, "db", &Snapshot::default(), &diff(&Snapshot::default(), &v1).0).await.unwrap();
        assert!(works(&t, "INSERT INTO gadgets (note) VALUES ('a'), ('b'), ('c')").await);
        assert!(works(&t, "DELETE FROM gadgets WHERE id = 3").await);
        apply(&t.db, "db", &v1, &diff(&v1, &v2).0).await.unwrap();
        assert!(works(&t, "INSERT INTO gadgets (note) VALUES ('d')").await);
        assert_eq!(max_id(&t, "gadgets").await, 4);
    }

    #[tokio::test]
    async fn a_rebuilt_table_keeps_its_sequence_views_triggers_indexes_and_keys_to_it() {
        let Some(t) = crate::db().await else { return };
        let v1 = gadgets(false);
        let v2 = gadgets(true);
        apply(&t.db, "db", &Snapshot::default(), &diff(&Snapshot::default(), &v1).0).await.unwrap();
        t.direct_execute("CREATE TABLE gadget_log (note VARCHAR(100))").await;
        t.direct_execute("CREATE VIEW gadget_notes AS SELECT id, note FROM gadgets").await;
        t.direct_execute(trigger_sql()).await;
        t.direct_execute("CREATE INDEX gadgets_note_by_hand ON gadgets (note)").await;
        for note in ["a", "b", "c"] {
            assert!(works(&t, &format!("INSERT INTO gadgets (note) VALUES ('{note}')")).await);
        }
        assert!(works(&t, "INSERT INTO gadget_parts (gadget_id) VALUES (1)").await);
        assert!(works(&t, "DELETE FROM gadgets WHERE id = 3").await);

        let (up, down) = diff(&v1, &v2);
        assert!(matches!(&up[..], [Operation::AlterColumn { .. }]), "{up:?}");
        apply(&t.db, "db", &v1, &up).await.unwrap();

        assert!(works(&t, "INSERT INTO gadgets (note) VALUES (NULL)").await, "the column is nullable now");
        assert_eq!(max_id(&t, "gadgets").await, 4, "the deleted key 3 is not handed out again");
        assert_eq!(t.direct_count("gadget_notes").await, Some(3), "the view still reads the table");
        assert_eq!(t.direct_count("gadget_log").await, Some(4), "the trigger still fires");
        let indexes: Vec<String> = t.catalog_indexes("gadgets").await.into_iter().map(|i| i.name).collect();
        assert!(indexes.contains(&"gadgets_note_by_hand".to_owned()), "{indexes:?}");
        assert_eq!(t.direct_count("gadget_parts").await, Some(1), "rows pointing at the table survive");
        assert!(!works(&t, "INSERT INTO gadget_parts (gadget_id) VALUES (99)").await, "their key still holds");
        assert!(works(&t, "DELETE FROM gadgets WHERE id = 1").await);
        assert_eq!(t.direct_count("gadget_parts").await, Some(0), "and still cascades");

        // And back: required again (no NULL left), the sequence kept again.
        assert!(works(&t, "DELETE FROM gadgets WHERE note IS NULL").await);
        apply(&t.db, "db", &v2, &down).await.unwrap();
        assert!(works(&t, "INSERT INTO gadgets (note) VALUES ('d')").await);
        assert_eq!(max_id(&t, "gadgets").await, 5);
        assert_eq!(t.direct_count("gadget_notes").await, Some(2));
        assert_eq!(t.direct_count("gadget_log").await, Some(5));
    }
}

/// Kind 3: a new required column without a default. MySQL fills existing
/// rows with 0 or '' where the others refuse: every backend now refuses
/// when the table has rows, and accepts when it is empty.
mod required_columns {
    use super::*;
    use orm::migrate::{run, status, Migration};

    fn add_rank() -> Vec<Migration> {
        let v1 = snapshot(vec![column("name", SqlType::Text, false)]);
        let (up, down) = diff(&Snapshot::default(), &v1);
        // A step that MySQL would commit before the required column comes first.
        let label = Operation::AddColumn { table: "gadgets".into(), column: column("label", SqlType::Text, true) };
        let add = Operation::AddColumn { table: "gadgets".into(), column: Column::new("rank", SqlType::Int) };
        let second = Migration::new("0002_add_rank").up(label.clone()).up(add.clone()).down(add.reverse().unwrap()).down(label.reverse().unwrap());
        vec![Migration { name: "0001_create".into(), up, down }, second]
    }

    #[tokio::test]
    async fn a_required_column_without_a_default_is_refused_over_rows_on_every_backend() {
        let Some(t) = crate::db().await else { return };
        let all = add_rank();
        run(&t.db, "db", &all[..1]).await.unwrap();
        assert!(works(&t, "INSERT INTO gadgets (name) VALUES ('kept')").await);
        let err = run(&t.db, "db", &all).await.unwrap_err();
        assert!(
            matches!(&err, Error::Migration { message } if message.contains("`gadgets`.`rank`") && message.contains("has rows") && message.contains("default")),
            "{err:?}"
        );
        assert!(!works(&t, "SELECT rank FROM gadgets").await, "nothing was added");
        assert!(!works(&t, "SELECT label FROM gadgets").await, "not even the step before it (MySQL: checked first)");
        assert_eq!(status(&t.db, "db").await.unwrap().len(), 1, "and nothing recorded");

        // On an empty table the same migration applies everywhere.
        assert!(works(&t, "DELETE FROM gadgets").await);
        assert_eq!(run(&t.db, "db", &all).await.unwrap(), ["0002_add_rank"]);
        assert!(works(&t, "INSERT INTO gadgets (name, rank) VALUES ('new', 2)").await);
        assert!(!works(&t, "INSERT INTO gadgets (name) VALUES ('no rank')").await, "required, no default");
    }
}

/// Kind 3: a rollback that fails half-way. Where DDL is transactional
/// (PostgreSQL, SQLite) it changes nothing and can be tried again; on MySQL
/// the steps before the failure stay done, so the migration is marked,
/// every later command refuses with repair guidance, and the message says
/// which steps ran.
mod failed_rollbacks {
    use super::*;
    use orm::migrate::{rollback, run, status, Migration, MigrationState};

    /// 0002 drops a unique column whose default is the same for every row:
    /// its way back re-adds it, and the unique index over two rows collides.
    fn migrations() -> Vec<Migration> {
        let mut code = column("code", SqlType::Text, false).unique().default(Default::Text("none".into()));
        code.max_length = Some(32);
        let v1 = snapshot(vec![column("name", SqlType::Text, false), code]);
        let v2 = snapshot(vec![column("name", SqlType::Text, false)]);
        let (up1, down1) = diff(&Snapshot::default(), &v1);
        let (up2, down2) = diff(&v1, &v2);
        vec![Migration { name: "0001_create".into(), up: up1, down: down1 }, Migration { name: "0002_drop_code".into(), up: up2, down: down2 }]
    }

    #[tokio::test]
    async fn a_rollback_that_fails_half_way_is_marked_or_undone_whole() {
        let Some(t) = crate::db().await else { return };
        let all = migrations();
        run(&t.db, "db", &all).await.unwrap();
        assert!(works(&t, "INSERT INTO gadgets (name) VALUES ('a'), ('b')").await);
        let err = rollback(&t.db, "db", &all, Some(1)).await.unwrap_err();
        let Error::Migration { message } = &err else { panic!("{err:?}") };
        let state = |s: Vec<orm::migrate::Applied>| s.into_iter().map(|a| (a.name, a.state)).collect::<Vec<_>>();
        match crate::KIND {
            orm_tests::Kind::MySql => {
                assert!(message.contains("0002_drop_code") && message.contains("step 2 of 3"), "{message}");
                assert!(message.contains("step 1 ran and stays applied"), "{message}");
                assert!(works(&t, "SELECT code FROM gadgets").await, "MySQL committed step 1");
                assert_eq!(
                    state(status(&t.db, "db").await.unwrap()),
                    [("0001_create".to_owned(), MigrationState::Applied), ("0002_drop_code".to_owned(), MigrationState::RollbackFailed)]
                );
                // Every later command refuses, saying how to repair, and changes nothing.
                for err in [rollback(&t.db, "db", &all, Some(1)).await.unwrap_err(), run(&t.db, "db", &all).await.unwrap_err()] {
                    assert!(
                        matches!(&err, Error::Migration { message } if message.contains("0002_drop_code") && message.contains("rolling back") && message.contains("repair")),
                        "{err:?}"
                    );
                }
                assert_eq!(t.direct_count("gadgets").await, Some(2));
            }
            _ => {
                assert!(message.contains("0002_drop_code") && message.contains("nothing of it was undone"), "{message}");
                assert!(!works(&t, "SELECT code FROM gadgets").await, "all or nothing");
                assert_eq!(
                    state(status(&t.db, "db").await.unwrap()),
                    [("0001_create".to_owned(), MigrationState::Applied), ("0002_drop_code".to_owned(), MigrationState::Applied)]
                );
                // The same failure again (never "duplicate column"), then, with the rows fixed, done.
                let again = rollback(&t.db, "db", &all, Some(1)).await.unwrap_err();
                assert!(matches!(&again, Error::Migration { message: m } if m.contains("nothing of it was undone")), "{again:?}");
                assert!(works(&t, "DELETE FROM gadgets WHERE name = 'b'").await);
                assert_eq!(rollback(&t.db, "db", &all, Some(1)).await.unwrap(), ["0002_drop_code"]);
                assert!(works(&t, "SELECT code FROM gadgets").await);
                assert!(run(&t.db, "db", &all).await.is_ok());
            }
        }
    }
}

/// `make` refuses a new required column without a default, naming the
/// attribute to add or the backfill to give; with a backfill the migration
/// fills the existing rows on every backend and leaves no default behind.
mod backfills {
    use super::*;
    use orm::migrate::{files, rollback, run, Backfill};

    #[tokio::test]
    async fn make_asks_for_a_default_or_a_backfill_and_the_backfill_fills_every_row() {
        let Some(t) = crate::db().await else { return };
        let root = std::env::temp_dir().join(format!("orm-backfill-{}-{}", std::process::id(), crate::KIND as u8));
        let _ = std::fs::remove_dir_all(&root);
        // The last migration made `auser` without `name`; the model has it now (required, no default).
        let mut before = Snapshot::of_connection("essentials");
        before.tables.get_mut("auser").unwrap().columns.retain(|c| c.name != "name");
        let dir = root.join("essentials");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("snapshot.json"), serde_json::to_string(&before).unwrap()).unwrap();
        let (up, down) = diff(&Snapshot::default(), &before);
        let first = orm::migrate::Migration { name: "0001_create_users".into(), up, down };
        std::fs::write(dir.join("0001_create_users.json"), serde_json::to_string(&first).unwrap()).unwrap();
        let db = orm::Database::builder().connection("essentials", &t.url).build().await.unwrap();
        run(&db, "essentials", &files::load(&root, "essentials").unwrap()).await.unwrap();
        let insert = |email: &str| format!("INSERT INTO auser (email) VALUES ('{email}')");
        assert!(orm::raw(insert("a@x.org")).execute(db.connection("essentials").unwrap()).await.is_ok());

        let err = files::make(&root, "essentials", "add_name").unwrap_err();
        assert!(
            matches!(&err, Error::Migration { message } if message.contains("`auser`.`name`") && message.contains("#[orm(default = ...)]") && message.contains("--backfill auser.name=")),
            "{err:?}"
        );
        assert!(!dir.join("0002_add_name.json").exists(), "nothing written");
        assert_eq!(files::load_snapshot(&root, "essentials").unwrap(), before, "the snapshot untouched");

        let backfill = Backfill::parse("auser.name=Unknown").unwrap();
        assert!(matches!(Backfill::parse("auser.name"), Err(Error::Migration { .. })));
        files::make_with_backfills(&root, "essentials", "add_name", &[backfill]).unwrap().unwrap();
        let all = files::load(&root, "essentials").unwrap();
        assert_eq!(run(&db, "essentials", &all).await.unwrap(), ["0002_add_name"]);
        let (name,): (String,) = orm::raw("SELECT name FROM auser").fetch_one(db.connection("essentials").unwrap()).await.unwrap();
        assert_eq!(name, "Unknown", "the existing row got the backfill value");
        assert!(orm::raw(insert("b@x.org")).execute(db.connection("essentials").unwrap()).await.is_err(), "no default is left behind");
        assert_eq!(rollback(&db, "essentials", &all, Some(1)).await.unwrap(), ["0002_add_name"]);
        assert_eq!(t.direct_count("auser").await, Some(1));

        // The command line takes the same backfill.
        std::fs::remove_file(dir.join("0002_add_name.json")).unwrap();
        std::fs::write(dir.join("snapshot.json"), serde_json::to_string(&before).unwrap()).unwrap();
        let cli = |words: &[&str]| orm::migrate::cli::main(root.clone(), words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
        assert_eq!(cli(&["make", "add_name"]).await, 1, "refused without a backfill");
        assert_eq!(cli(&["make", "add_name", "--backfill", "auser.name=Unknown"]).await, 0);
        assert!(dir.join("0002_add_name.json").exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
