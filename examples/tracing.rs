//! The spans the ORM sends to `tracing`, printed to the terminal: one per
//! statement (a find, an insert, a join) and one per transaction, with
//! OpenTelemetry's attribute names.
//!
//!     cargo run --example tracing
//!
//! Each span is printed when it closes, with its fields and how long it
//! was busy; a transaction's statements are printed inside it
//! (`db.transaction{...}:db.query{...}`). With `tracing-opentelemetry` in
//! place of the `fmt` layer the same spans go to an OpenTelemetry
//! collector, named after their `otel.name` (`SELECT orders`).

use orm::prelude::*;
use tracing_subscriber::fmt::format::FmtSpan;

#[orm::model(table = "customers", has_many(orders = order::customer_id))]
#[derive(Clone, Debug)]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[orm::model(table = "orders")]
#[derive(Clone, Debug)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Customer, index)]
    pub customer_id: i64,
    pub total: f64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> orm::Result<()> {
    // Every span of the `orm::query` and `orm::transaction` targets is INFO.
    tracing_subscriber::fmt()
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .init();

    let db = orm::Database::connect("sqlite::memory:").await?;
    db.create_table::<Customer>().await?;
    db.create_table::<Order>().await?;

    println!("\n-- an insert");
    let ada = Customer {
        id: 0,
        name: "Ada".into(),
    }
    .insert(&db)
    .await?;

    println!("\n-- a transaction of two inserts");
    db.transaction(async |tx| {
        for total in [12.5, 40.0] {
            Order {
                id: 0,
                customer_id: ada.id,
                total,
            }
            .insert(&mut *tx)
            .await?;
        }
        Ok::<_, orm::Error>(())
    })
    .await?;

    println!("\n-- a find");
    let found = Customer::find(&db, ada.id).await?;
    assert!(found.is_some());

    println!("\n-- a join");
    let rows = Order::query()
        .join(order::customer)
        .filter(customer::name.eq("Ada"))
        .all(&db)
        .await?;
    println!("\n{} orders of Ada", rows.len());
    Ok(())
}
