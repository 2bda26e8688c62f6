//! Attribute names, as constants: no attribute key is spelled anywhere else.

use std::fmt::{self, Display};
use syn::{Ident, Path};

#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Symbol(pub &'static str);

/// The helper attribute on fields: `#[orm(...)]`.
pub const ORM: Symbol = Symbol("orm");

// Container keys, in `#[orm::model(...)]`.
pub const TABLE: Symbol = Symbol("table");
pub const CONNECTION: Symbol = Symbol("connection");
pub const READ_ONLY: Symbol = Symbol("read_only");
pub const HAS_MANY: Symbol = Symbol("has_many");
pub const HAS_ONE: Symbol = Symbol("has_one");
pub const MANY_TO_MANY: Symbol = Symbol("many_to_many");
pub const CACHE: Symbol = Symbol("cache");

// Keys inside `cache(...)`.
pub const TTL: Symbol = Symbol("ttl");

// Field keys, in `#[orm(...)]`.
pub const PRIMARY_KEY: Symbol = Symbol("primary_key");
pub const AUTO: Symbol = Symbol("auto");
pub const COLUMN: Symbol = Symbol("column");
pub const UNIQUE: Symbol = Symbol("unique");
pub const INDEX: Symbol = Symbol("index");
pub const DEFAULT: Symbol = Symbol("default");
pub const MAX_LENGTH: Symbol = Symbol("max_length");
pub const PRECISION: Symbol = Symbol("precision");
pub const SCALE: Symbol = Symbol("scale");
pub const BELONGS_TO: Symbol = Symbol("belongs_to");
pub const RELATION: Symbol = Symbol("relation");
pub const RENAMED_FROM: Symbol = Symbol("renamed_from");
pub const ON_DELETE: Symbol = Symbol("on_delete");

/// Every key accepted on the container, for did-you-mean suggestions.
pub const CONTAINER_KEYS: &[Symbol] = &[
    TABLE,
    CONNECTION,
    READ_ONLY,
    HAS_MANY,
    HAS_ONE,
    MANY_TO_MANY,
    INDEX,
    UNIQUE,
    RENAMED_FROM,
    CACHE,
];

/// Every key accepted inside `cache(...)`.
pub const CACHE_KEYS: &[Symbol] = &[TTL];

/// Every key accepted on a field, for did-you-mean suggestions.
pub const FIELD_KEYS: &[Symbol] = &[
    PRIMARY_KEY,
    AUTO,
    COLUMN,
    UNIQUE,
    INDEX,
    DEFAULT,
    MAX_LENGTH,
    PRECISION,
    SCALE,
    BELONGS_TO,
    RELATION,
    ON_DELETE,
    RENAMED_FROM,
];

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for &Ident {
    fn eq(&self, word: &Symbol) -> bool {
        *self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
