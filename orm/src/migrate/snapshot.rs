//! The schema of one connection as plain data: taken from the models, and
//! replayed through the operations of applied migrations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Column, Default, ForeignKey, Index, Operation, Table};
use crate::model::schema::{ColumnSchema, DefaultValue, TableSchema};

/// The schema of one connection: its tables by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
}

impl From<&DefaultValue> for Default {
    fn from(d: &DefaultValue) -> Default {
        match *d {
            DefaultValue::Int(v) => Default::Int(v),
            DefaultValue::Float(v) => Default::Float(v),
            DefaultValue::Bool(v) => Default::Bool(v),
            DefaultValue::Text(v) => Default::Text(v.to_owned()),
        }
    }
}

impl From<&ColumnSchema> for Column {
    fn from(c: &ColumnSchema) -> Column {
        Column {
            name: c.name.to_owned(),
            sql_type: c.sql_type,
            nullable: c.nullable,
            auto_increment: c.auto_increment,
            unique: c.unique,
            indexed: c.indexed,
            max_length: c.max_length,
            decimal: c.decimal,
            default: c.default.as_ref().map(Default::from),
            renamed_from: c.renamed_from.map(str::to_owned),
        }
    }
}

impl From<&TableSchema> for Table {
    fn from(t: &TableSchema) -> Table {
        Table {
            name: t.name.to_owned(),
            columns: t.columns.iter().map(Column::from).collect(),
            primary_key: t.primary_key().name.to_owned(),
            indexes: t
                .indexes
                .iter()
                .map(|i| Index {
                    columns: i.columns.iter().map(|c| (*c).to_owned()).collect(),
                    unique: i.unique,
                })
                .collect(),
            // A key into another connection's table cannot be a constraint.
            foreign_keys: t
                .foreign_keys
                .iter()
                .filter_map(|fk| {
                    let target = (fk.target)();
                    (target.connection == t.connection).then(|| ForeignKey {
                        column: fk.column.to_owned(),
                        references: target.table.name.to_owned(),
                        references_column: target.table.primary_key().name.to_owned(),
                        on_delete: fk.on_delete,
                    })
                })
                .collect(),
            renamed_from: t.renamed_from.map(str::to_owned),
        }
    }
}

impl Snapshot {
    /// The snapshot of these tables.
    pub fn of<'a>(tables: impl IntoIterator<Item = &'a TableSchema>) -> Snapshot {
        Snapshot {
            tables: tables
                .into_iter()
                .map(|t| (t.name.to_owned(), Table::from(t)))
                .collect(),
        }
    }

    /// The snapshot of every model on `connection`, from the program's models.
    pub fn of_connection(connection: &str) -> Snapshot {
        Snapshot::of(
            crate::model::registry::models()
                .filter(|m| m.schema.connection == connection)
                .map(|m| m.schema),
        )
    }

    /// The schema after `op`, as far as the operation says: raw SQL changes
    /// nothing here. The runner replays the migrations applied so far with
    /// this, so that a step that SQLite must do by rebuilding a table knows
    /// the whole table.
    pub fn apply(&mut self, op: &Operation) {
        match op {
            Operation::CreateTable { table } => {
                let mut table = table.clone();
                table.renamed_from = None;
                self.tables.insert(table.name.clone(), table);
            }
            Operation::DropTable { table } => {
                self.tables.remove(&table.name);
            }
            Operation::AddColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.push(Column {
                        renamed_from: None,
                        ..column.clone()
                    });
                }
            }
            Operation::DropColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.retain(|c| c.name != column.name);
                }
            }
            Operation::AlterColumn { table, to, .. } => {
                if let Some(c) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.column_mut(&to.name))
                {
                    *c = Column {
                        renamed_from: None,
                        ..to.clone()
                    };
                }
            }
            Operation::RenameTable { from, to, .. } => {
                if let Some(mut t) = self.tables.remove(from) {
                    t.name.clone_from(to);
                    self.tables.insert(to.clone(), t);
                }
                // The databases follow a rename in the keys that point at the table.
                for t in self.tables.values_mut() {
                    for fk in t
                        .foreign_keys
                        .iter_mut()
                        .filter(|fk| &fk.references == from)
                    {
                        fk.references.clone_from(to);
                    }
                }
            }
            Operation::RenameColumn {
                table,
                from,
                column,
            } => {
                let to = &column.name;
                if let Some(t) = self.tables.get_mut(table) {
                    if let Some(c) = t.column_mut(from) {
                        c.name.clone_from(to);
                    }
                    if &t.primary_key == from {
                        t.primary_key.clone_from(to);
                    }
                    for c in t.indexes.iter_mut().flat_map(|i| i.columns.iter_mut()) {
                        if c == from {
                            c.clone_from(to);
                        }
                    }
                    for fk in t.foreign_keys.iter_mut().filter(|fk| &fk.column == from) {
                        fk.column.clone_from(to);
                    }
                }
                for t in self.tables.values_mut() {
                    for fk in t.foreign_keys.iter_mut() {
                        if &fk.references == table && &fk.references_column == from {
                            fk.references_column.clone_from(to);
                        }
                    }
                }
            }
            Operation::AddIndex { table, index } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.indexes.push(index.clone());
                }
            }
            Operation::DropIndex { table, index } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.indexes.retain(|i| i != index);
                }
            }
            Operation::AddForeignKey { table, foreign_key } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.foreign_keys.push(foreign_key.clone());
                }
            }
            Operation::DropForeignKey { table, foreign_key } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.foreign_keys.retain(|fk| fk != foreign_key);
                }
            }
            Operation::Sql { .. } => {}
        }
    }
}

impl Table {
    fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::types::SqlType;

    #[test]
    fn snapshots_come_from_the_models_schema() {
        const COLUMNS: &[ColumnSchema] = &[
            ColumnSchema {
                name: "uid",
                field: "uid",
                sql_type: SqlType::BigInt,
                rust_type: "i64",
                nullable: false,
                primary_key: true,
                auto_increment: true,
                unique: false,
                indexed: false,
                max_length: None,
                decimal: None,
                default: None,
                renamed_from: None,
            },
            ColumnSchema {
                name: "active",
                field: "active",
                sql_type: SqlType::Bool,
                rust_type: "bool",
                nullable: false,
                primary_key: false,
                auto_increment: false,
                unique: false,
                indexed: true,
                max_length: None,
                decimal: None,
                default: Some(DefaultValue::Bool(true)),
                renamed_from: None,
            },
        ];
        const USERS: TableSchema = TableSchema {
            name: "auser",
            columns: COLUMNS,
            primary_key: 0,
            renamed_from: None,
            connection: "db",
            indexes: &[],
            foreign_keys: &[],
        };
        let snapshot = Snapshot::of([&USERS]);
        let table = &snapshot.tables["auser"];
        assert_eq!(table.primary_key, "uid");
        assert!(table.columns[0].auto_increment);
        assert_eq!(table.columns[1].default, Some(Default::Bool(true)));
        assert!(table.columns[1].indexed);
    }
}
