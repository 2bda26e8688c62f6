//! The three SQL dialects: identifier quoting, placeholders and limits.
//!
//! [`Backend`] names a database family. It exists whether or not the
//! family's cargo feature is on, so that SQL can be rendered (and tested) for
//! every dialect; only opening a connection needs the feature.

use std::fmt::Write;

/// A database family that a connection speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, embedded (feature `sqlite`, on by default).
    Sqlite,
    /// PostgreSQL (feature `postgres`).
    Postgres,
    /// MySQL or MariaDB (feature `mysql`).
    MySql,
}

impl Backend {
    /// Every backend, in a fixed order (the index used by per-backend caches).
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// A human-readable name.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL",
        }
    }

    /// The cargo feature of `orm` that enables this backend.
    pub const fn feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
            Backend::MySql => 2,
        }
    }

    /// The backend a URL's scheme names, if any.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            _ => None,
        }
    }

    /// The most bind parameters one statement may carry.
    pub const fn max_params(self) -> usize {
        match self {
            // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite (>= 3.32).
            Backend::Sqlite => 32_766,
            // Both protocols count parameters in an unsigned 16-bit field.
            Backend::Postgres | Backend::MySql => 65_535,
        }
    }

    /// Writes `name` as a quoted identifier; quote characters inside it are doubled.
    pub fn push_ident(self, out: &mut String, name: &str) {
        let q = match self {
            Backend::MySql => '`',
            Backend::Sqlite | Backend::Postgres => '"',
        };
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
    }

    /// Writes the placeholder of the `n`-th parameter (1-based).
    pub fn push_placeholder(self, out: &mut String, n: usize) {
        match self {
            Backend::Postgres => {
                let _ = write!(out, "${n}");
            }
            Backend::Sqlite | Backend::MySql => out.push('?'),
        }
    }

    /// Writes `text` as a string literal (used only in DDL, for column defaults).
    pub fn push_string_literal(self, out: &mut String, text: &str) {
        out.push('\'');
        for c in text.chars() {
            match c {
                '\'' => out.push_str("''"),
                // MySQL treats the backslash as an escape inside literals unless
                // NO_BACKSLASH_ESCAPES is set; doubling it is right either way.
                '\\' if self == Backend::MySql => out.push_str("\\\\"),
                _ => out.push(c),
            }
        }
        out.push('\'');
    }

    /// Whether `INSERT ... RETURNING` is used to read back an inserted row.
    pub(crate) const fn insert_returning(self) -> bool {
        !matches!(self, Backend::MySql)
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_their_quote_character() {
        let mut s = String::new();
        Backend::Postgres.push_ident(&mut s, "we\"ird");
        assert_eq!(s, "\"we\"\"ird\"");
        let mut s = String::new();
        Backend::MySql.push_ident(&mut s, "we`ird\"");
        assert_eq!(s, "`we``ird\"`");
    }

    #[test]
    fn string_literals_escape_quotes_and_mysql_backslashes() {
        let mut s = String::new();
        Backend::Sqlite.push_string_literal(&mut s, "it's \\n");
        assert_eq!(s, "'it''s \\n'");
        let mut s = String::new();
        Backend::MySql.push_string_literal(&mut s, "it's \\n");
        assert_eq!(s, "'it''s \\\\n'");
    }

    #[test]
    fn url_schemes() {
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgresql://x"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mariadb://x"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("oracle://x"), None);
        assert_eq!(Backend::from_url(""), None);
    }
}
