//! The command line a user's binary runs in one line:
//!
//! ```no_run
//! # async fn demo() {
//! // src/bin/migrate.rs — the binary links the models, so it knows them.
//! std::process::exit(orm::migrate::cli::main("migrations", std::env::args().skip(1)).await);
//! # }
//! ```
//!
//! Commands: `make NAME [--backfill TABLE.COLUMN=VALUE]...` (the value
//! that existing rows take in a new required column without a default; see
//! [`Backfill`]), `new CONNECTION NAME` (an empty migration to
//! write by hand), `run`, `rollback [STEPS]`, `status`, `sql`, `check`, and
//! `seed [--force]` when the binary passes its seeders to [`main_with`],
//! and `diagram [--format mermaid|dot|svg] [--connection NAME]
//! [--from-snapshots]`, which writes the models' diagram to standard output
//! (see [`crate::diagram`]; Mermaid by default, SVG through Graphviz's
//! `dot`; from the snapshot files under the migrations folder with
//! `--from-snapshots`, which needs no database and no models).
//! They act on every connection that has models (configured from the
//! environment for the commands that talk to a database); read-only
//! connections are never migrated.

use std::path::Path;

use super::seed::{environment, Seeders};
use super::{files, rollback, run_reporting, status, Backfill, MigrationState};
use crate::diagram::{Diagram, Format};
use crate::error::Result;
use crate::Database;

const USAGE: &str = "usage: migrate make NAME [--backfill TABLE.COLUMN=VALUE]... | new CONNECTION NAME | run | rollback [STEPS] | status | sql | check | seed [--force] | diagram [--format mermaid|dot|svg] [--connection NAME] [--from-snapshots]";

/// The connections that have models, sorted.
fn connections() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = crate::model::registry::models()
        .map(|m| m.schema.connection)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The `--backfill TABLE.COLUMN=VALUE` flags of `make`; each must name a
/// table of a model.
fn backfills(flags: &[&str]) -> Result<Vec<Backfill>> {
    let mut out = Vec::new();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let value = match (*flag, flags.next()) {
            ("--backfill", Some(value)) => value,
            _ => {
                return Err(crate::Error::Migration {
                    message: format!(
                        "`make` takes only `--backfill TABLE.COLUMN=VALUE` after the name; {USAGE}"
                    ),
                })
            }
        };
        let backfill = Backfill::parse(value)?;
        let known = crate::model::registry::models().any(|m| m.schema.name == backfill.table);
        if !known {
            return Err(crate::Error::Migration {
                message: format!(
                    "backfill `{value}`: no model has the table `{}`",
                    backfill.table
                ),
            });
        }
        out.push(backfill);
    }
    Ok(out)
}

/// Runs one command; returns the process exit code (0 on success).
pub async fn main(root: impl AsRef<Path>, args: impl IntoIterator<Item = String>) -> i32 {
    main_with(root, &Seeders::new(), args).await
}

/// [`main`] for a binary that has seeders: `seed` runs them on the default
/// connection's database for the environment in `ORM_ENV` (or `APP_ENV`,
/// else `development`); production needs `seed --force`.
pub async fn main_with(
    root: impl AsRef<Path>,
    seeders: &Seeders,
    args: impl IntoIterator<Item = String>,
) -> i32 {
    let args: Vec<String> = args.into_iter().collect();
    match command(root.as_ref(), seeders, &args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `diagram [--format mermaid|dot|svg] [--connection NAME] [--from-snapshots]`:
/// the diagram's bytes. Nothing is opened: backends come from the URL
/// variables that are set.
fn diagram(root: &Path, flags: &[&str]) -> Result<Vec<u8>> {
    let usage = |message: String| crate::Error::Diagram {
        message: format!("{message}; {USAGE}"),
    };
    let (mut format, mut connection, mut from_snapshots) = (Format::Mermaid, None, false);
    let mut flags = flags.iter().copied();
    while let Some(flag) = flags.next() {
        match flag {
            "--from-snapshots" => from_snapshots = true,
            "--format" => {
                format = match flags.next() {
                    Some("mermaid") => Format::Mermaid,
                    Some("dot") => Format::Dot,
                    Some("svg") => Format::Svg,
                    other => {
                        return Err(usage(format!(
                            "`--format {}`: write `mermaid`, `dot` or `svg`",
                            other.unwrap_or_default()
                        )))
                    }
                }
            }
            "--connection" => match flags.next() {
                Some(name) => connection = Some(name),
                None => return Err(usage("`--connection` needs a connection's name".into())),
            },
            other => return Err(usage(format!("`diagram` does not take `{other}`"))),
        }
    }
    draw(root, format, connection, from_snapshots)
}

/// The diagram of the models (or of the snapshots), limited to one
/// connection when one is named, in `format`.
fn draw(
    root: &Path,
    format: Format,
    connection: Option<&str>,
    from_snapshots: bool,
) -> Result<Vec<u8>> {
    let mut diagram = if from_snapshots {
        Diagram::from_snapshots(root)?
    } else {
        Diagram::of_models()
    }
    .with_backends_from_env();
    if let Some(name) = connection {
        diagram = diagram.only_connection(name)?;
    }
    diagram.render(format)
}

async fn command(root: &Path, seeders: &Seeders, args: &[String]) -> Result<i32> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["diagram", flags @ ..] => {
            use std::io::Write as _;
            let bytes = diagram(root, flags)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| crate::Error::Diagram {
                    message: format!("cannot write to standard output: {e}"),
                })?;
            Ok(0)
        }
        ["new", connection, name] => {
            let path = files::new(root, connection, name)?;
            println!("{connection}: wrote {}, to fill in by hand", path.display());
            Ok(0)
        }
        ["seed"] | ["seed", "--force"] => {
            let db = Database::from_env().await?;
            let env = environment();
            let ran = seeders
                .run_reporting(&db, &env, words.len() == 2, &mut |name, took| {
                    println!("seeded {name} in {took:.1?}");
                })
                .await?;
            if ran.is_empty() {
                println!("no seeder runs in environment `{env}`");
            }
            Ok(0)
        }
        ["make", name, flags @ ..] => {
            let backfills = backfills(flags)?;
            // Every connection's migration is checked before any is written.
            for c in connections() {
                if !crate::routing::names::declared_read_only(c) {
                    files::plan(root, c, &backfills)?;
                }
            }
            for c in connections() {
                if crate::routing::names::declared_read_only(c) {
                    println!("{c}: read-only, never migrated: no migration written");
                    continue;
                }
                match files::make_with_backfills(root, c, name, &backfills)? {
                    Some(path) => println!("{c}: wrote {}", path.display()),
                    None => println!("{c}: nothing to do, the models match the last migration"),
                }
            }
            Ok(0)
        }
        ["check"] => {
            let mut changed = false;
            for c in connections()
                .into_iter()
                .filter(|c| !crate::routing::names::declared_read_only(c))
            {
                if files::has_changes(root, c)? {
                    println!(
                        "{c}: the models differ from the last migration: run `migrate make NAME`"
                    );
                    changed = true;
                }
            }
            Ok(i32::from(changed))
        }
        ["run"] | ["rollback"] | ["rollback", _] | ["status"] | ["sql"] => {
            let db = Database::from_env().await?;
            for c in connections() {
                if db.is_read_only(c)? {
                    println!("{c}: read-only, never migrated");
                    continue;
                }
                let migrations = files::load(root, c)?;
                match words[0] {
                    "run" => {
                        let applied = run_reporting(&db, c, &migrations, &mut |name, took| {
                            println!("{c}: applied {name} in {took:.1?}");
                        })
                        .await?;
                        if applied.is_empty() {
                            println!("{c}: up to date");
                        }
                    }
                    "rollback" => {
                        let steps = match words.get(1) {
                            Some(n) => {
                                Some(n.parse::<usize>().map_err(|_| crate::Error::Migration {
                                    message: format!("`{n}` is not a number of steps; {USAGE}"),
                                })?)
                            }
                            None => None,
                        };
                        let names = rollback(&db, c, &migrations, steps).await?;
                        if names.is_empty() {
                            println!("{c}: nothing to roll back");
                        }
                        for name in names {
                            println!("{c}: rolled back {name}");
                        }
                    }
                    "status" => {
                        let done = status(&db, c).await?;
                        for m in &migrations {
                            match done.iter().find(|a| a.name == m.name) {
                                Some(a) => println!(
                                    "{c}: {} {} (batch {}, {})",
                                    match a.state {
                                        MigrationState::Applied => "applied",
                                        MigrationState::Failed => "FAILED half-way, to repair:",
                                        MigrationState::RollbackFailed =>
                                            "FAILED half-way rolling back, to repair:",
                                    },
                                    m.name,
                                    a.batch,
                                    a.applied_at
                                ),
                                None => println!("{c}: pending {}", m.name),
                            }
                        }
                    }
                    _ => {
                        let pending = super::runner::pending_sql(&db, c, &migrations).await?;
                        if pending.is_empty() {
                            println!("-- {c}: up to date");
                        }
                        for (name, statements) in pending {
                            println!("-- {c}: {name}");
                            for sql in statements {
                                println!("{sql};");
                            }
                        }
                    }
                }
            }
            Ok(0)
        }
        _ => {
            eprintln!("{USAGE}");
            Ok(2)
        }
    }
}
