//! A private PgBouncer for one test, in front of the shared PostgreSQL
//! server (`ORM_TEST_POSTGRES_URL`), in transaction mode.
//!
//! ```no_run
//! # fn demo() {
//! let Some(bouncer) = orm_tests::pgbouncer::PgBouncer::builder()
//!     .pool_size(2)
//!     .search_path("orm_t_1") // each server session starts in the test's schema
//!     .start()
//! else {
//!     return; // skipped, reason printed
//! };
//! let url = bouncer.url(); // postgres://postgres@127.0.0.1:<port>/test
//! # }
//! ```
//!
//! Each PgBouncer runs in a temporary directory of its own (`pgbouncer.ini`,
//! `userlist.txt`, `pgbouncer.log`), on a free port of 127.0.0.1, as the
//! `postgres` user (PgBouncer refuses to run as root) when the test runs as
//! root. Its one database, `test`, is the server URL's database, reached as
//! the URL's user; clients are let in without a password (`auth_type =
//! trust`). `pool_mode = transaction`, and nothing else is relaxed: by default no
//! `ignore_startup_parameters`, so a client that sends a startup parameter
//! PgBouncer does not track is refused, as a production PgBouncer would.
//!
//! Dropping the [`PgBouncer`] kills the process and deletes its directory,
//! also when the test panics; one left by a killed test process is stopped
//! and removed by the next PgBouncer made on this machine.
//!
//! When `pgbouncer` is not installed (Debian's `pgbouncer` package), or no
//! server URL is set, the test is skipped with the reason printed, or fails
//! with `ORM_TEST_REQUIRE_ALL=1`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Prefix of the temporary directories, for finding orphans.
const DIR_PREFIX: &str = "orm-pgbouncer-";

/// The file in a directory naming the test process that owns it.
const OWNER_FILE: &str = "owner.pid";

/// How long PgBouncer may take to listen.
const START_WAIT: Duration = Duration::from_secs(20);

/// Where Debian installs PgBouncer; `PATH` is searched first.
const DEBIAN_BINARY: &str = "/usr/sbin/pgbouncer";

/// A PgBouncer process of its own, for one test. See the [module docs](self).
pub struct PgBouncer {
    root: PathBuf,
    port: u16,
    child: Child,
}

/// Settings for a [`PgBouncer`] before it starts.
pub struct PgBouncerBuilder {
    pool_size: u32,
    reserve_pool_size: u32,
    search_path: Option<String>,
    ignore_startup_parameters: Option<String>,
}

impl Default for PgBouncerBuilder {
    fn default() -> Self {
        PgBouncerBuilder {
            pool_size: 2,
            reserve_pool_size: 0,
            search_path: None,
            ignore_startup_parameters: None,
        }
    }
}

/// The server behind PgBouncer, from a `postgres://user[:password]@host[:port]/db` URL.
struct Server {
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
    database: String,
}

impl Server {
    fn parse(url: &str) -> Result<Server, String> {
        let rest = url
            .split_once("://")
            .map(|(_, r)| r)
            .ok_or_else(|| format!("`{url}` is not a URL"))?;
        let rest = rest.split('?').next().unwrap_or(rest);
        let (authority, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
        let (auth, host_port) = authority
            .rsplit_once('@')
            .unwrap_or(("postgres", authority));
        let (user, password) = match auth.split_once(':') {
            Some((u, p)) => (u, Some(p.to_owned())),
            None => (auth, None),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in `{url}`"))?),
            None => (host_port, 5432),
        };
        Ok(Server {
            user: user.to_owned(),
            password,
            host: host.to_owned(),
            port,
            database: database.to_owned(),
        })
    }
}

impl PgBouncerBuilder {
    /// Server sessions per database and user (`default_pool_size`; default 2).
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = n;
        self
    }

    /// Extra server sessions lent when a client has waited 0.1 s
    /// (`reserve_pool_size`, `reserve_pool_timeout`; default none).
    pub fn reserve_pool_size(mut self, n: u32) -> Self {
        self.reserve_pool_size = n;
        self
    }

    /// Every server session starts with `SET search_path TO "schema"`
    /// (PgBouncer's `connect_query`): the way an administrator gives a
    /// database alias its schema, since a client's `SET` would not last.
    pub fn search_path(mut self, schema: &str) -> Self {
        self.search_path = Some(schema.to_owned());
        self
    }

    /// Startup parameters PgBouncer lets in and drops instead of refusing
    /// the client (`ignore_startup_parameters`, comma-separated; default none).
    pub fn ignore_startup_parameters(mut self, names: &str) -> Self {
        self.ignore_startup_parameters = Some(names.to_owned());
        self
    }

    /// Writes the configuration and starts PgBouncer; `None` (the reason
    /// printed) when this machine cannot run one and
    /// `ORM_TEST_REQUIRE_ALL` is not `1`.
    pub fn start(self) -> Option<PgBouncer> {
        let found = prerequisites();
        let (binary, run_as, server) = match found {
            Ok(found) => found,
            Err(reason) => {
                if std::env::var("ORM_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                    panic!("cannot start PgBouncer: {reason}; ORM_TEST_REQUIRE_ALL=1 forbids skipping this test");
                }
                eprintln!("skipped: cannot start PgBouncer: {reason}");
                return None;
            }
        };
        reap_orphans();
        let root = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", crate::unique_name()));
        std::fs::create_dir(&root)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
        std::fs::write(root.join(OWNER_FILE), std::process::id().to_string())
            .expect("write owner file");
        give_to(run_as, &root);
        // Another process may take the free port before PgBouncer binds it: try a few.
        for attempt in 1.. {
            let port = crate::private_server::free_port();
            self.write_config(&root, port, &server, run_as);
            let log = std::fs::File::create(root.join("stderr.log")).expect("create stderr.log");
            let mut cmd = Command::new(&binary);
            cmd.arg(root.join("pgbouncer.ini"))
                .current_dir(&root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            if let Some((uid, gid)) = run_as {
                use std::os::unix::process::CommandExt as _;
                cmd.uid(uid).gid(gid);
            }
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let mut bouncer = PgBouncer {
                root: root.clone(),
                port,
                child,
            };
            match bouncer.wait_listening() {
                Ok(()) => return Some(bouncer),
                Err(e)
                    if attempt < 5 && bouncer.log_tail(20).contains("Address already in use") =>
                {
                    eprintln!("pgbouncer: port {port} taken, trying another: {e}");
                    bouncer.kill();
                    std::mem::forget(bouncer);
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn write_config(&self, root: &Path, port: u16, server: &Server, run_as: RunAs) {
        let mut database = format!(
            "host={} port={} dbname={} user={}",
            server.host, server.port, server.database, server.user
        );
        if let Some(password) = &server.password {
            database.push_str(&format!(" password={password}"));
        }
        if let Some(schema) = &self.search_path {
            database.push_str(&format!(" connect_query='SET search_path TO \"{schema}\"'"));
        }
        let ini = format!(
            "; written by orm_tests::pgbouncer\n\
             [databases]\n\
             test = {database}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {users}\n\
             pool_mode = transaction\n\
             default_pool_size = {pool}\n\
             min_pool_size = 0\n\
             reserve_pool_size = {reserve}\n\
             reserve_pool_timeout = 0.1\n\
             max_client_conn = 500\n\
             logfile = {log}\n\
             pidfile = {pid}\n\
             ignore_startup_parameters = {ignored}\n",
            users = root.join("userlist.txt").display(),
            pool = self.pool_size,
            reserve = self.reserve_pool_size,
            log = root.join("pgbouncer.log").display(),
            pid = root.join("pgbouncer.pid").display(),
            ignored = self.ignore_startup_parameters.as_deref().unwrap_or(""),
        );
        for (name, text) in [
            ("pgbouncer.ini", ini),
            ("userlist.txt", format!("\"{}\" \"\"\n", server.user)),
        ] {
            let path = root.join(name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {name}: {e}"));
            give_to(run_as, &path);
        }
    }
}

impl PgBouncer {
    /// A PgBouncer with the default settings (2 server sessions, no schema).
    pub fn builder() -> PgBouncerBuilder {
        PgBouncerBuilder::default()
    }

    /// The URL of its database `test`, over TCP, without parameters.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The last `lines` lines of PgBouncer's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = std::fs::read_to_string(self.root.join("pgbouncer.log")).unwrap_or_default();
        text.push_str(&std::fs::read_to_string(self.root.join("stderr.log")).unwrap_or_default());
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "pgbouncer exited at start ({status}):\n{}",
                    self.log_tail(20)
                ));
            }
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "pgbouncer did not listen on port {} within {START_WAIT:?}:\n{}",
                    self.port,
                    self.log_tail(20)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The user PgBouncer runs as (uid, gid), when it is not the test's own.
type RunAs = Option<(u32, u32)>;

/// The binary, the user to run it as, and the server, or why PgBouncer
/// cannot run.
fn prerequisites() -> Result<(PathBuf, RunAs, Server), String> {
    let binary = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("pgbouncer"))
        .chain([PathBuf::from(DEBIAN_BINARY)])
        .find(|p| p.is_file())
        .ok_or("`pgbouncer` is not installed (Debian: `apt-get install pgbouncer`)")?;
    let url = std::env::var(crate::POSTGRES_VAR)
        .ok()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| format!("{} is not set", crate::POSTGRES_VAR))?;
    let server = Server::parse(&url)?;
    if crate::private_server::euid()? != 0 {
        return Ok((binary, None, server));
    }
    // PgBouncer refuses to run as root.
    let id = crate::cluster::postgres_id;
    Ok((binary, Some((id("-u")?, id("-g")?)), server))
}

fn give_to(run_as: RunAs, path: &Path) {
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", path.display()));
    }
}

/// PgBouncers whose owning test process is gone (killed before its Drop ran).
fn reap_orphans() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let root = entry.path();
        let Ok(owner) = std::fs::read_to_string(root.join(OWNER_FILE)) else {
            continue;
        };
        let owner = owner.trim();
        if owner.is_empty() || crate::private_server::is_alive(owner) {
            continue;
        }
        if let Ok(pid) = std::fs::read_to_string(root.join("pgbouncer.pid")) {
            let pid = pid.trim();
            if !pid.is_empty() && crate::private_server::is_alive(pid) {
                eprintln!(
                    "pgbouncer: stopping {pid} of {} (its test process {owner} is gone)",
                    root.display()
                );
                let _ = Command::new("kill").args(["-KILL", pid]).output();
            }
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
