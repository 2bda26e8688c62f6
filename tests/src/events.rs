//! `tracing` events of one target, and the spans of this crate, caught for
//! a test.
//!
//! One process-wide subscriber (installed on first use) hands each event to
//! the captures active on the thread that emits it, and records each span
//! created on a thread with an active span capture. A thread-local
//! subscriber (`tracing::subscriber::set_default`) would miss events when
//! tests on other threads hit the same call site first: `tracing` caches a
//! call site's interest for the whole process.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

type Caught = Arc<Mutex<Vec<Event>>>;
type CaughtSpans = Arc<Mutex<Vec<SpanRecord>>>;

thread_local! {
    static ACTIVE: RefCell<Vec<(&'static str, Caught)>> = const { RefCell::new(Vec::new()) };
    static ACTIVE_SPANS: RefCell<Vec<CaughtSpans>> = const { RefCell::new(Vec::new()) };
    /// The spans entered on this thread, innermost last: a new span's
    /// contextual parent.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// One event caught: its level, message and other fields.
#[derive(Clone, Debug)]
pub struct Event {
    /// The event's level.
    pub level: tracing::Level,
    /// Its message.
    pub message: String,
    /// Its other fields, as text (strings as they are, other values as
    /// `Debug` shows them).
    pub fields: BTreeMap<String, String>,
}

/// One span caught: what a user's subscriber (or `tracing-opentelemetry`)
/// would see of it.
#[derive(Clone, Debug)]
pub struct SpanRecord {
    /// The subscriber's id of the span.
    pub id: u64,
    /// The span's name (`db.query`, `db.transaction`).
    pub name: &'static str,
    /// Its target (`orm::query`, `orm::transaction`).
    pub target: &'static str,
    /// The id of its parent span, explicit or contextual.
    pub parent: Option<u64>,
    /// Its fields with a value, as text, including those recorded after
    /// it was created; fields declared `Empty` and never recorded are absent.
    pub fields: BTreeMap<String, String>,
}

impl SpanRecord {
    /// The value of field `name`, if it has one.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The events of one target caught on this thread (a `#[tokio::test]` runs
/// every task on its own thread, a pool's maintenance task too).
#[derive(Clone)]
pub struct Events {
    caught: Caught,
}

/// Stops the capture when dropped.
pub struct Guard(Caught);

impl Drop for Guard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.borrow_mut().retain(|(_, c)| !Arc::ptr_eq(c, &self.0)));
    }
}

fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(Dispatch)
            .expect("no other global tracing subscriber in the tests");
    });
}

impl Events {
    /// Starts catching the events of `target` on this thread.
    pub fn capture(target: &'static str) -> (Events, Guard) {
        install();
        let caught = Caught::default();
        ACTIVE.with(|a| a.borrow_mut().push((target, caught.clone())));
        (
            Events {
                caught: caught.clone(),
            },
            Guard(caught),
        )
    }

    /// The messages of the `WARN` events caught so far.
    pub fn warnings(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|e| e.level == tracing::Level::WARN)
            .map(|e| e.message)
            .collect()
    }

    /// Every event caught so far.
    pub fn all(&self) -> Vec<Event> {
        self.caught.lock().unwrap().clone()
    }
}

/// The spans of this crate (targets `orm::...`) created on this thread.
#[derive(Clone)]
pub struct Spans {
    caught: CaughtSpans,
}

/// Stops the span capture when dropped.
pub struct SpanGuard(CaughtSpans);

impl Drop for SpanGuard {
    fn drop(&mut self) {
        ACTIVE_SPANS.with(|a| a.borrow_mut().retain(|c| !Arc::ptr_eq(c, &self.0)));
        spans_by_id()
            .lock()
            .unwrap()
            .retain(|_, (c, _, _)| !Arc::ptr_eq(c, &self.0));
    }
}

impl Spans {
    /// Starts catching the spans created on this thread.
    pub fn capture() -> (Spans, SpanGuard) {
        install();
        let caught = CaughtSpans::default();
        ACTIVE_SPANS.with(|a| a.borrow_mut().push(caught.clone()));
        (
            Spans {
                caught: caught.clone(),
            },
            SpanGuard(caught),
        )
    }

    /// Every span caught so far, in the order they were created.
    pub fn all(&self) -> Vec<SpanRecord> {
        self.caught.lock().unwrap().clone()
    }

    /// The spans caught so far with name `name`.
    pub fn named(&self, name: &str) -> Vec<SpanRecord> {
        self.all().into_iter().filter(|s| s.name == name).collect()
    }

    /// Forgets the spans caught so far.
    pub fn clear(&self) {
        self.caught.lock().unwrap().clear();
    }
}

/// A caught span: where it is kept (for the values recorded later,
/// possibly on another thread), and its metadata (for the current span).
type Kept = (CaughtSpans, usize, &'static tracing::Metadata<'static>);

/// The caught spans by id.
fn spans_by_id() -> &'static Mutex<HashMap<u64, Kept>> {
    static MAP: OnceLock<Mutex<HashMap<u64, Kept>>> = OnceLock::new();
    MAP.get_or_init(Mutex::default)
}

/// Fields as text.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// The process-wide subscriber: every event of this crate's targets goes to
/// the captures of its thread, and its spans to the span captures.
struct Dispatch;

impl tracing::Subscriber for Dispatch {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("orm")
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        ACTIVE_SPANS.with(|a| {
            let active = a.borrow();
            if active.is_empty() {
                return;
            }
            let parent = match attrs.parent() {
                Some(p) => Some(p.into_u64()),
                None if attrs.is_contextual() => ENTERED.with(|e| e.borrow().last().copied()),
                None => None,
            };
            let mut fields = BTreeMap::new();
            attrs.record(&mut Fields(&mut fields));
            let record = SpanRecord {
                id,
                name: attrs.metadata().name(),
                target: attrs.metadata().target(),
                parent,
                fields,
            };
            let mut map = spans_by_id().lock().unwrap();
            for caught in active.iter() {
                let mut spans = caught.lock().unwrap();
                spans.push(record.clone());
                map.insert(id, (caught.clone(), spans.len() - 1, attrs.metadata()));
            }
        });
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let map = spans_by_id().lock().unwrap();
        if let Some((caught, i, _)) = map.get(&span.into_u64()) {
            let mut spans = caught.lock().unwrap();
            values.record(&mut Fields(&mut spans[*i].fields));
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let target = event.metadata().target();
        ACTIVE.with(|a| {
            for (wanted, caught) in a.borrow().iter() {
                if *wanted == target {
                    let mut fields = BTreeMap::new();
                    event.record(&mut Fields(&mut fields));
                    let message = fields.remove("message").unwrap_or_default();
                    caught.lock().unwrap().push(Event {
                        level: *event.metadata().level(),
                        message,
                        fields,
                    });
                }
            }
        });
    }
    fn current_span(&self) -> tracing_core::span::Current {
        let Some(id) = ENTERED.with(|e| e.borrow().last().copied()) else {
            return tracing_core::span::Current::none();
        };
        match spans_by_id().lock().unwrap().get(&id) {
            Some((_, _, metadata)) => {
                tracing_core::span::Current::new(tracing::span::Id::from_u64(id), metadata)
            }
            None => tracing_core::span::Current::none(),
        }
    }
    fn enter(&self, span: &tracing::span::Id) {
        ENTERED.with(|e| e.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &tracing::span::Id) {
        ENTERED.with(|e| {
            let mut e = e.borrow_mut();
            if let Some(i) = e.iter().rposition(|s| *s == span.into_u64()) {
                e.remove(i);
            }
        });
    }
}
