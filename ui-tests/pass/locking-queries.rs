// Row locks in a transaction: before or after a join, with a selection,
// and their futures can be spawned.
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

/// A read-only model on a writable connection: it may be locked.
#[orm::model(read_only)]
pub struct Rate {
    #[orm(primary_key)]
    pub id: i64,
}

fn send<F: std::future::Future + Send + 'static>(f: F) -> F {
    f
}

fn main() {
    // Compiling is the test; nothing runs.
    let _ = check;
}

fn check(db: orm::Database) {
    let _ = send(async move {
        let mut tx = db.begin().await?;
        let _: Vec<Item> = Item::query().filter(item::name.eq("x")).for_update().all(&mut tx).await?;
        let _: Option<Item> = Item::query().for_update().nowait().order_by(item::id).first(&mut tx).await?;
        let _: Item = Item::query().for_share().skip_locked().one(&mut tx).await?;
        let _: i64 = Item::query().for_update().skip_locked().count(&mut tx).await?;
        let _: bool = Item::query().for_share().exists(&mut tx).await?;
        let _: Vec<String> = Item::query().for_update().select(item::name).all(&mut tx).await?;
        let _: Vec<(Part, Item)> = Part::query().for_update().join(part::item).all(&mut tx).await?;
        let _: Vec<(Part, Item)> = Part::query().join(part::item).for_share().nowait().all(&mut tx).await?;
        let _: Vec<Rate> = Rate::query().for_share().all(&mut tx).await?;
        // Without a lock, any executor still does.
        let _: Vec<Item> = Item::query().all(&db).await?;
        tx.commit().await
    });
}
