//! The command line a user's binary runs in one line:
//!
//! ```no_run
//! # async fn demo() {
//! // src/bin/migrate.rs — the binary links the models, so it knows them.
//! std::process::exit(orm::migrate::cli::main("migrations", std::env::args().skip(1)).await);
//! # }
//! ```
//!
//! Commands (`migrate --help`, and `migrate COMMAND --help` for each):
//! `make NAME [--backfill TABLE.COLUMN=VALUE]... [--dry-run]` (the value
//! that existing rows take in a new required column without a default,
//! see [`Backfill`]; `--dry-run` prints the steps and writes nothing),
//! `new CONNECTION NAME` (an empty migration to write by hand), `run`,
//! `rollback [STEPS] [--dry-run]` (`--dry-run` prints the SQL it would send),
//! `status`, `sql`, `check`, `seed [--force]` when the
//! binary passes its seeders to [`main_with`], and `diagram [--format
//! mermaid|dot|svg] [--from-snapshots]`, which writes the models' diagram
//! to standard output (see [`crate::diagram`]; SVG through Graphviz's
//! `dot`; from the snapshot files under the migrations folder alone with
//! `--from-snapshots`).
//!
//! They act on every connection that has models (configured from the
//! environment for the commands that talk to a database), or on one with
//! `--connection NAME`; read-only connections are never migrated.
//!
//! Exit codes: 0 success; 1 an error (printed as `error: ...`), or `check`
//! found models that differ from the last migration; 2 a command line that
//! does not parse (the usage is printed). Colour only on a terminal.

use std::path::Path;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::seed::{environment, Seeders};
use super::{files, rollback, run_reporting, status, Backfill, MigrationState};
use crate::diagram::{Diagram, Format};
use crate::error::Result;
use crate::Database;

/// The connections that have models, sorted; only `only` when it is given
/// (an error when no model lives there).
fn connections(only: Option<&str>) -> Result<Vec<&'static str>> {
    let mut names: Vec<&'static str> = crate::model::registry::models()
        .map(|m| m.schema.connection)
        .collect();
    names.sort_unstable();
    names.dedup();
    match only {
        None => Ok(names),
        Some(name) if names.contains(&name) => {
            Ok(names.into_iter().filter(|c| *c == name).collect())
        }
        Some(name) => Err(crate::Error::Migration {
            message: format!(
                "no model lives on connection `{name}`; name one of: {}",
                names.join(", ")
            ),
        }),
    }
}

/// The command line, parsed by clap: a well-kept parser gives `--help` for
/// every command, typed values and suggestions for misspelt words.
#[derive(Parser)]
#[command(
    name = "migrate",
    about = "Make, apply and inspect the migrations of the program's models; draw them.",
    after_help = "Exit codes: 0 success; 1 an error, or `check` found changes; 2 a command line that does not parse.",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--connection NAME`, for the commands that act on each connection.
#[derive(Args)]
struct Only {
    /// Act on this connection only (default: every connection that has models).
    #[arg(long, value_name = "NAME")]
    connection: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Compare the models with the last snapshot and write the next migration of each connection.
    Make {
        /// The migration's name: lower-case letters, digits and `_`.
        name: String,
        /// The value existing rows take in a new required column without a default.
        #[arg(long = "backfill", value_name = "TABLE.COLUMN=VALUE")]
        backfills: Vec<String>,
        /// Print each connection's migration steps instead of writing files.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        only: Only,
    },
    /// Write an empty migration of CONNECTION, to fill in by hand.
    New {
        /// The connection.
        connection: String,
        /// The migration's name: lower-case letters, digits and `_`.
        name: String,
    },
    /// Apply the pending migrations, printing each with its duration.
    Run {
        #[command(flatten)]
        only: Only,
    },
    /// Roll back the last batch, or STEPS migrations.
    Rollback {
        /// How many migrations to roll back, from 1 (default: the last batch).
        steps: Option<std::num::NonZeroUsize>,
        /// Print the SQL each migration's way back would send, and undo nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        only: Only,
    },
    /// List applied (with batch and time) and pending migrations.
    Status {
        #[command(flatten)]
        only: Only,
    },
    /// Print the SQL that `run` would send, per pending migration.
    Sql {
        #[command(flatten)]
        only: Only,
    },
    /// Exit 1 when the models differ from the last snapshot (for CI).
    Check {
        #[command(flatten)]
        only: Only,
    },
    /// Run the seeders for the environment in ORM_ENV (or APP_ENV, else development).
    Seed {
        /// Run them in production too.
        #[arg(long)]
        force: bool,
    },
    /// Write the models' diagram (models, columns, relations, by connection) to standard output.
    Diagram {
        /// Mermaid (a flowchart), Graphviz DOT, or SVG drawn by Graphviz's `dot`.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: DiagramFormat,
        /// Draw from the snapshot files under the migrations folder alone, without the models.
        #[arg(long)]
        from_snapshots: bool,
        /// This connection only (and the models its relations reach).
        #[arg(long, value_name = "NAME")]
        connection: Option<String>,
    },
}

/// `--format` of `diagram`.
#[derive(Clone, Copy, ValueEnum)]
enum DiagramFormat {
    Mermaid,
    Dot,
    Svg,
}

/// The `--backfill TABLE.COLUMN=VALUE` values of `make`; each must name a
/// table of a model.
fn backfills(values: &[String]) -> Result<Vec<Backfill>> {
    let mut out = Vec::new();
    for value in values {
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
    let words = std::iter::once("migrate".to_owned()).chain(args);
    let cli = match Cli::try_parse_from(words) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` is a success on standard output; a mistake, the usage on standard error.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match command(root.as_ref(), seeders, cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
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

/// Prints each migration's SQL on connection `c` as an SQL script: a
/// `-- c: {verb}name` comment, then its statements; `none` when there are
/// no migrations.
fn print_sql(c: &str, migrations: Vec<(String, Vec<String>)>, none: &str, verb: &str) {
    if migrations.is_empty() {
        println!("-- {c}: {none}");
    }
    for (name, statements) in migrations {
        println!("-- {c}: {verb}{name}");
        for sql in statements {
            println!("{sql};");
        }
    }
}

async fn command(root: &Path, seeders: &Seeders, command: Command) -> Result<i32> {
    match command {
        Command::Diagram {
            format,
            from_snapshots,
            connection,
        } => {
            use std::io::Write as _;
            let format = match format {
                DiagramFormat::Mermaid => Format::Mermaid,
                DiagramFormat::Dot => Format::Dot,
                DiagramFormat::Svg => Format::Svg,
            };
            let bytes = draw(root, format, connection.as_deref(), from_snapshots)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| crate::Error::Diagram {
                    message: format!("cannot write to standard output: {e}"),
                })?;
            Ok(0)
        }
        Command::New { connection, name } => {
            let path = files::new(root, &connection, &name)?;
            println!("{connection}: wrote {}, to fill in by hand", path.display());
            Ok(0)
        }
        Command::Seed { force } => {
            let db = Database::from_env().await?;
            let env = environment();
            let ran = seeders
                .run_reporting(&db, &env, force, &mut |name, took| {
                    println!("seeded {name} in {took:.1?}");
                })
                .await?;
            if ran.is_empty() {
                println!("no seeder runs in environment `{env}`");
            }
            Ok(0)
        }
        Command::Make {
            name,
            backfills: values,
            dry_run,
            only,
        } => {
            let backfills = backfills(&values)?;
            let connections = connections(only.connection.as_deref())?;
            // Every connection's migration is checked before any is written.
            let mut plans = Vec::new();
            for c in &connections {
                if !crate::routing::names::declared_read_only(c) {
                    plans.push((c, files::plan(root, c, &backfills)?));
                }
            }
            if dry_run {
                for (c, plan) in plans {
                    match plan {
                        Some(plan) => println!(
                            "{c}: would write the migration `{name}`, up:\n{}",
                            serde_json::to_string_pretty(plan.up()).unwrap_or_default()
                        ),
                        None => println!("{c}: nothing to do, the models match the last migration"),
                    }
                }
                return Ok(0);
            }
            for c in connections {
                if crate::routing::names::declared_read_only(c) {
                    println!("{c}: read-only, never migrated: no migration written");
                    continue;
                }
                match files::make_with_backfills(root, c, &name, &backfills)? {
                    Some(path) => println!("{c}: wrote {}", path.display()),
                    None => println!("{c}: nothing to do, the models match the last migration"),
                }
            }
            Ok(0)
        }
        Command::Check { only } => {
            let mut changed = false;
            for c in connections(only.connection.as_deref())?
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
        command @ (Command::Run { .. }
        | Command::Rollback { .. }
        | Command::Status { .. }
        | Command::Sql { .. }) => {
            let (only, steps) = match &command {
                Command::Rollback { only, steps, .. } => {
                    (only, steps.map(std::num::NonZeroUsize::get))
                }
                Command::Run { only } | Command::Status { only } | Command::Sql { only } => {
                    (only, None)
                }
                _ => return Ok(2),
            };
            let db = Database::from_env().await?;
            for c in connections(only.connection.as_deref())? {
                if db.is_read_only(c)? {
                    println!("{c}: read-only, never migrated");
                    continue;
                }
                let migrations = files::load(root, c)?;
                match &command {
                    Command::Run { .. } => {
                        let applied = run_reporting(&db, c, &migrations, &mut |name, took| {
                            println!("{c}: applied {name} in {took:.1?}");
                        })
                        .await?;
                        if applied.is_empty() {
                            println!("{c}: up to date");
                        }
                    }
                    Command::Rollback { dry_run: true, .. } => {
                        let planned =
                            super::runner::rollback_sql(&db, c, &migrations, steps).await?;
                        print_sql(c, planned, "nothing to roll back", "would roll back ");
                    }
                    Command::Rollback { .. } => {
                        let names = rollback(&db, c, &migrations, steps).await?;
                        if names.is_empty() {
                            println!("{c}: nothing to roll back");
                        }
                        for name in names {
                            println!("{c}: rolled back {name}");
                        }
                    }
                    Command::Status { .. } => {
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
                        print_sql(c, pending, "up to date", "");
                    }
                }
            }
            Ok(0)
        }
    }
}
