//! Named connections: the types `orm::connections!` declares, the
//! registry of those declarations, and the environment variables each name
//! is configured by.

/// A named database connection that models live on.
///
/// Models without a `connection` attribute live on [`DefaultConnection`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared connection",
    label = "not a connection",
    note = "name a connection type (`DefaultConnection`, or one you declared)"
)]
pub trait ConnectionName: Send + Sync + 'static {
    /// The connection's name, as configured on the [`Database`](crate::Database).
    const NAME: &'static str;
    /// Whether the connection was declared `read_only`.
    const READ_ONLY: bool = false;
}

/// The connection models use unless they name another: `"db"`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultConnection;

impl ConnectionName for DefaultConnection {
    const NAME: &'static str = "db";
}

/// Model connections that may be written: every connection not declared
/// `read_only`. Implemented by `orm::connections!`.
#[diagnostic::on_unimplemented(
    message = "connection `{Self}` is read-only",
    label = "declared `read_only`",
    note = "models on a read-only connection cannot be written; remove `read_only` from the connection if it should be"
)]
pub trait WritableConnection: ConnectionName {}

impl WritableConnection for DefaultConnection {}

/// One connection declared with `orm::connections!`.
#[doc(hidden)]
pub struct ConnectionEntry {
    pub name: &'static str,
    pub read_only: bool,
}

inventory::collect!(ConnectionEntry);

pub(crate) fn connections() -> impl Iterator<Item = &'static ConnectionEntry> {
    inventory::iter::<ConnectionEntry>.into_iter()
}

/// Whether a connection of this name was declared `read_only`.
pub(crate) fn declared_read_only(name: &str) -> bool {
    connections().any(|c| c.name == name && c.read_only)
}

/// The prefix of a connection's environment variables: `DATABASE` for the
/// default connection `db`, `DATABASE_ESSENTIALS` for `essentials`.
pub fn env_prefix(connection: &str) -> String {
    if connection == crate::DefaultConnection::NAME {
        return "DATABASE".to_owned();
    }
    let mut out = String::from("DATABASE_");
    for c in connection.chars() {
        out.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn variable_names() {
        assert_eq!(super::env_prefix("db"), "DATABASE");
        assert_eq!(super::env_prefix("essentials"), "DATABASE_ESSENTIALS");
        assert_eq!(super::env_prefix("old-crm"), "DATABASE_OLD_CRM");
    }
}
