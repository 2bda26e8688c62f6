// Row locks: `for_update()`, `for_share()`, `.nowait()`, `.skip_locked()`
// between two transactions on PostgreSQL and MySQL/MariaDB; the typed
// refusal on SQLite, and of what no backend takes with a lock.

use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::Error;
use orm_tests::blog::{author, post, Author, Post};
use orm_tests::models::{customer, Customer};
use orm_tests::Kind;

/// Three customers, by id: ann, bob, cy.
async fn setup() -> Option<(orm_tests::TestDb, [Customer; 3])> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    let mut rows = Vec::new();
    for name in ["ann", "bob", "cy"] {
        rows.push(Customer::new(&format!("{name}@x.org"), name, 1).insert(&t.db).await.unwrap());
    }
    let rows: [Customer; 3] = rows.try_into().unwrap();
    Some((t, rows))
}

/// The query on one customer, by key.
fn one_customer(c: &Customer) -> orm::Select<Customer> {
    Customer::query().filter(customer::customer_id.eq(c.customer_id))
}

/// Asserts `result` is the lock conflict a `nowait()` reports, quickly.
#[track_caller]
fn assert_lock_timeout<T: std::fmt::Debug>(result: orm::Result<T>, started: Instant) {
    match result {
        Err(Error::LockTimeout { .. }) => {}
        other => panic!("expected Error::LockTimeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5), "nowait() waited {:?}", started.elapsed());
}

fn invalid_query<T: std::fmt::Debug>(result: orm::Result<T>) -> String {
    match result {
        Err(Error::InvalidQuery { message }) => message,
        other => panic!("expected Error::InvalidQuery, got {other:?}"),
    }
}

/// Statements the pool of `db` has run.
fn statements(db: &orm::Database) -> u64 {
    db.metrics("db").unwrap().queries
}

#[tokio::test]
async fn nowait_fails_at_once_on_a_row_another_transaction_locked() {
    if crate::KIND == Kind::Sqlite {
        return; // no row locks: see sqlite_has_no_row_locks_and_says_what_to_do
    }
    let Some((t, [ann, bob, _])) = setup().await else { return };
    let db = &t.db;
    let mut a = db.begin().await.unwrap();
    assert_eq!(one_customer(&ann).for_update().all(&mut a).await.unwrap(), vec![ann.clone()]);

    let mut b = db.begin().await.unwrap();
    let started = Instant::now();
    assert_lock_timeout(one_customer(&ann).for_update().nowait().all(&mut b).await, started);
    b.rollback().await.unwrap();
    // A shared lock conflicts with A's exclusive one as well.
    let mut b = db.begin().await.unwrap();
    let started = Instant::now();
    assert_lock_timeout(one_customer(&ann).for_share().nowait().first(&mut b).await, started);
    b.rollback().await.unwrap();
    // Another row is free.
    let mut b = db.begin().await.unwrap();
    assert_eq!(one_customer(&bob).for_update().nowait().one(&mut b).await.unwrap(), bob);
    b.commit().await.unwrap();

    a.commit().await.unwrap();
    let mut b = db.begin().await.unwrap();
    assert_eq!(one_customer(&ann).for_update().nowait().one(&mut b).await.unwrap(), ann, "free after A commits");
    b.commit().await.unwrap();
}

#[tokio::test]
async fn skip_locked_returns_the_other_rows() {
    if crate::KIND == Kind::Sqlite {
        return;
    }
    let Some((t, [ann, bob, cy])) = setup().await else { return };
    let db = &t.db;
    let mut a = db.begin().await.unwrap();
    one_customer(&ann).for_update().all(&mut a).await.unwrap();

    // B takes every row that is free: bob and cy, not ann.
    let mut b = db.begin().await.unwrap();
    let free = Customer::query().order_by(customer::customer_id).for_update().skip_locked().all(&mut b).await.unwrap();
    assert_eq!(free, [bob.clone(), cy.clone()]);
    // A third worker finds nothing left to take, and does not wait.
    let mut c = db.begin().await.unwrap();
    let started = Instant::now();
    assert_eq!(Customer::query().for_update().skip_locked().all(&mut c).await.unwrap(), []);
    assert_eq!(Customer::query().for_update().skip_locked().count(&mut c).await.unwrap(), 0);
    assert!(!Customer::query().for_update().skip_locked().exists(&mut c).await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(5));
    c.rollback().await.unwrap();
    b.rollback().await.unwrap();

    // With B gone, a worker takes the first free row only (a queue's pop).
    let mut b = db.begin().await.unwrap();
    let next = Customer::query().order_by(customer::customer_id).for_update().skip_locked().first(&mut b).await.unwrap();
    assert_eq!(next, Some(bob));
    b.rollback().await.unwrap();
    a.rollback().await.unwrap();
}

#[tokio::test]
async fn plain_reads_do_not_wait_for_a_lock() {
    if crate::KIND == Kind::Sqlite {
        return;
    }
    let Some((t, [ann, ..])) = setup().await else { return };
    let db = &t.db;
    let mut a = db.begin().await.unwrap();
    one_customer(&ann).for_update().all(&mut a).await.unwrap();

    let mut b = db.begin().await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), one_customer(&ann).first(&mut b)).await;
    assert_eq!(seen.expect("a plain read waited for the lock").unwrap(), Some(ann.clone()));
    assert_eq!(Customer::query().count(&mut b).await.unwrap(), 3);
    b.commit().await.unwrap();
    assert_eq!(one_customer(&ann).first(db).await.unwrap(), Some(ann));
    a.commit().await.unwrap();
}

#[tokio::test]
async fn a_lock_waits_until_the_holder_commits_and_sees_its_change() {
    if crate::KIND == Kind::Sqlite {
        return;
    }
    let Some((t, [ann, ..])) = setup().await else { return };
    let mut a = t.db.begin().await.unwrap();
    one_customer(&ann).for_update().all(&mut a).await.unwrap();
    one_customer(&ann).update().set(customer::score, 99).execute(&mut a).await.unwrap();

    let db = t.db.clone();
    let key = ann.clone();
    let b = tokio::spawn(async move {
        let mut b = db.begin().await.unwrap();
        let row = one_customer(&key).for_update().one(&mut b).await.unwrap();
        let done = Instant::now();
        b.commit().await.unwrap();
        (row, done)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.is_finished(), "B's for_update() did not wait for A's lock");
    let committed = Instant::now();
    a.commit().await.unwrap();
    let (row, done) = tokio::time::timeout(Duration::from_secs(10), b).await.expect("B still waits after A committed").unwrap();
    assert!(done >= committed, "B took the lock before A committed");
    assert_eq!(row.score, 99, "B sees A's committed change");
}

#[tokio::test]
async fn shared_locks_in_two_transactions_both_succeed() {
    if crate::KIND == Kind::Sqlite {
        return;
    }
    let Some((t, [ann, ..])) = setup().await else { return };
    let db = &t.db;
    let mut a = db.begin().await.unwrap();
    assert_eq!(one_customer(&ann).for_share().all(&mut a).await.unwrap(), vec![ann.clone()]);
    let mut b = db.begin().await.unwrap();
    // `nowait()`: would fail, rather than hang, if the two conflicted.
    let started = Instant::now();
    assert_eq!(one_customer(&ann).for_share().nowait().all(&mut b).await.unwrap(), vec![ann.clone()]);
    assert_eq!(one_customer(&ann).for_share().skip_locked().count(&mut b).await.unwrap(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));

    // Both shared locks keep out an exclusive one.
    let mut c = db.begin().await.unwrap();
    let started = Instant::now();
    assert_lock_timeout(one_customer(&ann).for_update().nowait().all(&mut c).await, started);
    c.rollback().await.unwrap();
    a.commit().await.unwrap();
    let mut c = db.begin().await.unwrap();
    let started = Instant::now();
    assert_lock_timeout(one_customer(&ann).for_update().nowait().all(&mut c).await, started);
    c.rollback().await.unwrap();
    b.commit().await.unwrap();
    let mut c = db.begin().await.unwrap();
    assert_eq!(one_customer(&ann).for_update().nowait().one(&mut c).await.unwrap(), ann);
    c.commit().await.unwrap();
}

#[tokio::test]
async fn count_and_exists_take_the_lock_too() {
    if crate::KIND == Kind::Sqlite {
        return;
    }
    let Some((t, [ann, bob, _])) = setup().await else { return };
    let db = &t.db;
    let mut a = db.begin().await.unwrap();
    assert_eq!(one_customer(&ann).for_update().count(&mut a).await.unwrap(), 1);
    assert!(one_customer(&bob).for_update().exists(&mut a).await.unwrap());
    for c in [&ann, &bob] {
        let mut b = db.begin().await.unwrap();
        let started = Instant::now();
        assert_lock_timeout(one_customer(c).for_update().nowait().all(&mut b).await, started);
        b.rollback().await.unwrap();
    }
    a.rollback().await.unwrap();
}

#[tokio::test]
async fn a_join_locks_the_rows_of_both_models() {
    if crate::KIND == Kind::Sqlite {
        return;
    }
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<Author>().await.unwrap();
    db.create_table::<Post>().await.unwrap();
    let ada = Author { id: 0, name: "ada".into() }.insert(db).await.unwrap();
    let bea = Author { id: 0, name: "bea".into() }.insert(db).await.unwrap();
    let first = Post { id: 0, author_id: ada.id, title: "first".into() }.insert(db).await.unwrap();

    let mut a = db.begin().await.unwrap();
    let rows = Post::query().for_update().join(post::author).filter(author::name.eq("ada")).all(&mut a).await.unwrap();
    assert_eq!(rows, [(first.clone(), ada.clone())]);

    let mut b = db.begin().await.unwrap();
    let started = Instant::now();
    assert_lock_timeout(Post::query().filter(post::id.eq(first.id)).for_update().nowait().all(&mut b).await, started);
    b.rollback().await.unwrap();
    let mut b = db.begin().await.unwrap();
    let started = Instant::now();
    assert_lock_timeout(Author::query().filter(author::id.eq(ada.id)).for_update().nowait().all(&mut b).await, started);
    b.rollback().await.unwrap();
    let mut b = db.begin().await.unwrap();
    assert_eq!(Author::query().filter(author::id.eq(bea.id)).for_update().nowait().one(&mut b).await.unwrap(), bea);
    b.rollback().await.unwrap();
    a.rollback().await.unwrap();
}

#[tokio::test]
async fn what_no_backend_locks_is_refused_before_anything_is_sent() {
    let Some((t, _)) = setup().await else { return };
    let db = &t.db;
    db.create_table::<Author>().await.unwrap();
    db.create_table::<Post>().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let sent = statements(db);

    let m = invalid_query(Customer::query().group_by(customer::active).select((customer::active, customer::score.sum())).for_update().all(&mut tx).await);
    let m2 = invalid_query(Customer::query().select(orm::count_all()).for_share().one(&mut tx).await);
    let m3 = invalid_query(Author::query().left_join(author::posts).for_update().all(&mut tx).await);
    let m4 = invalid_query(Author::query().for_update().skip_locked().left_join(author::posts).count(&mut tx).await);
    if crate::KIND == Kind::Sqlite {
        for m in [&m, &m2, &m3, &m4] {
            assert!(m.contains("SQLite has no row locks"), "{m}");
        }
    } else {
        assert!(m.contains("`for_update()` on a query of `Customer` with `group_by`/`having`"), "{m}");
        assert!(m2.contains("`for_share()` on a query of `Customer` that selects an aggregate"), "{m2}");
        assert!(m2.contains("call `.count(..)` on the locking query"), "{m2}");
        for m in [&m3, &m4] {
            assert!(m.contains("on a `left_join` of `Author` and `Post`"), "{m}");
            assert!(m.contains("Use `join`"), "{m}");
        }
    }
    assert_eq!(statements(db), sent, "a refused lock sends nothing");
    // The transaction is untouched: PostgreSQL would have aborted it had
    // anything failed on the server.
    assert_eq!(Customer::query().count(&mut tx).await.unwrap(), 3);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn sqlite_has_no_row_locks_and_says_what_to_do() {
    if crate::KIND != Kind::Sqlite {
        return;
    }
    let Some((t, [ann, ..])) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    let sent = statements(db);
    let messages = [
        invalid_query(one_customer(&ann).for_update().all(&mut tx).await),
        invalid_query(one_customer(&ann).for_share().first(&mut tx).await),
        invalid_query(one_customer(&ann).for_update().nowait().one(&mut tx).await),
        invalid_query(one_customer(&ann).for_update().skip_locked().count(&mut tx).await),
        invalid_query(one_customer(&ann).for_share().skip_locked().exists(&mut tx).await),
    ];
    assert_eq!(statements(db), sent, "nothing is sent");
    for m in &messages {
        assert!(m.contains("on a query of `Customer`: SQLite has no row locks"), "{m}");
        assert!(m.contains("A SQLite write transaction locks the whole database"), "{m}");
        assert!(m.contains("sqlite_begin(SqliteBegin::Immediate)"), "{m}");
    }
    assert!(messages[0].starts_with("`for_update()`"));
    assert!(messages[1].starts_with("`for_share()`"));

    // What the message advises: the write first, in the transaction.
    one_customer(&ann).update().set(customer::score, 5).execute(&mut tx).await.unwrap();
    assert_eq!(one_customer(&ann).one(&mut tx).await.unwrap().score, 5);
    tx.commit().await.unwrap();
}
