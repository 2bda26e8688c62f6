// Streaming on every backend: 50,000 rows yielded one by one in order; the
// connection goes back to the pool when the stream ends, and a stream
// dropped half-way frees its place (its statement stopped, its connection
// closed) so that the next query on a pool of one connection runs; an
// error met mid-stream (a row that cannot be decoded, the 30,000th) is
// yielded after the rows before it, which shows the rows arrive before the
// result is complete, and ends the stream; inside a transaction the stream
// borrows it and sees its uncommitted rows; dropped early there, it aborts
// the transaction (its next statement is TransactionAborted).

use std::time::Duration;

use orm::prelude::*;
use orm::{Error, PoolOptions};
use orm_tests::blog::{author, post, Author, Post};
use orm_tests::models::{order, Order};

const ROWS: i64 = 50_000;

async fn pool_of_one() -> Option<(orm_tests::TestDb, orm::Database)> {
    let t = crate::db().await?;
    let db = orm::Database::builder()
        .connection_with("db", &t.url, PoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(20)))
        .build()
        .await
        .unwrap();
    db.create_table::<Order>().await.unwrap();
    for start in (0..ROWS).step_by(10_000) {
        let batch: Vec<Order> = (start..start + 10_000)
            .map(|i| Order::new(i % 10, "paid", i as f64, (i % 100) as i16))
            .collect();
        Order::insert_many(&db, &batch).await.unwrap();
    }
    Some((t, db))
}

#[tokio::test]
async fn fifty_thousand_rows_are_streamed_in_order_and_the_connection_returns() {
    let Some((_t, db)) = pool_of_one().await else { return };
    let mut rows = Order::query().order_by(order::id).stream(&db);
    let mut count = 0i64;
    let mut last = 0;
    while let Some(o) = rows.try_next().await.unwrap() {
        assert!(o.id > last, "in order");
        last = o.id;
        count += 1;
        if count == 1 {
            let m = db.metrics("db").unwrap();
            assert_eq!(m.in_use, 1, "the stream holds the connection: {m:?}");
        }
    }
    assert_eq!(count, ROWS);
    // Past its end a stream stays ended.
    assert!(rows.try_next().await.unwrap().is_none());
    drop(rows);
    let m = db.metrics("db").unwrap();
    assert_eq!((m.size, m.in_use, m.idle), (1, 0, 1), "the connection went back to the pool: {m:?}");
    // A selection streams too, as `futures` combinators see it.
    let totals = Order::query().filter(order::customer_id.eq(3)).select(order::total).stream(&db);
    let sum = futures_fold(totals).await;
    assert_eq!(sum, (0..ROWS).filter(|i| i % 10 == 3).map(|i| i as f64).sum::<f64>());
}

/// Sums a stream of totals with the `futures` combinators.
async fn futures_fold(stream: orm::RowStream<'_, f64>) -> f64 {
    use futures_util::TryStreamExt as _;
    stream.try_fold(0.0, |sum, total| async move { Ok(sum + total) }).await.unwrap()
}

#[tokio::test]
async fn a_stream_dropped_half_way_frees_the_only_connection() {
    let Some((_t, db)) = pool_of_one().await else { return };
    let cancels = db.metrics("db").unwrap().cancels;
    let mut rows = Order::query().order_by(order::id).stream(&db);
    for expected in 1..=10 {
        assert_eq!(rows.try_next().await.unwrap().unwrap().id, expected);
    }
    drop(rows);
    // The next query waits for the one place in the pool, which the
    // dropped stream gives back once its statement is stopped.
    let n = orm_tests::within("a query after a dropped stream", Order::query().count(&db)).await.unwrap();
    assert_eq!(n, ROWS);
    let m = db.metrics("db").unwrap();
    assert_eq!(m.in_use, 0, "{m:?}");
    assert_eq!(m.cancels, cancels + 1, "the dropped stream's statement was stopped: {m:?}");
    // And again: no place is lost.
    for _ in 0..3 {
        let mut rows = Order::query().stream(&db);
        assert!(rows.try_next().await.unwrap().is_some());
    }
    let first = Order::query().order_by(order::id).first(&db).await.unwrap().unwrap();
    assert_eq!(first.id, 1);
}

/// A model of a table whose `label` the database lets be NULL.
#[orm::model(table = "stream_labels")]
#[derive(Debug)]
pub struct Label {
    #[orm(primary_key)]
    pub id: i64,
    pub label: String,
}

#[tokio::test]
async fn an_error_mid_stream_is_yielded_after_the_rows_before_it_and_ends_the_stream() {
    let Some((_t, db)) = pool_of_one().await else { return };
    let conn = || db.connection("db").unwrap();
    orm::raw("CREATE TABLE stream_labels (id BIGINT PRIMARY KEY, label TEXT)").execute(conn()).await.unwrap();
    for start in (1..=ROWS).step_by(10_000) {
        let batch: Vec<Label> = (start..start + 10_000).map(|id| Label { id, label: format!("row {id}") }).collect();
        Label::insert_many(&db, &batch).await.unwrap();
    }
    // NULL on PostgreSQL and MySQL; on SQLite, where sqlx decodes a NULL
    // text as "", bytes that are not UTF-8.
    let bad = if crate::KIND == orm_tests::Kind::Sqlite { "X'FF'" } else { "NULL" };
    let done = orm::raw(format!("UPDATE stream_labels SET label = {bad} WHERE id = 30000")).execute(conn()).await.unwrap();
    assert_eq!(done.rows_affected, 1);
    // `all()` fails as a whole.
    let all = Label::query().all(&db).await;
    assert!(matches!(all, Err(Error::Decode { .. })), "{:?}", all.map(|rows| rows.len()));

    let mut rows = Label::query().order_by(label::id).stream(&db);
    let mut count = 0i64;
    let error = loop {
        match rows.try_next().await {
            Ok(Some(row)) => {
                count += 1;
                assert_eq!(row.id, count);
            }
            Ok(None) => panic!("the stream ended without the error"),
            Err(e) => break e,
        }
    };
    assert_eq!(count, 29_999, "every row before the bad one was yielded first");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(rows.try_next().await.unwrap().is_none(), "the error ends the stream");
    drop(rows);
    // The connection is usable after the error.
    assert_eq!(Label::query().filter(label::id.lt(10)).count(&db).await.unwrap(), 9);
    assert_eq!(db.metrics("db").unwrap().in_use, 0);
}

#[tokio::test]
async fn a_server_error_is_the_streams_only_item() {
    let Some((_t, db)) = pool_of_one().await else { return };
    // A table that does not exist: the error comes before any row.
    let mut rows = Label::query().stream(&db);
    match rows.try_next().await {
        Err(Error::Query { .. }) => {}
        other => panic!("expected a query error, got {other:?}"),
    }
    assert!(rows.try_next().await.unwrap().is_none());
    drop(rows);
    assert_eq!(Order::query().count(&db).await.unwrap(), ROWS);
}

#[tokio::test]
async fn a_stream_in_a_transaction_borrows_it_and_sees_its_rows() {
    let Some((_t, db)) = pool_of_one().await else { return };
    let mut tx = db.begin().await.unwrap();
    Order::create(&mut tx, Order::new(99, "uncommitted", 1.0, 1)).await.unwrap();
    let mut rows = Order::query().filter(order::customer_id.ge(9)).order_by(order::id).stream(&mut tx);
    let mut count = 0;
    let mut last = None;
    while let Some(o) = rows.try_next().await.unwrap() {
        count += 1;
        last = Some(o);
    }
    drop(rows);
    assert_eq!(count, ROWS / 10 + 1);
    assert_eq!(last.unwrap().status, "uncommitted");
    // The transaction goes on after the stream.
    Order::create(&mut tx, Order::new(99, "second", 1.0, 1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(Order::query().count(&db).await.unwrap(), ROWS);
}

#[tokio::test]
async fn a_joined_query_streams_too() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<Author>().await.unwrap();
    db.create_table::<Post>().await.unwrap();
    let authors: Vec<Author> = (0..50).map(|i| Author { id: 0, name: format!("a{i:02}") }).collect();
    Author::insert_many(db, &authors).await.unwrap();
    let posts: Vec<Post> = (0..5_000).map(|i| Post { id: 0, author_id: i % 50 + 1, title: format!("p{i}") }).collect();
    Post::insert_many(db, &posts).await.unwrap();
    let query = || Post::query().join(post::author).filter(author::name.lt("a10")).order_by(author::name.desc()).order_by(post::id);
    let all: Vec<(Post, Author)> = query().all(db).await.unwrap();
    assert_eq!(all.len(), 1_000);
    let mut rows = query().stream(db);
    let mut streamed = Vec::new();
    while let Some(row) = rows.try_next().await.unwrap() {
        assert_eq!(row.0.author_id, row.1.id);
        streamed.push(row);
    }
    assert_eq!(streamed, all);
}

#[tokio::test]
async fn a_stream_dropped_early_in_a_transaction_aborts_it() {
    let Some((_t, db)) = pool_of_one().await else { return };
    let mut tx = db.begin().await.unwrap();
    Order::create(&mut tx, Order::new(99, "uncommitted", 1.0, 1)).await.unwrap();
    let mut rows = Order::query().order_by(order::id).stream(&mut tx);
    assert_eq!(rows.try_next().await.unwrap().unwrap().id, 1);
    drop(rows);
    // A statement was left in flight: the transaction cannot go on.
    match Order::query().count(&mut tx).await {
        Err(Error::TransactionAborted { .. }) => {}
        other => panic!("expected TransactionAborted, got {other:?}"),
    }
    drop(tx);
    // Rolled back, and the pool's one place is free again.
    let n = orm_tests::within("a query after the aborted transaction", Order::query().count(&db)).await.unwrap();
    assert_eq!(n, ROWS);
}
