//! Tables, views, sequences and their children: columns, constraints, indexes and policies.
//!
//! Children arrive in their own queries and are attached to their parent by oid; rows whose
//! parent is not known (an extension's table, a foreign table reported as unsupported) are
//! skipped with it.

use super::load::{Builder, NamespaceRole, PendingIndex, item};
use super::rows::{RowReader, column_path};
use super::{
    IntrospectError, Q_COLUMNS, Q_CONSTRAINTS, Q_INDEX_KEYS, Q_INDEXES, Q_POLICIES, Q_RELATIONS,
};
use crate::model::{
    CheckConstraint, Column, CompositeAttribute, ExclusionConstraint, FkAction, FkMatch,
    ForeignKey, Ident, Identity, Index, IndexColumn, IndexKey, PartitionBound, PartitionStrategy,
    PartitionedBy, Policy, PolicyCommand, PrimaryKey, QualifiedName, ReplicaIdentity, RowSecurity,
    Sequence, SqlExpr, Table, UniqueConstraint, View,
};
use std::collections::{BTreeSet, HashMap};
use tokio_postgres::Row;

impl Builder {
    pub(super) fn read_relations(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_RELATIONS, row);
            let name = r.qualified("schema", "name")?;
            let oid: u32 = r.get("oid")?;
            let kind = r.char("kind")?;
            let persistence = r.char("persistence")?;
            match kind {
                'r' | 'p' => {
                    r.describe(format!("table {name}"));
                    let table = self.read_table(&r, oid, name)?;
                    self.tables.insert(oid, table);
                }
                'v' | 'm' => {
                    r.describe(format!("view {name}"));
                    self.views.insert(
                        oid,
                        View {
                            name,
                            materialized: kind == 'm',
                            definition: SqlExpr(r.get("view_definition")?),
                            options: r.options("options")?,
                            indexes: Vec::new(),
                            triggers: Vec::new(),
                            grants: BTreeSet::new(),
                            comment: r.get("comment")?,
                            column_comments: Vec::new(),
                        },
                    );
                }
                'S' => {
                    r.describe(format!("sequence {name}"));
                    let dependency: Option<String> = r.get("sequence_owner_dependency")?;
                    let owned_by = match dependency.as_deref() {
                        // An identity column's sequence belongs to the column.
                        Some("i") => continue,
                        Some("a") => Some((
                            r.qualified("sequence_owner_schema", "sequence_owner_table")?,
                            Ident(r.get("sequence_owner_column")?),
                        )),
                        None => None,
                        Some(other) => {
                            return Err(r.error(format!("unexpected dependency type `{other}`")));
                        }
                    };
                    if persistence == 'u' {
                        self.unsupported(
                            "sequence",
                            &name,
                            "unlogged sequences are not part of the schema model",
                        );
                    }
                    let sequence = Sequence {
                        name,
                        data_type: r.ty("sequence_type")?,
                        start: r.get("sequence_start")?,
                        increment: r.get("sequence_increment")?,
                        min_value: r.get("sequence_min")?,
                        max_value: r.get("sequence_max")?,
                        cache: r.get("sequence_cache")?,
                        cycle: r.get("sequence_cycle")?,
                        owned_by,
                        grants: BTreeSet::new(),
                        comment: r.get("comment")?,
                    };
                    self.sequences.insert(oid, sequence);
                }
                'f' => self.unsupported(
                    "foreign table",
                    &name,
                    "foreign tables are not part of the schema model",
                ),
                other => return Err(r.error(format!("unexpected relation kind `{other}`"))),
            }
        }
        Ok(())
    }

    fn read_table(
        &mut self,
        r: &RowReader<'_>,
        oid: u32,
        name: QualifiedName,
    ) -> Result<Table, IntrospectError> {
        let mut table = Table::new(name.clone());
        table.row_security = RowSecurity {
            enabled: r.get("row_security")?,
            forced: r.get("force_row_security")?,
        };
        table.unlogged = r.char("persistence")? == 'u';
        table.options = r.options("options")?;
        table.comment = r.get("comment")?;
        table.replica_identity = match r.char("replica_identity")? {
            'd' => ReplicaIdentity::Default,
            'f' => ReplicaIdentity::Full,
            'n' => ReplicaIdentity::Nothing,
            'i' => {
                // Named once the indexes are read.
                self.replica_identity_pending.insert(oid);
                ReplicaIdentity::Default
            }
            other => return Err(r.error(format!("unknown replica identity `{other}`"))),
        };
        if let Some(key) = r.get::<Option<String>>("partition_key")? {
            table.partitioned_by = Some(
                parse_partition_key(&key)
                    .ok_or_else(|| r.error(format!("cannot read partition key `{key}`")))?,
            );
        }
        let parent_schemas: Vec<String> = r.get("parent_schemas")?;
        let parent_names: Vec<String> = r.get("parent_names")?;
        if parent_schemas.len() != parent_names.len() {
            return Err(r.error("parent schema and name lists differ in length"));
        }
        let parents: Vec<QualifiedName> = parent_schemas
            .into_iter()
            .zip(parent_names)
            .map(|(s, n)| QualifiedName::new(s, n))
            .collect();
        if r.get::<bool>("is_partition")? {
            let parent = parents
                .into_iter()
                .next()
                .ok_or_else(|| r.error("a partition without a parent"))?;
            let bound: Option<String> = r.get("partition_bound")?;
            let bound = bound.ok_or_else(|| r.error("a partition without a bound"))?;
            table.partition_of = Some(PartitionBound {
                parent,
                bound: SqlExpr(bound),
            });
        } else {
            table.inherits = parents;
        }
        if r.get::<bool>("typed")? {
            self.unsupported(
                "table",
                &name,
                "typed tables (CREATE TABLE … OF type) are not part of the schema model",
            );
        }
        if r.get::<bool>("has_tablespace")? {
            self.unsupported(
                "table",
                &name,
                "tablespaces are not part of the schema model",
            );
        }
        if r.get::<bool>("non_heap")? {
            let method: Option<String> = r.get("access_method")?;
            self.unsupported(
                "table",
                &name,
                format!(
                    "table access method `{}` is not part of the schema model",
                    method.unwrap_or_default()
                ),
            );
        }
        Ok(table)
    }

    pub(super) fn read_columns(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_COLUMNS, row);
            let relation: u32 = r.get("relation")?;
            let position: i16 = r.get("position")?;
            let name: String = r.get("name")?;
            let comment: Option<String> = r.get("comment")?;
            if let Some(table) = self.tables.get_mut(&relation) {
                // Every column, inherited ones included: constraints name theirs by number.
                self.column_names
                    .insert((relation, position), Ident(name.clone()));
                r.describe_column(&table.name, &name);
                let partition_override = table.partition_of.is_some()
                    && r.get::<Option<bool>>("matches_parent")? == Some(false)
                    && comment.is_none();
                if !r.get::<bool>("is_local")? && !partition_override {
                    // Inherited from the parent, which declares it.
                    if r.get::<Option<bool>>("matches_parent")? == Some(false) {
                        self.unsupported.push(item(
                            "column",
                            column_path(&table.name, &name),
                            "an inherited column with a default or NOT NULL of its own; the \
                             model takes inherited columns from the parent",
                        ));
                    }
                    if comment.is_some() {
                        self.unsupported.push(item(
                            "column",
                            column_path(&table.name, &name),
                            "a comment on an inherited column; the model takes inherited \
                             columns from the parent",
                        ));
                    }
                    continue;
                }
                let ty = r.ty("type")?;
                let mut column = Column::new(Ident(name), ty);
                column.nullable = !r.get::<bool>("not_null")?;
                column.default = r.get::<Option<String>>("default_expr")?.map(SqlExpr);
                column.identity = match r.opt_char("identity")? {
                    None => None,
                    Some(c @ ('a' | 'd')) => Some(Identity {
                        always: c == 'a',
                        start: r.get("identity_start")?,
                        increment: r.get("identity_increment")?,
                        min_value: r.get("identity_min")?,
                        max_value: r.get("identity_max")?,
                        cache: r.get("identity_cache")?,
                        cycle: r.get("identity_cycle")?,
                    }),
                    Some(other) => return Err(r.error(format!("unknown identity kind `{other}`"))),
                };
                column.generated = match r.opt_char("generated_kind")? {
                    None => None,
                    Some('s') => Some(SqlExpr(r.get("generated_expr")?)),
                    Some(other) => {
                        return Err(r.error(format!("unknown generated-column kind `{other}`")));
                    }
                };
                column.collation = r.opt_qualified("collation_schema", "collation_name")?;
                column.comment = comment;
                if r.get::<bool>("has_statistics_target")?
                    || r.get::<bool>("has_storage")?
                    || r.get::<bool>("has_compression")?
                {
                    self.unsupported.push(item(
                        "column",
                        column_path(&table.name, column.name.as_str()),
                        "SET STATISTICS, SET STORAGE and SET COMPRESSION are not part of the \
                         schema model",
                    ));
                }
                self.column_slots
                    .insert((relation, position), table.columns.len());
                table.columns.push(column);
            } else if let Some(view) = self.views.get_mut(&relation) {
                let full = format!("{}.{}", view.name, Ident(name.clone()));
                r.describe(format!("column {full}"));
                if r.get::<Option<String>>("default_expr")?.is_some() {
                    self.unsupported.push(item(
                        "view column default",
                        &full,
                        "defaults on view columns (ALTER VIEW … SET DEFAULT) are not part of the \
                         schema model",
                    ));
                }
                if let Some(comment) = comment {
                    view.column_comments.push((Ident(name.clone()), comment));
                }
                self.view_columns.insert((relation, position), full);
            } else if let Some(composite) = self.composites.get_mut(&relation) {
                let full = format!("{}.{}", composite.name, Ident(name.clone()));
                r.describe(format!("attribute {full}"));
                if comment.is_some() {
                    self.unsupported.push(item(
                        "attribute comment",
                        &full,
                        "comments on attributes of composite types are not part of the schema \
                         model",
                    ));
                }
                composite.attributes.push(CompositeAttribute {
                    name: Ident(name),
                    ty: r.ty("type")?,
                    collation: r.opt_qualified("collation_schema", "collation_name")?,
                });
            } else {
                // A relation the model leaves out (an extension's table) may still be referenced
                // by a foreign key.
                self.column_names.insert((relation, position), Ident(name));
            }
        }
        Ok(())
    }

    pub(super) fn read_constraints(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_CONSTRAINTS, row);
            let name = Ident(r.get("name")?);
            let kind = r.char("kind")?;
            let relation: u32 = r.get("relation")?;
            let domain: u32 = r.get("domain")?;
            let comment: Option<String> = r.get("comment")?;
            let not_valid = !r.get::<bool>("validated")?;
            if relation == 0 {
                let Some(d) = self.domains.get_mut(&domain) else {
                    continue;
                };
                r.describe(format!("constraint {name} on domain {}", d.name));
                if kind != 'c' {
                    return Err(r.error(format!("unexpected domain constraint kind `{kind}`")));
                }
                d.checks.push(CheckConstraint {
                    name,
                    expr: SqlExpr(r.get("check_expr")?),
                    no_inherit: false,
                    not_valid,
                    comment,
                    renamed_from: None,
                });
                continue;
            }
            let Some(table) = self.tables.get_mut(&relation) else {
                continue;
            };
            let full = format!("{name} on table {}", table.name);
            r.describe(format!("constraint {full}"));
            let index: u32 = r.get("index")?;
            match kind {
                'p' | 'u' => {
                    self.constraint_indexes.insert(index);
                    let columns = column_names(&self.column_names, &r, relation, "column_numbers")?;
                    let index_columns: Vec<i16> = r.get("index_column_numbers")?;
                    let key_count: i32 = r.get("index_key_count")?;
                    let include = index_columns
                        .get(usize::try_from(key_count).unwrap_or(usize::MAX)..)
                        .unwrap_or_default()
                        .iter()
                        .map(|&attnum| name_of(&self.column_names, &r, relation, attnum))
                        .collect::<Result<Vec<_>, _>>()?;
                    let deferrable = r.deferrable("deferrable", "deferred")?;
                    if kind == 'p' {
                        table.primary_key = Some(PrimaryKey {
                            name,
                            columns,
                            include,
                            deferrable,
                            comment,
                            renamed_from: None,
                        });
                    } else {
                        table.uniques.push(UniqueConstraint {
                            name,
                            columns,
                            nulls_not_distinct: r.get("nulls_not_distinct")?,
                            include,
                            deferrable,
                            comment,
                            renamed_from: None,
                        });
                    }
                    if !r.options("index_options")?.is_empty() {
                        self.unsupported.push(item(
                            "constraint",
                            &full,
                            "storage parameters of a constraint's index (WITH (…)) are not part \
                             of the schema model",
                        ));
                    }
                    if r.get::<bool>("index_has_tablespace")? {
                        self.unsupported.push(item(
                            "constraint",
                            &full,
                            "tablespaces are not part of the schema model",
                        ));
                    }
                }
                'f' => {
                    if r.get::<i32>("delete_set_columns")? > 0 {
                        self.unsupported.push(item(
                            "constraint",
                            &full,
                            "ON DELETE SET NULL/SET DEFAULT with a column list is not part of the \
                             schema model",
                        ));
                    }
                    let columns = column_names(&self.column_names, &r, relation, "column_numbers")?;
                    let referenced_columns =
                        match r.get::<Option<Vec<String>>>("referenced_columns")? {
                            // Outside the governed schemas: named by the query.
                            Some(names) => names.into_iter().map(Ident).collect(),
                            None => column_names(
                                &self.column_names,
                                &r,
                                r.get("referenced_table_oid")?,
                                "referenced_column_numbers",
                            )?,
                        };
                    table.foreign_keys.push(ForeignKey {
                        name,
                        columns,
                        references: r.qualified("referenced_schema", "referenced_table")?,
                        referenced_columns,
                        on_delete: fk_action(&r, "on_delete")?,
                        on_update: fk_action(&r, "on_update")?,
                        match_type: match r.char("match_type")? {
                            's' => FkMatch::Simple,
                            'f' => FkMatch::Full,
                            other => {
                                return Err(r.error(format!("unknown MATCH type `{other}`")));
                            }
                        },
                        deferrable: r.deferrable("deferrable", "deferred")?,
                        not_valid,
                        comment,
                        renamed_from: None,
                    });
                }
                'c' => table.checks.push(CheckConstraint {
                    name,
                    expr: SqlExpr(r.get("check_expr")?),
                    no_inherit: r.get("no_inherit")?,
                    not_valid,
                    comment,
                    renamed_from: None,
                }),
                'x' => {
                    self.constraint_indexes.insert(index);
                    table.exclusions.push(ExclusionConstraint {
                        name,
                        definition: SqlExpr(r.get("definition")?),
                        deferrable: r.deferrable("deferrable", "deferred")?,
                        comment,
                        renamed_from: None,
                    });
                }
                other => return Err(r.error(format!("unexpected constraint kind `{other}`"))),
            }
        }
        Ok(())
    }

    pub(super) fn read_indexes(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_INDEXES, row);
            let oid: u32 = r.get("oid")?;
            let relation: u32 = r.get("relation")?;
            let name = Ident(r.get("name")?);
            let parent = match (self.tables.get(&relation), self.views.get(&relation)) {
                (Some(t), _) => t.name.clone(),
                (None, Some(v)) => v.name.clone(),
                (None, None) => continue,
            };
            let full = QualifiedName {
                schema: parent.schema.clone(),
                name: name.clone(),
            };
            r.describe(format!("index {full}"));
            if r.get::<bool>("is_replica_identity")?
                && self.replica_identity_pending.remove(&relation)
            {
                if let Some(table) = self.tables.get_mut(&relation) {
                    table.replica_identity = ReplicaIdentity::Index(name.clone());
                }
            }
            let comment: Option<String> = r.get("comment")?;
            if self.constraint_indexes.contains(&oid) && !r.get::<bool>("is_valid")? {
                self.unsupported(
                    "index",
                    &full,
                    "the index of a constraint is invalid (added with ALTER TABLE ONLY to a partitioned table whose partitions do not all have an attached index)",
                );
                continue;
            }
            if self.constraint_indexes.contains(&oid) {
                // The constraint is the object; its index has no life of its own in the model.
                if comment.is_some() {
                    self.unsupported(
                        "index comment",
                        &full,
                        "a comment on the index of a constraint is not part of the schema model \
                         (comment on the constraint instead)",
                    );
                }
                continue;
            }
            if r.get::<bool>("is_partition")? {
                // Made by the partitioned table's index.
                continue;
            }
            if !r.get::<bool>("is_valid")? {
                self.unsupported(
                    "index",
                    &full,
                    "the index is invalid (a failed CREATE INDEX CONCURRENTLY?); drop or rebuild it",
                );
                continue;
            }
            if r.get::<bool>("is_clustered")? {
                self.unsupported(
                    "index",
                    &full,
                    "CLUSTER … USING (indisclustered) is not part of the schema model",
                );
            }
            if r.get::<bool>("has_tablespace")? {
                self.unsupported(
                    "index",
                    &full,
                    "tablespaces are not part of the schema model",
                );
            }
            let index = Index {
                name,
                unique: r.get("is_unique")?,
                nulls_not_distinct: r.get("nulls_not_distinct")?,
                method: r.get("method")?,
                keys: Vec::new(),
                include: Vec::new(),
                predicate: r.get::<Option<String>>("predicate")?.map(SqlExpr),
                options: r.options("options")?,
                comment,
                renamed_from: None,
            };
            self.indexes.insert(
                oid,
                PendingIndex {
                    relation,
                    key_count: r.get("key_count")?,
                    index,
                },
            );
        }
        if let Some(oid) = self.replica_identity_pending.iter().next() {
            let name = self
                .tables
                .get(oid)
                .map_or_else(|| oid.to_string(), |t| t.name.to_string());
            return Err(IntrospectError::Row {
                query: Q_INDEXES.name,
                object: format!("table {name}"),
                message: "REPLICA IDENTITY USING INDEX, but no index is marked as the replica \
                          identity"
                    .into(),
            });
        }
        Ok(())
    }

    pub(super) fn read_index_keys(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_INDEX_KEYS, row);
            let index: u32 = r.get("index")?;
            let Some(pending) = self.indexes.get_mut(&index) else {
                continue;
            };
            let position: i32 = r.get("position")?;
            r.describe(format!("index {} key {position}", pending.index.name));
            let column: Option<String> = r.get("column_name")?;
            if position > pending.key_count {
                let column = column.ok_or_else(|| r.error("an INCLUDE entry that is no column"))?;
                pending.index.include.push(Ident(column));
                continue;
            }
            let key = match (column, r.get::<Option<String>>("expression")?) {
                (Some(c), _) => IndexKey::Column(Ident(c)),
                (None, Some(e)) => IndexKey::Expr(SqlExpr(e)),
                (None, None) => return Err(r.error("a key that is neither column nor expression")),
            };
            pending.index.keys.push(IndexColumn {
                key,
                collation: r.opt_qualified("collation_schema", "collation_name")?,
                opclass: r.opt_qualified("opclass_schema", "opclass_name")?,
                descending: r.get("descending")?,
                nulls_first: r.get("nulls_first")?,
            });
        }
        Ok(())
    }

    pub(super) fn read_policies(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_POLICIES, row);
            let relation: u32 = r.get("relation")?;
            let namespace: u32 = r.get("namespace")?;
            let table = r.qualified("table_schema", "table_name")?;
            let name = Ident(r.get("name")?);
            r.describe(format!("policy {name} on {table}"));
            let command = match r.char("command")? {
                '*' => PolicyCommand::All,
                'r' => PolicyCommand::Select,
                'a' => PolicyCommand::Insert,
                'w' => PolicyCommand::Update,
                'd' => PolicyCommand::Delete,
                other => return Err(r.error(format!("unknown policy command `{other}`"))),
            };
            let mut roles = r.idents("roles")?;
            roles.sort();
            let policy = Policy {
                name,
                command,
                permissive: r.get("permissive")?,
                roles,
                using: r.get::<Option<String>>("using_expr")?.map(SqlExpr),
                with_check: r.get::<Option<String>>("with_check_expr")?.map(SqlExpr),
                comment: r.get("comment")?,
            };
            if let Some(t) = self.tables.get_mut(&relation) {
                t.policies.push(policy);
            } else if self.role(namespace) == NamespaceRole::Platform {
                self.attached
                    .entry(table)
                    .or_default()
                    .policies
                    .push(policy);
            }
        }
        Ok(())
    }
}

/// The names of the columns whose numbers are in the `int2[]` column `column` (NULL reads as
/// empty), from the columns read before.
fn column_names(
    names: &HashMap<(u32, i16), Ident>,
    r: &RowReader<'_>,
    relation: u32,
    column: &str,
) -> Result<Vec<Ident>, IntrospectError> {
    let numbers: Option<Vec<i16>> = r.get(column)?;
    numbers
        .unwrap_or_default()
        .into_iter()
        .map(|attnum| name_of(names, r, relation, attnum))
        .collect()
}

/// The name of column `attnum` of `relation`, from the columns read before.
fn name_of(
    names: &HashMap<(u32, i16), Ident>,
    r: &RowReader<'_>,
    relation: u32,
    attnum: i16,
) -> Result<Ident, IntrospectError> {
    names.get(&(relation, attnum)).cloned().ok_or_else(|| {
        r.error(format!(
            "column number {attnum} of relation {relation} is unknown"
        ))
    })
}

/// A referential action letter (`confupdtype`, `confdeltype`).
fn fk_action(r: &RowReader<'_>, column: &str) -> Result<FkAction, IntrospectError> {
    Ok(match r.char(column)? {
        'a' => FkAction::NoAction,
        'r' => FkAction::Restrict,
        'c' => FkAction::Cascade,
        'n' => FkAction::SetNull,
        'd' => FkAction::SetDefault,
        other => return Err(r.error(format!("column `{column}`: unknown action `{other}`"))),
    })
}

/// Splits `pg_get_partkeydef` output (`RANGE (created_at)`) into the strategy and the key list.
fn parse_partition_key(text: &str) -> Option<PartitionedBy> {
    let (word, rest) = text.split_once(' ')?;
    let strategy = match word {
        "RANGE" => PartitionStrategy::Range,
        "LIST" => PartitionStrategy::List,
        "HASH" => PartitionStrategy::Hash,
        _ => return None,
    };
    let key = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(PartitionedBy {
        strategy,
        key: SqlExpr(key.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_split_into_strategy_and_key() {
        let p = parse_partition_key("RANGE (created_at)").unwrap();
        assert_eq!(p.strategy, PartitionStrategy::Range);
        assert_eq!(p.key.as_str(), "created_at");
        let p = parse_partition_key("LIST (lower(name) COLLATE \"C\")").unwrap();
        assert_eq!(p.strategy, PartitionStrategy::List);
        assert_eq!(p.key.as_str(), "lower(name) COLLATE \"C\"");
        let p = parse_partition_key("HASH (id, ((a + 1)))").unwrap();
        assert_eq!(p.strategy, PartitionStrategy::Hash);
        assert_eq!(p.key.as_str(), "id, ((a + 1))");
        assert!(parse_partition_key("SIDEWAYS (x)").is_none());
        assert!(parse_partition_key("RANGE x").is_none());
    }
}
