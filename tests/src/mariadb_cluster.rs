//! A private MariaDB server for one test, and GTID replicas of it, which the
//! test may stop, kill, start and lag without touching the shared server on
//! port 3306. The MariaDB counterpart of [`cluster`](crate::cluster).
//!
//! ```no_run
//! # fn demo() {
//! use orm_tests::mariadb_cluster::MariaDbServer;
//! let Some(primary) = MariaDbServer::new() else { return }; // skipped, reason printed
//! let Some(replica) = MariaDbServer::builder()
//!     .replica_of(&primary)
//!     .setting("read_only", "1")
//!     .start()
//! else {
//!     return;
//! };
//! let url = replica.app_url(); // mysql://app@127.0.0.1:<port>/test
//! replica.pause_apply(); // STOP SLAVE SQL_THREAD: writes on the primary wait
//! replica.resume_apply(); // START SLAVE SQL_THREAD
//! replica.kill(); // SIGKILL, as a crash
//! replica.start(); // back, and replicating again
//! # }
//! ```
//!
//! Each server lives in a temporary directory of its own (`data/` made by
//! `mariadb-install-db`, `tmp/` for its `tmpdir`, the unix socket, the pid
//! file, `server.log`).
//! `mariadbd` is a child of the test process with `--no-defaults`, so no
//! `my.cnf` of the machine applies. When the test runs as root (as here and
//! in CI) both tools run with `--user=root`: the temporary directory is the
//! test's, mode 0700, and a server as `mysql` could not enter it (with
//! `--user=mysql`, `mariadb-install-db` fails with "Permission denied" on
//! `aria_log_control`). As another user they run as that user.
//!
//! Every server writes a binary log (`--log-bin`, `--log-slave-updates`,
//! row format) and has a `server_id` of its own, so any of them can be a
//! primary, also after a failover. Settings are light: a 16 MB buffer pool,
//! an 8 MB redo log, no doublewrite buffer, `innodb_flush_log_at_trx_commit
//! = 2` and `sync_binlog = 0` (committed work survives a killed server, not
//! a crashed machine). A server answers within a second of its start;
//! `mariadb-install-db` takes 2-4 s.
//!
//! Two accounts, both without a password, on 127.0.0.1: `root`
//! ([`url`](MariaDbServer::url)) and `app` ([`app_url`](MariaDbServer::app_url)),
//! which has every privilege but `READ ONLY ADMIN`, so `read_only = 1`
//! refuses its writes as it does an application's (MariaDB 10.11 lets
//! holders of `READ ONLY ADMIN`, root included, write to a read-only
//! server; MariaDB KB "read_only" system variable). Both, and the database
//! `test`, are made on a primary and reach its replicas by replication.
//!
//! Replicas: [`MariaDbServerBuilder::replica_of`] makes a fresh server
//! replicate a running one from its first transaction (`CHANGE MASTER TO
//! ... MASTER_USE_GTID = slave_pos`, MariaDB KB "Global Transaction ID"),
//! and returns once both replication threads run and it has applied all
//! that the primary had committed. Lag: [`set_delay`](MariaDbServer::set_delay)
//! (`MASTER_DELAY`, whole seconds), or [`pause_apply`](MariaDbServer::pause_apply)
//! and [`resume_apply`](MariaDbServer::resume_apply) for a lag that lasts
//! exactly as long as the test wants.
//!
//! Dropping a [`MariaDbServer`] kills its server (the data is thrown away)
//! and deletes its directory, also when the test panics. A directory left
//! by a test process that was killed outright is found and cleaned up,
//! server included, by the next server made on this machine.
//!
//! When the tools are missing, a server cannot be made: the test is skipped
//! with the reason printed, or fails with `ORM_TEST_REQUIRE_ALL=1`.
//!
//! Failures of the harness itself (a tool that fails, a server that does
//! not come up or does not replicate within [`WAIT`]) panic with the
//! server's log, as a failed test should.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::private_server::{cannot_start, euid, free_port, is_alive, make_root, signal, tail};

/// How long a start, a stop or the first catch-up of a replica may take
/// before the harness gives up: generous, for a loaded machine.
pub const WAIT: Duration = Duration::from_secs(120);

/// Prefix of the temporary directories, for finding orphans.
const DIR_PREFIX: &str = "orm-mariadb-";

/// The account without `READ ONLY ADMIN`, see [`MariaDbServer::app_url`].
const APP_USER: &str = "app";

/// Options of `mariadbd` (and of `mariadb-install-db`, which starts one):
/// a small, fast server; see the module docs.
const INNODB_OPTIONS: &[&str] = &[
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=8M",
    "--innodb-doublewrite=0",
    "--innodb-flush-log-at-trx-commit=2",
];

/// Server ids: unique among the servers of this process, which are the
/// only ones that replicate from each other.
static NEXT_SERVER_ID: AtomicU32 = AtomicU32::new(1);

/// The MariaDB programs a server needs.
#[derive(Clone, Debug)]
struct Tools {
    mariadbd: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
    /// `--user=root` when the test runs as root.
    as_root: bool,
}

/// A MariaDB server of its own, for one test. See the [module docs](self).
pub struct MariaDbServer {
    tools: Tools,
    root: PathBuf,
    port: u16,
    server_id: u32,
    /// `--name=value` options given with [`MariaDbServerBuilder::setting`].
    settings: Vec<String>,
    /// The running `mariadbd`; `None` when stopped or killed. The lock
    /// also serializes start, stop and kill.
    child: Mutex<Option<Child>>,
}

/// Settings for a [`MariaDbServer`] before it starts.
#[derive(Default)]
pub struct MariaDbServerBuilder {
    settings: Vec<String>,
    /// The port of the primary to replicate.
    replica_of: Option<u16>,
}

impl MariaDbServerBuilder {
    /// Adds the `mariadbd` option `--name=value` (`name` with `_` or `-`,
    /// as the MariaDB manual lists server system variables: `read_only`,
    /// `1`). Later options win over earlier ones and over the defaults.
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push(format!("--{name}={value}"));
        self
    }

    /// Makes the new server a GTID replica of `primary` (which must be
    /// running), replicating everything from the primary's first
    /// transaction: `start` returns once it has caught up.
    pub fn replica_of(mut self, primary: &MariaDbServer) -> Self {
        self.replica_of = Some(primary.port);
        self
    }

    /// Creates the server and starts it; `None` (the reason printed) when
    /// this machine cannot run one and `ORM_TEST_REQUIRE_ALL` is not `1`.
    /// A primary (no [`replica_of`](Self::replica_of)) gets the database
    /// `test` and the `app` account; a replica gets them from its primary.
    pub fn start(self) -> Option<MariaDbServer> {
        let tools = match prerequisites() {
            Ok(tools) => tools,
            Err(reason) => {
                cannot_start("a private MariaDB server", &reason);
                return None;
            }
        };
        let root = make_root(DIR_PREFIX, shut_down);
        let mut server = MariaDbServer {
            tools,
            root,
            port: 0,
            server_id: NEXT_SERVER_ID.fetch_add(1, Ordering::Relaxed),
            settings: self.settings,
            child: Mutex::new(None),
        };
        // From here on, `server`'s Drop kills the server and removes the directory.
        std::fs::create_dir(server.tmp_dir()).expect("create tmpdir");
        server.install();
        // Another process may take a free port between our look and the
        // server's bind: try a few.
        for attempt in 1.. {
            server.port = free_port();
            match server.spawn_and_wait() {
                Ok(()) => break,
                Err(e) if attempt < 5 && server.log_tail(20).contains("Address already in use") => {
                    eprintln!("mariadb: port {} taken, trying another: {e}", server.port);
                }
                Err(e) => panic!("{e}"),
            }
        }
        match self.replica_of {
            None => {
                server.sql(&format!(
                    "CREATE DATABASE IF NOT EXISTS test; \
                     CREATE USER IF NOT EXISTS '{APP_USER}'@'127.0.0.1'; \
                     GRANT ALL PRIVILEGES ON *.* TO '{APP_USER}'@'127.0.0.1'; \
                     REVOKE READ_ONLY ADMIN ON *.* FROM '{APP_USER}'@'127.0.0.1'"
                ));
            }
            Some(primary_port) => server.follow(primary_port),
        }
        Some(server)
    }
}

impl MariaDbServer {
    /// A fresh primary, running; `None` when skipped (see [`MariaDbServerBuilder::start`]).
    pub fn new() -> Option<MariaDbServer> {
        MariaDbServer::builder().start()
    }

    /// A server with settings of its own, or a replica of another.
    pub fn builder() -> MariaDbServerBuilder {
        MariaDbServerBuilder::default()
    }

    /// The URL of database `test` as `root` (no password), over TCP.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/test", self.port)
    }

    /// The URL of database `test` as `app` (no password, every privilege
    /// but `READ ONLY ADMIN`), over TCP: the account a server started with
    /// `read_only = 1` refuses writes to (error 1290, SQLSTATE HY000,
    /// `ER_OPTION_PREVENTS_STATEMENT`).
    pub fn app_url(&self) -> String {
        format!("mysql://{APP_USER}@127.0.0.1:{}/test", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// This server's `server_id`.
    pub fn server_id(&self) -> u32 {
        self.server_id
    }

    /// The data directory (`datadir`).
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The server's own `tmpdir`: with a shared one, parallel
    /// `mariadb-install-db` runs fail now and then ("Could not remove
    /// temporary table", then "Unknown table 'mysql.tmp_proxies_priv'").
    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The server's error log.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// The last `lines` lines of the server's error log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(), lines)
    }

    /// Whether `mariadbd` runs: started and neither stopped, killed nor
    /// exited by itself since.
    pub fn is_running(&self) -> bool {
        let mut child = self.child();
        match child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                *child = None;
                false
            }
            None => false,
        }
    }

    /// The process id of `mariadbd`, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child().as_ref().map(Child::id)
    }

    /// Starts the stopped (or killed) server on its port and waits until it
    /// answers. A replica resumes replicating by itself, from the position
    /// it had applied (`gtid_slave_pos`); one whose applying was paused
    /// applies again.
    pub fn start(&self) {
        self.spawn_and_wait().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops the server cleanly (SIGTERM: a normal shutdown, replication
    /// threads stopped first) and waits until it has exited.
    pub fn stop(&self) {
        let mut child = self.child();
        let Some(mut running) = child.take() else {
            panic!("stop: the server on port {} is not running", self.port);
        };
        signal("TERM", &running.id().to_string());
        let deadline = Instant::now() + WAIT;
        loop {
            match running.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = running.kill();
                    let _ = running.wait();
                    panic!(
                        "stop: the server on port {} did not exit within {WAIT:?}; killed\n--- server log ---\n{}",
                        self.port,
                        self.log_tail(30)
                    );
                }
            }
        }
    }

    /// Kills the server outright (SIGKILL), as a crash or a lost machine
    /// would, and waits until it is gone. [`start`](Self::start) recovers it.
    pub fn kill(&self) {
        let mut child = self.child();
        let Some(mut running) = child.take() else {
            panic!("kill: the server on port {} is not running", self.port);
        };
        running.kill().expect("SIGKILL mariadbd");
        running.wait().expect("wait for the killed mariadbd");
    }

    /// Runs `statements` (separated by `;`) as `root`, with no default
    /// database (write `test.t`, or begin with `USE test;`), with the
    /// `mariadb` client and returns what it printed: one line per row,
    /// columns separated by tabs, no header. Panics with the client's error
    /// and the server log if it fails.
    pub fn sql(&self, statements: &str) -> String {
        run_client(&self.tools, self.port, statements, false)
            .unwrap_or_else(|e| panic!("{e}\n--- server log ---\n{}", self.log_tail(30)))
    }

    /// The first column of the first row of `query`, or `""` for no row.
    pub fn query_value(&self, query: &str) -> String {
        self.sql(query)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// `@@gtid_current_pos`: the GTID of the last transaction this server
    /// wrote or applied, per replication domain (`0-1-42`, or several
    /// separated by commas; empty before the first).
    pub fn gtid_current_pos(&self) -> String {
        self.query_value("SELECT @@gtid_current_pos")
    }

    /// Waits until this replica has applied `gtid_pos` (a
    /// [`gtid_current_pos`](Self::gtid_current_pos) of its primary), at most
    /// `timeout`: `true` when it has, `false` when the time ran out
    /// (`MASTER_GTID_WAIT`, MariaDB KB). Panics when `gtid_pos` is not a
    /// GTID list (digits, `-` and `,`).
    pub fn wait_for_gtid(&self, gtid_pos: &str, timeout: Duration) -> bool {
        assert!(
            gtid_pos
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ','),
            "wait_for_gtid: `{gtid_pos}` is not a GTID position"
        );
        let answer = self.query_value(&format!(
            "SELECT MASTER_GTID_WAIT('{gtid_pos}', {})",
            timeout.as_secs_f64()
        ));
        answer == "0"
    }

    /// The row of `SHOW SLAVE STATUS` by column name (`Slave_IO_Running`,
    /// `Slave_SQL_Running`, `Last_IO_Error`, `Seconds_Behind_Master`, ...);
    /// empty on a server that is not a replica.
    pub fn replica_status(&self) -> BTreeMap<String, String> {
        let text = run_client(&self.tools, self.port, "SHOW SLAVE STATUS", true)
            .unwrap_or_else(|e| panic!("{e}\n--- server log ---\n{}", self.log_tail(30)));
        let mut lines = text.lines();
        let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
            return BTreeMap::new();
        };
        names
            .split('\t')
            .zip(values.split('\t'))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// Makes this replica apply each transaction `seconds` after the
    /// primary committed it (`CHANGE MASTER TO MASTER_DELAY`, MariaDB KB
    /// "Delayed Replication"); 0 removes the delay. The delay counts from
    /// the event's timestamp, in whole seconds, so a transaction may be
    /// applied up to 1 s sooner than `seconds` after its commit: use 2 or
    /// more for a lag that is always there. Replication is stopped and
    /// started again around the change.
    pub fn set_delay(&self, seconds: u32) {
        self.sql(&format!(
            "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = {seconds}; START SLAVE"
        ));
    }

    /// Stops applying replicated transactions (`STOP SLAVE SQL_THREAD`):
    /// the replica keeps receiving them and lags until
    /// [`resume_apply`](Self::resume_apply).
    pub fn pause_apply(&self) {
        self.sql("STOP SLAVE SQL_THREAD");
    }

    /// Applies replicated transactions again (`START SLAVE SQL_THREAD`).
    pub fn resume_apply(&self) {
        self.sql("START SLAVE SQL_THREAD");
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `mariadb-install-db` into `data/`.
    fn install(&self) {
        let log = self.root.join("install.log");
        let mut cmd = Command::new(&self.tools.install_db);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir().display()))
            .arg(format!("--tmpdir={}", self.tmp_dir().display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ])
            .args(INNODB_OPTIONS);
        if self.tools.as_root {
            cmd.arg("--user=root");
        }
        let started = Instant::now();
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.tools.install_db.display()));
        eprintln!(
            "mariadb: mariadb-install-db for server {} took {:?}",
            self.server_id,
            started.elapsed()
        );
        let _ = std::fs::write(&log, [&output.stdout[..], &output.stderr[..]].concat());
        assert!(
            output.status.success(),
            "mariadb-install-db failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts `mariadbd` and waits until it answers a query on its port.
    fn spawn_and_wait(&self) -> Result<(), String> {
        let mut child = self.child();
        if child.is_some() {
            return Err(format!(
                "start: the server on port {} already runs",
                self.port
            ));
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("cannot open {}: {e}", self.log_path().display()))?;
        let mut cmd = Command::new(&self.tools.mariadbd);
        cmd.arg("--no-defaults");
        if self.tools.as_root {
            cmd.arg("--user=root");
        }
        cmd.arg(format!("--datadir={}", self.data_dir().display()))
            .arg(format!("--tmpdir={}", self.tmp_dir().display()))
            .arg(format!("--port={}", self.port))
            .arg(format!(
                "--socket={}",
                self.root.join("mariadbd.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.root.join("mariadbd.pid").display()
            ))
            .arg(format!("--log-error={}", self.log_path().display()))
            .arg(format!("--server-id={}", self.server_id))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--log-bin=mariadb-bin",
                "--log-slave-updates",
                "--binlog-format=ROW",
                "--sync-binlog=0",
                "--relay-log=relay-bin",
                "--max-connections=100",
            ])
            .args(INNODB_OPTIONS)
            .args(&self.settings)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let started = Instant::now();
        let mut running = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.tools.mariadbd.display()))?;
        let deadline = started + WAIT;
        loop {
            if let Ok(Some(status)) = running.try_wait() {
                return Err(format!(
                    "mariadbd on port {} exited ({status}) before answering\n--- server log ---\n{}",
                    self.port,
                    self.log_tail(30)
                ));
            }
            match run_client(&self.tools, self.port, "SELECT 1", false) {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => {
                    let _ = running.kill();
                    let _ = running.wait();
                    return Err(format!(
                        "mariadbd on port {} did not answer within {WAIT:?}: {e}\n--- server log ---\n{}",
                        self.port,
                        self.log_tail(30)
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        eprintln!(
            "mariadb: server {} answers on port {} after {:?}",
            self.server_id,
            self.port,
            started.elapsed()
        );
        *child = Some(running);
        Ok(())
    }

    /// Replicates the primary on `primary_port` from its first transaction,
    /// and waits until both threads run and all it had committed is applied.
    fn follow(&self, primary_port: u16) {
        let primary_pos = run_client(
            &self.tools,
            primary_port,
            "SELECT @@gtid_current_pos",
            false,
        )
        .unwrap_or_else(|e| panic!("replica_of: the primary does not answer: {e}"));
        let primary_pos = primary_pos.trim();
        self.sql(&format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {primary_port}, \
             MASTER_USER = 'root', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1; \
             START SLAVE"
        ));
        let deadline = Instant::now() + WAIT;
        loop {
            let status = self.replica_status();
            let yes = |name: &str| status.get(name).is_some_and(|v| v == "Yes");
            if yes("Slave_IO_Running") && yes("Slave_SQL_Running") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "replica on port {} does not replicate port {primary_port} within {WAIT:?}: {status:?}\n--- server log ---\n{}",
                self.port,
                self.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        if !primary_pos.is_empty() {
            assert!(
                self.wait_for_gtid(primary_pos, WAIT),
                "replica on port {} did not apply the primary's {primary_pos} within {WAIT:?}: {:?}",
                self.port,
                self.replica_status()
            );
        }
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        if let Some(mut running) = self.child().take() {
            let _ = running.kill();
            let _ = running.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Kills the server that runs in `root` (found by its pid file, and only
/// if that process is a `mariadbd` of this directory) and deletes `root`:
/// for directories whose test process was killed before its Drop ran.
fn shut_down(root: &Path) {
    let pid = std::fs::read_to_string(root.join("mariadbd.pid")).unwrap_or_default();
    let pid = pid.trim();
    let ours = !pid.is_empty()
        && std::fs::read(Path::new("/proc").join(pid).join("cmdline")).is_ok_and(|cmdline| {
            String::from_utf8_lossy(&cmdline).contains(&*root.to_string_lossy())
        });
    if ours && is_alive(pid) {
        signal("KILL", pid);
        let deadline = Instant::now() + Duration::from_secs(10);
        while is_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = std::fs::remove_dir_all(root);
}

/// `mariadb -e statements` as root over TCP on `port`, no default
/// database; its standard output (with a header line when `header`), or
/// its error.
fn run_client(tools: &Tools, port: u16, statements: &str, header: bool) -> Result<String, String> {
    let mut cmd = Command::new(&tools.client);
    cmd.args([
        "--no-defaults",
        "--protocol=TCP",
        "--host=127.0.0.1",
        "--user=root",
        "--batch",
        "--connect-timeout=5",
    ])
    .arg(format!("--port={port}"));
    if !header {
        cmd.arg("--skip-column-names");
    }
    let output = cmd
        .arg("-e")
        .arg(statements)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tools.client.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{statements}` on port {port} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The MariaDB programs, or why a server cannot be made.
fn prerequisites() -> Result<Tools, String> {
    Ok(Tools {
        mariadbd: find_tool("mariadbd")?,
        install_db: find_tool("mariadb-install-db")?,
        client: find_tool("mariadb")?,
        as_root: euid()? == 0,
    })
}

/// `name` in `PATH` or in the `sbin` folders (where Debian puts `mariadbd`).
fn find_tool(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!("`{name}` is not installed (Debian: the mariadb-server and mariadb-client packages)")
        })
}
