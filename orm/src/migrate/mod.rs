//! Schema snapshots and their differences: the core of generated migrations.
//!
//! A [`Snapshot`] is the schema of one connection as plain, serializable
//! data, taken from the models' [`TableSchema`]s. [`diff`] compares two
//! snapshots and returns the [`Operation`]s that turn the first into the
//! second, and the ones that turn it back. Operations are dialect-neutral
//! data: a migration file stores them, and they are rendered to the live
//! backend's SQL only when applied.
//!
//! [`run`], [`rollback`] and [`status`] apply [`Migration`]s and record them
//! per connection; [`files`] writes and reads migration files; [`seed`] runs
//! seeders; [`cli`] is the one-line command-line entry point (`make`, `new`,
//! `run`, `rollback`, `status`, `sql`, `check`, `seed`).
//!
//! A step that SQLite cannot do in place (changing a column or a foreign
//! key) is rendered as a table rebuild; to know the whole table, the runner
//! replays the applied migrations into a [`Snapshot`] ([`Snapshot::apply`])
//! and renders each step against the schema the steps before it leave.
//!
//! [`TableSchema`]: crate::schema::TableSchema

pub mod cli;
mod create;
mod diff;
pub mod files;
mod operations;
mod render;
mod runner;
pub mod seed;
mod snapshot;

pub use diff::{backfill, diff, Backfill};
pub use operations::{Column, Default, ForeignKey, Index, Operation, Table};
pub use runner::{
    apply, pending_sql, rollback, rollback_sql, run, run_reporting, status, Applied, Migration,
    MigrationState,
};
pub use snapshot::Snapshot;

pub use crate::model::schema::OnDelete;
