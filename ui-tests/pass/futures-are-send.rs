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
}
