//! What the private servers of [`cluster`](crate::cluster) (PostgreSQL) and
//! [`mariadb_cluster`](crate::mariadb_cluster) share: a temporary directory
//! owned by the test process, the cleanup of directories whose process was
//! killed, a free port, signals, and skipping or failing when a server
//! cannot be made.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file in a server's directory naming the process that owns it.
const OWNER_FILE: &str = "owner.pid";

/// Ports of the shared servers (PostgreSQL, MariaDB, Redis), never handed
/// out even if free at the moment.
const SHARED_PORTS: &[u16] = &[5432, 3306, 6379];

/// A server cannot be made on this machine: panics when
/// `ORM_TEST_REQUIRE_ALL=1` (CI), else prints why the test is skipped.
pub(crate) fn cannot_start(what: &str, reason: &str) {
    if std::env::var("ORM_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("cannot start {what}: {reason}; ORM_TEST_REQUIRE_ALL=1 forbids skipping this test");
    }
    eprintln!("skipped: cannot start {what}: {reason}");
}

/// Creates `<temp>/<prefix><unique name>` with the owner file naming this
/// process, after cleaning up the directories of `prefix` whose process is
/// gone (with `shut_down`, which stops their server and deletes them).
pub(crate) fn make_root(prefix: &str, shut_down: impl Fn(&Path)) -> PathBuf {
    for orphan in orphans(prefix) {
        shut_down(&orphan);
    }
    let root = std::env::temp_dir().join(format!("{prefix}{}", crate::unique_name()));
    std::fs::create_dir(&root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
    std::fs::write(root.join(OWNER_FILE), std::process::id().to_string())
        .expect("write owner file");
    root
}

/// The directories `<temp>/<prefix>*` whose owning test process is gone
/// (killed before its Drop ran).
fn orphans(prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let root = entry.path();
        // No owner file yet: being created right now by another process.
        let Ok(owner) = std::fs::read_to_string(root.join(OWNER_FILE)) else {
            continue;
        };
        let owner = owner.trim();
        if owner.is_empty() || is_alive(owner) {
            continue;
        }
        eprintln!(
            "cleaning up {} (its test process {owner} is gone)",
            root.display()
        );
        found.push(root);
    }
    found
}

/// Whether process `pid` runs (a zombie, killed but not yet reaped, does not).
pub(crate) fn is_alive(pid: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")) else {
        return false;
    };
    // `pid (command) state ...`: the state follows the last `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .is_none_or(|state| state != 'Z')
}

/// Whether a process of process group `pgid` runs (zombies excepted).
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (command) state ppid pgrp ...`
        let mut fields = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace())
            .into_iter()
            .flatten();
        let state = fields.next();
        let pgrp = fields.nth(1);
        state != Some("Z") && pgrp == Some(pgid.to_string().as_str())
    })
}

/// Sends signal `name` (`KILL`, `TERM`, `STOP`, ...) to process `pid` with
/// `kill(1)`; panics if it cannot be delivered.
/// A negative `pid` (`-123`) names a process group.
pub(crate) fn signal(name: &str, pid: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), "--", pid])
        .status()
        .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
    assert!(status.success(), "kill -{name} {pid} failed: {status}");
}

/// The effective user id of this process (from the owner of `/proc/self`).
pub(crate) fn euid() -> Result<u32, String> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(|e| format!("cannot read /proc/self to learn the user ({e})"))
}

/// A TCP port on 127.0.0.1 that nothing listens on now (never a shared
/// server's). Another process may take it before the server binds it:
/// callers retry on "address in use".
pub(crate) fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        if !SHARED_PORTS.contains(&port) {
            return port;
        }
    }
}

/// The last `lines` lines of the text file at `path` (empty when unreadable),
/// for failure messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
