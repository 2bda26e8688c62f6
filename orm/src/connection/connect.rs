//! Opening driver connections: URLs parsed per backend, and the open
//! connection itself.

use std::str::FromStr;

use crate::backend::Backend;
use crate::error::{Error, Result};

/// Parsed connect options for one backend.
#[derive(Clone, Debug)]
pub(crate) enum ConnectOptions {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnectOptions, bool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnectOptions),
    /// MySQL has no connect-time option for it: `true` runs
    /// `SET SESSION TRANSACTION READ ONLY` on each new connection.
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnectOptions, bool),
}

/// The URL with its password replaced, for messages.
pub(crate) fn redact(url: &str) -> String {
    // scheme://user:password@host -> scheme://user:***@host
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl ConnectOptions {
    /// Parses `url` for the connection called `name`. A `read_only`
    /// connection opens sessions in which the database itself refuses writes.
    pub(crate) fn parse(name: &str, url: &str, read_only: bool) -> Result<ConnectOptions> {
        let invalid = |reason: String| Error::InvalidUrl {
            connection: name.to_owned(),
            url: redact(url),
            reason,
        };
        let Some(backend) = Backend::from_url(url) else {
            return Err(invalid(
                "expected a URL starting with sqlite:, postgres://, mysql:// or mariadb://".into(),
            ));
        };
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| invalid(e.to_string()))?
                    .foreign_keys(true);
                // A read-only database is opened read-only, and must exist.
                let options = if read_only {
                    options.read_only(true).create_if_missing(false)
                } else {
                    options.create_if_missing(true)
                };
                Ok(ConnectOptions::Sqlite(options, memory))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| invalid(e.to_string()))?;
                // Sent in the startup packet: no extra round trip.
                let options = if read_only {
                    options.options([("default_transaction_read_only", "on")])
                } else {
                    options
                };
                Ok(ConnectOptions::Postgres(options))
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let url = url
                    .strip_prefix("mariadb")
                    .map(|rest| format!("mysql{rest}"))
                    .unwrap_or_else(|| url.to_owned());
                sqlx::mysql::MySqlConnectOptions::from_str(&url)
                    .map(|o| ConnectOptions::MySql(o, read_only))
                    .map_err(|e| invalid(e.to_string()))
            }
            #[allow(unreachable_patterns)]
            other => Err(Error::BackendNotEnabled {
                connection: name.to_owned(),
                backend: other.name(),
                feature: other.feature(),
            }),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(..) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            ConnectOptions::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            ConnectOptions::MySql(..) => Backend::MySql,
        }
    }

    /// Whether this is an in-memory SQLite database (one per connection).
    pub(crate) fn is_memory(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(_, memory) => *memory,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// An open driver connection.
pub(crate) enum RawConn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnection),
}

impl RawConn {
    pub(crate) async fn connect(options: &ConnectOptions) -> Result<RawConn, sqlx::Error> {
        use sqlx::ConnectOptions as _;
        Ok(match options {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(o, _) => RawConn::Sqlite(o.connect().await?),
            #[cfg(feature = "postgres")]
            ConnectOptions::Postgres(o) => RawConn::Postgres(o.connect().await?),
            #[cfg(feature = "mysql")]
            ConnectOptions::MySql(o, read_only) => {
                let mut conn = o.connect().await?;
                if *read_only {
                    use sqlx::Executor as _;
                    conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                }
                RawConn::MySql(conn)
            }
        })
    }
}
