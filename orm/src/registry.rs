//! Every model and connection declared anywhere in the program, collected at
//! link time (`inventory`), so that start-up can check that each connection a
//! model uses is configured and can hold the model's column types.

/// One `#[orm::model]`.
#[doc(hidden)]
pub struct ModelEntry {
    pub model: &'static str,
    /// The table, with the connection it lives on.
    pub schema: &'static crate::schema::TableSchema,
}

/// One connection declared with `orm::connections!`.
#[doc(hidden)]
pub struct ConnectionEntry {
    pub name: &'static str,
    pub read_only: bool,
}

inventory::collect!(ModelEntry);
inventory::collect!(ConnectionEntry);

pub(crate) fn models() -> impl Iterator<Item = &'static ModelEntry> {
    inventory::iter::<ModelEntry>.into_iter()
}

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

use crate::model::ConnectionName as _;

#[cfg(test)]
mod tests {
    #[test]
    fn variable_names() {
        assert_eq!(super::env_prefix("db"), "DATABASE");
        assert_eq!(super::env_prefix("essentials"), "DATABASE_ESSENTIALS");
        assert_eq!(super::env_prefix("old-crm"), "DATABASE_OLD_CRM");
    }
}
