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
//! `status`, `sql`, `check`, `seed [--force] [--dry-run]` when the
//! binary passes its seeders to [`main_with`] (see below), and `diagram [--format
//! mermaid|dot|svg] [--from-snapshots]`, which writes the models' diagram
//! to standard output (see [`crate::diagram`]; SVG through Graphviz's
//! `dot`; from the snapshot files under the migrations folder alone with
//! `--from-snapshots`).
//!
//! `make`, `run`, `rollback`, `status`, `sql`, `check` and `diagram` act on
//! every connection that has models (configured from the environment for
//! the commands that talk to a database), or on one with `--connection
//! NAME`; `new` names its connection; read-only connections are never
//! migrated.
//!
//! `seed` runs the seeders of the environment in `ORM_ENV` (else `APP_ENV`,
//! else `development`) on the [`Database`] configured from the environment
//! (`DATABASE_URL`, and `DATABASE_<NAME>_URL` for each other connection:
//! each model is written on its own connection), printing
//! `seeded NAME in 1.2s` for each; a seeder that reports its progress (see
//! [`Progress`](super::seed::Progress)) gets a progress bar on standard
//! error while it runs, drawn only when standard error is a terminal. A
//! seeder that reports rows but no total gets a counter of rows instead of
//! a bar; one that reports nothing gets neither. Production (`production`
//! or `prod`) needs `--force`. `seed --dry-run` prints the seeders that
//! would run, in order, each with the seeders it runs after, and runs
//! nothing, writes nothing and opens no database; in production without
//! `--force` it prints the same and says that `--force` would be needed
//! (exit 0, since nothing was refused).
//!
//! Exit codes: 0 success; 1 an error (printed as `error: ...`), or `check`
//! found models that differ from the last migration; 2 a command line that
//! does not parse (the usage is printed). Colour only on a terminal: clap
//! colours its help and errors only then, the progress bar is drawn only
//! then, and the lines printed otherwise hold no escape codes.

use std::path::Path;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::seed::{environment, is_production, SeedReporter, Seeders};
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
    #[command(
        after_help = "Prints `seeded NAME in 1.2s` per seeder; a seeder that reports its progress gets a progress bar on standard error when it is a terminal."
    )]
    Seed {
        /// Run them in production (`production` or `prod`) too.
        #[arg(long)]
        force: bool,
        /// Print the seeders that would run, in order, with what each runs after; run nothing, write nothing.
        #[arg(long)]
        dry_run: bool,
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

/// What `seed --dry-run` prints: the seeders that would run in
/// `environment`, in order, each with the seeders it runs after; in
/// production without `force`, that `--force` would be needed. Errors when
/// the list of seeders is broken, as [`Seeders::plan`].
fn seed_plan(seeders: &Seeders, environment: &str, force: bool) -> Result<String> {
    let plan = seeders.plan(environment)?;
    if plan.is_empty() {
        return Ok(format!(
            "no seeder would run in environment `{environment}`; nothing was run\n"
        ));
    }
    let mut out = format!("seeders that would run in environment `{environment}`, in order:\n");
    for (position, name) in plan.iter().enumerate() {
        let after = seeders.get(name).map_or(&[][..], |s| s.runs_after());
        out.push_str(&format!("  {}. {name}", position + 1));
        if !after.is_empty() {
            out.push_str(&format!(" (after {})", after.join(", ")));
        }
        out.push('\n');
    }
    if is_production(environment) && !force {
        out.push_str(&format!(
            "`{environment}` is a production environment: `seed` runs these only with `--force`; nothing was run\n"
        ));
    } else {
        out.push_str("dry run: nothing was run\n");
    }
    Ok(out)
}

/// The `seed` command's reporter: a line per seeder that finishes, and a
/// progress bar while a seeder that reports its progress runs.
struct SeedBars {
    /// Where each bar is drawn: standard error, which indicatif leaves
    /// blank when it is not a terminal (so no escape codes reach a file or
    /// a pipe).
    target: Box<dyn FnMut() -> ProgressDrawTarget + Send>,
    bar: Option<ProgressBar>,
    /// Each finished seeder's line, printed on standard output.
    line: Box<dyn FnMut(String) + Send>,
}

impl SeedBars {
    fn on_terminal() -> SeedBars {
        SeedBars {
            target: Box::new(ProgressDrawTarget::stderr),
            bar: None,
            line: Box::new(|line| println!("{line}")),
        }
    }

    /// The bar of the running seeder, drawn on the first report: a bar
    /// once a total is known, a counter of rows before.
    fn bar(&mut self, seeder: &str) -> &ProgressBar {
        let target = &mut self.target;
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, target())
                .with_prefix(format!("seeding {seeder}"));
            bar.set_style(counter_style());
            bar
        })
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A bar with the rows done out of the total, and the time left.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{bar:40}] {human_pos}/{human_len} rows ({percent}%, {eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Rows done, for a seeder that reports no total: a bar cannot be drawn
/// without one, and a count still shows that it is moving.
fn counter_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {human_pos} rows")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl SeedReporter for SeedBars {
    fn total(&mut self, seeder: &str, rows: u64) {
        let bar = self.bar(seeder);
        bar.set_style(bar_style());
        bar.set_length(rows);
    }

    fn advanced(&mut self, seeder: &str, rows: u64) {
        self.bar(seeder).inc(rows);
    }

    fn finished(&mut self, seeder: &str, took: Duration) {
        self.clear();
        (self.line)(format!("seeded {seeder} in {took:.1?}"));
    }

    fn failed(&mut self, _seeder: &str, _took: Duration) {
        self.clear();
    }
}

/// Runs one command; returns the process exit code: 0 success, 1 an error
/// (printed on standard error as `error: ...`) or `check` found changes, 2
/// a command line that does not parse (`--help` is 0).
///
/// `root` is the migrations folder, one subfolder per connection (relative
/// paths are taken from the working directory: a binary that may run from
/// elsewhere passes `concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")`);
/// `args` are the words after the program's name
/// (`std::env::args().skip(1)`).
pub async fn main(root: impl AsRef<Path>, args: impl IntoIterator<Item = String>) -> i32 {
    main_with(root, &Seeders::new(), args).await
}

/// [`main`] for a binary that has seeders: `seed` runs them on the
/// [`Database`] configured from the environment (each model on its own
/// connection) for the environment in `ORM_ENV` (or `APP_ENV`, else
/// `development`); production needs `seed --force`. `root`, `args` and the
/// exit codes as [`main`].
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
        Command::Seed {
            force,
            dry_run: true,
        } => {
            print!("{}", seed_plan(seeders, &environment(), force)?);
            Ok(0)
        }
        Command::Seed { force, .. } => {
            let db = Database::from_env().await?;
            let env = environment();
            let ran = seeders
                .run_with_reporter(&db, &env, force, &mut SeedBars::on_terminal())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::seed::Seeder;
    use indicatif::InMemoryTerm;
    use std::sync::{Arc, Mutex};

    fn noop(name: &'static str) -> Seeder {
        Seeder::new(name, |_| Box::pin(async { Ok(()) }))
    }

    #[test]
    fn the_dry_run_lists_the_plan_with_dependencies() {
        let seeders = Seeders::new()
            .add(noop("orders").after("customers").after("products"))
            .add(noop("customers"))
            .add(noop("products"))
            .add(noop("demo").only_in(&["development"]));
        assert_eq!(
            seed_plan(&seeders, "development", false).unwrap(),
            "seeders that would run in environment `development`, in order:\n  \
             1. customers\n  2. products\n  3. orders (after customers, products)\n  4. demo\n\
             dry run: nothing was run\n"
        );
        let production = seed_plan(&seeders, "production", false).unwrap();
        assert!(
            production.contains("  3. orders (after customers, products)\n"),
            "{production}"
        );
        assert!(!production.contains("demo"), "{production}");
        assert!(
            production.ends_with(
                "`production` is a production environment: `seed` runs these only with `--force`; nothing was run\n"
            ),
            "{production}"
        );
        assert!(seed_plan(&seeders, "prod", true)
            .unwrap()
            .ends_with("dry run: nothing was run\n"));
        assert_eq!(
            seed_plan(&Seeders::new(), "test", false).unwrap(),
            "no seeder would run in environment `test`; nothing was run\n"
        );
        let broken = Seeders::new().add(noop("a").after("b"));
        assert!(matches!(
            seed_plan(&broken, "test", false),
            Err(crate::Error::Seed { .. })
        ));
    }

    /// A reporter drawing into an in-memory terminal, and the lines it printed.
    fn in_memory() -> (SeedBars, InMemoryTerm, Arc<Mutex<Vec<String>>>) {
        let term = InMemoryTerm::new(4, 100);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (t, l) = (term.clone(), lines.clone());
        let bars = SeedBars {
            target: Box::new(move || ProgressDrawTarget::term_like(Box::new(t.clone()))),
            bar: None,
            line: Box::new(move |line| l.lock().unwrap().push(line)),
        };
        (bars, term, lines)
    }

    #[test]
    fn a_seeder_with_a_total_gets_a_bar_that_is_cleared_when_it_ends() {
        let (mut bars, term, lines) = in_memory();
        bars.started("cities");
        assert_eq!(term.contents(), "");
        bars.total("cities", 2000);
        bars.advanced("cities", 500);
        let drawn = term.contents();
        // A quarter of the 40 cells filled.
        let quarter = format!(
            "seeding cities [{}>{}] 500/2,000 rows (25%, ",
            "=".repeat(10),
            " ".repeat(29)
        );
        assert!(drawn.starts_with(&quarter), "{drawn}");
        bars.advanced("cities", 1500);
        assert!(
            term.contents().contains("2,000/2,000 rows (100%"),
            "{}",
            term.contents()
        );
        bars.finished("cities", Duration::from_millis(1234));
        assert_eq!(term.contents(), "", "the bar is cleared");
        assert_eq!(*lines.lock().unwrap(), ["seeded cities in 1.2s"]);
    }

    #[test]
    fn a_seeder_without_a_total_gets_a_counter_and_one_without_reports_nothing() {
        let (mut bars, term, lines) = in_memory();
        bars.started("plain");
        bars.finished("plain", Duration::from_millis(3));
        assert_eq!(term.contents(), "", "no report, nothing drawn");
        bars.started("stream");
        bars.advanced("stream", 1200);
        assert_eq!(term.contents(), "seeding stream: 1,200 rows");
        // A total that comes later turns the counter into a bar.
        bars.total("stream", 2400);
        assert!(
            term.contents().contains("1,200/2,400 rows (50%"),
            "{}",
            term.contents()
        );
        bars.failed("stream", Duration::from_millis(5));
        assert_eq!(term.contents(), "", "a failed seeder's bar is cleared");
        assert_eq!(*lines.lock().unwrap(), ["seeded plain in 3.0ms"]);
    }
}
