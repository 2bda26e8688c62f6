//! A private PostgreSQL server for one test, which the test may stop,
//! start and restart without touching the shared server on port 5432.
//!
//! ```no_run
//! # fn demo() {
//! let Some(cluster) = orm_tests::cluster::Cluster::new() else { return }; // skipped, reason printed
//! let url = cluster.url(); // postgres://postgres@127.0.0.1:<port>/postgres
//! cluster.restart(); // `pg_ctl restart -m fast`, back when it answers again
//! # }
//! ```
//!
//! Each cluster lives in a temporary directory of its own (`data/` made by
//! `initdb`, `sock/` for its unix socket, `server.log`), owned by the
//! `postgres` user because `initdb` and `postgres` refuse to run as root.
//! The tools come from the newest `/usr/lib/postgresql/<version>/bin` (or
//! `ORM_TEST_PG_BIN`) and run as `postgres` through `runuser` when the test
//! runs as root (as it does here and in CI), directly when it runs as
//! `postgres`. Authentication is `trust`, for normal and replication
//! connections, on 127.0.0.1 and the socket.
//!
//! Dropping the [`Cluster`] stops the server (`-m immediate`) and deletes
//! its directory, also when the test panics. A directory left by a test
//! process that was killed outright is found and cleaned up, server
//! included, by the next cluster made on this machine.
//!
//! When the tools are missing, or the test runs as another user, a cluster
//! cannot be made: the test is skipped with the reason printed, or fails
//! with `ORM_TEST_REQUIRE_ALL=1`, as for a missing server URL.
//!
//! Replicas: [`ClusterBuilder::base_backup_of`] makes a cluster from
//! `pg_basebackup -R` of a running one (a streaming standby of it);
//! [`ClusterBuilder::setting`] adds `postgresql.conf` settings, and
//! [`Cluster::tool`] runs any other tool against a cluster.
//! [`Cluster::freeze`] makes a server that accepts connections and never
//! answers them; [`Cluster::kill`] crashes one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::private_server::{cannot_start, euid, free_port, group_alive, make_root, signal, tail};

/// Names the folder of `initdb`, `pg_ctl`, ..., instead of the newest one
/// under `/usr/lib/postgresql`.
pub const BIN_VAR: &str = "ORM_TEST_PG_BIN";

/// How long `pg_ctl` waits for a start or stop: generous, for a loaded machine.
const PG_CTL_WAIT: Duration = Duration::from_secs(120);

/// Prefix of the temporary directories, for finding orphans.
const DIR_PREFIX: &str = "orm-pg-";

/// Settings every cluster gets: reachable on 127.0.0.1 only, and light.
/// `fsync = off` makes `initdb`, checkpoints and shutdowns fast; a test
/// cluster never outlives a crash of its machine.
const BASE_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "'127.0.0.1'"),
    ("fsync", "off"),
    ("shared_buffers", "'16MB'"),
    ("max_connections", "50"),
    ("log_line_prefix", "'%m [%p] '"),
];

/// A PostgreSQL server of its own, for one test. See the [module docs](self).
pub struct Cluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    run_as: RunAs,
    running: AtomicBool,
    /// Serializes `pg_ctl` calls on this cluster.
    control: Mutex<()>,
}

/// How the tools are run.
#[derive(Clone, Copy, Debug)]
enum RunAs {
    /// The test runs as root: `runuser -u postgres -- tool`.
    Root { uid: u32, gid: u32 },
    /// The test runs as `postgres`: the tool itself.
    Postgres,
}

/// Settings for a [`Cluster`] before it starts.
#[derive(Default)]
pub struct ClusterBuilder {
    settings: Vec<(String, String)>,
    /// The port of the primary to copy with `pg_basebackup`.
    base_backup_of: Option<u16>,
}

impl ClusterBuilder {
    /// Adds `name = value` to `postgresql.conf` (`value` as written there:
    /// quote strings, `'replica'`). Later settings win over earlier ones and
    /// over the defaults.
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts from `pg_basebackup -R` of `primary` (which must be running)
    /// instead of `initdb`: the new cluster is a streaming standby of it,
    /// on a port and socket of its own.
    pub fn base_backup_of(mut self, primary: &Cluster) -> Self {
        self.base_backup_of = Some(primary.port);
        self
    }

    /// Creates the cluster and starts it; `None` (the reason printed) when
    /// this machine cannot run one and `ORM_TEST_REQUIRE_ALL` is not `1`.
    pub fn start(self) -> Option<Cluster> {
        let (bin, run_as) = match prerequisites() {
            Ok(found) => found,
            Err(reason) => {
                cannot_start("a private PostgreSQL cluster", &reason);
                return None;
            }
        };
        let root = make_root(DIR_PREFIX, |orphan| shut_down(orphan, &bin, run_as));
        let mut cluster = Cluster {
            bin,
            root,
            port: 0,
            run_as,
            running: AtomicBool::new(false),
            control: Mutex::new(()),
        };
        // From here on, `cluster`'s Drop removes the directory and any server.
        cluster.give_to_postgres(&cluster.root);
        std::fs::create_dir(cluster.socket_dir()).expect("create socket dir");
        cluster.give_to_postgres(&cluster.socket_dir());
        match self.base_backup_of {
            None => {
                cluster.run_checked(
                    "initdb",
                    &[
                        "-D",
                        path_str(&cluster.data_dir()),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-sync",
                        "--no-instructions",
                    ],
                );
            }
            Some(primary_port) => {
                cluster.run_checked(
                    "pg_basebackup",
                    &[
                        "-D",
                        path_str(&cluster.data_dir()),
                        "-R",
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &primary_port.to_string(),
                        "-U",
                        "postgres",
                    ],
                );
            }
        }
        // Our settings live in a file of their own, rewritten when the port
        // changes; a base backup copies the primary's, which is rewritten here.
        let conf = cluster.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        if !text.contains("include_if_exists = 'orm_tests.conf'") {
            text.push_str("\ninclude_if_exists = 'orm_tests.conf'\n");
            std::fs::write(&conf, text).expect("write postgresql.conf");
        }
        // Another process may take a free port between our look and the
        // server's bind: try a few.
        for attempt in 1.. {
            cluster.port = free_port();
            cluster.write_settings(&self.settings);
            match cluster.pg_ctl_start() {
                Ok(()) => break,
                Err(e) if attempt < 5 && cluster.log_tail(20).contains("could not bind") => {
                    eprintln!("cluster: port {} taken, trying another: {e}", cluster.port);
                }
                Err(e) => panic!("{e}"),
            }
        }
        Some(cluster)
    }
}

impl Cluster {
    /// A fresh cluster, running; `None` when skipped (see [`ClusterBuilder::start`]).
    pub fn new() -> Option<Cluster> {
        Cluster::builder().start()
    }

    /// A cluster with settings of its own, or a standby of another.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// The URL of database `postgres` as user `postgres`, over TCP.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of `database` as user `postgres`, over TCP.
    pub fn url_of(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The directory of the server's unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("sock")
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// The folder of the PostgreSQL tools this cluster uses.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The last `lines` lines of the server's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(), lines)
    }

    /// Whether the server was started and not stopped since.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The postmaster's process id, while the server runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data_dir().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Suspends the postmaster (SIGSTOP) until the guard is dropped
    /// (SIGCONT): the kernel still accepts TCP connections on its port, but
    /// nothing answers them, as with a server that hangs. Sessions already
    /// open have processes of their own and keep working.
    pub fn freeze(&self) -> Frozen<'_> {
        let pid = self
            .postmaster_pid()
            .expect("freeze: the server is not running")
            .to_string();
        signal("STOP", &pid);
        Frozen {
            _cluster: self,
            pid,
        }
    }

    /// Kills the server outright: SIGKILL to the postmaster and every
    /// process of its group (backends, WAL sender and receiver), as a crash
    /// or a lost machine would, and waits until they are all gone.
    /// [`start`](Self::start) brings it back through crash recovery; a
    /// standby then streams again from where it was.
    pub fn kill(&self) {
        let _control = self.control();
        let pid = self
            .postmaster_pid()
            .expect("kill: the server is not running");
        // `pg_ctl start` makes the postmaster a session (and group) leader.
        signal("KILL", &format!("-{pid}"));
        let deadline = std::time::Instant::now() + PG_CTL_WAIT;
        while group_alive(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "kill: processes of postmaster {pid} still run after {PG_CTL_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The dead postmaster is a zombie until the init process reaps it,
        // and a new postmaster refuses to start while the pid in its lock
        // file exists. Should it never be reaped, the lock file is stale:
        // its process is dead.
        let reaped = std::time::Instant::now() + Duration::from_secs(10);
        while Path::new("/proc").join(pid.to_string()).exists() {
            if std::time::Instant::now() >= reaped {
                let _ = std::fs::remove_file(self.data_dir().join("postmaster.pid"));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.running.store(false, Ordering::Release);
    }

    /// Starts the stopped server and waits until it accepts connections.
    pub fn start(&self) {
        self.pg_ctl_start().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops the server (`-m fast`: sessions are terminated, a clean
    /// shutdown) and waits until it has stopped.
    pub fn stop(&self) {
        let _control = self.control();
        self.pg_ctl(&["stop", "-m", "fast"])
            .unwrap_or_else(|e| panic!("{e}"));
        self.running.store(false, Ordering::Release);
    }

    /// Restarts the server (`pg_ctl restart -m fast`: open sessions are
    /// terminated) and waits until it accepts connections again.
    pub fn restart(&self) {
        let _control = self.control();
        self.pg_ctl(&["restart", "-m", "fast"])
            .and_then(|()| self.wait_ready())
            .unwrap_or_else(|e| panic!("{e}"));
        self.running.store(true, Ordering::Release);
    }

    /// A command running `tool` from the cluster's bin folder as the
    /// `postgres` user, in the cluster's directory, with `PGHOST`, `PGPORT`,
    /// `PGUSER` and `PGDATA` naming this cluster: `cluster.tool("psql").args(["-c", "..."])`.
    pub fn tool(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = match self.run_as {
            RunAs::Root { .. } => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(path);
                c
            }
            RunAs::Postgres => Command::new(path),
        };
        cmd.current_dir(&self.root)
            .env("PGHOST", "127.0.0.1")
            .env("PGUSER", "postgres")
            .env("PGDATA", self.data_dir())
            .env_remove("PGPASSWORD")
            .env_remove("PGDATABASE");
        // No port yet while `initdb` runs: it would take PGPORT=0 as a setting.
        if self.port == 0 {
            cmd.env_remove("PGPORT");
        } else {
            cmd.env("PGPORT", self.port.to_string());
        }
        cmd
    }

    /// Runs `tool` with `args` (see [`tool`](Self::tool)) and returns its
    /// standard output; panics with its output and the server log if it fails.
    pub fn run_checked(&self, tool: &str, args: &[&str]) -> String {
        let output = self.output(tool, args).unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn output(&self, tool: &str, args: &[&str]) -> Result<Output, String> {
        let output = self
            .tool(tool)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "`{tool} {}` failed ({}):\n{}{}\n--- server log ({}) ---\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.log_path().display(),
                self.log_tail(30),
            ))
        }
    }

    fn control(&self) -> std::sync::MutexGuard<'_, ()> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `pg_ctl <args> -D data -l server.log -w -t <wait>`.
    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.log_path();
        let wait = PG_CTL_WAIT.as_secs().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "-D",
            path_str(&data),
            "-l",
            path_str(&log),
            "-w",
            "-t",
            &wait,
        ]);
        self.output("pg_ctl", &all).map(drop)
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let _control = self.control();
        self.pg_ctl(&["start"])?;
        self.running.store(true, Ordering::Release);
        self.wait_ready()
    }

    /// `pg_ctl -w` returns once the postmaster says it is ready; this also
    /// waits until it accepts connections on the TCP port the tests use
    /// (`pg_isready` answers at once, 1 while the server refuses them).
    fn wait_ready(&self) -> Result<(), String> {
        let port = self.port.to_string();
        let args = ["-q", "-h", "127.0.0.1", "-p", &port, "-t", "10"];
        let deadline = std::time::Instant::now() + PG_CTL_WAIT;
        loop {
            match self.output("pg_isready", &args) {
                Ok(_) => return Ok(()),
                Err(e) if std::time::Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Writes `orm_tests.conf`: the base settings, this cluster's port and
    /// socket, then `extra`.
    fn write_settings(&self, extra: &[(String, String)]) {
        let mut text = String::from("# written by orm_tests::cluster\n");
        let port = self.port.to_string();
        let socket = format!("'{}'", self.socket_dir().display());
        let own: [(&str, &str); 2] = [("port", &port), ("unix_socket_directories", &socket)];
        for (name, value) in BASE_SETTINGS.iter().chain(own.iter()) {
            text.push_str(&format!("{name} = {value}\n"));
        }
        for (name, value) in extra {
            text.push_str(&format!("{name} = {value}\n"));
        }
        let path = self.data_dir().join("orm_tests.conf");
        std::fs::write(&path, text).expect("write orm_tests.conf");
        self.give_to_postgres(&path);
    }

    fn give_to_postgres(&self, path: &Path) {
        if let RunAs::Root { uid, gid } = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", path.display()));
        }
    }
}

/// A suspended postmaster, from [`Cluster::freeze`]; resumed when dropped.
pub struct Frozen<'a> {
    _cluster: &'a Cluster,
    pid: String,
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        signal("CONT", &self.pid);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        shut_down(&self.root, &self.bin, self.run_as);
    }
}

/// Stops whatever server runs in `root/data` (immediately: the data is
/// thrown away) and deletes `root`.
fn shut_down(root: &Path, bin: &Path, run_as: RunAs) {
    let data = root.join("data");
    let pid_file = data.join("postmaster.pid");
    if pid_file.exists() {
        let mut cmd = match run_as {
            RunAs::Root { .. } => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
                c
            }
            RunAs::Postgres => Command::new(bin.join("pg_ctl")),
        };
        let stopped = cmd
            .current_dir(root)
            .args(["stop", "-m", "immediate", "-w", "-t", "60", "-D"])
            .arg(&data)
            .output()
            .is_ok_and(|o| o.status.success());
        if !stopped {
            // Last resort: the postmaster's pid is the first line of its pid file.
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.lines().next().map(str::to_owned))
            {
                let _ = Command::new("kill").args(["-KILL", &pid]).output();
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    let _ = std::fs::remove_dir_all(root);
}

/// The `postgres` user's id (`flag` `-u`) or group id (`-g`), by `id`.
pub(crate) fn postgres_id(flag: &str) -> Result<u32, String> {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .map_err(|e| format!("cannot run `id`: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "there is no `postgres` user".to_owned())
}

/// The tools' folder and how to run them, or why a cluster cannot be made.
fn prerequisites() -> Result<(PathBuf, RunAs), String> {
    let bin = bin_dir()?;
    let euid = euid()?;
    let id = postgres_id;
    let uid = id("-u")?;
    if euid == uid {
        return Ok((bin, RunAs::Postgres));
    }
    if euid != 0 {
        return Err(format!(
            "the test runs as uid {euid}; it must run as root (to run the server as `postgres`) or as `postgres`"
        ));
    }
    if Command::new("runuser").arg("--version").output().is_err() {
        return Err("`runuser` (util-linux) is not installed".into());
    }
    Ok((
        bin,
        RunAs::Root {
            uid,
            gid: id("-g")?,
        },
    ))
}

/// `ORM_TEST_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`
/// that has the tools.
fn bin_dir() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| {
        [
            "initdb",
            "pg_ctl",
            "pg_isready",
            "pg_basebackup",
            "postgres",
        ]
        .iter()
        .all(|t| dir.join(t).is_file())
    };
    if let Ok(dir) = std::env::var(BIN_VAR) {
        let dir = PathBuf::from(dir);
        return if has_tools(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "{BIN_VAR}={} lacks initdb, pg_ctl, pg_isready, pg_basebackup or postgres",
                dir.display()
            ))
        };
    }
    let base = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(base)
        .map_err(|_| format!("no PostgreSQL server tools in {} (install the postgresql package, or set {BIN_VAR})", base.display()))?
        .flatten()
        .filter_map(|e| {
            let version: Vec<u32> = e
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "no {}/<version>/bin with initdb, pg_ctl, pg_isready and pg_basebackup (install the postgresql package, or set {BIN_VAR})",
            base.display()
        )
    })
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
