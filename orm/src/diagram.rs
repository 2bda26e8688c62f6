//! An entity-relationship diagram of the application's models, across all of
//! its connections, as Mermaid (for a README or a pull request) or Graphviz
//! DOT (and SVG through Graphviz's `dot`, when it is installed).
//!
//! One box per model lists its columns with their storage type, key,
//! nullability, unique and indexed flags. Boxes are grouped by connection,
//! each group labelled with the connection's name, its backend when known,
//! and `read-only` when it was declared so. Every `belongs_to` key is an
//! edge from the model it refers to, with its cardinality (`1` or `0..1` on
//! the referred side, `0..1` for `has_one`, `0..*` for `has_many`); a key
//! within one connection is a foreign key and drawn solid, one across
//! connections has no constraint and is drawn dashed and labelled "loaded by
//! a second query". A declared `many_to_many` is one more edge, labelled with
//! its join model.
//!
//! Two sources:
//! - [`Diagram::of_models`]: the models linked into the program, with every
//!   fact the macro knows (model names, declared relations, read-only marks,
//!   relations across connections);
//! - [`Diagram::from_snapshots`]: the migration snapshot files alone, so CI
//!   can draw the schema without building the application. A snapshot holds
//!   one connection's tables, columns, indexes and foreign keys, and no
//!   more: the diagram then names tables (not models), draws only foreign
//!   keys within a connection (a `belongs_to` across connections is a plain
//!   column there), takes `has_one` for a unique key and `has_many`
//!   otherwise, and cannot know `many_to_many` relations, read-only marks
//!   (read-only connections have no migrations at all) or backends.
//!
//! Why a Mermaid `flowchart` and not `erDiagram`: Mermaid's `erDiagram` has
//! no way to group entities (no subgraphs or namespaces), and `classDiagram`
//! namespaces take a bare identifier as their label, so neither can show a
//! group labelled "essentials (PostgreSQL, read-only)". A flowchart has
//! labelled `subgraph`s, dashed edges with labels, and labels that take any
//! text through entity codes (`#35;`), which is how hostile names are
//! written. Crow's feet are spelled as the cardinality at the start of each
//! edge's label.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! #[orm::model(has_many(posts = post::user_id))]
//! #[derive(Clone)]
//! pub struct User {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub name: String,
//! }
//!
//! #[orm::model]
//! #[derive(Clone)]
//! pub struct Post {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     #[orm(belongs_to = User)]
//!     pub user_id: i64,
//! }
//!
//! let diagram = orm::diagram::Diagram::of_models();
//! assert!(diagram.to_mermaid().starts_with("flowchart"));
//! assert!(diagram.to_mermaid().contains("User.posts has_many"));
//! assert!(diagram.to_dot().contains("cluster_"));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::schema::TableSchema;
use crate::model::types::SqlType;

/// What the macro records of each model for the diagram (and nothing else
/// reads): its name, its columns module, whether it is `read_only`, its
/// schema and its declared relations, as plain strings so that recording
/// them can never add a compile error of its own.
#[doc(hidden)]
pub struct ModelFacts {
    pub model: &'static str,
    pub module: &'static str,
    pub read_only: bool,
    pub schema: &'static TableSchema,
    pub relations: &'static [DeclaredRelation],
}

inventory::collect!(ModelFacts);

/// One relation as declared on a model: `key` is the `belongs_to` field for
/// `belongs_to`, else the path of the foreign key column as written
/// (`post::user_id`); `other_key` is the second key of `many_to_many`.
#[doc(hidden)]
pub struct DeclaredRelation {
    pub name: &'static str,
    pub kind: RelationKind,
    pub key: &'static str,
    pub other_key: &'static str,
}

/// The kind of a declared relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationKind {
    /// `#[orm(belongs_to = Model)]` on a field.
    BelongsTo,
    /// `has_one(name = model::key)`.
    HasOne,
    /// `has_many(name = model::key)`.
    HasMany,
    /// `many_to_many(name = join::key -> join::other_key)`.
    ManyToMany,
}

/// The format [`Diagram::render`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// SVG, rendered from the DOT by Graphviz's `dot -Tsvg`.
    Svg,
}

/// The diagram: connections with their models, and the relations between them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagram {
    /// One group per connection that has models, by name.
    pub connections: Vec<ConnectionGroup>,
    /// Every relation, each once.
    pub relations: Vec<Relation>,
}

/// The models of one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionGroup {
    /// The connection's name (`db` for the default one).
    pub name: String,
    /// Its backend, when known (from a URL or a [`Database`](crate::Database)).
    pub backend: Option<Backend>,
    /// Whether the connection is read-only.
    pub read_only: bool,
    /// Its models, by table name.
    pub models: Vec<ModelBox>,
}

/// One model (or, from snapshots, one table).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelBox {
    /// The model's Rust name; `None` from snapshots, which know tables only.
    pub model: Option<String>,
    /// The table's name.
    pub table: String,
    /// Whether the model is `read_only`.
    pub read_only: bool,
    /// Columns in field order.
    pub columns: Vec<ColumnLine>,
}

/// One column of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnLine {
    /// The column's name.
    pub name: String,
    /// Its storage type, as migrations spell it (`big_int`, `text(120)`).
    pub sql_type: String,
    /// Whether it is the primary key.
    pub primary_key: bool,
    /// Whether it holds a foreign key (a `belongs_to` to a model on the
    /// same connection: a constraint in the database).
    pub foreign_key: bool,
    /// Whether it holds a `belongs_to` key to a model on another
    /// connection: no constraint exists, the relation is loaded by a second
    /// query. Drawn `ref`, not `FK`.
    pub reference: bool,
    /// Whether it may be NULL.
    pub nullable: bool,
    /// Whether its values are unique.
    pub unique: bool,
    /// Whether it has an index of its own, or leads an index over several columns.
    pub indexed: bool,
}

/// A model (or table) on a connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModelRef {
    /// The connection.
    pub connection: String,
    /// The table.
    pub table: String,
    /// The model's Rust name (two models may share a table); `None` from snapshots.
    pub model: Option<String>,
}

impl ModelRef {
    fn of(connection: &str, m: &ModelBox) -> ModelRef {
        ModelRef {
            connection: connection.to_owned(),
            table: m.table.clone(),
            model: m.model.clone(),
        }
    }
}

/// How many rows on each side of a relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// One row refers to at most one (`has_one` / `belongs_to`).
    OneToOne,
    /// Many rows refer to one (`has_many` / `belongs_to`).
    OneToMany,
    /// Rows on both sides, through a join model (`many_to_many`).
    ManyToMany,
}

/// One relation: a `belongs_to` key (with the `has_one` or `has_many` that
/// reads it backwards, if declared), or a `many_to_many`.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// The model referred to (`one`), or the model declaring a `many_to_many`.
    pub from: ModelRef,
    /// The model holding the key (`many`), or the other side of a `many_to_many`.
    pub to: ModelRef,
    /// How many rows on each side.
    pub cardinality: Cardinality,
    /// Whether the key may be NULL (the `from` side is then `0..1`).
    pub optional: bool,
    /// The key column on `to` (a `many_to_many`: the join model's key to `from`).
    pub key: String,
    /// The relation names declared on each side (`has_many posts`, `belongs_to author`).
    pub names: Vec<String>,
    /// The join model of a `many_to_many`.
    pub through: Option<ModelRef>,
    /// Whether the two models live on different connections: no foreign
    /// key, the related rows are loaded by a second query.
    pub cross_connection: bool,
}

impl Relation {
    /// The cardinality on the `from` side and on the `to` side, as UML
    /// writes it (`1`, `0..1`, `0..*`).
    pub fn ends(&self) -> (&'static str, &'static str) {
        let one = if self.optional { "0..1" } else { "1" };
        match self.cardinality {
            Cardinality::OneToOne => (one, "0..1"),
            Cardinality::OneToMany => (one, "0..*"),
            Cardinality::ManyToMany => ("0..*", "0..*"),
        }
    }

    /// The edge's label: the cardinality, the declared names, the key, and
    /// how the relation is loaded when it crosses connections.
    pub fn label(&self) -> String {
        let (a, b) = self.ends();
        let mut label = format!("{a} to {b}");
        if !self.names.is_empty() {
            let _ = write!(label, ": {}", self.names.join(", "));
        }
        match &self.through {
            Some(join) => {
                let _ = write!(label, ", through {}", join.table);
            }
            None => {
                let _ = write!(label, " ({}.{})", self.to.table, self.key);
            }
        }
        if self.cross_connection {
            label.push_str(", loaded by a second query");
        }
        label
    }
}

/// The storage type as migrations spell it, with its length or precision.
fn type_name(sql_type: SqlType, max_length: Option<u32>, decimal: Option<(u8, u8)>) -> String {
    let base = serde_json::to_value(sql_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{sql_type:?}"));
    match (max_length, decimal) {
        (Some(n), _) => format!("{base}({n})"),
        (_, Some((p, s))) => format!("{base}({p},{s})"),
        _ => base,
    }
}

/// The lines of `table`'s box; `is_key` says which columns hold a
/// `belongs_to` key. A column that leads an index over several columns is
/// marked indexed too.
/// The lines of `table`'s box; `key` says of a column whether it holds a
/// key to a model on this connection (`Some(false)`), on another
/// (`Some(true)`), or none (`None`).
fn column_lines(
    table: &crate::migrate::Table,
    key: impl Fn(&str) -> Option<bool>,
) -> Vec<ColumnLine> {
    table
        .columns
        .iter()
        .map(|c| ColumnLine {
            name: c.name.clone(),
            sql_type: type_name(
                c.sql_type,
                c.max_length,
                c.decimal.map(|d| (d.precision, d.scale)),
            ),
            primary_key: c.name == table.primary_key,
            foreign_key: key(&c.name) == Some(false),
            reference: key(&c.name) == Some(true),
            nullable: c.nullable,
            unique: c.unique,
            indexed: c.indexed
                || table
                    .indexes
                    .iter()
                    .any(|i| i.columns.first() == Some(&c.name)),
        })
        .collect()
}

impl Diagram {
    /// The diagram of every model linked into the program. Backends are
    /// unknown: add them with [`with_backends_from_env`](Self::with_backends_from_env)
    /// or [`with_backends_of`](Self::with_backends_of).
    pub fn of_models() -> Diagram {
        let facts: Vec<&'static ModelFacts> = inventory::iter::<ModelFacts>.into_iter().collect();
        let mut groups: BTreeMap<&str, Vec<ModelBox>> = BTreeMap::new();
        for f in &facts {
            let s = f.schema;
            // A `belongs_to` across connections is a key too, though not a constraint.
            let columns = column_lines(&crate::migrate::Table::from(s), |c| {
                let key = s.foreign_keys.iter().find(|k| k.column == c)?;
                Some((key.target)().connection != s.connection)
            });
            groups.entry(s.connection).or_default().push(ModelBox {
                model: Some(f.model.to_owned()),
                table: s.name.to_owned(),
                read_only: f.read_only,
                columns,
            });
        }
        let connections = groups
            .into_iter()
            .map(|(name, mut models)| {
                models.sort_by(|a, b| (&a.table, &a.model).cmp(&(&b.table, &b.model)));
                ConnectionGroup {
                    name: name.to_owned(),
                    backend: None,
                    read_only: crate::routing::names::declared_read_only(name),
                    models,
                }
            })
            .collect();
        let relations = relations_of_models(&facts);
        Diagram {
            connections,
            relations,
        }
    }

    /// The diagram of the schema that the snapshot files under `root` (one
    /// folder per connection, as `migrate make` writes them) record. What a
    /// snapshot does not hold is left out: see the [module documentation](self).
    pub fn from_snapshots(root: impl AsRef<Path>) -> Result<Diagram> {
        let root = root.as_ref();
        let entries = std::fs::read_dir(root).map_err(|e| Error::Diagram {
            message: format!(
                "{}: {e}; give the folder `migrate make` writes migrations to",
                root.display()
            ),
        })?;
        let mut names = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| Error::Diagram {
                    message: format!("{}: {e}", root.display()),
                })?
                .path();
            if path.join("snapshot.json").is_file() {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        let mut diagram = Diagram::default();
        for name in names {
            let snapshot = crate::migrate::files::load_snapshot(root, &name)?;
            let mut models = Vec::new();
            for table in snapshot.tables.values() {
                // A snapshot holds its connection's constraints only.
                let columns = column_lines(table, |c| {
                    table
                        .foreign_keys
                        .iter()
                        .any(|k| k.column == c)
                        .then_some(false)
                });
                models.push(ModelBox {
                    model: None,
                    table: table.name.clone(),
                    read_only: false,
                    columns,
                });
                for fk in &table.foreign_keys {
                    let column = table.columns.iter().find(|c| c.name == fk.column);
                    let unique = column.is_some_and(|c| c.unique)
                        || table.primary_key == fk.column
                        || table
                            .indexes
                            .iter()
                            .any(|i| i.unique && i.columns == [fk.column.clone()]);
                    diagram.relations.push(Relation {
                        from: ModelRef {
                            connection: name.clone(),
                            table: fk.references.clone(),
                            model: None,
                        },
                        to: ModelRef {
                            connection: name.clone(),
                            table: table.name.clone(),
                            model: None,
                        },
                        cardinality: if unique {
                            Cardinality::OneToOne
                        } else {
                            Cardinality::OneToMany
                        },
                        optional: column.is_some_and(|c| c.nullable),
                        key: fk.column.clone(),
                        names: Vec::new(),
                        through: None,
                        cross_connection: false,
                    });
                }
            }
            diagram.connections.push(ConnectionGroup {
                name,
                backend: None,
                read_only: false,
                models,
            });
        }
        Ok(diagram)
    }

    /// Sets each connection's backend from its URL variable
    /// (`DATABASE_URL`, `DATABASE_<NAME>_URL`) where one is set. Nothing is
    /// opened.
    pub fn with_backends_from_env(self) -> Diagram {
        self.with_backends(|name| {
            std::env::var(format!("{}_URL", crate::routing::names::env_prefix(name)))
                .ok()
                .and_then(|url| Backend::from_url(&url))
        })
    }

    /// Sets each connection's backend, and its read-only mark, from `db`'s
    /// configuration (connections it does not have are left as they are).
    pub fn with_backends_of(mut self, db: &crate::Database) -> Diagram {
        for group in &mut self.connections {
            if let Ok(pool) = db.pool(&group.name) {
                group.backend = Some(pool.backend());
                group.read_only |= pool.read_only();
            }
        }
        self
    }

    /// Sets each connection's backend to what `backend` says of its name.
    pub fn with_backends(mut self, backend: impl Fn(&str) -> Option<Backend>) -> Diagram {
        for group in &mut self.connections {
            if let Some(b) = backend(&group.name) {
                group.backend = Some(b);
            }
        }
        self
    }

    /// The models of `connection` only, with the relations that touch them
    /// (those to other connections stay, dashed, with the model at their
    /// other end). [`Error::Diagram`] when no model lives there.
    pub fn only_connection(mut self, connection: &str) -> Result<Diagram> {
        if !self.connections.iter().any(|g| g.name == connection) {
            let known: Vec<&str> = self.connections.iter().map(|g| g.name.as_str()).collect();
            return Err(Error::Diagram {
                message: format!(
                    "no model lives on connection `{connection}`; name one of: {}",
                    known.join(", ")
                ),
            });
        }
        self.relations
            .retain(|r| r.from.connection == connection || r.to.connection == connection);
        let mut kept: Vec<ModelRef> = Vec::new();
        for r in &self.relations {
            kept.push(r.from.clone());
            kept.push(r.to.clone());
        }
        for group in &mut self.connections {
            if group.name != connection {
                let name = group.name.clone();
                group
                    .models
                    .retain(|m| kept.contains(&ModelRef::of(&name, m)));
            }
        }
        self.connections
            .retain(|g| !g.models.is_empty() || g.name == connection);
        Ok(self)
    }

    /// The diagram in `format`, as bytes (text for Mermaid and DOT).
    pub fn render(&self, format: Format) -> Result<Vec<u8>> {
        match format {
            Format::Mermaid => Ok(self.to_mermaid().into_bytes()),
            Format::Dot => Ok(self.to_dot().into_bytes()),
            Format::Svg => self.to_svg(),
        }
    }

    /// The node of each model that edges attach to: `m<group>_<model>`,
    /// the first of models that are alike in every name.
    fn node_ids(&self) -> BTreeMap<ModelRef, String> {
        let mut ids = BTreeMap::new();
        for (g, group) in self.connections.iter().enumerate() {
            for (i, m) in group.models.iter().enumerate() {
                ids.entry(ModelRef::of(&group.name, m))
                    .or_insert_with(|| format!("m{g}_{i}"));
            }
        }
        ids
    }

    /// The diagram as a Mermaid flowchart: a `subgraph` per connection, a
    /// node per model, an edge per relation (dotted across connections).
    pub fn to_mermaid(&self) -> String {
        let ids = self.node_ids();
        let mut out = String::from("flowchart LR\n");
        for (n, group) in self.connections.iter().enumerate() {
            let _ = writeln!(
                out,
                "  subgraph c{n}[\"{}\"]",
                mermaid_text(&group_label(group))
            );
            for (i, m) in group.models.iter().enumerate() {
                let id = format!("m{n}_{i}");
                let mut label = format!("<b>{}</b>", mermaid_text(&model_title(m)));
                for c in &m.columns {
                    let _ = write!(label, "<br/>{}", mermaid_text(&column_text(c)));
                }
                let _ = writeln!(out, "    {id}[\"{label}\"]");
            }
            out.push_str("  end\n");
        }
        for r in &self.relations {
            let (Some(from), Some(to)) = (ids.get(&r.from), ids.get(&r.to)) else {
                continue;
            };
            let arrow = match (r.cardinality, r.cross_connection) {
                // Many-to-many has no direction; across connections it is
                // dashed as every relation loaded by a second query is.
                (Cardinality::ManyToMany, false) => "---",
                (Cardinality::ManyToMany, true) => "-.-",
                (_, true) => "-.->",
                (_, false) => "-->",
            };
            let _ = writeln!(
                out,
                "  {from} {arrow}|\"{}\"| {to}",
                mermaid_text(&r.label())
            );
        }
        out
    }

    /// The diagram as Graphviz DOT: a cluster per connection, an HTML-like
    /// table per model, an edge per relation with its cardinality at each
    /// end (dashed across connections).
    pub fn to_dot(&self) -> String {
        let ids = self.node_ids();
        let mut out = String::from(
            "digraph models {\n  graph [rankdir=LR, fontname=\"Helvetica\"];\n  node [shape=plain, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
        );
        for (n, group) in self.connections.iter().enumerate() {
            let _ = writeln!(out, "  subgraph \"cluster_{n}\" {{");
            let _ = writeln!(out, "    label={};", dot_string(&group_label(group)));
            if group.read_only {
                out.push_str("    style=dashed;\n");
            }
            for (i, m) in group.models.iter().enumerate() {
                let id = format!("m{n}_{i}");
                let _ = write!(
                    out,
                    "    {} [label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\"><tr><td bgcolor=\"lightgrey\"><b>{}</b></td></tr>",
                    dot_string(&id),
                    html_text(&model_title(m))
                );
                for c in &m.columns {
                    let _ = write!(
                        out,
                        "<tr><td align=\"left\">{}</td></tr>",
                        html_text(&column_text(c))
                    );
                }
                out.push_str("</table>>];\n");
            }
            out.push_str("  }\n");
        }
        for r in &self.relations {
            let (Some(from), Some(to)) = (ids.get(&r.from), ids.get(&r.to)) else {
                continue;
            };
            let (tail, head) = r.ends();
            let mut attrs = format!(
                "label={}, taillabel={}, headlabel={}",
                dot_string(&r.label()),
                dot_string(tail),
                dot_string(head)
            );
            if r.cardinality == Cardinality::ManyToMany {
                attrs.push_str(", dir=none");
            }
            if r.cross_connection {
                attrs.push_str(", style=dashed");
            }
            let _ = writeln!(
                out,
                "  {} -> {} [{attrs}];",
                dot_string(from),
                dot_string(to)
            );
        }
        out.push_str("}\n");
        out
    }

    /// The diagram as SVG, drawn by Graphviz (`dot -Tsvg`). [`Error::Diagram`]
    /// when `dot` is not installed or fails.
    pub fn to_svg(&self) -> Result<Vec<u8>> {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let failed = |e: &dyn std::fmt::Display| {
            Error::Diagram {
            message: format!(
                "cannot run Graphviz's `dot -Tsvg` ({e}): install Graphviz (`apt-get install graphviz`), or write `--format dot` and render it elsewhere"
            ),
        }
        };
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(&e))?;
        let dot = self.to_dot();
        // Written from another thread: `dot` may fill its output pipe before reading all of its input.
        let mut stdin = child.stdin.take().ok_or_else(|| failed(&"no input pipe"))?;
        let writer = std::thread::spawn(move || stdin.write_all(dot.as_bytes()));
        let output = child.wait_with_output().map_err(|e| failed(&e))?;
        let _ = writer.join();
        if !output.status.success() {
            return Err(failed(&format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(output.stdout)
    }
}

/// `db (SQLite, read-only)`.
fn group_label(group: &ConnectionGroup) -> String {
    let mut notes = Vec::new();
    if let Some(b) = group.backend {
        notes.push(b.name());
    }
    if group.read_only {
        notes.push("read-only");
    }
    if notes.is_empty() {
        group.name.clone()
    } else {
        format!("{} ({})", group.name, notes.join(", "))
    }
}

/// `Order (orders)`, or the table alone from snapshots.
fn model_title(m: &ModelBox) -> String {
    let mut title = match &m.model {
        Some(model) => format!("{model} ({})", m.table),
        None => m.table.clone(),
    };
    if m.read_only {
        title.push_str(", read-only");
    }
    title
}

/// `user_id: big_int FK indexed nullable`.
fn column_text(c: &ColumnLine) -> String {
    let mut text = format!("{}: {}", c.name, c.sql_type);
    for (on, flag) in [
        (c.primary_key, "PK"),
        (c.foreign_key, "FK"),
        (c.reference, "ref"),
        (c.unique && !c.primary_key, "unique"),
        (c.indexed, "indexed"),
        (c.nullable, "nullable"),
    ] {
        if on {
            text.push(' ');
            text.push_str(flag);
        }
    }
    text
}

/// Text inside a quoted Mermaid label: letters, digits and a few safe
/// marks as they are, anything else as a decimal entity code (`#34;`), which
/// Mermaid decodes, so no name can close the label or inject markup.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_alphanumeric() || matches!(ch, ' ' | '_' | '.' | ',' | ':' | '(' | ')' | '-') {
            out.push(ch);
        } else {
            let _ = write!(out, "#{};", u32::from(ch));
        }
    }
    out
}

/// A DOT double-quoted string: `"` and `\` escaped, line breaks as `\n`.
fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text inside a DOT HTML-like label, with XML's five characters escaped
/// and control characters dropped (XML cannot hold them).
fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The relations of the linked models: one per `belongs_to` key (named by
/// the `has_one` or `has_many` that reads it backwards, when declared), and
/// one per `many_to_many` pair.
fn relations_of_models(facts: &[&'static ModelFacts]) -> Vec<Relation> {
    // Constants may be copied, so a table is known by its contents; two
    // models of one table (a test's own copy) differ in them.
    let same = |a: &TableSchema, b: &TableSchema| a == b;
    let refer = |s: &TableSchema| ModelRef {
        connection: s.connection.to_owned(),
        table: s.name.to_owned(),
        model: facts
            .iter()
            .find(|f| same(f.schema, s))
            .map(|f| f.model.to_owned()),
    };
    // The column a key path as written (`crate::blog::post::user_id`)
    // names in model `f`, if `f` is the model of that columns module: two
    // models may share a module's name, so a path is tried against each.
    let named_in = |path: &str, f: &ModelFacts| -> Option<&'static str> {
        let mut parts = path.rsplit("::").map(|p| p.trim_start_matches("r#"));
        let field = parts.next()?;
        let module = parts.next()?;
        let column = f.schema.columns.iter().find(|c| c.field == field)?;
        (f.module == module).then_some(column.name)
    };
    // The target of `f`'s foreign key `column`.
    let target_of = |f: &ModelFacts, column: &str| -> Option<&'static TableSchema> {
        let fk = f.schema.foreign_keys.iter().find(|k| k.column == column)?;
        Some((fk.target)().table)
    };
    let mut out = Vec::new();
    for f in facts {
        let s = f.schema;
        for fk in s.foreign_keys {
            let target = (fk.target)();
            let column = s.column(fk.column);
            let mut names = Vec::new();
            let mut kind = if column.is_some_and(|c| c.unique || c.primary_key) {
                Cardinality::OneToOne
            } else {
                Cardinality::OneToMany
            };
            // The declared inverse, on the target model.
            for t in facts.iter().filter(|t| same(t.schema, target.table)) {
                for rel in t.relations {
                    let inverse = matches!(rel.kind, RelationKind::HasOne | RelationKind::HasMany)
                        && named_in(rel.key, f) == Some(fk.column);
                    if inverse {
                        kind = if rel.kind == RelationKind::HasOne {
                            Cardinality::OneToOne
                        } else {
                            Cardinality::OneToMany
                        };
                        let word = if rel.kind == RelationKind::HasOne {
                            "has_one"
                        } else {
                            "has_many"
                        };
                        names.push(format!("{}.{} {word}", t.model, rel.name));
                    }
                }
            }
            for rel in f
                .relations
                .iter()
                .filter(|r| r.kind == RelationKind::BelongsTo)
            {
                let field = s
                    .columns
                    .iter()
                    .find(|c| c.field == rel.key.trim_start_matches("r#"));
                if field.is_some_and(|c| c.name == fk.column) {
                    names.push(format!("{}.{} belongs_to", f.model, rel.name));
                }
            }
            out.push(Relation {
                from: refer(target.table),
                to: refer(s),
                cardinality: kind,
                optional: column.is_some_and(|c| c.nullable),
                key: fk.column.to_owned(),
                names,
                through: None,
                cross_connection: target.connection != s.connection,
            });
        }
        for rel in f
            .relations
            .iter()
            .filter(|r| r.kind == RelationKind::ManyToMany)
        {
            // The join model: the one whose key `rel.key` refers to this model.
            let join = facts.iter().find_map(|j| {
                let key = named_in(rel.key, j)?;
                let to = target_of(j, named_in(rel.other_key, j)?)?;
                target_of(j, key)
                    .is_some_and(|t| same(t, s))
                    .then_some((j, key, to))
            });
            let Some((join, key, to)) = join else {
                continue;
            };
            let name = format!("{}.{} many_to_many", f.model, rel.name);
            let (from, to) = (refer(s), refer(to));
            let through = refer(join.schema);
            // The same pair declared from both sides is one edge.
            let twin = out.iter_mut().find(|r: &&mut Relation| {
                r.cardinality == Cardinality::ManyToMany
                    && r.through.as_ref() == Some(&through)
                    && r.from == to
                    && r.to == from
            });
            if let Some(twin) = twin {
                twin.names.push(name);
                continue;
            }
            out.push(Relation {
                cross_connection: from.connection != to.connection,
                from,
                to,
                cardinality: Cardinality::ManyToMany,
                optional: false,
                key: key.to_owned(),
                names: vec![name],
                through: Some(through),
            });
        }
    }
    out.sort_by(|a, b| (&a.from, &a.to, &a.key).cmp(&(&b.from, &b.to, &b.key)));
    out
}
