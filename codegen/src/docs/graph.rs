//! The entity-relationship graph both diagrams draw: one node per table (plus a small node per
//! table outside the schema that a foreign key points at, such as Supabase's `storage.objects`)
//! and one edge per foreign key. The Mermaid text and the SVG are two renderings of this one
//! value, so they cannot disagree about what is in the diagram.

use crate::model::{PgType, QualifiedName, Schema, Table};
use std::collections::BTreeMap;

/// Tables and foreign keys, in a deterministic order (tables by name, then external tables by
/// name; foreign keys by table, then by constraint name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErGraph {
    /// The boxes.
    pub nodes: Vec<Node>,
    /// The arrows, child (referencing) to parent (referenced).
    pub edges: Vec<Edge>,
}

/// A table box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The table.
    pub name: QualifiedName,
    /// What the diagrams call it: the bare name in `public`, `schema.name` elsewhere.
    pub label: String,
    /// A table the schema does not govern (only referenced); drawn small, with only the
    /// referenced columns.
    pub external: bool,
    /// The rows of the box.
    pub columns: Vec<NodeColumn>,
}

/// One row of a table box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeColumn {
    /// Column name.
    pub name: String,
    /// A short type name (`varchar(120)`, `timestamptz`, `numeric(12,2)`); empty for the
    /// columns of external tables, whose types the schema does not know.
    pub ty: String,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Part of a foreign key.
    pub foreign_key: bool,
    /// The whole of a single-column unique constraint or unique index.
    pub unique: bool,
    /// Nullable.
    pub nullable: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Index of the referencing table in [`ErGraph::nodes`].
    pub from: usize,
    /// Index of the referenced table.
    pub to: usize,
    /// Constraint name.
    pub name: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced columns.
    pub referenced_columns: Vec<String>,
    /// Some referencing column is nullable (the parent is optional).
    pub optional: bool,
    /// The referencing columns are unique (at most one child per parent).
    pub one_to_one: bool,
}

impl Edge {
    /// The edge's label: `user_id → id`, `a, b → x, y`.
    pub fn label(&self) -> String {
        format!(
            "{} → {}",
            self.columns.join(", "),
            self.referenced_columns.join(", ")
        )
    }
}

/// What the diagrams call a table.
pub fn display_name(name: &QualifiedName) -> String {
    if name.schema.as_str() == "public" {
        name.name.as_str().to_owned()
    } else {
        format!("{}.{}", name.schema.as_str(), name.name.as_str())
    }
}

/// A short, readable type name for a diagram.
pub fn short_type(ty: &PgType) -> String {
    match ty {
        PgType::Varchar(Some(n)) => format!("varchar({n})"),
        PgType::Varchar(None) => "varchar".into(),
        PgType::Char(Some(n)) => format!("char({n})"),
        PgType::Char(None) => "char".into(),
        PgType::Timestamp {
            precision,
            with_time_zone,
        } => with_precision(
            if *with_time_zone {
                "timestamptz"
            } else {
                "timestamp"
            },
            *precision,
        ),
        PgType::Time {
            precision,
            with_time_zone,
        } => with_precision(if *with_time_zone { "timetz" } else { "time" }, *precision),
        PgType::DoublePrecision => "float8".into(),
        PgType::Real => "float4".into(),
        PgType::VarBit(n) => with_precision("varbit", *n),
        PgType::Named(name) => display_name(name),
        PgType::Array(inner) => format!("{}[]", short_type(inner)),
        other => other.to_string(),
    }
}

fn with_precision(base: &str, precision: Option<u32>) -> String {
    match precision {
        Some(p) => format!("{base}({p})"),
        None => base.to_owned(),
    }
}

fn single_column_unique(table: &Table, column: &str) -> bool {
    table
        .uniques
        .iter()
        .any(|u| u.columns.len() == 1 && u.columns[0].as_str() == column)
        || table.indexes.iter().any(|i| {
            i.unique
                && i.predicate.is_none()
                && i.keys.len() == 1
                && matches!(&i.keys[0].key, crate::model::IndexKey::Column(c) if c.as_str() == column)
        })
}

/// Whether `columns` (as a set) are unique in `table`: the primary key or a unique constraint
/// or unique index over exactly those columns.
fn columns_unique(table: &Table, columns: &[String]) -> bool {
    let same = |key: &[String]| {
        key.len() == columns.len() && key.iter().all(|k| columns.iter().any(|c| c == k))
    };
    let idents = |v: &[crate::model::Ident]| -> Vec<String> {
        v.iter().map(|i| i.as_str().to_owned()).collect()
    };
    table
        .primary_key
        .as_ref()
        .is_some_and(|pk| same(&idents(&pk.columns)))
        || table.uniques.iter().any(|u| same(&idents(&u.columns)))
        || table.indexes.iter().any(|i| {
            i.unique
                && i.predicate.is_none()
                && same(
                    &i.keys
                        .iter()
                        .map(|k| match &k.key {
                            crate::model::IndexKey::Column(c) => c.as_str().to_owned(),
                            // An expression key never equals a column name list.
                            crate::model::IndexKey::Expr(e) => format!("({e})"),
                        })
                        .collect::<Vec<_>>(),
                )
        })
}

/// The graph of a schema's tables and foreign keys.
pub fn er_graph(schema: &Schema) -> ErGraph {
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: BTreeMap<QualifiedName, usize> = BTreeMap::new();
    for (name, table) in &schema.tables {
        let pk: Vec<&str> = table
            .primary_key
            .as_ref()
            .map(|pk| pk.columns.iter().map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let columns = table
            .columns
            .iter()
            .map(|c| NodeColumn {
                name: c.name.as_str().to_owned(),
                ty: short_type(&c.ty),
                primary_key: pk.contains(&c.name.as_str()),
                foreign_key: table
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.columns.contains(&c.name)),
                unique: single_column_unique(table, c.name.as_str()),
                nullable: c.nullable,
            })
            .collect();
        index.insert(name.clone(), nodes.len());
        nodes.push(Node {
            name: name.clone(),
            label: display_name(name),
            external: false,
            columns,
        });
    }
    // Tables outside the schema, with the columns that are referenced, in first-seen order.
    let mut external: BTreeMap<QualifiedName, Vec<String>> = BTreeMap::new();
    for table in schema.tables.values() {
        for fk in &table.foreign_keys {
            if !index.contains_key(&fk.references) {
                let cols = external.entry(fk.references.clone()).or_default();
                for c in &fk.referenced_columns {
                    if !cols.iter().any(|x| x == c.as_str()) {
                        cols.push(c.as_str().to_owned());
                    }
                }
            }
        }
    }
    for (name, cols) in external {
        index.insert(name.clone(), nodes.len());
        nodes.push(Node {
            label: display_name(&name),
            name,
            external: true,
            columns: cols
                .into_iter()
                .map(|c| NodeColumn {
                    name: c,
                    ty: String::new(),
                    primary_key: false,
                    foreign_key: false,
                    unique: false,
                    nullable: false,
                })
                .collect(),
        });
    }
    let mut edges = Vec::new();
    for (name, table) in &schema.tables {
        let Some(&from) = index.get(name) else {
            continue;
        };
        for fk in &table.foreign_keys {
            let Some(&to) = index.get(&fk.references) else {
                continue;
            };
            let columns: Vec<String> = fk.columns.iter().map(|c| c.as_str().to_owned()).collect();
            edges.push(Edge {
                from,
                to,
                name: fk.name.as_str().to_owned(),
                optional: fk
                    .columns
                    .iter()
                    .any(|c| table.column(c.as_str()).is_some_and(|col| col.nullable)),
                one_to_one: columns_unique(table, &columns),
                referenced_columns: fk
                    .referenced_columns
                    .iter()
                    .map(|c| c.as_str().to_owned())
                    .collect(),
                columns,
            });
        }
    }
    ErGraph { nodes, edges }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_types_read_like_what_people_write() {
        let t = |s: &str| short_type(&PgType::parse(s, "public").unwrap());
        assert_eq!(t("varchar(120)"), "varchar(120)");
        assert_eq!(t("timestamptz"), "timestamptz");
        assert_eq!(t("numeric(12,2)"), "numeric(12,2)");
        assert_eq!(t("text[]"), "text[]");
        assert_eq!(t("application_status"), "application_status");
        assert_eq!(t("app.status"), "app.status");
    }
}
