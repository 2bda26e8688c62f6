//! `tracing` events of one target, caught for a test.
//!
//! One process-wide subscriber (installed on first use) hands each event to
//! the captures active on the thread that emits it. A thread-local
//! subscriber (`tracing::subscriber::set_default`) would miss events when
//! tests on other threads hit the same call site first: `tracing` caches a
//! call site's interest for the whole process.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};

type Caught = Arc<Mutex<Vec<(tracing::Level, String)>>>;

thread_local! {
    static ACTIVE: RefCell<Vec<(&'static str, Caught)>> = const { RefCell::new(Vec::new()) };
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

impl Events {
    /// Starts catching the events of `target` on this thread.
    pub fn capture(target: &'static str) -> (Events, Guard) {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            tracing::subscriber::set_global_default(Dispatch)
                .expect("no other global tracing subscriber in the tests");
        });
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
        let events = self.caught.lock().unwrap();
        events
            .iter()
            .filter(|(l, _)| *l == tracing::Level::WARN)
            .map(|(_, m)| m.clone())
            .collect()
    }
}

/// The process-wide subscriber: every event of this crate's targets goes to
/// the captures of its thread.
struct Dispatch;

impl tracing::Subscriber for Dispatch {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_event() && metadata.target().starts_with("orm")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let target = event.metadata().target();
        ACTIVE.with(|a| {
            for (wanted, caught) in a.borrow().iter() {
                if *wanted == target {
                    let mut message = Message(String::new());
                    event.record(&mut message);
                    caught
                        .lock()
                        .unwrap()
                        .push((*event.metadata().level(), message.0));
                }
            }
        });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
