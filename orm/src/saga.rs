//! Sagas: one piece of work across several connections, undone step by step
//! when a later step fails.
//!
//! A [`Transaction`](crate::Transaction) lives on one connection. When one
//! piece of work writes to several databases (the order on PostgreSQL, the
//! stock on MySQL, the payment on a third), no transaction spans them. A saga
//! (Garcia-Molina and Salem, 1987; the "saga pattern" of microservices)
//! splits the work into steps, each atomic on its own (typically one
//! transaction on one connection), and pairs each step with a
//! *compensation*: an action that undoes the step's effect by doing more
//! work (deletes the row the step inserted, puts back the stock it took).
//! When a step fails, the compensations of the steps that completed run,
//! last first, and the saga reports exactly what happened.
//!
//! ```
//! use orm::prelude::*;
//! use orm::Saga;
//!
//! orm::connections! {
//!     pub Ledger = "ledger";
//! }
//!
//! #[orm::model(table = "stock")]
//! pub struct Stock {
//!     #[orm(primary_key, max_length = 20)]
//!     pub sku: String,
//!     pub count: i64,
//! }
//!
//! #[orm::model(table = "payments", connection = Ledger)]
//! pub struct Payment {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub amount: i64,
//! }
//!
//! // The application's own error: steps return it, and `?` on an
//! // operation of this crate converts through `From<orm::Error>`.
//! #[derive(Debug)]
//! enum ShopError {
//!     Db(orm::Error),
//!     CarrierRefused,
//! }
//! impl From<orm::Error> for ShopError {
//!     fn from(e: orm::Error) -> Self { ShopError::Db(e) }
//! }
//! impl std::fmt::Display for ShopError {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         match self {
//!             ShopError::Db(e) => e.fmt(f),
//!             ShopError::CarrierRefused => f.write_str("the carrier refused the parcel"),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! let db = orm::Database::builder()
//!     .connection("db", "sqlite::memory:")
//!     .connection("ledger", "sqlite::memory:")
//!     .build()
//!     .await?;
//! db.create_table::<Stock>().await?;
//! db.create_table::<Payment>().await?;
//! Stock { sku: "KB-01".into(), count: 5 }.insert(&db).await?;
//!
//! let report = Saga::<ShopError>::with_error_type("place order")
//!     .step(
//!         "take stock",
//!         |db| async move {
//!             // One transaction on "db": the step is all or nothing.
//!             let mut tx = db.begin().await?;
//!             let mut item = Stock::get(&mut tx, "KB-01").await?;
//!             item.count -= 1;
//!             item.update(&mut tx).await?;
//!             tx.commit().await?;
//!             Ok(item.sku) // handed to the compensation below
//!         },
//!         |db, sku| async move {
//!             let mut item = Stock::get(&db, sku).await?;
//!             item.count += 1;
//!             item.update(&db).await?;
//!             Ok(())
//!         },
//!     )
//!     .step(
//!         "charge",
//!         |db| async move { Ok(Payment { id: 0, amount: 25 }.insert(&db).await?) },
//!         |db, payment| async move { Ok(payment.delete(&db).await?) },
//!     )
//!     .step(
//!         "ship",
//!         |_db| async move { Err::<(), _>(ShopError::CarrierRefused) },
//!         |_db, ()| async move { Ok(()) },
//!     )
//!     .run(&db)
//!     .await
//!     .unwrap_err();
//!
//! assert_eq!(report.failed_step(), "ship");
//! assert!(matches!(report.cause().error(), Some(ShopError::CarrierRefused)));
//! assert_eq!(report.compensated().collect::<Vec<_>>(), ["charge", "take stock"]);
//! assert!(report.is_fully_compensated());
//! assert_eq!(Stock::get(&db, "KB-01").await?.count, 5);
//! assert_eq!(Payment::count(&db).await?, 0);
//! assert_eq!(
//!     report.to_string(),
//!     "saga `place order`: step 3 of 3 (`ship`) failed: the carrier refused the parcel\n  \
//!      compensated step 2 (`charge`)\n  \
//!      compensated step 1 (`take stock`)"
//! );
//! # Ok(()) }
//! ```
//!
//! # What runs, in which order
//!
//! [`Saga::run`] runs the steps one after another, in the order they were
//! added, each given a clone of the [`Database`] (an `Arc` handle) so that its
//! future owns everything it uses. A step may use any connection, open and
//! commit its own transaction (or use the closure form,
//! [`Database::transaction`], which retries it on a serialization failure),
//! or run several statements without one.
//!
//! - If every step succeeds, no compensation runs, and `run` returns the
//!   steps' [`Outputs`].
//! - If step *k* fails (returns `Err`, or panics: see below), no later step
//!   runs. Step *k* itself is **not** compensated: it did not complete, and
//!   it should leave nothing behind (a step that writes in one transaction
//!   rolls back as its error propagates). Then the compensations of steps
//!   *k*−1, …, 1 run, in that order (last completed first), one at a time,
//!   each given its step's output and a clone of the [`Database`].
//! - A compensation that fails does **not** stop the others: its failure is
//!   recorded and the next compensation runs. Each compensation undoes a
//!   different step, usually on a different database; one that cannot undo
//!   its step is no reason to leave the other steps' effects in place, and
//!   stopping would hide how much was left undone.
//! - `run` then returns a [`SagaError`]: the step that failed and why, and
//!   each compensation that ran, in the order it ran, with its failure if it
//!   had one. Nothing is swallowed or only logged.
//!
//! # Errors
//!
//! Steps and compensations return `Result<_, E>`. [`Saga::new`] fixes `E` to
//! [`orm::Error`](crate::Error), enough when the steps only run operations of
//! this crate. An application with errors of its own names its error type
//! with [`Saga::with_error_type`]; a type with `From<orm::Error>` lets `?`
//! work on every operation inside a step. The saga never converts, boxes or
//! inspects `E`: it hands it back in the report, so the caller can `match`
//! on its own enum (a boxed error would need a downcast to learn which
//! business rule refused). `Box<dyn std::error::Error + Send + Sync>` and
//! `anyhow::Error` work as `E` too, for those who prefer them. The saga
//! produces no errors of its own, so `E` needs no bound beyond
//! `Send + 'static`; [`SagaError`] is a [`std::error::Error`] when `E` is.
//!
//! A compensation that may fail for a passing reason (a lost connection, a
//! deadlock: [`Error::is_transient`](crate::Error::is_transient)) should retry
//! inside itself, and be safe to run twice; the saga runs it once.
//!
//! # Panics
//!
//! A panic inside a step or a compensation is caught (with
//! [`std::panic::catch_unwind`] around each poll of its future) and treated
//! as a failure: a panicking step stops the saga and its predecessors are
//! compensated; a panicking compensation is recorded and the others still
//! run. Letting the panic unwind through the saga instead would leave the
//! completed steps' writes in other databases, which is the inconsistency a
//! saga exists to prevent. The panic is not hidden: it is reported as
//! [`Failure::Panic`], which keeps the payload, so the caller can
//! [`Panic::resume`] it after reading the report, as with tokio's `JoinError`.
//! The step's future is dropped where it panicked, so a
//! [`Transaction`](crate::Transaction) inside it rolls back as on any drop.
//! The process's panic hook still prints the panic. Under `panic = "abort"`
//! nothing can be caught and the process ends.
//!
//! # Cancellation
//!
//! A saga is a future. If it is dropped before it finishes (the caller's
//! future dropped, a `tokio::time::timeout` that fires, a runtime shutting
//! down), it stops at the `.await` it was waiting on, and **no compensation
//! runs**: the steps that completed stay completed, the step in flight is
//! dropped mid-way (its open transaction rolls back), and no report is
//! made. A crash of the process has the same effect. To keep a caller's
//! cancellation (an HTTP client hanging up) from cutting a saga short, spawn
//! it: a task started with `tokio::spawn` runs to the end even when its
//! `JoinHandle` is dropped, which is why every step's future must be
//! `Send + 'static`. Surviving a crash needs a durable saga log (each step
//! recorded before and after it runs, and a recovery pass that compensates
//! unfinished sagas), which this module does not keep.
//!
//! # What a saga does not give
//!
//! Isolation. Between a step and its compensation, other transactions see
//! the step's writes (the stock taken, the payment made) and may act on
//! them. Where that matters, let steps write states that say so (an order
//! `pending` until the last step marks it `placed`) and let readers respect
//! them. Two-phase commit (`PREPARE TRANSACTION`) is not used.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::Poll;

use crate::error::Error;
use crate::routing::Database;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type Payload = Box<dyn Any + Send>;

/// A name given by the user: usually a literal, so no allocation.
type Name = Cow<'static, str>;

/// Steps across connections, each with a compensation that undoes it when a
/// later step fails. See the [module documentation](self) for the order in
/// which everything runs.
///
/// Build it with [`new`](Self::new) (steps return [`orm::Error`](crate::Error))
/// or [`with_error_type`](Self::with_error_type) (steps return the
/// application's error `E`), add steps with [`step`](Self::step), and
/// [`run`](Self::run) it once. A saga is `Send` and its `run` future is
/// `Send`, so it can be spawned.
#[must_use = "a saga does nothing until `run` is awaited"]
pub struct Saga<E = Error> {
    name: Name,
    steps: Vec<Step<E>>,
}

/// One step: its name, and its action with the compensation bound in.
struct Step<E> {
    name: Name,
    run: Box<dyn FnOnce(Database) -> StepFuture<E> + Send>,
}

/// A running step: on success, the step completed, ready to be compensated.
type StepFuture<E> = BoxFuture<Result<Box<dyn Completed<E>>, E>>;

/// A step that completed: its output and its compensation, with the output's
/// type erased (each step's differs) but still checked by the compiler,
/// since both sit in one [`Done`].
trait Completed<E>: Send {
    /// The compensation, given the output.
    fn compensate(self: Box<Self>, db: Database) -> BoxFuture<Result<(), E>>;
    /// The output, when no compensation is needed.
    fn into_output(self: Box<Self>) -> Payload;
}

struct Done<T, C> {
    output: T,
    compensation: C,
}

impl<E, T, C, F> Completed<E> for Done<T, C>
where
    T: Send + 'static,
    C: FnOnce(Database, T) -> F + Send + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
{
    fn compensate(self: Box<Self>, db: Database) -> BoxFuture<Result<(), E>> {
        let Done {
            output,
            compensation,
        } = *self;
        // Called inside the future, so that a panic in the call itself is
        // caught with the rest of the compensation.
        Box::pin(async move { compensation(db, output).await })
    }

    fn into_output(self: Box<Self>) -> Payload {
        Box::new(self.output)
    }
}

impl Saga<Error> {
    /// A saga called `name` (used in its report) whose steps return
    /// [`orm::Error`](crate::Error).
    pub fn new(name: impl Into<Cow<'static, str>>) -> Saga<Error> {
        Saga::with_error_type(name)
    }
}

impl<E> Saga<E> {
    /// A saga called `name` whose steps and compensations return `E`, the
    /// application's error type: `Saga::<ShopError>::with_error_type("place
    /// order")`. With `impl From<orm::Error> for ShopError`, `?` works on
    /// this crate's operations inside the steps.
    pub fn with_error_type(name: impl Into<Cow<'static, str>>) -> Saga<E> {
        Saga {
            name: name.into(),
            steps: Vec::new(),
        }
    }

    /// The saga's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names of the steps, in the order they run.
    pub fn steps(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.steps.iter().map(|s| &*s.name)
    }
}

impl<E: Send + 'static> Saga<E> {
    /// Adds a step called `name`, run after the steps added before it.
    ///
    /// `action` does the step's work and returns its output `T`: whatever
    /// the compensation needs to undo it (the key of the row it inserted,
    /// the quantity it took). `compensation` undoes the step; it runs only
    /// if the step completed and a later step fails, and receives the
    /// output. Both receive an owned [`Database`] (a clone of the one given
    /// to [`run`](Self::run)), so their futures own everything they use.
    ///
    /// On success the outputs are not dropped but returned by `run`
    /// ([`Outputs`]). A step with nothing to undo (a read, a last step that
    /// only checks) takes the compensation `|_, _| async { Ok(()) }`.
    ///
    /// # Panics
    ///
    /// If the saga already has a step called `name`: steps are told apart
    /// by name in the report and in [`Outputs`].
    pub fn step<T, A, AF, C, CF>(
        mut self,
        name: impl Into<Cow<'static, str>>,
        action: A,
        compensation: C,
    ) -> Self
    where
        T: Send + 'static,
        A: FnOnce(Database) -> AF + Send + 'static,
        AF: Future<Output = Result<T, E>> + Send + 'static,
        C: FnOnce(Database, T) -> CF + Send + 'static,
        CF: Future<Output = Result<(), E>> + Send + 'static,
    {
        let name = name.into();
        assert!(
            self.steps.iter().all(|s| s.name != name),
            "saga `{}` already has a step called `{name}`: give each step its own name",
            self.name
        );
        let run = move |db: Database| -> StepFuture<E> {
            Box::pin(async move {
                let output = action(db).await?;
                Ok(Box::new(Done {
                    output,
                    compensation,
                }) as Box<dyn Completed<E>>)
            })
        };
        self.steps.push(Step {
            name,
            run: Box::new(run),
        });
        self
    }

    /// Runs the saga on `db`: every step in order; if one fails, the
    /// compensations of those that completed, last first (see the
    /// [module documentation](self)).
    ///
    /// # Errors
    ///
    /// [`SagaError`] when a step fails or panics. It names the step and
    /// holds its error, and lists each compensation that ran with its
    /// outcome; [`SagaError::is_fully_compensated`] says whether every
    /// completed step was undone.
    ///
    /// # Cancellation
    ///
    /// Dropping the returned future stops the saga where it is, without
    /// running compensations. Spawn the saga to protect it from its caller's
    /// cancellation.
    pub async fn run(self, db: &Database) -> Result<Outputs, SagaError<E>> {
        let Saga { name: saga, steps } = self;
        let total = steps.len();
        let mut completed: Vec<(usize, Name, Box<dyn Completed<E>>)> = Vec::with_capacity(total);
        for (index, Step { name, run }) in steps.into_iter().enumerate() {
            let cause = match catch_unwind(run(db.clone())).await {
                Ok(Ok(done)) => {
                    completed.push((index, name, done));
                    continue;
                }
                Ok(Err(error)) => Failure::Error(error),
                Err(payload) => Failure::Panic(Panic::new(payload)),
            };
            let mut compensations = Vec::with_capacity(completed.len());
            while let Some((step_index, step, done)) = completed.pop() {
                let failure = match catch_unwind(done.compensate(db.clone())).await {
                    Ok(Ok(())) => None,
                    Ok(Err(error)) => Some(Failure::Error(error)),
                    Err(payload) => Some(Failure::Panic(Panic::new(payload))),
                };
                compensations.push(Compensation {
                    index: step_index,
                    step,
                    failure,
                });
            }
            return Err(SagaError {
                saga,
                steps: total,
                failed_index: index,
                failed_step: name,
                cause,
                compensations,
            });
        }
        Ok(Outputs {
            entries: completed
                .into_iter()
                .map(|(_, name, done)| (name, Some(done.into_output())))
                .collect(),
        })
    }
}

impl<E> fmt::Debug for Saga<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Saga")
            .field("name", &self.name)
            .field("steps", &self.steps().collect::<Vec<_>>())
            .finish()
    }
}

/// Polls `future` to the end, turning a panic inside it into `Err(payload)`.
///
/// `AssertUnwindSafe`: after a panic the future is dropped, never polled
/// again, and the state it shared (the [`Database`]) is built to survive
/// futures dropped mid-statement (a busy connection is reset, not reused).
async fn catch_unwind<T>(mut future: BoxFuture<T>) -> Result<T, Payload> {
    std::future::poll_fn(move |cx| {
        match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await
}

/// The outputs of a saga whose steps all succeeded, by step name.
///
/// Each step's output has its own type; ask for it by name and type:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
/// # let db = orm::Database::connect("sqlite::memory:").await?;
/// let mut outputs = orm::Saga::new("numbers")
///     .step("one", |_| async { Ok(1_i64) }, |_, _| async { Ok(()) })
///     .step("name", |_| async { Ok(String::from("two")) }, |_, _| async { Ok(()) })
///     .run(&db)
///     .await
///     .unwrap();
/// assert_eq!(outputs.get::<i64>("one"), Some(&1));
/// assert_eq!(outputs.take::<String>("name").as_deref(), Some("two"));
/// assert_eq!(outputs.take::<String>("name"), None); // taken
/// assert_eq!(outputs.get::<String>("one"), None); // not a String
/// # Ok(()) }
/// ```
pub struct Outputs {
    entries: Vec<(Name, Option<Payload>)>,
}

impl Outputs {
    /// The output of step `step`, if there is such a step, its output is a
    /// `T`, and it was not [taken](Self::take).
    pub fn get<T: 'static>(&self, step: &str) -> Option<&T> {
        self.entries
            .iter()
            .find(|(name, _)| name == step)?
            .1
            .as_ref()?
            .downcast_ref()
    }

    /// Moves the output of step `step` out, if there is such a step, its
    /// output is a `T`, and it was not taken already. An output of another
    /// type stays where it is.
    pub fn take<T: 'static>(&mut self, step: &str) -> Option<T> {
        let slot = &mut self.entries.iter_mut().find(|(name, _)| name == step)?.1;
        match slot.take()?.downcast::<T>() {
            Ok(output) => Some(*output),
            Err(other) => {
                *slot = Some(other);
                None
            }
        }
    }

    /// The names of the steps, in the order they ran.
    pub fn steps(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(name, _)| &**name)
    }
}

impl fmt::Debug for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outputs")
            .field("steps", &self.steps().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a step or a compensation did not succeed: it returned an error, or it
/// panicked.
pub enum Failure<E> {
    /// It returned `Err`.
    Error(E),
    /// It panicked; the panic was caught.
    Panic(Panic),
}

impl<E> Failure<E> {
    /// The error it returned, unless it panicked.
    pub fn error(&self) -> Option<&E> {
        match self {
            Failure::Error(e) => Some(e),
            Failure::Panic(_) => None,
        }
    }

    /// The error it returned, unless it panicked.
    pub fn into_error(self) -> Option<E> {
        match self {
            Failure::Error(e) => Some(e),
            Failure::Panic(_) => None,
        }
    }

    /// The panic, if it panicked.
    pub fn panic(&self) -> Option<&Panic> {
        match self {
            Failure::Error(_) => None,
            Failure::Panic(p) => Some(p),
        }
    }

    /// Whether it panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, Failure::Panic(_))
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => e.fmt(f),
            Failure::Panic(p) => write!(f, "panicked: {}", p.message()),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => f.debug_tuple("Error").field(e).finish(),
            Failure::Panic(p) => f.debug_tuple("Panic").field(p).finish(),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Failure<E> {
    /// Transparent: the error's own source (its message is this one's).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error().and_then(std::error::Error::source)
    }
}

/// A panic caught inside a step or a compensation.
pub struct Panic {
    message: String,
    // Only ever moved out whole (`into_payload`): the `Mutex` makes reports
    // `Sync`, as tokio's `JoinError` is, without `unsafe`; it is never locked.
    payload: Mutex<Payload>,
}

impl Panic {
    fn new(payload: Payload) -> Panic {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_owned()
        };
        Panic {
            message,
            payload: Mutex::new(payload),
        }
    }

    /// The panic's message (what `panic!` was given), or `Box<dyn Any>`
    /// when the payload is not a string, as the standard panic hook says.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The value the panic carried, for [`std::panic::resume_unwind`].
    pub fn into_payload(self) -> Box<dyn Any + Send> {
        self.payload
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Resumes the panic, with its original payload.
    pub fn resume(self) -> ! {
        panic::resume_unwind(self.into_payload())
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panic")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// A compensation that ran, and how it ended.
pub struct Compensation<E> {
    index: usize,
    step: Name,
    failure: Option<Failure<E>>,
}

impl<E> Compensation<E> {
    /// The name of the step it undid (or tried to).
    pub fn step(&self) -> &str {
        &self.step
    }

    /// The step's position in the saga, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether it succeeded: the step is undone.
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }

    /// How it failed, if it did: the step's effect may remain.
    pub fn failure(&self) -> Option<&Failure<E>> {
        self.failure.as_ref()
    }

    /// How it failed, if it did.
    pub fn into_failure(self) -> Option<Failure<E>> {
        self.failure
    }
}

impl<E: fmt::Debug> fmt::Debug for Compensation<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compensation")
            .field("index", &self.index)
            .field("step", &self.step)
            .field("failure", &self.failure)
            .finish()
    }
}

/// A saga whose step failed: which step, why, and how each compensation
/// ended.
///
/// The compensations are listed in the order they ran: from the step just
/// before the failed one back to the first. A compensation that failed did
/// not stop the ones after it. Its `Display` is the whole report, one line
/// for the failed step and one per compensation:
///
/// ```text
/// saga `place order`: step 3 of 3 (`ship`) failed: the carrier refused the parcel
///   compensated step 2 (`charge`)
///   compensation of step 1 (`take stock`) failed: connection `db`: ...
/// ```
pub struct SagaError<E = Error> {
    saga: Name,
    steps: usize,
    failed_index: usize,
    failed_step: Name,
    cause: Failure<E>,
    compensations: Vec<Compensation<E>>,
}

impl<E> SagaError<E> {
    /// The saga's name.
    pub fn saga(&self) -> &str {
        &self.saga
    }

    /// The name of the step that failed.
    pub fn failed_step(&self) -> &str {
        &self.failed_step
    }

    /// The position of the step that failed, from 0.
    pub fn failed_step_index(&self) -> usize {
        self.failed_index
    }

    /// Why the step failed: its error, or its panic.
    pub fn cause(&self) -> &Failure<E> {
        &self.cause
    }

    /// Why the step failed, dropping the rest of the report.
    pub fn into_cause(self) -> Failure<E> {
        self.cause
    }

    /// Every compensation that ran, in the order it ran (the reverse of the
    /// steps'), with its outcome. Empty when the first step failed.
    pub fn compensations(&self) -> &[Compensation<E>] {
        &self.compensations
    }

    /// The names of the steps whose compensation succeeded, in the order the
    /// compensations ran.
    pub fn compensated(&self) -> impl Iterator<Item = &str> + '_ {
        self.compensations
            .iter()
            .filter(|c| c.succeeded())
            .map(Compensation::step)
    }

    /// Each compensation that failed, by its step's name, in the order they
    /// ran.
    pub fn compensation_failures(&self) -> impl Iterator<Item = (&str, &Failure<E>)> + '_ {
        self.compensations
            .iter()
            .filter_map(|c| Some((c.step(), c.failure()?)))
    }

    /// Whether every step that completed was compensated: no effect of the
    /// saga remains (as far as the compensations undo their steps).
    pub fn is_fully_compensated(&self) -> bool {
        self.compensations.iter().all(Compensation::succeeded)
    }

    /// The cause and the compensations, owned.
    pub fn into_parts(self) -> (Failure<E>, Vec<Compensation<E>>) {
        (self.cause, self.compensations)
    }
}

impl<E: fmt::Display> fmt::Display for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "saga `{}`: step {} of {} (`{}`) failed: {}",
            self.saga,
            self.failed_index + 1,
            self.steps,
            self.failed_step,
            self.cause
        )?;
        for c in &self.compensations {
            match &c.failure {
                None => write!(f, "\n  compensated step {} (`{}`)", c.index + 1, c.step)?,
                Some(failure) => write!(
                    f,
                    "\n  compensation of step {} (`{}`) failed: {failure}",
                    c.index + 1,
                    c.step
                )?,
            }
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SagaError")
            .field("saga", &self.saga)
            .field("steps", &self.steps)
            .field("failed_index", &self.failed_index)
            .field("failed_step", &self.failed_step)
            .field("cause", &self.cause)
            .field("compensations", &self.compensations)
            .finish()
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SagaError<E> {
    /// The failed step's error (`None` when it panicked). The
    /// compensations' failures are in [`compensation_failures`](Self::compensation_failures)
    /// and the `Display` text.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.error().map(|e| e as _)
    }
}
