// Transactions: commit, rollback, rollback on drop and on panic, and every
// model operation running inside one.

use orm::prelude::*;
use orm_tests::models::{customer, Customer};

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    Some(t)
}

#[tokio::test]
async fn commit_makes_writes_visible() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    let c = Customer::new("t@x.org", "T", 1).insert(&mut tx).await.unwrap();
    assert_eq!(Customer::find(&mut tx, c.customer_id).await.unwrap(), Some(c.clone()));
    tx.commit().await.unwrap();
    assert_eq!(Customer::find(db, c.customer_id).await.unwrap(), Some(c));
}

#[tokio::test]
async fn uncommitted_writes_are_invisible_outside() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    Customer::new("hidden@x.org", "H", 1).insert(&mut tx).await.unwrap();
    assert_eq!(Customer::count(&mut tx).await.unwrap(), 1);
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    tx.rollback().await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn rollback_undoes_every_kind_of_write() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut kept = Customer::new("kept@x.org", "Kept", 1).insert(db).await.unwrap();
    let doomed = Customer::new("doomed@x.org", "Doomed", 2).insert(db).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    Customer::new("new@x.org", "New", 3).insert(&mut tx).await.unwrap();
    Customer::insert_many(&mut tx, &[Customer::new("m1@x.org", "M", 4), Customer::new("m2@x.org", "M", 5)])
        .await
        .unwrap();
    kept.name = "Changed".into();
    kept.update(&mut tx).await.unwrap();
    doomed.delete(&mut tx).await.unwrap();
    let n = Customer::query()
        .filter(customer::name.eq("M"))
        .update()
        .set(customer::score, 100)
        .execute(&mut tx)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(Customer::query().filter(customer::score.eq(100)).delete(&mut tx).await.unwrap(), 2);
    assert_eq!(Customer::all(&mut tx).await.unwrap().len(), 2);
    assert!(Customer::query().filter(customer::name.eq("Changed")).exists(&mut tx).await.unwrap());
    assert!(Customer::query().filter(customer::name.eq("New")).first(&mut tx).await.unwrap().is_some());
    tx.rollback().await.unwrap();

    let names: Vec<String> = Customer::all(db).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Kept", "Doomed"]);
}

#[tokio::test]
async fn dropping_a_transaction_rolls_it_back_and_the_connection_stays_usable() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for i in 0..20 {
        let mut tx = db.begin().await.unwrap();
        Customer::new(&format!("d{i}@x.org"), "D", i).insert(&mut tx).await.unwrap();
        drop(tx);
    }
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    // An error path that returns early with `?` rolls back the same way.
    async fn fails(db: &orm::Database) -> orm::Result<()> {
        let mut tx = db.begin().await?;
        Customer::new("e@x.org", "E", 1).insert(&mut tx).await?;
        Customer::new("e@x.org", "E again", 2).insert(&mut tx).await?;
        tx.commit().await
    }
    assert!(matches!(fails(db).await.unwrap_err(), orm::Error::UniqueViolation { .. }));
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    Customer::new("after@x.org", "After", 1).insert(db).await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 1);
}

#[tokio::test]
async fn a_panic_inside_a_transaction_rolls_it_back() {
    let Some(t) = setup().await else { return };
    let db = t.db.clone();
    let task = tokio::spawn(async move {
        let mut tx = db.begin().await.unwrap();
        Customer::new("p@x.org", "P", 1).insert(&mut tx).await.unwrap();
        panic!("boom inside the transaction");
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(Customer::count(&t.db).await.unwrap(), 0);
    Customer::new("p@x.org", "P", 1).insert(&t.db).await.unwrap();
}
