//! Seeders: code that fills a database with data, like Laravel's seeders or
//! Rails' seeds.
//!
//! A [`Seeder`] is a named async function of the [`Database`]. It may say
//! which seeders must run before it ([`after`](Seeder::after)), because it
//! reads what they wrote, and in which environments it runs at all
//! ([`only_in`](Seeder::only_in)), so that demo data never reaches staging.
//! [`Seeders`] holds the program's seeders and runs them in dependency order;
//! [`plan`](Seeders::plan) says what would run without running anything.
//!
//! Mistakes in the list are errors before anything runs: two seeders with
//! one name, a dependency on a seeder that does not exist, seeders that
//! depend on each other in a cycle, and a seeder that would run without the
//! seeder it depends on because that one is left out of the environment.
//! The `production` environment (also `prod`) is refused unless the caller
//! forces it.
//!
//! ```
//! use orm::migrate::seed::{Seeder, Seeders};
//! use orm::prelude::*;
//!
//! #[orm::model(table = "users")]
//! pub struct User {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub name: String,
//! }
//!
//! #[orm::model(table = "posts")]
//! pub struct Post {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub user_id: i64,
//!     pub title: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! let seeders = Seeders::new()
//!     // Listed first, but it reads the users, so it runs after them.
//!     .add(
//!         Seeder::new("posts", |db| {
//!             Box::pin(async move {
//!                 for user in User::all(db).await? {
//!                     let title = format!("Hello from {}", user.name);
//!                     Post::create(db, Post { id: 0, user_id: user.id, title }).await?;
//!                 }
//!                 Ok(())
//!             })
//!         })
//!         .after("users"),
//!     )
//!     .add(Seeder::new("users", |db| {
//!         Box::pin(async move {
//!             for name in ["Ada", "Grace"] {
//!                 User::create(db, User { id: 0, name: name.into() }).await?;
//!             }
//!             Ok(())
//!         })
//!     }))
//!     .add(Seeder::new("load_test_users", |_db| Box::pin(async { Ok(()) })).only_in(&["staging"]));
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<User>().await?;
//! db.create_table::<Post>().await?;
//!
//! // In an application: `orm::migrate::seed::environment()`.
//! assert_eq!(seeders.plan("development")?, ["users", "posts"]);
//! assert_eq!(seeders.run(&db, "development", false).await?, ["users", "posts"]);
//! assert_eq!(Post::count(&db).await?, 2);
//!
//! // Production needs `force`; nothing ran.
//! assert!(seeders.run(&db, "production", false).await.is_err());
//! assert_eq!(User::count(&db).await?, 2);
//! # Ok(()) }
//! ```
//!
//! Seeders write through the database directly, one after another; a
//! seeder that fails stops the run, and what the seeders before it wrote
//! stays. A seeder that must write all or nothing opens its own transaction.
//!
//! # Progress
//!
//! A long seeder made with [`Seeder::with_progress`] receives a
//! [`Progress`] handle and says how far it got, in rows: a total
//! ([`set_total`](Progress::set_total)) and the rows done since it last
//! said ([`advance`](Progress::advance)). [`Seeders::run_with_reporter`]
//! hands the start, the progress and the end of each seeder to a
//! [`SeedReporter`], in the order they happened; the `seed` command of
//! [`cli`](super::cli) draws a progress bar from them on a terminal.
//!
//! ```
//! use orm::migrate::seed::{SeedReporter, Seeder, Seeders};
//!
//! /// Remembers the rows done and the total after each report, as a
//! /// progress bar would show them.
//! #[derive(Default)]
//! struct Rows {
//!     total: Option<u64>,
//!     done: u64,
//!     seen: Vec<(u64, Option<u64>)>,
//! }
//!
//! impl SeedReporter for Rows {
//!     fn total(&mut self, _seeder: &str, rows: u64) {
//!         self.total = Some(rows);
//!     }
//!     fn advanced(&mut self, _seeder: &str, rows: u64) {
//!         self.done += rows;
//!         self.seen.push((self.done, self.total));
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! let seeders = Seeders::new().add(Seeder::with_progress("numbers", |_db, progress| {
//!     Box::pin(async move {
//!         progress.set_total(300);
//!         for _batch in 0..3 {
//!             // Write 100 rows here.
//!             progress.advance(100);
//!         }
//!         Ok(())
//!     })
//! }));
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! let mut rows = Rows::default();
//! seeders.run_with_reporter(&db, "development", false, &mut rows).await?;
//! assert_eq!(rows.seen, [(100, Some(300)), (200, Some(300)), (300, Some(300))]);
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::Database;

/// What a seeder's function returns: its work, boxed so that seeders of
/// different shapes fit in one list, and `Send` so that a run can move
/// between threads.
pub type SeedFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

type SeedFn = Box<dyn for<'a> Fn(&'a Database, Progress) -> SeedFuture<'a> + Send + Sync>;

/// What a [`Progress`] handle reports to the run.
#[derive(Debug)]
enum ProgressEvent {
    Total(u64),
    Advance(u64),
}

/// How far a running seeder got, in rows: the handle that
/// [`Seeder::with_progress`] passes to the seeder's function.
///
/// The seeder says how many rows it will write ([`set_total`](Self::set_total),
/// once it knows) and how many it wrote since it last said
/// ([`advance`](Self::advance)); the run hands each report to its
/// [`SeedReporter`], in order, while the seeder runs. A handle is cheap to
/// clone (a channel's sender inside) and `Send + Sync`, so work split over
/// tasks can report from each. Reports made after the seeder has finished
/// (from a clone it left behind) go nowhere. [`Progress::default()`]
/// reports nowhere: for calling a seeder's body outside a run.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    events: Option<mpsc::UnboundedSender<ProgressEvent>>,
}

impl Progress {
    /// The seeder will write `rows` rows in all (a progress bar's length).
    /// May be called again when the estimate changes.
    pub fn set_total(&self, rows: u64) {
        self.send(ProgressEvent::Total(rows));
    }

    /// The seeder wrote `rows` more rows since it last reported (a progress
    /// bar's increment, not its position).
    pub fn advance(&self, rows: u64) {
        self.send(ProgressEvent::Advance(rows));
    }

    fn send(&self, event: ProgressEvent) {
        if let Some(events) = &self.events {
            // The run has moved on (a clone outlived its seeder): nobody is
            // waiting for this report.
            let _ = events.send(event);
        }
    }
}

/// Receives what a run of seeders does, in order: for each seeder that
/// runs, [`started`](Self::started), then the reports of its [`Progress`]
/// ([`total`](Self::total), [`advanced`](Self::advanced)) as they happen,
/// then [`finished`](Self::finished) or [`failed`](Self::failed). Every
/// method does nothing unless implemented. The `seed` command's reporter
/// draws a progress bar; a seeder made with [`Seeder::new`] reports no
/// progress, only its start and end.
pub trait SeedReporter: Send {
    /// The seeder `seeder` starts.
    fn started(&mut self, seeder: &str) {
        let _ = seeder;
    }

    /// The seeder `seeder` will write `rows` rows in all
    /// ([`Progress::set_total`]).
    fn total(&mut self, seeder: &str, rows: u64) {
        let _ = (seeder, rows);
    }

    /// The seeder `seeder` wrote `rows` more rows ([`Progress::advance`]).
    fn advanced(&mut self, seeder: &str, rows: u64) {
        let _ = (seeder, rows);
    }

    /// The seeder `seeder` succeeded after `took`.
    fn finished(&mut self, seeder: &str, took: Duration) {
        let _ = (seeder, took);
    }

    /// The seeder `seeder` failed after `took`; the run stops with the
    /// error.
    fn failed(&mut self, seeder: &str, took: Duration) {
        let _ = (seeder, took);
    }
}

/// The reporter of [`Seeders::run_reporting`]: a function called when a
/// seeder finishes.
struct OnFinished<'f>(&'f mut (dyn FnMut(&str, Duration) + Send));

impl SeedReporter for OnFinished<'_> {
    fn finished(&mut self, seeder: &str, took: Duration) {
        (self.0)(seeder, took);
    }
}

/// Hands one progress report of `seeder` to `reporter`.
fn deliver(reporter: &mut dyn SeedReporter, seeder: &str, event: ProgressEvent) {
    match event {
        ProgressEvent::Total(rows) => reporter.total(seeder, rows),
        ProgressEvent::Advance(rows) => reporter.advanced(seeder, rows),
    }
}

/// One named seeder: an async function that writes data, the seeders it
/// needs to run first, and the environments it runs in.
pub struct Seeder {
    name: &'static str,
    after: Vec<&'static str>,
    /// `None`: every environment.
    environments: Option<Vec<&'static str>>,
    run: SeedFn,
}

impl Seeder {
    /// A seeder called `name` (unique among the seeders) that runs `run`:
    ///
    /// ```
    /// # use orm::migrate::seed::Seeder;
    /// let seeder = Seeder::new("users", |db| {
    ///     Box::pin(async move {
    ///         // Write rows with `db` here.
    ///         Ok(())
    ///     })
    /// });
    /// ```
    pub fn new(
        name: &'static str,
        run: impl for<'a> Fn(&'a Database) -> SeedFuture<'a> + Send + Sync + 'static,
    ) -> Seeder {
        Seeder::with_progress(name, move |db, _progress| run(db))
    }

    /// A seeder called `name` that runs `run` and reports how far it got
    /// through the [`Progress`] handle it receives: the total of rows it
    /// will write, then the rows written as it goes. The `seed` command
    /// shows a progress bar for it.
    ///
    /// ```
    /// # use orm::migrate::seed::Seeder;
    /// let seeder = Seeder::with_progress("cities", |db, progress| {
    ///     Box::pin(async move {
    ///         let names = ["Lagos", "Lima", "Lyon"];
    ///         progress.set_total(names.len() as u64);
    ///         for _name in names {
    ///             // Write the city with `db` here.
    ///             progress.advance(1);
    ///         }
    ///         Ok(())
    ///     })
    /// });
    /// ```
    pub fn with_progress(
        name: &'static str,
        run: impl for<'a> Fn(&'a Database, Progress) -> SeedFuture<'a> + Send + Sync + 'static,
    ) -> Seeder {
        Seeder {
            name,
            after: Vec::new(),
            environments: None,
            run: Box::new(run),
        }
    }

    /// Runs this seeder after the seeder called `other`, because it needs
    /// what `other` writes. Call it once per dependency.
    #[must_use]
    pub fn after(mut self, other: &'static str) -> Seeder {
        if !self.after.contains(&other) {
            self.after.push(other);
        }
        self
    }

    /// Runs this seeder only in these environments (by default it runs in
    /// every one). Replaces an earlier list; an empty list means never.
    /// Names are compared exactly: `"prod"` does not match `"production"`.
    #[must_use]
    pub fn only_in(mut self, environments: &[&'static str]) -> Seeder {
        self.environments = Some(environments.to_vec());
        self
    }

    /// The seeder's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The names of the seeders this one runs after
    /// ([`after`](Self::after)), in the order given.
    pub fn runs_after(&self) -> &[&'static str] {
        &self.after
    }

    fn runs_in(&self, environment: &str) -> bool {
        self.environments
            .as_ref()
            .is_none_or(|list| list.contains(&environment))
    }
}

impl fmt::Debug for Seeder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seeder")
            .field("name", &self.name)
            .field("after", &self.after)
            .field("environments", &self.environments)
            .finish_non_exhaustive()
    }
}

/// The program's seeders, run in dependency order.
#[derive(Debug, Default)]
pub struct Seeders {
    seeders: Vec<Seeder>,
}

impl Seeders {
    /// No seeders yet.
    pub fn new() -> Seeders {
        Seeders::default()
    }

    /// Adds a seeder. Among seeders that do not depend on each other, the
    /// one added first runs first. Mistakes (a name used twice, an unknown
    /// dependency) are reported by [`plan`](Self::plan) and
    /// [`run`](Self::run).
    #[must_use]
    // A builder step named like Laravel's; seeders are not numbers to `+`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, seeder: Seeder) -> Seeders {
        self.seeders.push(seeder);
        self
    }

    /// The seeder called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Seeder> {
        self.seeders.iter().find(|s| s.name == name)
    }

    /// The names of the seeders that would run in `environment`, in the
    /// order they would run: each after the seeders it depends on, otherwise
    /// in the order added. Seeders left out of the environment by
    /// [`only_in`](Seeder::only_in) are not listed.
    ///
    /// Fails with [`Error::Seed`] when two seeders share a name, a seeder
    /// depends on one that does not exist, seeders depend on each other in a
    /// cycle (these three whatever the environment), or a seeder that runs
    /// in `environment` depends on one that does not.
    pub fn plan(&self, environment: &str) -> Result<Vec<&'static str>> {
        Ok(self
            .plan_indices(environment)?
            .into_iter()
            .map(|i| self.seeders[i].name)
            .collect())
    }

    /// Runs the seeders of `environment` in the order of
    /// [`plan`](Self::plan); returns the names run.
    ///
    /// The `production` environment (also `prod`, in any case) is refused
    /// unless `force` is true, before anything runs. A seeder that fails
    /// stops the run with [`Error::Seed`] naming it; the seeders after it do
    /// not run, and what the seeders before it wrote stays.
    pub async fn run(
        &self,
        db: &Database,
        environment: &str,
        force: bool,
    ) -> Result<Vec<&'static str>> {
        self.run_reporting(db, environment, force, &mut |_, _| {})
            .await
    }

    /// [`run`](Self::run), calling `progress` with each seeder's name and
    /// duration after it has run.
    pub async fn run_reporting(
        &self,
        db: &Database,
        environment: &str,
        force: bool,
        progress: &mut (dyn FnMut(&str, Duration) + Send),
    ) -> Result<Vec<&'static str>> {
        self.run_with_reporter(db, environment, force, &mut OnFinished(progress))
            .await
    }

    /// [`run`](Self::run), handing `reporter` the start of each seeder, the
    /// progress it reports while it runs (see [`Progress`]) and its end
    /// with its duration, in the order they happen. Errors as
    /// [`run`](Self::run); nothing is reported when the run is refused
    /// before any seeder starts.
    pub async fn run_with_reporter(
        &self,
        db: &Database,
        environment: &str,
        force: bool,
        reporter: &mut dyn SeedReporter,
    ) -> Result<Vec<&'static str>> {
        // A broken list is reported even in production, so that it can be
        // fixed without forcing a run.
        let order = self.plan_indices(environment)?;
        if is_production(environment) && !force {
            return Err(Error::Seed {
                message: format!(
                    "refusing to seed the `{environment}` environment: seeders write data there; \
                     pass `--force` (`force: true`) to run them anyway"
                ),
            });
        }
        let mut names = Vec::with_capacity(order.len());
        for (position, &i) in order.iter().enumerate() {
            let seeder = &self.seeders[i];
            reporter.started(seeder.name);
            let started = Instant::now();
            let (sender, mut events) = mpsc::unbounded_channel();
            let mut work = (seeder.run)(
                db,
                Progress {
                    events: Some(sender),
                },
            );
            // The seeder runs on this task; its reports are handed over
            // each time it is woken, before it goes on.
            let outcome = std::future::poll_fn(|cx| {
                while let Poll::Ready(Some(event)) = events.poll_recv(cx) {
                    deliver(reporter, seeder.name, event);
                }
                work.as_mut().poll(cx)
            })
            .await;
            drop(work);
            // What it reported in its last step.
            while let Ok(event) = events.try_recv() {
                deliver(reporter, seeder.name, event);
            }
            if let Err(e) = outcome {
                reporter.failed(seeder.name, started.elapsed());
                let not_run: Vec<&str> = order[position + 1..]
                    .iter()
                    .map(|&j| self.seeders[j].name)
                    .collect();
                return Err(Error::Seed {
                    message: format!(
                        "seeder `{}` failed: {e}\n  ran before it, their data kept: {}; not run: {}",
                        seeder.name,
                        quoted_list(&names),
                        quoted_list(&not_run)
                    ),
                });
            }
            reporter.finished(seeder.name, started.elapsed());
            names.push(seeder.name);
        }
        Ok(names)
    }

    /// Checks the whole list, then orders the seeders of `environment`.
    fn plan_indices(&self, environment: &str) -> Result<Vec<usize>> {
        let deps = self.dependencies()?;
        let everything = vec![true; self.seeders.len()];
        // Cycles are looked for among all seeders, not only this
        // environment's: one that shows up only in production would be
        // found too late.
        topological(&deps, &everything).map_err(|stuck| self.cycle_error(&deps, stuck))?;
        let included: Vec<bool> = self
            .seeders
            .iter()
            .map(|s| s.runs_in(environment))
            .collect();
        for (i, seeder) in self.seeders.iter().enumerate() {
            if !included[i] {
                continue;
            }
            if let Some(&d) = deps[i].iter().find(|&&d| !included[d]) {
                let needed = self.seeders[d].name;
                return Err(Error::Seed {
                    message: format!(
                        "seeder `{}` runs in `{environment}`, but seeder `{needed}`, which it runs after, \
                         is left out of `{environment}` by its `only_in`: add `{environment}` to the \
                         `only_in` of `{needed}`, or leave `{}` out of `{environment}` too",
                        seeder.name, seeder.name
                    ),
                });
            }
        }
        // Every dependency of an included seeder is included, and the whole
        // graph has no cycle, so this cannot fail; report a cycle if it does.
        topological(&deps, &included).map_err(|stuck| self.cycle_error(&deps, stuck))
    }

    /// Each seeder's dependencies, as indices; refuses duplicate names and
    /// unknown dependencies.
    fn dependencies(&self) -> Result<Vec<Vec<usize>>> {
        for (i, seeder) in self.seeders.iter().enumerate() {
            if self.seeders[..i].iter().any(|s| s.name == seeder.name) {
                return Err(Error::Seed {
                    message: format!(
                        "two seeders are named `{}`: give each seeder its own name",
                        seeder.name
                    ),
                });
            }
        }
        let index = |name: &str| self.seeders.iter().position(|s| s.name == name);
        self.seeders
            .iter()
            .map(|seeder| {
                seeder
                    .after
                    .iter()
                    .map(|&other| {
                        index(other).ok_or_else(|| Error::Seed {
                            message: format!(
                                "seeder `{}` runs after `{other}`, but there is no seeder named `{other}`: \
                                 add it, or correct the name given to `after`",
                                seeder.name
                            ),
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// The error for a cycle through the seeder `stuck`, which could not be
    /// ordered: follows unordered dependencies until a seeder repeats.
    fn cycle_error(&self, deps: &[Vec<usize>], stuck: Vec<bool>) -> Error {
        let mut path: Vec<usize> = Vec::new();
        let mut at = stuck.iter().position(|&s| s);
        while let Some(i) = at {
            if let Some(start) = path.iter().position(|&p| p == i) {
                let names: Vec<String> = path[start..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&j| format!("`{}`", self.seeders[j].name))
                    .collect();
                return Error::Seed {
                    message: format!(
                        "seeders depend on each other in a cycle: {} (each runs after the next); \
                         remove one of these `after` dependencies",
                        names.join(" after ")
                    ),
                };
            }
            path.push(i);
            at = deps[i].iter().copied().find(|&d| stuck[d]);
        }
        Error::Seed {
            message: "seeders depend on each other in a cycle: remove the `after` dependency that closes it"
                .to_owned(),
        }
    }
}

/// The included seeders in a stable topological order: repeatedly the first
/// (in the order added) whose dependencies have all run. Kahn's algorithm,
/// quadratic, which is nothing for a list of seeders. On a cycle, returns
/// which seeders could not be ordered; every one of them waits on another.
fn topological(
    deps: &[Vec<usize>],
    included: &[bool],
) -> std::result::Result<Vec<usize>, Vec<bool>> {
    let n = deps.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while let Some(i) =
        (0..n).find(|&i| included[i] && !done[i] && deps[i].iter().all(|&d| done[d]))
    {
        done[i] = true;
        order.push(i);
    }
    let stuck: Vec<bool> = (0..n).map(|i| included[i] && !done[i]).collect();
    if stuck.contains(&true) {
        Err(stuck)
    } else {
        Ok(order)
    }
}

/// Whether `environment` is production (`production` or `prod`, in any
/// case), which seeding refuses unless forced.
pub(crate) fn is_production(environment: &str) -> bool {
    let environment = environment.trim();
    environment.eq_ignore_ascii_case("production") || environment.eq_ignore_ascii_case("prod")
}

fn quoted_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The environment to seed: `ORM_ENV`, else `APP_ENV`, else
/// `"development"`. Empty variables count as unset; surrounding spaces are
/// dropped.
pub fn environment() -> String {
    environment_from(|name| std::env::var(name).ok())
}

fn environment_from(lookup: impl Fn(&str) -> Option<String>) -> String {
    ["ORM_ENV", "APP_ENV"]
        .into_iter()
        .filter_map(lookup)
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
        .unwrap_or_else(|| "development".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(name: &'static str) -> Seeder {
        Seeder::new(name, |_| Box::pin(async { Ok(()) }))
    }

    fn message(result: Result<Vec<&'static str>>) -> String {
        match result {
            Err(Error::Seed { message }) => message,
            other => panic!("expected a seed error, got {other:?}"),
        }
    }

    #[test]
    fn independent_seeders_run_in_the_order_added() {
        let s = Seeders::new().add(noop("c")).add(noop("a")).add(noop("b"));
        assert_eq!(s.plan("development").unwrap(), ["c", "a", "b"]);
        assert_eq!(Seeders::new().plan("development").unwrap(), [""; 0]);
    }

    #[test]
    fn dependencies_run_first_and_the_rest_keep_their_order() {
        let s = Seeders::new()
            .add(noop("orders").after("customers").after("products"))
            .add(noop("customers"))
            .add(noop("audit"))
            .add(noop("products").after("categories"))
            .add(noop("categories"));
        assert_eq!(
            s.plan("development").unwrap(),
            ["customers", "audit", "categories", "products", "orders"]
        );
    }

    #[test]
    fn a_cycle_is_refused_and_named() {
        let s = Seeders::new()
            .add(noop("free"))
            .add(noop("a").after("c"))
            .add(noop("b").after("a"))
            .add(noop("c").after("b"))
            .add(noop("d").after("a"));
        let m = message(s.plan("development"));
        assert!(
            m.contains("cycle: `a` after `c` after `b` after `a`"),
            "{m}"
        );
        assert!(!m.contains("`free`") && !m.contains("`d`"), "{m}");
        let own = Seeders::new().add(noop("a").after("a"));
        let m = message(own.plan("development"));
        assert!(m.contains("cycle: `a` after `a`"), "{m}");
    }

    #[test]
    fn a_cycle_outside_the_environment_is_still_refused() {
        let s = Seeders::new()
            .add(noop("a").after("b").only_in(&["production"]))
            .add(noop("b").after("a").only_in(&["production"]));
        let m = message(s.plan("development"));
        assert!(m.contains("cycle"), "{m}");
    }

    #[test]
    fn an_unknown_dependency_is_refused() {
        let s = Seeders::new()
            .add(noop("users"))
            .add(noop("posts").after("user"));
        let m = message(s.plan("development"));
        assert!(
            m.contains("seeder `posts` runs after `user`, but there is no seeder named `user`"),
            "{m}"
        );
    }

    #[test]
    fn a_duplicate_name_is_refused() {
        let s = Seeders::new()
            .add(noop("users"))
            .add(noop("posts"))
            .add(noop("users").only_in(&["test"]));
        let m = message(s.plan("development"));
        assert!(m.contains("two seeders are named `users`"), "{m}");
    }

    #[test]
    fn seeders_run_only_in_their_environments() {
        let s = Seeders::new()
            .add(noop("users"))
            .add(noop("demo").only_in(&["development", "staging"]))
            .add(noop("fixtures").only_in(&["test"]))
            .add(noop("nowhere").only_in(&[]));
        assert_eq!(s.plan("development").unwrap(), ["users", "demo"]);
        assert_eq!(s.plan("staging").unwrap(), ["users", "demo"]);
        assert_eq!(s.plan("test").unwrap(), ["users", "fixtures"]);
        assert_eq!(s.plan("production").unwrap(), ["users"]);
        // A later list replaces the earlier one.
        let s = Seeders::new().add(noop("x").only_in(&["a"]).only_in(&["b"]));
        assert_eq!(s.plan("a").unwrap(), [""; 0]);
        assert_eq!(s.plan("b").unwrap(), ["x"]);
    }

    #[test]
    fn a_seeder_whose_dependency_is_left_out_is_refused() {
        let s = Seeders::new()
            .add(noop("users").only_in(&["development"]))
            .add(noop("posts").after("users"));
        assert_eq!(s.plan("development").unwrap(), ["users", "posts"]);
        let m = message(s.plan("test"));
        assert!(
            m.contains("seeder `posts` runs in `test`, but seeder `users`, which it runs after, is left out"),
            "{m}"
        );
        assert!(m.contains("add `test` to the `only_in` of `users`"), "{m}");
        // Both left out: nothing to complain about.
        let s = Seeders::new()
            .add(noop("users").only_in(&["development"]))
            .add(noop("posts").after("users").only_in(&["development"]));
        assert_eq!(s.plan("test").unwrap(), [""; 0]);
    }

    #[test]
    fn production_is_recognised_in_either_spelling() {
        for env in ["production", "prod", "Production", " PROD "] {
            assert!(is_production(env), "{env}");
        }
        for env in ["development", "staging", "test", "preprod", "production-eu"] {
            assert!(!is_production(env), "{env}");
        }
    }

    #[test]
    fn the_environment_comes_from_orm_env_then_app_env() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(environment_from(vars(&[])), "development");
        assert_eq!(environment_from(vars(&[("APP_ENV", "staging")])), "staging");
        assert_eq!(
            environment_from(vars(&[("APP_ENV", "staging"), ("ORM_ENV", " test ")])),
            "test"
        );
        assert_eq!(
            environment_from(vars(&[("ORM_ENV", ""), ("APP_ENV", "staging")])),
            "staging"
        );
    }

    #[test]
    fn seeders_and_their_runs_can_cross_threads() {
        fn is_send_sync<T: Send + Sync>(_: &T) {}
        fn is_send<T: Send>(_: &T) {}
        let seeders = Seeders::new().add(noop("a"));
        is_send_sync(&seeders);
        let run = async {
            let db = Database::connect("sqlite::memory:").await?;
            seeders.run(&db, "test", false).await
        };
        is_send(&run);
        let progress = Progress::default();
        is_send_sync(&progress);
        struct Quiet;
        impl SeedReporter for Quiet {}
        let mut reporter = Quiet;
        let reporting = async {
            let db = Database::connect("sqlite::memory:").await?;
            seeders
                .run_with_reporter(&db, "test", false, &mut reporter)
                .await
        };
        is_send(&reporting);
    }

    #[test]
    fn a_detached_progress_reports_nowhere() {
        let progress = Progress::default();
        progress.set_total(3);
        progress.advance(3);
        let (sender, receiver) = mpsc::unbounded_channel();
        drop(receiver);
        // A clone that outlived its run: the report is dropped, no panic.
        Progress {
            events: Some(sender),
        }
        .advance(1);
    }
}
