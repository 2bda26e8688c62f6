// Observability: each statement is a `db.query` span with OpenTelemetry's
// attribute names and this crate's values, a transaction a `db.transaction`
// span holding its statements, a statement past the connection's threshold
// a `WARN` event, and every statement counted in the connection's metrics.
// Spans are caught by the tests' one global subscriber (orm_tests::events).

use std::time::Duration;

use orm::prelude::*;
use orm::{Error, PoolOptions};
use orm_tests::blog::{author, post, Author, Post};
use orm_tests::events::{Events, SpanRecord, Spans};
use orm_tests::models::{customer, Customer};
use orm_tests::Kind;

/// A test database with the customers table and one customer.
async fn setup() -> Option<(orm_tests::TestDb, Customer)> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    let ann = Customer::new("ann@x.org", "Ann", 1).insert(&t.db).await.unwrap();
    Some((t, ann))
}

/// The one `db.query` span caught, with what it says of its server
/// checked against `t`'s URL.
async fn only_statement(t: &orm_tests::TestDb, spans: &Spans) -> SpanRecord {
    let statements = spans.named("db.query");
    assert_eq!(statements.len(), 1, "one statement, one span: {statements:#?}");
    let span = statements.into_iter().next().unwrap();
    assert_server(t, &span).await;
    span
}

/// `db.system.name`, `db.namespace`, `server.address`, `server.port` and
/// `orm.connection` of a span of connection "db" of `t`.
async fn assert_server(t: &orm_tests::TestDb, span: &SpanRecord) {
    let system = match t.kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgresql",
        Kind::MySql if mariadb(t).await => "mariadb",
        Kind::MySql => "mysql",
    };
    assert_eq!(span.field("db.system.name"), Some(system));
    assert_eq!(span.field("orm.connection"), Some("db"));
    match t.kind {
        Kind::Sqlite => {
            let file = t.url.strip_prefix("sqlite://").unwrap();
            assert_eq!(span.field("db.namespace"), Some(file));
            assert_eq!(span.field("server.address"), None, "SQLite has no server");
            assert_eq!(span.field("server.port"), None);
        }
        Kind::Postgres | Kind::MySql => {
            // scheme://user@host:port/database?options
            let rest = t.url.split_once("://").unwrap().1;
            let authority = rest.split('/').next().unwrap();
            let host_port = authority.rsplit('@').next().unwrap();
            let (host, port) = host_port.split_once(':').unwrap();
            let database = rest.split_once('/').unwrap().1.split('?').next().unwrap();
            assert_eq!(span.field("db.namespace"), Some(database));
            assert_eq!(span.field("server.address"), Some(host));
            assert_eq!(span.field("server.port"), Some(port));
        }
    }
}

/// The `otel.name` of each span.
fn names(spans: &[SpanRecord]) -> Vec<&str> {
    spans.iter().map(|s| s.field("otel.name").unwrap()).collect()
}

/// The summaries of `statements`, the first an insert, as sent on `t`:
/// MySQL has no `RETURNING`, and reads the inserted row back by its key.
fn inserted<'a>(t: &orm_tests::TestDb, statements: &[&'a str]) -> Vec<&'a str> {
    let mut all = statements.to_vec();
    if t.kind == Kind::MySql {
        all.insert(1, "SELECT customers");
    }
    all
}

/// Whether the MySQL-protocol server is MariaDB (asked before the spans
/// of a test are caught).
async fn mariadb(t: &orm_tests::TestDb) -> bool {
    let (version,): (String,) = orm::raw("SELECT VERSION()").fetch_one(t.db.connection("db").unwrap()).await.unwrap();
    version.contains("MariaDB")
}

#[tokio::test]
async fn a_find_is_a_span_named_after_its_summary_with_the_semantic_convention_attributes() {
    let Some((t, ann)) = setup().await else { return };
    let (spans, _guard) = Spans::capture();
    let found = Customer::find(&t.db, ann.customer_id).await.unwrap();
    assert_eq!(found.as_ref(), Some(&ann));
    let span = only_statement(&t, &spans).await;
    assert_eq!(span.target, "orm::query");
    assert_eq!(span.field("otel.name"), Some("SELECT customers"));
    assert_eq!(span.field("otel.kind"), Some("client"));
    assert_eq!(span.field("db.operation.name"), Some("SELECT"));
    assert_eq!(span.field("db.collection.name"), Some("customers"));
    assert_eq!(span.field("db.query.summary"), Some("SELECT customers"));
    assert_eq!(span.field("db.response.returned_rows"), Some("1"));
    assert_eq!(span.field("orm.model"), Some("Customer"));
    assert_eq!(span.field("orm.role"), Some("primary"));
    assert_eq!(span.field("orm.attempt"), Some("1"));
    assert_eq!(span.field("error.type"), None);
    assert_eq!(span.field("db.response.status_code"), None);
    let text = span.field("db.query.text").unwrap();
    assert!(text.starts_with("SELECT") && text.contains("customers"), "{text}");
}

#[tokio::test]
async fn bound_values_never_appear_in_the_query_text() {
    let Some((t, _)) = setup().await else { return };
    let (spans, _guard) = Spans::capture();
    let none = Customer::query().filter(customer::email.eq("secret-value@x.org")).all(&t.db).await.unwrap();
    assert!(none.is_empty());
    let span = only_statement(&t, &spans).await;
    assert_eq!(span.field("db.response.returned_rows"), Some("0"));
    let text = span.field("db.query.text").unwrap();
    assert!(!text.contains("secret-value"), "a bound value in the query text: {text}");
}

#[tokio::test]
async fn an_insert_is_a_span_of_its_table_and_model() {
    let Some((t, _)) = setup().await else { return };
    let (spans, _guard) = Spans::capture();
    Customer::new("bob@x.org", "Bob", 2).insert(&t.db).await.unwrap();
    let statements = spans.named("db.query");
    assert_eq!(names(&statements), inserted(&t, &["INSERT customers"]));
    let span = &statements[0];
    assert_server(&t, span).await;
    assert_eq!(span.field("otel.name"), Some("INSERT customers"));
    assert_eq!(span.field("db.operation.name"), Some("INSERT"));
    assert_eq!(span.field("db.collection.name"), Some("customers"));
    assert_eq!(span.field("orm.model"), Some("Customer"));
    assert_eq!(span.field("error.type"), None);
    assert!(span.field("db.query.text").unwrap().starts_with("INSERT"));
}

#[tokio::test]
async fn a_join_names_both_tables_in_its_summary_and_the_first_as_its_collection() {
    let Some(t) = crate::db().await else { return };
    t.db.create_table::<Author>().await.unwrap();
    t.db.create_table::<Post>().await.unwrap();
    let ada = Author { id: 0, name: "ada".into() }.insert(&t.db).await.unwrap();
    for title in ["one", "two"] {
        Post { id: 0, author_id: ada.id, title: title.into() }.insert(&t.db).await.unwrap();
    }
    let (spans, _guard) = Spans::capture();
    let rows = Post::query().join(post::author).filter(author::name.eq("ada")).all(&t.db).await.unwrap();
    assert_eq!(rows.len(), 2);
    let span = only_statement(&t, &spans).await;
    assert_eq!(span.field("otel.name"), Some("SELECT posts authors"));
    assert_eq!(span.field("db.query.summary"), Some("SELECT posts authors"));
    assert_eq!(span.field("db.collection.name"), Some("posts"));
    assert_eq!(span.field("orm.model"), Some("Post"));
    assert_eq!(span.field("db.response.returned_rows"), Some("2"));
}

#[tokio::test]
async fn a_failed_statement_records_the_error_kind_and_the_database_code() {
    let Some((t, _)) = setup().await else { return };
    let (spans, _guard) = Spans::capture();
    let err = Customer::new("ann@x.org", "Ann again", 1).insert(&t.db).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(err.kind(), "unique_violation");
    let span = only_statement(&t, &spans).await;
    assert_eq!(span.field("error.type"), Some("unique_violation"));
    assert_eq!(span.field("otel.status_code"), Some("ERROR"));
    // PostgreSQL: SQLSTATE unique_violation; MySQL/MariaDB: ER_DUP_ENTRY;
    // SQLite: SQLITE_CONSTRAINT_UNIQUE (extended result code).
    let code = match t.kind {
        Kind::Postgres => "23505",
        Kind::MySql => "1062",
        Kind::Sqlite => "2067",
    };
    assert_eq!(span.field("db.response.status_code"), Some(code));
    assert_eq!(span.field("db.response.returned_rows"), None);
}

#[tokio::test]
async fn a_transaction_is_a_span_holding_its_statements_and_its_outcome() {
    let Some((t, ann)) = setup().await else { return };
    let (spans, _guard) = Spans::capture();
    t.db.transaction(async |tx| {
        Customer::new("cy@x.org", "Cy", 3).insert(&mut *tx).await?;
        Customer::find(&mut *tx, ann.customer_id).await?;
        Ok::<_, Error>(())
    })
    .await
    .unwrap();
    let transactions = spans.named("db.transaction");
    assert_eq!(transactions.len(), 1, "{transactions:#?}");
    let tx = &transactions[0];
    let statements = spans.named("db.query");
    assert_eq!(names(&statements), inserted(&t, &["INSERT customers", "SELECT customers"]));
    for s in &statements {
        assert_eq!(s.parent, Some(tx.id), "a statement of the transaction outside its span: {s:#?}");
    }
    assert_eq!(tx.target, "orm::transaction");
    assert_eq!(tx.field("orm.outcome"), Some("commit"));
    assert_eq!(tx.field("orm.attempt"), Some("1"));
    assert_eq!(tx.field("error.type"), None);
    assert_server(&t, tx).await;

    // Rolled back: explicitly, and by dropping the transaction.
    spans.clear();
    let mut tx = t.db.begin().await.unwrap();
    Customer::new("dee@x.org", "Dee", 4).insert(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    let tx = t.db.begin().await.unwrap();
    drop(tx);
    let outcomes: Vec<_> = spans.named("db.transaction").iter().map(|s| s.field("orm.outcome").map(str::to_owned)).collect();
    assert_eq!(outcomes, [Some("rollback".to_owned()), Some("rollback".to_owned())]);
    assert_eq!(Customer::query().count(&t.db).await.unwrap(), 2);
}

#[tokio::test]
async fn a_statement_outside_a_transaction_is_a_child_of_the_callers_span() {
    let Some((t, ann)) = setup().await else { return };
    let (spans, _guard) = Spans::capture();
    let request = tracing::info_span!(target: "orm_tests::request", "request");
    let request_id = request.id().map(|id| id.into_u64());
    tracing::Instrument::instrument(Customer::find(&t.db, ann.customer_id), request).await.unwrap();
    let span = only_statement(&t, &spans).await;
    assert!(request_id.is_some());
    assert_eq!(span.parent, request_id);
}

/// A database on `t`'s server whose connection "db" has `options`.
async fn with_options(t: &orm_tests::TestDb, options: PoolOptions) -> orm::Database {
    orm::Database::builder().connection_with("db", &t.url, options).build().await.unwrap()
}

#[tokio::test]
async fn bound_values_are_span_attributes_only_on_connections_that_opted_in() {
    let Some((t, ann)) = setup().await else { return };
    let traced = with_options(&t, PoolOptions::new().trace_parameters(true)).await;
    let (spans, _guard) = Spans::capture();
    // Opted in: each value under its 0-based index, as text.
    let rows = Customer::query()
        .filter(customer::email.eq("ann@x.org").and(customer::score.gt(0)))
        .all(&traced)
        .await
        .unwrap();
    assert_eq!(rows, vec![ann.clone()]);
    let span = only_statement(&t, &spans).await;
    assert_eq!(span.field("db.query.parameter.0"), Some("ann@x.org"));
    assert_eq!(span.field("db.query.parameter.1"), Some("0"));
    assert_eq!(span.field("db.query.parameter.2"), None);
    assert!(!span.field("db.query.text").unwrap().contains("ann@x.org"));

    // A find by key, and a NULL written by an update.
    let (spans, _guard) = Spans::capture();
    Customer::find(&traced, ann.customer_id).await.unwrap();
    Customer::query()
        .filter(customer::customer_id.eq(ann.customer_id))
        .update()
        .set(customer::nickname, None::<String>)
        .execute(&traced)
        .await
        .unwrap();
    let statements = spans.named("db.query");
    let key = ann.customer_id.to_string();
    assert_eq!(statements[0].field("db.query.parameter.0"), Some(key.as_str()));
    let update = statements.iter().find(|s| s.field("db.operation.name") == Some("UPDATE")).unwrap();
    assert_eq!(update.field("db.query.parameter.0"), Some("NULL"));
    assert_eq!(update.field("db.query.parameter.1"), Some(key.as_str()));

    // More than TRACED_PARAMETERS values (a batch) records none; PostgreSQL
    // sends a list as one array, which is shown.
    let (spans, _guard) = Spans::capture();
    let keys: Vec<i64> = (0..orm::TRACED_PARAMETERS as i64 + 4).collect();
    Customer::query().filter(customer::customer_id.is_in(keys)).all(&traced).await.unwrap();
    let span = only_statement(&t, &spans).await;
    match t.kind {
        Kind::Postgres => {
            assert_eq!(span.field("db.query.parameter.0"), Some("{0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19}"));
        }
        Kind::Sqlite | Kind::MySql => assert_eq!(span.field("db.query.parameter.0"), None),
    }

    // The same statement on a connection that did not opt in: no values,
    // although another connection of the process did.
    let (spans, _guard) = Spans::capture();
    Customer::query().filter(customer::email.eq("ann@x.org")).all(&t.db).await.unwrap();
    let span = only_statement(&t, &spans).await;
    assert_eq!(span.field("db.query.parameter.0"), None);
}

#[tokio::test]
async fn each_attempt_of_a_retried_read_is_a_span_with_its_number() {
    let Some((t, ann)) = setup().await else { return };
    // One connection, held by a transaction: every attempt of the read
    // meets the pool's timeout, and the policy allows two.
    let options = PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(50))
        .retry(orm::RetryPolicy::new().max_attempts(2).initial_backoff(Duration::from_millis(1)));
    let db = with_options(&t, options).await;
    let holder = db.begin().await.unwrap();
    let (spans, _guard) = Spans::capture();
    let err = Customer::get(&db, ann.customer_id).await.unwrap_err();
    assert!(matches!(err, Error::PoolTimeout { .. }), "{err:?}");
    let statements = spans.named("db.query");
    let attempts: Vec<_> = statements.iter().map(|s| s.field("orm.attempt").unwrap()).collect();
    assert_eq!(attempts, ["1", "2"], "{statements:#?}");
    for s in &statements {
        assert_eq!(s.field("error.type"), Some("pool_timeout"));
        assert_eq!(s.field("otel.name"), Some("SELECT customers"));
        assert_eq!(s.field("orm.model"), Some("Customer"));
    }
    holder.rollback().await.unwrap();
}

#[tokio::test]
async fn statements_slower_than_the_threshold_are_warnings_with_the_sql_duration_and_model() {
    let Some((t, ann)) = setup().await else { return };
    let (events, _guard) = Events::capture("orm::slow_query");
    // 1 ns: every statement is slower.
    let db = with_options(&t, PoolOptions::new().slow_query_threshold(Duration::from_nanos(1))).await;
    Customer::find(&db, ann.customer_id).await.unwrap();
    Customer::query().count(&db).await.unwrap();
    let caught = events.all();
    assert_eq!(caught.len(), 2, "{caught:#?}");
    let find = &caught[0];
    assert_eq!(find.level, tracing::Level::WARN);
    assert_eq!(find.fields.get("connection").map(String::as_str), Some("db"));
    assert_eq!(find.fields.get("model").map(String::as_str), Some("Customer"));
    let sql = &find.fields["sql"];
    assert!(sql.starts_with("SELECT") && sql.contains("customers"), "{sql}");
    let ms: f64 = find.fields["duration_ms"].parse().unwrap();
    assert!(ms > 0.0 && ms < 60_000.0, "{ms}");

    // 1 h: none is.
    let db = with_options(&t, PoolOptions::new().slow_query_threshold(Duration::from_secs(3600))).await;
    Customer::find(&db, ann.customer_id).await.unwrap();
    // Off.
    let db = with_options(&t, PoolOptions::new().slow_query_threshold(None)).await;
    Customer::find(&db, ann.customer_id).await.unwrap();
    assert_eq!(events.all().len(), 2);
}

#[tokio::test]
async fn the_slow_query_threshold_comes_from_the_environment_in_seconds() {
    let Some((t, ann)) = setup().await else { return };
    if orm_tests::not_on(t.kind, &[Kind::Sqlite], "`from_env` refuses the test models' Decimal column on SQLite before any statement runs (the variable's parsing is checked in connections.rs)") {
        return;
    }
    let (events, _guard) = Events::capture("orm::slow_query");
    for (value, warned) in [("0.000000001", 1), ("3600", 0), ("off", 0)] {
        let url = t.url.clone();
        let value = value.to_owned();
        // Every connection the test models use, on the one test database.
        let db = orm::Database::from_env_with(move |name| match name {
            "DATABASE_URL" | "DATABASE_ESSENTIALS_URL" | "DATABASE_LEGACY_URL" => Some(url.clone()),
            "DATABASE_SLOW_QUERY_THRESHOLD" => Some(value.clone()),
            _ => None,
        })
        .await
        .unwrap();
        let before = events.all().len();
        Customer::find(&db, ann.customer_id).await.unwrap();
        assert_eq!(events.all().len() - before, warned);
    }
}

#[tokio::test]
async fn metrics_count_each_statement_by_operation_and_each_failure_by_kind() {
    let Some((t, ann)) = setup().await else { return };
    let count = |m: &orm::PoolMetrics, op: &str| m.operations.iter().find(|o| o.operation == op).map_or(0, |o| o.duration.count);
    let errors = |m: &orm::PoolMetrics, kind: &str| m.errors_by_kind.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n);
    let before = t.db.metrics("db").unwrap();
    for _ in 0..3 {
        Customer::find(&t.db, ann.customer_id).await.unwrap();
    }
    Customer::new("eve@x.org", "Eve", 5).insert(&t.db).await.unwrap();
    Customer::new("eve@x.org", "Eve", 5).insert(&t.db).await.unwrap_err();
    let after = t.db.metrics("db").unwrap();
    // MySQL reads an inserted row back (no `RETURNING`).
    let reads_back = u64::from(t.kind == Kind::MySql);
    assert_eq!(count(&after, "SELECT") - count(&before, "SELECT"), 3 + reads_back);
    assert_eq!(count(&after, "INSERT") - count(&before, "INSERT"), 2, "the failed insert counts too");
    assert_eq!(errors(&after, "unique_violation") - errors(&before, "unique_violation"), 1);
    let select = after.operations.iter().find(|o| o.operation == "SELECT").unwrap();
    assert_eq!(select.duration.counts.iter().sum::<u64>(), select.duration.count);
    assert_eq!(select.duration.counts.len(), select.duration.boundaries.len() + 1);
    assert!(select.duration.sum > Duration::ZERO);
    assert_eq!(select.duration.boundaries, orm::DURATION_BOUNDARIES);
    // Every statement took a connection from the pool.
    assert!(after.acquire_times.count >= before.acquire_times.count + 5, "{:?} then {:?}", before.acquire_times, after.acquire_times);
    assert_eq!(after.acquire_times.count, after.acquisitions);
}
