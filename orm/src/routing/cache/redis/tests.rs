//! The Redis store against a real Redis (`ORM_TEST_REDIS_URL`), and against
//! TCP servers of the test's own that refuse, stall or drop it.
//!
//! Tests run concurrently on one shared Redis: each uses a namespace of its
//! own and deletes its keys at the end; nothing flushes the server.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::*;

/// The variable naming the Redis server of the tests.
const REDIS_VAR: &str = "ORM_TEST_REDIS_URL";

/// The Redis URL, or `None` (the reason printed) when it is not set; with
/// `ORM_TEST_REQUIRE_ALL=1` a missing URL fails the test.
fn redis_url() -> Option<String> {
    match std::env::var(REDIS_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("ORM_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                panic!(
                    "{REDIS_VAR} is not set, and ORM_TEST_REQUIRE_ALL=1 forbids skipping this test"
                );
            }
            eprintln!("skipped: set {REDIS_VAR} to run this test against Redis");
            None
        }
    }
}

/// A namespace no other test (in this or another process) uses.
fn unique_namespace() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("orm_t_{}_{n}_{nanos}", std::process::id())
}

fn options(url: &str, namespace: &str) -> RedisOptions {
    RedisOptions::new(url).namespace(namespace)
}

async fn store(url: &str, namespace: &str) -> RedisStore {
    connect(options(url, namespace))
        .await
        .expect("connect to the test Redis")
}

/// A plain connection to the test Redis, to look at keys as a user would
/// with `redis-cli`.
async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("test Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis")
}

/// Deletes every key of `namespace`.
async fn clean(url: &str, namespace: &str) {
    let mut c = raw(url).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:*"))
        .query_async(&mut c)
        .await
        .expect("KEYS");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut c)
            .await
            .expect("DEL");
    }
}

/// The cache message of `result`'s error; fails the test on anything else.
fn cache_error<T: fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Cache { backend, message }) => {
            assert_eq!(backend, "redis");
            message
        }
        other => panic!("expected Error::Cache, got {other:?}"),
    }
}

#[tokio::test]
async fn versions_start_at_zero_and_each_invalidate_bumps_its_tables() {
    let Some(url) = redis_url() else { return };
    let ns = unique_namespace();
    let s = store(&url, &ns).await;

    assert_eq!(
        s.versions("main", &["users", "posts"]).await.unwrap(),
        [0, 0]
    );
    s.invalidate("main", &["users"]).await.unwrap();
    assert_eq!(
        s.versions("main", &["users", "posts"]).await.unwrap(),
        [1, 0]
    );
    s.invalidate("main", &["users", "posts"]).await.unwrap();
    assert_eq!(
        s.versions("main", &["posts", "users"]).await.unwrap(),
        [1, 2]
    );
    // Another connection's table of the same name is another counter.
    assert_eq!(s.versions("archive", &["users"]).await.unwrap(), [0]);
    assert_eq!(s.versions("main", &[]).await.unwrap(), Vec::<u64>::new());
    s.invalidate("main", &[]).await.unwrap();

    // The keys are where the docs say, as integers.
    let mut c = raw(&url).await;
    let users: u64 = redis::cmd("GET")
        .arg(format!("{ns}:v:main:users"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(users, 2);
    clean(&url, &ns).await;
}

#[tokio::test]
async fn a_value_put_is_got_back_until_its_ttl_runs_out() {
    let Some(url) = redis_url() else { return };
    let ns = unique_namespace();
    let s = store(&url, &ns).await;
    let key = b"main\0SELECT * FROM users WHERE id = ?\x001".as_slice();
    let value: Arc<[u8]> = Arc::from(&b"\x00\xffrow bytes"[..]);

    assert_eq!(s.get(key).await.unwrap(), None);
    s.put(key, value.clone(), Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(s.get(key).await.unwrap().as_deref(), Some(&*value));
    assert_eq!(s.get(b"another key").await.unwrap(), None);

    // Stored under the SHA-256 of the key, with the ttl in milliseconds.
    let mut c = raw(&url).await;
    let redis_key = format!("{ns}:e:{:x}", Sha256::digest(key));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&redis_key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!((1..=300).contains(&pttl), "PTTL {pttl}");

    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(s.get(key).await.unwrap(), None);

    // A ttl under a millisecond still stores (rounded up), a long one too.
    assert_eq!(ttl_millis(Duration::from_micros(1)), 1);
    assert_eq!(ttl_millis(Duration::from_micros(1500)), 2);
    s.put(key, value.clone(), Duration::from_secs(u64::MAX))
        .await
        .unwrap();
    assert_eq!(s.get(key).await.unwrap().as_deref(), Some(&*value));
    clean(&url, &ns).await;
}

#[tokio::test]
async fn two_stores_on_one_namespace_see_each_others_invalidations_and_entries() {
    let Some(url) = redis_url() else { return };
    let ns = unique_namespace();
    // Two connections, as two processes of one application have.
    let one = store(&url, &ns).await;
    let two = store(&url, &ns).await;

    one.invalidate("main", &["orders"]).await.unwrap();
    assert_eq!(two.versions("main", &["orders"]).await.unwrap(), [1]);
    two.invalidate("main", &["orders"]).await.unwrap();
    assert_eq!(one.versions("main", &["orders"]).await.unwrap(), [2]);

    one.put(b"k", Arc::from(&b"v"[..]), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(two.get(b"k").await.unwrap().as_deref(), Some(&b"v"[..]));
    clean(&url, &ns).await;
}

#[tokio::test]
async fn namespaces_do_not_share_versions_or_entries() {
    let Some(url) = redis_url() else { return };
    let (ns_a, ns_b) = (unique_namespace(), unique_namespace());
    let a = store(&url, &ns_a).await;
    let b = store(&url, &ns_b).await;

    a.invalidate("main", &["orders"]).await.unwrap();
    a.put(b"k", Arc::from(&b"v"[..]), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(a.versions("main", &["orders"]).await.unwrap(), [1]);
    assert_eq!(b.versions("main", &["orders"]).await.unwrap(), [0]);
    assert_eq!(b.get(b"k").await.unwrap(), None);
    clean(&url, &ns_a).await;
    clean(&url, &ns_b).await;
}

#[tokio::test]
async fn a_bad_url_or_options_are_refused_with_a_cache_error() {
    let message = cache_error(connect(RedisOptions::new("http://127.0.0.1:6379")).await);
    assert!(message.contains("invalid Redis URL"), "{message}");

    let message = cache_error(connect(RedisOptions::new("not a url")).await);
    assert!(message.contains("invalid Redis URL"), "{message}");

    let message =
        cache_error(connect(RedisOptions::new("redis://127.0.0.1:6379").namespace("")).await);
    assert!(message.contains("namespace is empty"), "{message}");

    let message = cache_error(
        connect(RedisOptions::new("redis://127.0.0.1:6379").response_timeout(Duration::ZERO)).await,
    );
    assert!(message.contains("response timeout is zero"), "{message}");
}

#[tokio::test]
async fn an_unreachable_redis_is_a_cache_error_at_once_naming_the_url_without_its_password() {
    // A port nothing listens on: the connection is refused.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://:hunter2@127.0.0.1:{port}/0");
    let started = Instant::now();
    // A long timeout, so that only a refusal (not the timeout) ends it quickly.
    let result = connect(RedisOptions::new(&url).response_timeout(Duration::from_secs(10))).await;
    let elapsed = started.elapsed();
    let message = cache_error(result);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(
        message.contains(&format!("redis://:***@127.0.0.1:{port}/0")),
        "{message}"
    );
    assert!(message.contains("cannot connect"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn a_redis_that_never_answers_is_a_cache_error_within_the_timeout() {
    let relay = Relay::silent().await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let result = connect(RedisOptions::new(relay.url()).response_timeout(timeout)).await;
    let elapsed = started.elapsed();
    let message = cache_error(result);
    assert!(
        elapsed >= timeout && elapsed < timeout * 4,
        "took {elapsed:?}"
    );
    assert!(message.contains("no answer within 300ms"), "{message}");
}

#[tokio::test]
async fn a_redis_that_stalls_after_connecting_makes_each_command_fail_within_the_timeout() {
    let Some(url) = redis_url() else { return };
    let ns = unique_namespace();
    let relay = Relay::to(&url).await;
    let timeout = Duration::from_millis(300);
    let s = connect(options(relay.url(), &ns).response_timeout(timeout))
        .await
        .unwrap();
    s.invalidate("main", &["users"]).await.unwrap();

    relay.set(Mode::Stall);
    for what in ["MGET", "GET", "SET PX", "MULTI/EXEC of INCR"] {
        let started = Instant::now();
        let result = match what {
            "MGET" => s.versions("main", &["users"]).await.map(drop),
            "GET" => s.get(b"k").await.map(drop),
            "SET PX" => {
                s.put(b"k", Arc::from(&b"v"[..]), Duration::from_secs(9))
                    .await
            }
            _ => s.invalidate("main", &["users"]).await,
        };
        let elapsed = started.elapsed();
        let message = cache_error(result);
        assert!(
            message.contains(&format!("{what} failed: no answer within 300ms")),
            "{message}"
        );
        assert!(
            elapsed >= timeout && elapsed < timeout * 4,
            "{what} took {elapsed:?}"
        );
    }
    // Nothing of the stalled invalidation reached Redis.
    drop(relay);
    assert_eq!(
        store(&url, &ns)
            .await
            .versions("main", &["users"])
            .await
            .unwrap(),
        [1]
    );
    clean(&url, &ns).await;
}

#[tokio::test]
async fn a_redis_that_comes_back_is_used_again() {
    let Some(url) = redis_url() else { return };
    let ns = unique_namespace();
    let relay = Relay::to(&url).await;
    let s = connect(options(relay.url(), &ns).response_timeout(Duration::from_millis(500)))
        .await
        .unwrap();
    s.put(b"k", Arc::from(&b"v"[..]), Duration::from_secs(60))
        .await
        .unwrap();

    // Down: its connection is cut and new ones are closed at once.
    relay.set(Mode::Down);
    let started = Instant::now();
    cache_error(s.get(b"k").await);
    cache_error(s.get(b"k").await);
    assert!(started.elapsed() < Duration::from_secs(2));

    // Back: the store reconnects on its own.
    relay.set(Mode::Forward);
    let deadline = Instant::now() + Duration::from_secs(10);
    let value = loop {
        match s.get(b"k").await {
            Ok(value) => break value,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not back yet: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("Redis is back, and the store still fails: {e}"),
        }
    };
    assert_eq!(value.as_deref(), Some(&b"v"[..]));
    assert!(relay.accepted() >= 2, "no new connection was made");
    s.invalidate("main", &["users"]).await.unwrap();
    assert_eq!(s.versions("main", &["users"]).await.unwrap(), [1]);
    clean(&url, &ns).await;
}

/// What the [`Relay`] does with connections.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Mode {
    /// Forwards bytes both ways.
    Forward,
    /// Holds every connection open and forwards nothing more.
    Stall,
    /// Closes every connection, and each new one as soon as it is accepted.
    Down,
}

/// A TCP server on 127.0.0.1 in front of Redis (or of nothing) whose
/// behaviour the test switches: a Redis that stalls, goes down, comes back.
struct Relay {
    /// The URL that reaches Redis through the relay.
    url: String,
    mode: Arc<AtomicU8>,
    accepted: Arc<AtomicUsize>,
    connections: Arc<Mutex<JoinSet<()>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Accepts connections and never answers.
    async fn silent() -> Relay {
        Relay::start(None, "redis://0.0.0.0:0/", Mode::Stall).await
    }

    /// Forwards to the Redis of `url`.
    async fn to(url: &str) -> Relay {
        let target = redis::Client::open(url)
            .expect("test Redis URL")
            .get_connection_info()
            .addr()
            .to_string();
        Relay::start(Some(target), url, Mode::Forward).await
    }

    /// Listens on a free port; its URL is `url` with its `host:port`
    /// replaced by the relay's (`target`'s, or `0.0.0.0:0`).
    async fn start(target: Option<String>, url: &str, mode: Mode) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let host_port = target.as_deref().unwrap_or("0.0.0.0:0");
        assert!(
            url.contains(host_port),
            "write the port in {REDIS_VAR}: {url}"
        );
        let url = url.replacen(host_port, &addr.to_string(), 1);
        let mode = Arc::new(AtomicU8::new(mode as u8));
        let accepted = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let task = tokio::spawn({
            let (mode, accepted, connections) =
                (mode.clone(), accepted.clone(), connections.clone());
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    if mode.load(Ordering::SeqCst) == Mode::Down as u8 {
                        continue; // dropped: closed at once
                    }
                    let (target, mode) = (target.clone(), mode.clone());
                    connections
                        .lock()
                        .unwrap()
                        .spawn(relay_one(inbound, target, mode));
                }
            }
        });
        Relay {
            url,
            mode,
            accepted,
            connections,
            task,
        }
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        if let Mode::Down = mode {
            // Aborting a connection's task drops (closes) both its sockets.
            self.connections.lock().unwrap().abort_all();
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        self.connections.lock().unwrap().abort_all();
    }
}

/// Forwards one connection, or holds it unanswered when there is no target.
async fn relay_one(inbound: TcpStream, target: Option<String>, mode: Arc<AtomicU8>) {
    let Some(target) = target else {
        let _held = inbound;
        return std::future::pending().await;
    };
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = inbound.into_split();
    let (server_read, server_write) = outbound.into_split();
    tokio::join!(
        pump(client_read, server_write, &mode),
        pump(server_read, client_write, &mode)
    );
}

/// Copies bytes from `from` to `to` until either closes; in [`Mode::Stall`]
/// it keeps what it read and waits forever.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: &AtomicU8,
) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if mode.load(Ordering::SeqCst) == Mode::Stall as u8 {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
