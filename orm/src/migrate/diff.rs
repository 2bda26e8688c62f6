//! The difference between two snapshots, as the operations that
//! [`make`](super::files::make) writes into a migration.

use super::{Column, Default, ForeignKey, Operation, Snapshot, Table};
use crate::error::{Error, Result};
use crate::model::types::SqlType;

/// The value that the rows a table already has take in a new required
/// column without a default, given to `make` (`migrate make NAME --backfill
/// TABLE.COLUMN=VALUE`). The migration adds the column with the value as
/// its default, so every backend fills the rows the same way, then drops
/// the default again, so the column ends as the model declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backfill {
    /// The table's name.
    pub table: String,
    /// The column's name.
    pub column: String,
    /// The value as written: a number for integer and float columns,
    /// `true` or `false` for booleans, else text that the database reads
    /// as the column's type (e.g. `2024-01-31` for a date).
    pub value: String,
}

impl Backfill {
    /// Reads `TABLE.COLUMN=VALUE`; [`Error::Migration`] when a part is missing.
    pub fn parse(text: &str) -> Result<Backfill> {
        let parts = text
            .split_once('=')
            .and_then(|(target, value)| Some((target.split_once('.')?, value)));
        match parts {
            Some(((table, column), value)) if !table.is_empty() && !column.is_empty() => {
                Ok(Backfill {
                    table: table.to_owned(),
                    column: column.to_owned(),
                    value: value.to_owned(),
                })
            }
            _ => Err(Error::Migration {
                message: format!("backfill `{text}`: write it as TABLE.COLUMN=VALUE"),
            }),
        }
    }

    /// The value as a default of `column`'s type.
    fn default_for(&self, column: &Column) -> Result<Default> {
        let wrong = |what: &str| Error::Migration {
            message: format!(
                "backfill for `{}`.`{}`: `{}` is not {what}",
                self.table, self.column, self.value
            ),
        };
        Ok(match column.sql_type {
            SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
                Default::Int(self.value.parse().map_err(|_| wrong("an integer"))?)
            }
            SqlType::Float | SqlType::Double => {
                Default::Float(self.value.parse().map_err(|_| wrong("a number"))?)
            }
            SqlType::Bool => {
                Default::Bool(self.value.parse().map_err(|_| wrong("`true` or `false`"))?)
            }
            _ => Default::Text(self.value.clone()),
        })
    }
}

/// `up` (steps from [`diff`]) with every new required column without a
/// default given its backfill: added with the value as default, then the
/// default dropped. [`Error::Migration`] naming every such column that has
/// no backfill (existing rows would have no value: MySQL fills in its
/// implicit default, 0 or '', MySQL manual "Data Type Default Values";
/// PostgreSQL refuses with SQLSTATE 23502; SQLite refuses the column, its
/// `ALTER TABLE` page, "ADD COLUMN"), and every backfill of a table of `up`
/// that matches no such column.
pub fn backfill(up: Vec<Operation>, backfills: &[Backfill]) -> Result<Vec<Operation>> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let mut used = Vec::new();
    for op in up {
        let Operation::AddColumn { table, column } = &op else {
            out.push(op);
            continue;
        };
        if !column.required_without_default() {
            out.push(op);
            continue;
        }
        let given = backfills
            .iter()
            .find(|b| b.table == *table && b.column == column.name);
        let Some(given) = given else {
            missing.push((table.clone(), column.name.clone()));
            continue;
        };
        used.push(given);
        let filled = Column {
            default: Some(given.default_for(column)?),
            ..column.clone()
        };
        out.push(Operation::AddColumn {
            table: table.clone(),
            column: filled.clone(),
        });
        out.push(Operation::AlterColumn {
            table: table.clone(),
            from: filled,
            to: column.clone(),
        });
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing
            .iter()
            .map(|(t, c)| format!("`{t}`.`{c}`"))
            .collect();
        let flags: Vec<String> = missing
            .iter()
            .map(|(t, c)| format!("--backfill {t}.{c}=VALUE"))
            .collect();
        return Err(Error::Migration {
            message: format!(
                "new required column(s) without a default: {}; the rows the table has would have no value \
                 (MySQL would fill in 0 or '', PostgreSQL and SQLite refuse): give the field \
                 `#[orm(default = ...)]`, make it an `Option`, or give the existing rows a value: \
                 `migrate make NAME {}`; nothing was written",
                names.join(", "),
                flags.join(" ")
            ),
        });
    }
    let tables: Vec<&str> = out.iter().map(Operation::table_name).collect();
    if let Some(unused) = backfills
        .iter()
        .find(|b| tables.contains(&b.table.as_str()) && !used.contains(b))
    {
        return Err(Error::Migration {
            message: format!(
                "backfill for `{}`.`{}`: the migration adds no such required column without a default; \
                 nothing was written",
                unused.table, unused.column
            ),
        });
    }
    Ok(out)
}

/// The steps from `old` to `new`, and the steps back, in the order to apply
/// them: foreign keys that go away are dropped first, then tables renamed,
/// created (a referenced table before the tables that refer to it) and
/// changed (columns in field order), then new foreign keys added, and
/// tables dropped last (referring tables first).
pub fn diff(old: &Snapshot, new: &Snapshot) -> (Vec<Operation>, Vec<Operation>) {
    let mut drop_fks = Vec::new();
    let mut renames = Vec::new();
    let mut created = Vec::new();
    let mut changes = Vec::new();
    let mut add_fks = Vec::new();
    // Old tables that a new one says it was renamed from.
    let mut renamed: Vec<&str> = Vec::new();
    for (name, table) in &new.tables {
        let before = old.tables.get(name).or_else(|| {
            let from = table.renamed_from.as_deref()?;
            let before = old.tables.get(from)?;
            renamed.push(&before.name);
            Some(before)
        });
        let Some(before) = before else {
            created.push(table);
            continue;
        };
        let is_rename = before.name != *name;
        if is_rename {
            let mut after = before.clone();
            after.name.clone_from(name);
            // Constraint names carry the table's name: its keys are made anew below.
            after.foreign_keys.clear();
            renames.push(Operation::RenameTable {
                from: before.name.clone(),
                to: name.clone(),
                table: after,
            });
        }
        for fk in &before.foreign_keys {
            if is_rename || !table.foreign_keys.contains(fk) {
                drop_fks.push(Operation::DropForeignKey {
                    table: before.name.clone(),
                    foreign_key: fk.clone(),
                });
            }
        }
        for fk in &table.foreign_keys {
            if is_rename || !before.foreign_keys.contains(fk) {
                add_fks.push(Operation::AddForeignKey {
                    table: name.clone(),
                    foreign_key: fk.clone(),
                });
            }
        }
        diff_table(before, table, &mut changes);
    }

    // Created tables in dependency order; keys in a cycle are added after.
    let (ordered, deferred) = by_dependencies(created);
    let creates = ordered
        .into_iter()
        .map(|table| Operation::CreateTable { table });
    add_fks.extend(
        deferred
            .into_iter()
            .map(|(table, foreign_key)| Operation::AddForeignKey { table, foreign_key }),
    );

    let gone: Vec<&Table> = old
        .tables
        .values()
        .filter(|t| !new.tables.contains_key(&t.name) && !renamed.contains(&t.name.as_str()))
        .collect();
    let (ordered, deferred) = by_dependencies(gone);
    drop_fks.extend(
        deferred
            .into_iter()
            .map(|(table, foreign_key)| Operation::DropForeignKey { table, foreign_key }),
    );
    let drops = ordered
        .into_iter()
        .rev()
        .map(|table| Operation::DropTable { table });

    let mut up = drop_fks;
    up.extend(renames);
    up.extend(creates);
    up.extend(changes);
    up.extend(add_fks);
    up.extend(drops);
    let down = up.iter().rev().filter_map(Operation::reverse).collect();
    (up, down)
}

/// `tables` ordered so that a table comes after the tables (of the same
/// list) that it refers to. Keys that close a cycle are taken out of their
/// table and returned apart, as (table, key), to be added once all exist.
fn by_dependencies(tables: Vec<&Table>) -> (Vec<Table>, Vec<(String, ForeignKey)>) {
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut left: Vec<Table> = tables.into_iter().cloned().collect();
    let mut done: Vec<String> = Vec::new();
    let mut ordered = Vec::new();
    let mut deferred = Vec::new();
    while !left.is_empty() {
        let waits = |t: &Table, fk: &ForeignKey| {
            fk.references != t.name
                && names.contains(&fk.references.as_str())
                && !done.contains(&fk.references)
        };
        let ready = left
            .iter()
            .position(|t| !t.foreign_keys.iter().any(|fk| waits(t, fk)));
        let mut table = match ready {
            Some(i) => left.remove(i),
            None => {
                // A cycle: take the first table, and add its waiting keys later.
                let mut t = left.remove(0);
                let keys = std::mem::take(&mut t.foreign_keys);
                let (now, later): (Vec<_>, Vec<_>) =
                    keys.into_iter().partition(|fk| !waits(&t, fk));
                t.foreign_keys = now;
                deferred.extend(later.into_iter().map(|fk| (t.name.clone(), fk)));
                t
            }
        };
        table.renamed_from = None;
        done.push(table.name.clone());
        ordered.push(table);
    }
    (ordered, deferred)
}

/// Column, index and key changes of one table (after any rename): indexes
/// that go away are dropped first, new ones created last.
fn diff_table(before: &Table, after: &Table, up: &mut Vec<Operation>) {
    for index in before.indexes.iter().filter(|i| !after.indexes.contains(i)) {
        up.push(Operation::DropIndex {
            table: after.name.clone(),
            index: index.clone(),
        });
    }
    diff_columns(before, after, up);
    for index in after.indexes.iter().filter(|i| !before.indexes.contains(i)) {
        up.push(Operation::AddIndex {
            table: after.name.clone(),
            index: index.clone(),
        });
    }
}

fn diff_columns(before: &Table, after: &Table, up: &mut Vec<Operation>) {
    let mut renamed: Vec<&str> = Vec::new();
    for column in &after.columns {
        let old = match before.columns.iter().find(|c| c.name == column.name) {
            Some(old) => Some(old),
            None => {
                let from = column.renamed_from.as_deref();
                match before
                    .columns
                    .iter()
                    .find(|c| Some(c.name.as_str()) == from)
                {
                    Some(old) => {
                        renamed.push(&old.name);
                        let mut moved = old.clone();
                        moved.name.clone_from(&column.name);
                        up.push(Operation::RenameColumn {
                            table: after.name.clone(),
                            from: old.name.clone(),
                            column: moved,
                        });
                        Some(old)
                    }
                    None => None,
                }
            }
        };
        match old {
            None => up.push(Operation::AddColumn {
                table: after.name.clone(),
                column: column.clone(),
            }),
            Some(old) => {
                let mut old = old.clone();
                old.name.clone_from(&column.name);
                if !old.same_definition(column) {
                    up.push(Operation::AlterColumn {
                        table: after.name.clone(),
                        from: old,
                        to: Column {
                            renamed_from: None,
                            ..column.clone()
                        },
                    });
                }
            }
        }
    }
    for column in &before.columns {
        let kept = after.columns.iter().any(|c| c.name == column.name);
        if !kept && !renamed.contains(&column.name.as_str()) {
            up.push(Operation::DropColumn {
                table: after.name.clone(),
                column: column.clone(),
            });
        }
    }
}

impl Column {
    /// Whether both columns are defined the same, whatever they were called before.
    fn same_definition(&self, other: &Column) -> bool {
        Column {
            renamed_from: None,
            ..self.clone()
        } == Column {
            renamed_from: None,
            ..other.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::migrate::{Index, OnDelete};
    use crate::model::types::SqlType;

    fn column(name: &str, sql_type: SqlType) -> Column {
        Column {
            name: name.into(),
            sql_type,
            nullable: false,
            auto_increment: false,
            unique: false,
            indexed: false,
            max_length: None,
            decimal: None,
            default: None,
            renamed_from: None,
        }
    }

    fn users(columns: Vec<Column>) -> Snapshot {
        let mut tables = BTreeMap::new();
        tables.insert(
            "users".to_owned(),
            Table {
                name: "users".into(),
                primary_key: "id".into(),
                columns,
                indexes: Vec::new(),
                foreign_keys: Vec::new(),
                renamed_from: None,
            },
        );
        Snapshot { tables }
    }

    #[test]
    fn a_backfill_is_read_as_the_column_type_and_must_match_a_new_required_column() {
        let old = users(vec![column("id", SqlType::BigInt)]);
        let new = users(vec![
            column("id", SqlType::BigInt),
            column("rank", SqlType::Int),
        ]);
        let (up, _) = diff(&old, &new);
        let err = backfill(up.clone(), &[]).unwrap_err();
        assert!(
            matches!(&err, Error::Migration { message } if message.contains("--backfill users.rank=VALUE")),
            "{err:?}"
        );
        let given = |text: &str| backfill(up.clone(), &[Backfill::parse(text).unwrap()]);
        assert!(
            matches!(given("users.rank=high"), Err(Error::Migration { message }) if message.contains("not an integer"))
        );
        assert!(
            matches!(backfill(up.clone(), &[Backfill::parse("users.rank=3").unwrap(), Backfill::parse("users.other=1").unwrap()]), Err(Error::Migration { message }) if message.contains("`users`.`other`"))
        );
        let filled = given("users.rank=3").unwrap();
        let mut with_default = column("rank", SqlType::Int);
        with_default.default = Some(Default::Int(3));
        assert_eq!(
            filled,
            [
                Operation::AddColumn {
                    table: "users".into(),
                    column: with_default.clone()
                },
                Operation::AlterColumn {
                    table: "users".into(),
                    from: with_default,
                    to: column("rank", SqlType::Int)
                },
            ]
        );
        assert!(Backfill::parse("rank=3").is_err() && Backfill::parse("users.rank").is_err());
    }

    #[test]
    fn nothing_changed_is_no_operation() {
        let s = users(vec![column("id", SqlType::BigInt)]);
        assert_eq!(diff(&s, &s), (vec![], vec![]));
    }

    #[test]
    fn a_new_table_is_created_and_dropped_on_the_way_back() {
        let new = users(vec![column("id", SqlType::BigInt)]);
        let (up, down) = diff(&Snapshot::default(), &new);
        let table = new.tables["users"].clone();
        assert_eq!(
            up,
            [Operation::CreateTable {
                table: table.clone()
            }]
        );
        assert_eq!(down, [Operation::DropTable { table }]);
    }

    #[test]
    fn columns_added_changed_and_dropped() {
        let old = users(vec![
            column("id", SqlType::BigInt),
            column("name", SqlType::Text),
            column("legacy", SqlType::Int),
        ]);
        let mut nullable_name = column("name", SqlType::Text);
        nullable_name.nullable = true;
        let mut email = column("email", SqlType::Text);
        email.unique = true;
        let new = users(vec![
            column("id", SqlType::BigInt),
            nullable_name.clone(),
            email.clone(),
        ]);
        let (up, down) = diff(&old, &new);
        assert_eq!(
            up,
            [
                Operation::AlterColumn {
                    table: "users".into(),
                    from: column("name", SqlType::Text),
                    to: nullable_name.clone(),
                },
                Operation::AddColumn {
                    table: "users".into(),
                    column: email.clone()
                },
                Operation::DropColumn {
                    table: "users".into(),
                    column: column("legacy", SqlType::Int)
                },
            ]
        );
        assert_eq!(
            down,
            [
                Operation::AddColumn {
                    table: "users".into(),
                    column: column("legacy", SqlType::Int)
                },
                Operation::DropColumn {
                    table: "users".into(),
                    column: email
                },
                Operation::AlterColumn {
                    table: "users".into(),
                    from: nullable_name,
                    to: column("name", SqlType::Text),
                },
            ]
        );
    }

    fn table(name: &str, columns: &[&str]) -> Table {
        columns.iter().fold(
            Table::new(name, Column::new("id", SqlType::BigInt).auto_increment()),
            |t, c| t.column(Column::new(c, SqlType::BigInt)),
        )
    }

    fn schema(tables: Vec<Table>) -> Snapshot {
        Snapshot {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        }
    }

    fn kinds(ops: &[Operation]) -> Vec<String> {
        ops.iter()
            .map(|op| {
                let text = serde_json::to_value(op).unwrap();
                let what = match op {
                    Operation::CreateTable { table } | Operation::DropTable { table } => {
                        table.name.clone()
                    }
                    Operation::AddForeignKey { table, foreign_key }
                    | Operation::DropForeignKey { table, foreign_key } => {
                        format!("{table}.{}", foreign_key.column)
                    }
                    Operation::AddIndex { table, index }
                    | Operation::DropIndex { table, index } => {
                        format!("{table}({})", index.columns.join(","))
                    }
                    _ => String::new(),
                };
                format!("{} {what}", text["op"].as_str().unwrap())
            })
            .collect()
    }

    #[test]
    fn referenced_tables_are_created_first_and_dropped_last() {
        // "a_comments" sorts before "b_posts" sorts before "c_users", the reverse of their dependencies.
        let new = schema(vec![
            table("a_comments", &["post_id"]).foreign_key("post_id", "b_posts", "id"),
            table("b_posts", &["user_id"]).foreign_key("user_id", "c_users", "id"),
            table("c_users", &["manager_id"]).foreign_key("manager_id", "c_users", "id"),
        ]);
        let (up, down) = diff(&Snapshot::default(), &new);
        assert_eq!(
            kinds(&up),
            [
                "create_table c_users",
                "create_table b_posts",
                "create_table a_comments"
            ]
        );
        assert_eq!(
            kinds(&down),
            [
                "drop_table a_comments",
                "drop_table b_posts",
                "drop_table c_users"
            ]
        );
        let (up, _) = diff(&new, &Snapshot::default());
        assert_eq!(
            kinds(&up),
            kinds(&down),
            "dropping the tables orders them the same way"
        );
    }

    #[test]
    fn keys_in_a_cycle_are_added_once_both_tables_exist() {
        let new = schema(vec![
            table("teams", &["captain_id"]).foreign_key("captain_id", "players", "id"),
            table("players", &["team_id"]).foreign_key("team_id", "teams", "id"),
        ]);
        let (up, down) = diff(&Snapshot::default(), &new);
        assert_eq!(
            kinds(&up),
            [
                "create_table players",
                "create_table teams",
                "add_foreign_key players.team_id"
            ]
        );
        assert_eq!(
            kinds(&down),
            [
                "drop_foreign_key players.team_id",
                "drop_table teams",
                "drop_table players"
            ]
        );
    }

    #[test]
    fn keys_and_indexes_that_change_are_dropped_before_and_added_after_the_columns() {
        let old = schema(vec![
            table("users", &[]),
            table("posts", &["user_id", "a", "b"])
                .foreign_key("user_id", "users", "id")
                .index(Index::new(&["a", "b"])),
        ]);
        let new = schema(vec![
            table("users", &[]),
            table("posts", &["author_id", "a", "b"])
                .foreign_key("author_id", "users", "id")
                .index(Index::unique(&["b", "a"])),
        ]);
        let (up, down) = diff(&old, &new);
        assert_eq!(
            kinds(&up),
            [
                "drop_foreign_key posts.user_id",
                "drop_index posts(a,b)",
                "add_column ",
                "drop_column ",
                "add_index posts(b,a)",
                "add_foreign_key posts.author_id",
            ]
        );
        assert_eq!(down.len(), up.len());
        // Added columns go last, as in the databases: compare them as sets.
        let sorted = |s: &Snapshot| {
            let mut s = s.clone();
            for t in s.tables.values_mut() {
                t.columns.sort_by(|a, b| a.name.cmp(&b.name));
            }
            s
        };
        let mut state = old.clone();
        for op in &up {
            state.apply(op);
        }
        assert_eq!(
            sorted(&state),
            sorted(&new),
            "the operations lead to the new schema"
        );
        for op in &down {
            state.apply(op);
        }
        assert_eq!(sorted(&state), sorted(&old), "and back");
    }

    #[test]
    fn a_renamed_table_gets_its_keys_anew_under_its_new_name() {
        let old = schema(vec![
            table("users", &[]),
            table("posts", &["user_id"]).foreign_key("user_id", "users", "id"),
        ]);
        let mut articles = table("articles", &["user_id"]).foreign_key("user_id", "users", "id");
        articles.renamed_from = Some("posts".into());
        let new = schema(vec![table("users", &[]), articles]);
        let (up, _) = diff(&old, &new);
        assert_eq!(
            kinds(&up),
            [
                "drop_foreign_key posts.user_id",
                "rename_table ",
                "add_foreign_key articles.user_id"
            ]
        );
    }

    #[test]
    fn on_delete_is_part_of_the_key_and_of_its_sql() {
        let plain = table("posts", &["user_id"]).foreign_key("user_id", "users", "id");
        let cascading = plain.clone().on_delete(OnDelete::Cascade);
        let sql = cascading.create_sql(crate::Backend::Postgres, false);
        assert!(
            sql[0].ends_with("REFERENCES \"users\" (\"id\") ON DELETE CASCADE)"),
            "{}",
            sql[0]
        );
        let (up, _) = diff(&schema(vec![plain.clone()]), &schema(vec![cascading]));
        assert_eq!(
            kinds(&up),
            [
                "drop_foreign_key posts.user_id",
                "add_foreign_key posts.user_id"
            ]
        );
        // The default is left out of files, so that older files read the same.
        let text = serde_json::to_string(&plain.foreign_keys[0]).unwrap();
        assert!(!text.contains("on_delete"), "{text}");
    }
}
