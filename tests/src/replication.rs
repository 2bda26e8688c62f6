//! A private primary with streaming replicas, on PostgreSQL
//! ([`PgReplication`], from [`cluster`](crate::cluster)) and on MariaDB
//! ([`MariaDbReplication`], from [`mariadb_cluster`](crate::mariadb_cluster)),
//! for tests of read replicas (issue 13).
//!
//! ```no_run
//! # fn demo() {
//! use orm_tests::replication::PgReplication;
//! let Some(set) = PgReplication::builder().replicas(2).apply_delay("500ms").start() else {
//!     return; // skipped, reason printed
//! };
//! let primary_url = set.primary.url();
//! let replica_urls: Vec<String> = set.replicas.iter().map(|r| r.url()).collect();
//! # }
//! ```
//!
//! Every server is a private one of the test, on its own port and in its
//! own directory, stopped and deleted when the set is dropped (replicas
//! first: fields drop in order).

use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::mariadb_cluster::MariaDbServer;

/// How long a replica may take to show up as streaming: generous, for a
/// loaded machine.
const STREAMING_WAIT: Duration = Duration::from_secs(120);

/// A PostgreSQL primary and its streaming standbys (`pg_basebackup -R`).
pub struct PgReplication {
    /// The standbys, in the order made; `cluster_name` of the `k`-th
    /// (from 0) is [`PgReplication::replica_name`]`(k)`.
    pub replicas: Vec<Cluster>,
    /// The primary, writable.
    pub primary: Cluster,
}

/// Settings of a [`PgReplication`] before it starts.
#[derive(Default)]
pub struct PgReplicationBuilder {
    replicas: usize,
    apply_delay: Option<String>,
}

impl PgReplicationBuilder {
    /// How many standbys (default 0).
    pub fn replicas(mut self, count: usize) -> Self {
        self.replicas = count;
        self
    }

    /// Each standby applies a commit only `delay` after the primary made it
    /// (`recovery_min_apply_delay`, a PostgreSQL duration such as `"500ms"`
    /// or `"2s"`; PostgreSQL manual, "Standby Servers" settings): a lag
    /// that is there every time.
    pub fn apply_delay(mut self, delay: &str) -> Self {
        self.apply_delay = Some(delay.to_owned());
        self
    }

    /// Starts the primary, then each standby from a base backup of it, and
    /// returns once `pg_stat_replication` on the primary shows every
    /// standby `streaming`; `None` when skipped (see
    /// [`ClusterBuilder::start`](crate::cluster::ClusterBuilder::start)).
    /// Panics when a standby does not stream within 120 s.
    pub fn start(self) -> Option<PgReplication> {
        let primary = Cluster::new()?;
        let mut replicas = Vec::with_capacity(self.replicas);
        for k in 0..self.replicas {
            let name = format!("'{}'", PgReplication::replica_name(k));
            let mut builder = Cluster::builder()
                .base_backup_of(&primary)
                .setting("cluster_name", &name);
            if let Some(delay) = &self.apply_delay {
                builder = builder.setting("recovery_min_apply_delay", &format!("'{delay}'"));
            }
            replicas.push(builder.start()?);
        }
        let set = PgReplication { replicas, primary };
        set.wait_streaming();
        Some(set)
    }
}

impl PgReplication {
    /// A primary and its standbys: see [`PgReplicationBuilder`].
    pub fn builder() -> PgReplicationBuilder {
        PgReplicationBuilder::default()
    }

    /// The `cluster_name` of standby `k` (from 0), which is also its
    /// `application_name` in `pg_stat_replication` on the primary.
    pub fn replica_name(k: usize) -> String {
        format!("orm_replica_{k}")
    }

    /// How many standbys `pg_stat_replication` on the primary shows in
    /// state `streaming`.
    pub fn streaming_count(&self) -> usize {
        let out = self.primary.run_checked(
            "psql",
            &[
                "-d",
                "postgres",
                "-tAc",
                "SELECT count(*) FROM pg_stat_replication \
                 WHERE application_name LIKE 'orm\\_replica\\_%' AND state = 'streaming'",
            ],
        );
        out.trim().parse().expect("count(*) is a number")
    }

    /// Waits until every standby streams from the primary (after a start,
    /// or a restart of one); panics after 120 s.
    pub fn wait_streaming(&self) {
        let deadline = Instant::now() + STREAMING_WAIT;
        loop {
            let streaming = self.streaming_count();
            if streaming == self.replicas.len() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{streaming} of {} standbys stream after {STREAMING_WAIT:?}\n--- primary log ---\n{}",
                self.replicas.len(),
                self.primary.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A MariaDB primary and its GTID replicas.
pub struct MariaDbReplication {
    /// The replicas, in the order made.
    pub replicas: Vec<MariaDbServer>,
    /// The primary, writable.
    pub primary: MariaDbServer,
}

/// Settings of a [`MariaDbReplication`] before it starts.
#[derive(Default)]
pub struct MariaDbReplicationBuilder {
    replicas: usize,
    replica_settings: Vec<(String, String)>,
}

impl MariaDbReplicationBuilder {
    /// How many replicas (default 0).
    pub fn replicas(mut self, count: usize) -> Self {
        self.replicas = count;
        self
    }

    /// A `mariadbd` option for every replica (`"read_only", "1"`), see
    /// [`MariaDbServerBuilder::setting`](crate::mariadb_cluster::MariaDbServerBuilder::setting).
    pub fn replica_setting(mut self, name: &str, value: &str) -> Self {
        self.replica_settings
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts the primary, then each replica, each caught up when this
    /// returns; `None` when skipped (see
    /// [`MariaDbServerBuilder::start`](crate::mariadb_cluster::MariaDbServerBuilder::start)).
    pub fn start(self) -> Option<MariaDbReplication> {
        let primary = MariaDbServer::new()?;
        let mut replicas = Vec::with_capacity(self.replicas);
        for _ in 0..self.replicas {
            let mut builder = MariaDbServer::builder().replica_of(&primary);
            for (name, value) in &self.replica_settings {
                builder = builder.setting(name, value);
            }
            replicas.push(builder.start()?);
        }
        Some(MariaDbReplication { replicas, primary })
    }
}

impl MariaDbReplication {
    /// A primary and its replicas: see [`MariaDbReplicationBuilder`].
    pub fn builder() -> MariaDbReplicationBuilder {
        MariaDbReplicationBuilder::default()
    }
}
