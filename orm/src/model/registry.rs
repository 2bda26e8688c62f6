//! Every model declared anywhere in the program, collected at link time
//! (`inventory`), so that start-up can check that each connection a model
//! uses is configured and can hold the model's column types.

use crate::error::{Error, Result};
use crate::routing::names::env_prefix;
use crate::routing::Database;

/// One `#[orm::model]`.
#[doc(hidden)]
pub struct ModelEntry {
    pub model: &'static str,
    /// The table, with the connection it lives on.
    pub schema: &'static crate::model::schema::TableSchema,
}

inventory::collect!(ModelEntry);

pub(crate) fn models() -> impl Iterator<Item = &'static ModelEntry> {
    inventory::iter::<ModelEntry>.into_iter()
}

/// The tables a delete from `table` changes: itself, and every table whose
/// foreign key to it (on the same connection, so a real foreign key) says
/// `on_delete = "cascade"` (its rows are deleted too, and so on down) or
/// `"set null"` (its rows are updated), in that order.
pub(crate) fn changed_by_delete(
    table: &'static crate::model::schema::TableSchema,
) -> Vec<&'static str> {
    use crate::model::schema::OnDelete;
    let mut tables = vec![table.name];
    let mut next = 0;
    while next < tables.len() {
        let parent = tables[next];
        next += 1;
        for entry in models() {
            let child = entry.schema;
            if child.connection != table.connection || tables.contains(&child.name) {
                continue;
            }
            let refers = child.foreign_keys.iter().any(|fk| {
                let target = (fk.target)();
                matches!(fk.on_delete, OnDelete::Cascade | OnDelete::SetNull)
                    && target.table.name == parent
                    && target.connection == table.connection
            });
            if refers {
                tables.push(child.name);
            }
        }
    }
    tables
}

/// Start-up from the environment, and the check of every model against the
/// configured connections: here, because only the model layer knows which
/// connections the models use.
impl Database {
    /// Opens every connection that is declared (`orm::connections!`) or used
    /// by a model, from the process environment, then checks the models: see
    /// [`validate`](Self::validate).
    ///
    /// The environment has one family of variables per connection: for the
    /// default connection `db`,
    ///
    /// | variable | meaning |
    /// | --- | --- |
    /// | `DATABASE_URL` | the URL (required) |
    /// | `DATABASE_MAX_CONNECTIONS` | pool size (default 10) |
    /// | `DATABASE_ACQUIRE_TIMEOUT` | seconds to wait for a connection (default 30) |
    /// | `DATABASE_IDLE_TIMEOUT` | seconds before an unused connection closes (default 600; `off`) |
    /// | `DATABASE_MAX_LIFETIME` | seconds a connection lives (default 1800; `off`) |
    /// | `DATABASE_MIN_CONNECTIONS` | connections kept open (default 0) |
    /// | `DATABASE_STATEMENT_TIMEOUT` | seconds any statement may run (default: the server's; `off`) |
    /// | `DATABASE_LOCK_TIMEOUT` | seconds a statement waits for a lock (default: the server's; `off`) |
    /// | `DATABASE_LEAK_THRESHOLD` | seconds a connection may be held before it is reported (default `off`) |
    /// | `DATABASE_SLOW_QUERY_THRESHOLD` | seconds a statement may take before it is reported as a `WARN` event of target `orm::slow_query` (default `off`) |
    /// | `DATABASE_TRACE_PARAMETERS` | `on` to record bound values in statements' spans as `db.query.parameter.<n>` (default `off`) |
    /// | `DATABASE_RETRY_ATTEMPTS` | runs of a read (or idempotent write) after transient errors, in all (default 1: no retry) |
    /// | `DATABASE_RETRY_BACKOFF` | seconds before the first retry, doubling after (default 0.01) |
    /// | `DATABASE_RETRY_MAX_BACKOFF` | the longest pause between retries, in seconds (default 1) |
    /// | `DATABASE_REPLICA_URLS` | read replicas' URLs, separated by commas (default none) |
    /// | `DATABASE_REPLICA_WEIGHTS` | their weights, in the same order (default 1 each) |
    /// | `DATABASE_REPLICA_<n>_URL`, `DATABASE_REPLICA_<n>_WEIGHT` | one replica at a time, `n` from 1 to 32 |
    /// | `DATABASE_BALANCING` | `weighted` (default), `round_robin` or `least_connections` |
    /// | `DATABASE_READ_YOUR_WRITES` | `sticky` (default), `causal` or `off` |
    /// | `DATABASE_STICKY_WINDOW` | seconds a handle reads from the primary after its write (default 2) |
    /// | `DATABASE_CAUSAL_WAIT` | seconds a read with a causal token waits for a replica (default 1) |
    /// | `DATABASE_MAX_REPLICA_LAG` | seconds of lag past which a replica takes no reads (default `off`) |
    /// | `DATABASE_REPLICA_CHECK_INTERVAL` | seconds between replica health checks (default 1) |
    ///
    /// Seconds may have a fraction (`0.25`). See [`PoolOptions`](crate::PoolOptions),
    /// [`RetryPolicy`](crate::RetryPolicy) and
    /// [`ReplicationOptions`](crate::ReplicationOptions) for what each does on
    /// each backend.
    ///
    /// and for a connection named `essentials` the same with `DATABASE_ESSENTIALS_`
    /// in place of `DATABASE_` (`DATABASE_ESSENTIALS_URL`, ...).
    pub async fn from_env() -> Result<Database> {
        Database::from_env_with(|name| std::env::var(name).ok()).await
    }

    /// [`from_env`](Self::from_env), reading variables through `lookup`.
    pub async fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Database> {
        let mut names: Vec<&'static str> = crate::routing::names::connections()
            .map(|c| c.name)
            .chain(models().map(|m| m.schema.connection))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut builder = Database::builder();
        for name in names {
            let prefix = env_prefix(name);
            let Some(url) = lookup(&format!("{prefix}_URL")) else {
                if let Some(model) = models().find(|m| m.schema.connection == name) {
                    return Err(Error::NotConfigured {
                        connection: name.to_owned(),
                        hint: format!("set {prefix}_URL (model `{}` lives there)", model.model),
                    });
                }
                continue;
            };
            builder = builder.connection_from_env(name, &url, &lookup)?;
        }
        let db = builder.build().await?;
        db.validate()?;
        Ok(db)
    }

    /// Checks every model in the program against the configured connections:
    /// its connection must be configured, and its backend must hold each of
    /// its column types. [`from_env`](Self::from_env) calls this.
    pub fn validate(&self) -> Result<()> {
        // Missing connections first: they are the likelier mistake.
        for model in models() {
            if self.pool(model.schema.connection).is_err() {
                return Err(Error::NotConfigured {
                    connection: model.schema.connection.to_owned(),
                    hint: format!(
                        "set {}_URL, or add it to the builder (model `{}` lives there)",
                        env_prefix(model.schema.connection),
                        model.model
                    ),
                });
            }
        }
        for model in models() {
            let backend = self.pool(model.schema.connection)?.backend();
            if let Some((column, rust_type)) = model.schema.unsupported_column(backend) {
                return Err(Error::UnsupportedType {
                    backend: backend.name(),
                    rust_type,
                    context: format!(
                        " (column `{column}` of model `{}`, table `{}`)",
                        model.model, model.schema.name
                    ),
                });
            }
        }
        Ok(())
    }
}
