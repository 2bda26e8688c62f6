//! Named connections: the types `orm::connections!` declares, the
//! registry of those declarations, and the environment variables each name
//! is configured by.

/// A named database connection that models live on.
///
/// Models without a `connection` attribute live on [`DefaultConnection`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared connection",
    label = "not a connection",
    note = "name a connection type declared in `orm::connections!`, or leave `connection` out for the default connection"
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
    message = "connection `{Self}` is declared `read_only`: models on it cannot be inserted, updated, saved, deleted or locked",
    label = "a write or row lock on read-only connection `{Self}`",
    note = "read through this model; write or lock the table through a model on a writable connection, or remove `read_only` from `{Self}` in `orm::connections!` if it should be written"
)]
pub trait WritableConnection: ConnectionName {}

// Not listed as "the trait is implemented for" in the error on a read-only
// connection: the fix is never to move the model to this one.
#[diagnostic::do_not_recommend]
impl WritableConnection for DefaultConnection {}

/// The name of model `M`'s connection, for the schema `#[orm::model]`
/// generates: read through `Model::Connection` rather than the type written
/// in `connection = ...`, so that a type that is not a connection is
/// reported once, on the model's `Connection`.
#[doc(hidden)]
pub const fn connection_name<M: crate::Model>() -> &'static str {
    <M::Connection as ConnectionName>::NAME
}

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
