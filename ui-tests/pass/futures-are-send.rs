// Every operation's future can be spawned on a multi-threaded runtime.
use orm::prelude::*;

#[orm::model(has_many(parts = part::item_id))]
#[derive(Clone)]
pub struct Item {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model]
#[derive(Clone)]
pub struct Part {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Item)]
    pub item_id: i64,
}

fn send<F: std::future::Future + Send + 'static>(f: F) -> F {
    f
}

fn main() {
    // Compiling is the test; nothing runs.
    let _ = check;
}

fn check(db: orm::Database) {
    let d = db.clone();
    let _ = send(async move { Item::query().filter(item::name.eq("x")).all(&d).await });
    let d = db.clone();
    let _ = send(async move { Item::query().order_by(item::id).first(&d).await });
    let d = db.clone();
    let _ = send(async move { Item::query().count(&d).await });
    let d = db.clone();
    let _ = send(async move { Item::query().update().set(item::name, "y").execute(&d).await });
    let d = db.clone();
    let _ = send(async move { Item::query().delete(&d).await });
    let d = db.clone();
    let _ = send(async move { Item::find(&d, 1).await });
    let d = db.clone();
    let _ = send(async move { Item { id: 0, name: "x".into() }.insert(&d).await });
    let d = db.clone();
    let _ = send(async move { Part::query().join(part::item).all(&d).await });
    let d = db.clone();
    let _ = send(async move {
        let items = Item::all(&d).await?;
        item::parts.load(&items, &d).await
    });
    let d = db.clone();
    let _ = send(async move { orm::raw("SELECT 1").fetch_all::<(i64,)>(d.connection("db")?).await });
    let d = db.clone();
    let _ = send(async move {
        let mut tx = d.begin().await?;
        Item { id: 0, name: "x".into() }.insert(&mut tx).await?;
        tx.commit().await
    });
    let d = db.clone();
    let _ = send(async move {
        let mut tx = d.begin().await?;
        let mut sp = tx.savepoint().await?;
        Item { id: 0, name: "x".into() }.insert(&mut sp).await?;
        sp.commit().await?;
        tx.commit().await
    });
    let d = db.clone();
    let _ = send(async move {
        let options = orm::TransactionOptions::new().isolation(orm::IsolationLevel::Serializable);
        let mut tx = d.begin_with(options).await?;
        Item::query().filter(item::id.eq(1)).for_update().all(&mut tx).await?;
        tx.commit().await
    });
    // The closure form, spawned: the closure owns what it uses (`async move`).
    let d = db.clone();
    let _ = send(async move {
        let name = String::from("x");
        d.transaction(async move |tx| {
            let item = Item { id: 0, name: name.clone() }.insert(&mut *tx).await?;
            Part { id: 0, item_id: item.id }.insert(&mut *tx).await
        })
        .await
    });
    let d = db.clone();
    let _ = send(async move { Item::find(d.idempotent(), 1).await });
    let d = db.clone();
    let _ = send(async move { Item::count(d.with_statement_timeout(std::time::Duration::from_secs(1))).await });
}
