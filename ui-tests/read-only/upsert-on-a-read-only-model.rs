use orm::prelude::*;

#[orm::model(table = "archived_invoices", read_only)]
pub struct ArchivedInvoice {
    #[orm(primary_key)]
    pub id: i64,
    pub total: f64,
}

async fn writes(db: &orm::Database, row: ArchivedInvoice) {
    let _ = ArchivedInvoice::upsert_many(std::slice::from_ref(&row)).execute(db).await;
    let _ = ArchivedInvoice::upsert(db, row).await;
}

fn main() {}
