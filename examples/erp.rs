//! An ERP on three databases: orders and products on "db", users and
//! departments on the shared "essentials" database, customers on the old
//! system's "legacy" database, which is read-only.
//!
//!     cargo run --example erp
//!
//! With arguments, it is the migration command line of these models
//! (`orm::migrate::cli`), as an application's `migrate` binary would be:
//! `cargo run --example erp -- diagram` draws them (the README's diagram);
//! `make NAME` writes their migrations under `examples/erp-migrations/`.
//!
//! With no configuration each connection is a SQLite file in a temporary
//! folder. Set DATABASE_URL, DATABASE_ESSENTIALS_URL and DATABASE_LEGACY_URL
//! (any mix of sqlite:, postgres:// and mysql:// URLs) to use real servers.

use orm::prelude::*;

orm::connections! {
    pub Main = "db";
    pub Essentials = "essentials";
    pub Legacy = "legacy", read_only;
}

#[orm::model(table = "departments", connection = Essentials, has_many(users = user::department_id))]
#[derive(Clone, Debug)]
pub struct Department {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(unique, max_length = 80)]
    pub name: String,
}

#[orm::model(table = "auser", connection = Essentials, has_many(entered = order::entered_by))]
#[derive(Clone, Debug)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
    #[orm(unique, max_length = 120)]
    pub email: String,
    #[orm(belongs_to = Department)]
    pub department_id: i64,
}

#[orm::model(table = "legacy_customers", connection = Legacy)]
#[derive(Clone, Debug)]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

#[orm::model(table = "products", connection = Main, has_many(orders = order::sku))]
#[derive(Clone, Debug)]
pub struct Product {
    #[orm(primary_key, max_length = 32)]
    pub sku: String,
    pub title: String,
    pub stock: i32,
}

#[orm::model(table = "erp_orders")] // the default connection: "db"
#[derive(Clone, Debug)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    /// A customer of the legacy system: loaded by a second query there.
    #[orm(belongs_to = Customer)]
    pub customer_id: i64,
    /// The user on "essentials" who entered it.
    #[orm(belongs_to = User, relation = "clerk")]
    pub entered_by: i64,
    /// A foreign key: products live on this connection too.
    #[orm(belongs_to = Product, relation = "product", max_length = 32)]
    pub sku: String,
    pub quantity: i32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        // Next to this file, whatever the working directory (`make` writes there).
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/erp-migrations");
        std::process::exit(orm::migrate::cli::main(folder, args).await);
    }
    let dir = std::env::temp_dir().join(format!("orm-erp-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = |name: &str| format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    let url = |var: &str, name: &str| std::env::var(var).unwrap_or_else(|_| sqlite(name));
    let (main_url, essentials_url, legacy_url) = (
        url("DATABASE_URL", "main"),
        url("DATABASE_ESSENTIALS_URL", "essentials"),
        url("DATABASE_LEGACY_URL", "legacy"),
    );

    seed_legacy(&legacy_url).await?;

    // The same variables `Database::from_env()` reads, with SQLite defaults.
    let vars = [
        ("DATABASE_URL", main_url),
        ("DATABASE_ESSENTIALS_URL", essentials_url),
        ("DATABASE_LEGACY_URL", legacy_url),
    ];
    let db = orm::Database::from_env_with(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .await?;
    for name in ["db", "essentials", "legacy"] {
        let ro = if db.is_read_only(name)? {
            ", read-only"
        } else {
            ""
        };
        println!("connection {name}: {}{ro}", db.backend(name)?);
    }

    db.create_table::<Department>().await?;
    db.create_table::<User>().await?;
    db.create_table::<Product>().await?;
    db.create_table::<Order>().await?;

    // Essentials: a department and a user, in one transaction on that connection.
    let mut tx = db.begin_on::<Essentials>().await?;
    let sales = Department {
        id: 0,
        name: "Sales".into(),
    }
    .insert(&mut tx)
    .await?;
    let clerk = User {
        uid: 0,
        email: "clerk@example.com".into(),
        department_id: sales.id,
    }
    .insert(&mut tx)
    .await?;
    tx.commit().await?;
    println!(
        "essentials: user {} in department {}",
        clerk.email, sales.name
    );

    // Main: stock and an order, referring to the other two databases by key.
    Product {
        sku: "KB-01".into(),
        title: "Keyboard".into(),
        stock: 5,
    }
    .insert(&db)
    .await?;
    let customer = Customer::query()
        .order_by(customer::id)
        .first(&db)
        .await?
        .ok_or("no legacy customers")?;
    let mut tx = db.begin().await?;
    let order = Order {
        id: 0,
        customer_id: customer.id,
        entered_by: clerk.uid,
        sku: "KB-01".into(),
        quantity: 2,
    }
    .insert(&mut tx)
    .await?;
    let mut keyboard = Product::get(&mut tx, "KB-01").await?;
    keyboard.stock -= order.quantity;
    keyboard.update(&mut tx).await?;
    tx.commit().await?;
    println!(
        "db: order {} for legacy customer {:?}, {} keyboards left",
        order.id, customer.name, keyboard.stock
    );

    // Each model went to its own database.
    let entered_by = order.clerk(&db).await?;
    let department = entered_by.department(&db).await?;
    println!(
        "order {} was entered by {} of {}",
        order.id, entered_by.email, department.name
    );

    // `customer.insert(&db)` does not compile: Customer is on a read-only
    // connection. Raw SQL is refused by the database itself:
    let refused = orm::raw("DELETE FROM legacy_customers")
        .execute(db.connection("legacy")?)
        .await;
    match refused {
        Err(orm::Error::ReadOnly { connection, .. }) => {
            println!("legacy refused a write on `{connection}`")
        }
        other => return Err(format!("expected a read-only refusal, got {other:?}").into()),
    }
    println!(
        "legacy customers still there: {}",
        Customer::count(&db).await?
    );
    for name in ["db", "essentials", "legacy"] {
        let m = db.metrics(name)?;
        println!(
            "metrics {name}: {} statements, {} errors, {} connections open",
            m.queries, m.errors, m.size
        );
    }
    db.close();
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The old system's data, written once through a writable connection of its own.
async fn seed_legacy(url: &str) -> orm::Result<()> {
    let seed = orm::Database::builder()
        .connection("legacy_seed", url)
        .build()
        .await?;
    let conn = || seed.connection("legacy_seed");
    let create = "CREATE TABLE IF NOT EXISTS legacy_customers (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL)";
    orm::raw(create).execute(conn()?).await?;
    orm::raw("DELETE FROM legacy_customers")
        .execute(conn()?)
        .await?;
    orm::raw("INSERT INTO legacy_customers (id, name) VALUES (1, 'Old Ada'), (2, 'Old Bob')")
        .execute(conn()?)
        .await?;
    seed.close();
    Ok(())
}
