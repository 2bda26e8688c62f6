//! Migration files: one folder per connection, reviewed in version control.
//!
//! ```text
//! migrations/
//!   db/
//!     snapshot.json                 the schema the last migration leads to
//!     0001_create_orders.json       {"name": ..., "up": [...], "down": [...]}
//!     0002_add_status.json
//!   essentials/
//!     ...
//! ```

use std::path::{Path, PathBuf};

use super::{backfill, diff, Backfill, Migration, Operation, Snapshot};
use crate::error::{Error, Result};

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Migration {
        message: format!("{}: {e}", path.display()),
    }
}

fn folder(root: &Path, connection: &str) -> PathBuf {
    root.join(connection)
}

/// The snapshot recorded for `connection`, or an empty one before the first migration.
pub fn load_snapshot(root: &Path, connection: &str) -> Result<Snapshot> {
    let path = folder(root, connection).join("snapshot.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Migration {
            message: format!("{}: not a schema snapshot: {e}", path.display()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Snapshot::default()),
        Err(e) => Err(io(&path, e)),
    }
}

/// The migrations of `connection`, in name order.
pub fn load(root: &Path, connection: &str) -> Result<Vec<Migration>> {
    let dir = folder(root, connection);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io(&dir, e))?.path();
        let is_migration = path.extension().is_some_and(|x| x == "json")
            && path.file_name().is_some_and(|n| n != "snapshot.json");
        if !is_migration {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let migration: Migration = serde_json::from_str(&text).map_err(|e| Error::Migration {
            message: format!("{}: not a migration: {e}", path.display()),
        })?;
        out.push(migration);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::Migration {
            message: format!("migration name `{name}`: use lower-case letters, digits and `_`"),
        })
    }
}

fn write_migration(dir: &Path, migration: &Migration) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let path = dir.join(format!("{}.json", migration.name));
    if path.exists() {
        return Err(Error::Migration {
            message: format!("{} exists already: nothing was written", path.display()),
        });
    }
    let text = serde_json::to_string_pretty(migration).map_err(|e| Error::Migration {
        message: e.to_string(),
    })?;
    std::fs::write(&path, text + "\n").map_err(|e| io(&path, e))?;
    Ok(path)
}

/// Writes the next migration of `connection` with no steps, to be written by
/// hand: schema operations (the same ones `make` writes) and raw SQL steps
/// (`{"op": "sql", "sql": "...", "postgres": "..."}`). The snapshot is not
/// touched: the models remain what `make` compares with.
pub fn new(root: &Path, connection: &str, name: &str) -> Result<PathBuf> {
    check_name(name)?;
    let number = load(root, connection)?.len() + 1;
    write_migration(
        &folder(root, connection),
        &Migration::new(&format!("{number:04}_{name}")),
    )
}

/// Compares the models of `connection` with its last snapshot and writes
/// the next migration and the new snapshot. `Ok(None)` when nothing changed:
/// no file is written. A new required column without a default is refused
/// ([`Error::Migration`], nothing written): give it a default, or use
/// [`make_with_backfills`].
pub fn make(root: &Path, connection: &str, name: &str) -> Result<Option<PathBuf>> {
    make_with_backfills(root, connection, name, &[])
}

/// [`make`], with values for the rows that tables already have in new
/// required columns without a default (see [`Backfill`]). Backfills of
/// tables that are not on `connection` are left alone; one of a table of
/// the migration that matches no such column is an [`Error::Migration`].
pub fn make_with_backfills(
    root: &Path,
    connection: &str,
    name: &str,
    backfills: &[Backfill],
) -> Result<Option<PathBuf>> {
    check_name(name)?;
    let Some(Plan { up, down, snapshot }) = plan(root, connection, backfills)? else {
        return Ok(None);
    };
    let existing = load(root, connection)?;
    let number = existing.len() + 1;
    let migration = Migration {
        name: format!("{number:04}_{name}"),
        up,
        down,
    };
    let dir = folder(root, connection);
    // The migration first: a snapshot without its migration would hide the change.
    let path = write_migration(&dir, &migration)?;
    let snapshot_path = dir.join("snapshot.json");
    let snapshot = serde_json::to_string_pretty(&snapshot).map_err(|e| Error::Migration {
        message: e.to_string(),
    })?;
    std::fs::write(&snapshot_path, snapshot + "\n").map_err(|e| io(&snapshot_path, e))?;
    Ok(Some(path))
}

/// The next migration of a connection, before it is named and written.
pub(super) struct Plan {
    up: Vec<Operation>,
    down: Vec<Operation>,
    snapshot: Snapshot,
}

impl Plan {
    /// The steps that apply the migration.
    pub(super) fn up(&self) -> &[Operation] {
        &self.up
    }
}

/// The next migration of `connection`; `None` when the models match the
/// last snapshot.
pub(super) fn plan(root: &Path, connection: &str, backfills: &[Backfill]) -> Result<Option<Plan>> {
    let old = load_snapshot(root, connection)?;
    let new = Snapshot::of_connection(connection);
    let (up, _) = diff(&old, &new);
    if up.is_empty() {
        return Ok(None);
    }
    let up = backfill(up, backfills)?;
    let down = up.iter().rev().filter_map(Operation::reverse).collect();
    Ok(Some(Plan {
        up,
        down,
        snapshot: new,
    }))
}

/// Whether the models of `connection` differ from its last snapshot (a
/// migration should be made).
pub fn has_changes(root: &Path, connection: &str) -> Result<bool> {
    let old = load_snapshot(root, connection)?;
    Ok(!diff(&old, &Snapshot::of_connection(connection))
        .0
        .is_empty())
}
