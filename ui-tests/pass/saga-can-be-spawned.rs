// A saga can be spawned: its steps' futures own a `Database` clone, so the
// whole run is `Send + 'static`; and its report can be sent and shared like
// any error (`Box<dyn Error + Send + Sync>`, anyhow).
use orm::prelude::*;

#[orm::model]
pub struct Item {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[derive(Debug)]
pub enum AppError {
    Db(orm::Error),
    Refused,
}

impl From<orm::Error> for AppError {
    fn from(e: orm::Error) -> Self {
        AppError::Db(e)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for AppError {}

fn send_sync<T: Send + Sync + 'static>() {}

fn main() {
    // Compiling is the test; nothing runs.
    let _ = check;
    send_sync::<orm::SagaError>();
    send_sync::<orm::SagaError<AppError>>();
}

fn check(db: orm::Database) {
    let saga = orm::Saga::new("spawned")
        .step(
            "insert",
            |db| async move {
                // A transaction held across awaits inside a step.
                let mut tx = db.begin().await?;
                let item = Item { id: 0, name: "x".into() }.insert(&mut tx).await?;
                tx.commit().await?;
                Ok(item)
            },
            |db, item| async move { item.delete(&db).await },
        )
        .step(
            "retried",
            |db| async move {
                // The closure form, which retries the whole transaction.
                db.transaction(async |tx| Item { id: 0, name: "y".into() }.insert(tx).await)
                    .await
            },
            |db, item| async move { item.delete(&db).await },
        )
        .step("read", |db| async move { Item::count(&db).await }, |_, _| async { Ok(()) });
    let d = db.clone();
    let handle: tokio::task::JoinHandle<Result<orm::saga::Outputs, orm::SagaError>> =
        tokio::spawn(async move { saga.run(&d).await });
    drop(handle);

    let saga = orm::Saga::<AppError>::with_error_type("application errors")
        .step(
            "refuse",
            |db| async move {
                Item::count(&db).await?;
                Err::<(), _>(AppError::Refused)
            },
            |_, ()| async { Ok(()) },
        );
    let _ = tokio::spawn(async move {
        let report = saga.run(&db).await.unwrap_err();
        let _: Box<dyn std::error::Error + Send + Sync> = Box::new(report);
    });
}
