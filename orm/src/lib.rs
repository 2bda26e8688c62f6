//! A compile-time, derive-macro ORM for Rust on sqlx and tokio.
//!
//! Annotate a plain struct with [`#[orm::model]`](macro@model) and it becomes
//! a model: it knows its table and columns, decodes rows by position, and has
//! typed queries and CRUD. Comparing a column with a value of the wrong type,
//! or filtering one model's query with another model's column, is a compile
//! error.
//!
//! ```
//! use orm::prelude::*;
//!
//! #[orm::model(table = "users")]
//! #[derive(Debug, PartialEq)]
//! pub struct User {
//!     #[orm(primary_key, auto)]
//!     pub uid: i64,
//!     #[orm(unique, max_length = 120)]
//!     pub email: String,
//!     pub nickname: Option<String>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<User>().await?;
//!
//! let ada = User::create(&db, User { uid: 0, email: "ada@example.com".into(), nickname: None }).await?;
//! assert_eq!(ada.uid, 1); // the generated key
//!
//! let found = User::query()
//!     .filter(user::email.ends_with("@example.com").and(user::nickname.is_null()))
//!     .all(&db)
//!     .await?;
//! assert_eq!(found, vec![ada]);
//! # Ok(()) }
//! ```
//!
//! The column handles live in a module named after the struct in snake case
//! (`user::email` above), so they never collide with methods on the struct.
//!
//! # Backends and types
//!
//! SQLite (feature `sqlite`, default), PostgreSQL (`postgres`) and
//! MySQL/MariaDB (`mysql`), chosen per connection by URL at run time. Field
//! types: `i16`, `i32`, `i64`, `f32`, `f64`, `bool`, `String`, `Vec<u8>`,
//! `rust_decimal::Decimal` (`decimal`), chrono's `NaiveDate`, `NaiveTime`,
//! `NaiveDateTime` and `DateTime<Utc>` (`chrono`), `uuid::Uuid` (`uuid`),
//! `serde_json::Value` and `Json<T>` (`json`), and `Option` of each. A type
//! a backend cannot hold (a decimal on SQLite) is refused with
//! [`Error::UnsupportedType`]; a value it cannot store exactly (a NaN on
//! SQLite, U+0000 in PostgreSQL text, a decimal beyond its column's
//! `precision` and `scale`) is refused when it is bound, before anything is
//! sent, with [`Error::UnrepresentableValue`]. The README's "Field types"
//! lists what each backend stores and refuses.
#![warn(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("enable at least one backend feature of `orm`: sqlite, postgres or mysql");

// The layers, bottom up; each imports only those before it (DESIGN.md,
// "Runtime layers").
mod backend;
mod connection;
pub mod diagram;
mod error;
pub mod migrate;
mod model;
pub mod query;
pub mod raw;
pub mod relations;
pub mod routing;
pub mod saga;

pub use backend::Backend;
pub use connection::conn::Done;
pub use connection::connect::Pooler;
pub use connection::metrics::{HistogramSnapshot, OperationMetrics, DURATION_BOUNDARIES};
pub use connection::pool::{PoolMetrics, PoolOptions, PooledConn};
pub use connection::retry::RetryPolicy;
pub use connection::transaction::{IsolationLevel, SqliteBegin, TransactionOptions};
pub use error::{Error, Result};
pub use model::schema;
#[cfg(feature = "json")]
pub use model::types::Json;
pub use model::types::{AutoKey, FieldType, Nullable, Numeric, SqlType, TextType, Value, ValueOf};
pub use model::upsert;
pub use model::upsert::{ColumnList, Upsert};
pub use model::{Column, ColumnOf, Model, NotReadOnly, WritableModel, WriteOps};
pub use query::Cached;
pub use query::{
    case_when, case_when_expr, count_all, not, value, Alias, Condition, Expr, ExprOps, Nulls,
    Ordering, Select, Selection, Update,
};
pub use query::{Cursor, Page, Paged, RowStream};
pub use raw::{raw, CachedRaw, FromRow, Raw};
pub use relations::{
    BelongsTo, ForeignKey, HasMany, HasOne, Joinable, KeyOf, ManyToMany, Relation, SameModel,
};
#[cfg(feature = "redis")]
pub use routing::RedisOptions;
pub use routing::{
    env_prefix, Balancing, BreakerState, Call, CausalToken, ConnectionName, Database,
    DatabaseBuilder, DefaultConnection, Executor, Pending, ReadYourWrites, ReplicaMetrics,
    ReplicationMetrics, ReplicationOptions, Savepoint, Transaction, WritableConnection,
    PENDING_BYTES, TRACED_PARAMETERS,
};
pub use routing::{CacheMetrics, CacheOptions, Cacheable};
pub use saga::{Saga, SagaError};

/// Declares the application's named connections, once:
///
/// ```
/// orm::connections! {
///     pub Main = "db";                      // the default connection
///     pub Essentials = "essentials";
///     pub Legacy = "legacy", read_only;     // never written
/// }
/// ```
///
/// Each line makes a type to name in `#[orm::model(connection = ...)]` and in
/// [`Database::begin_on`]. `"db"` is [`DefaultConnection`], the connection of
/// models that name none. A model on a `read_only` connection has no write
/// operations, and the connection opens read-only sessions.
pub use orm_macros::connections;

/// Turns a struct into a model. See the crate documentation.
///
/// Container attributes: `table = "name"` (default: the struct's name in
/// snake case, plus `s`), `connection = Type` (default:
/// [`DefaultConnection`]), `read_only` (no write operations),
/// `cache(ttl = N)` (`find` and `get` cached for N seconds; the model must
/// derive `serde::Serialize` and `serde::Deserialize`; see [`Select::cached`]). Field
/// attributes inside `#[orm(...)]`:
/// `primary_key`, `auto`, `column = "name"`, `unique`, `index`,
/// `max_length = N`, `default = literal`.
pub use orm_macros::model;

/// Everything a module that uses models needs: `use orm::prelude::*;`.
pub mod prelude {
    pub use crate::query::{count_all, Alias, ExprOps};
    pub use crate::Relation;
    pub use crate::{
        Database, IsolationLevel, Model, PoolOptions, RetryPolicy, SqliteBegin, Transaction,
        TransactionOptions, WriteOps,
    };
}

/// Items the generated code refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::connection::driver::{Args, RowRef};
    pub use crate::diagram::{DeclaredRelation, ModelFacts, RelationKind};
    pub use crate::model::defaults::{check_default, DefaultOf, Literal as DefaultLiteral};
    pub use crate::model::registry::ModelEntry;
    pub use crate::model::schema::{
        ColumnSchema, DecimalSize, DefaultValue, ForeignKeySchema, ForeignTarget, IndexSchema,
        OnDelete, TableSchema,
    };
    pub use crate::model::types::Scalar;
    pub use crate::model::types::{
        is_unset_key, via_column, AutoKey, DecimalType, FieldType, SqlType, TextType, Value,
    };
    pub use crate::model::SqlCache;
    pub use crate::query::grouping::{ByKey, GroupedBy, KeyIn};
    pub use crate::query::{arith, divide};
    pub use crate::relations::check as relation_check;
    pub use crate::relations::{relation, HasRelation, Hint, JoinStep, HINT_DEPTH};
    pub use crate::routing::cache::{model_cache, ModelCache};
    pub use crate::routing::names::{connection_name, ConnectionEntry};
    pub use crate::routing::Session;
    pub use crate::Backend;
    pub use crate::Error;
    pub use core::result::Result;
    pub use inventory;
}
