//! The generated crate's items with every Rust name and type resolved, computed once from the
//! [`Schema`] before any file is rendered: the models, ids and enums files read it, and so will
//! the repositories and `jobpilot-macros`' checks. Everything that can fail (an unmappable type,
//! two items with one Rust name) fails here, naming the table or column and the fix.

use super::RustRenderError;
use super::ids::TypedIds;
use super::type_map::{ColumnType, ItemPath, Module, column_type, enum_path, schema_module};
use crate::model::{Column, EnumType, QualifiedName, Schema, Table};
use crate::naming::{field_name, type_name};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the generated crate declares.
#[derive(Debug, Clone)]
pub struct CrateItems<'a> {
    /// The schema it comes from.
    pub schema: &'a Schema,
    /// One Rust enum per PostgreSQL enum, in name order.
    pub enums: Vec<EnumItem<'a>>,
    /// The typed ids.
    pub ids: TypedIds,
    /// One model per table that gets one, in name order.
    pub tables: Vec<TableItem<'a>>,
}

/// A Rust enum.
#[derive(Debug, Clone)]
pub struct EnumItem<'a> {
    /// The PostgreSQL enum.
    pub def: &'a EnumType,
    /// Its Rust path.
    pub path: ItemPath,
    /// One variant name per label, in label order.
    pub variants: Vec<String>,
}

/// A table's structs.
#[derive(Debug, Clone)]
pub struct TableItem<'a> {
    /// The table.
    pub table: &'a Table,
    /// The row struct (`User`).
    pub path: ItemPath,
    /// The insert shape (`NewUser`).
    pub new_path: ItemPath,
    /// The patch shape (`UserPatch`).
    pub patch_path: ItemPath,
    /// The repository (`UserRepo`).
    pub repo_path: ItemPath,
    /// Every column, in column order (inherited columns first).
    pub columns: Vec<ColumnItem<'a>>,
}

/// A column's field.
#[derive(Debug, Clone)]
pub struct ColumnItem<'a> {
    /// The column.
    pub column: &'a Column,
    /// The field name (a raw identifier such as `r#type` where needed).
    pub field: String,
    /// Its Rust type.
    pub ty: ColumnType,
    /// Whether and how an insert writes it.
    pub write: Write,
    /// Part of the primary key.
    pub primary_key: bool,
}

/// How an insert treats a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// NOT NULL without a default: the insert shape requires a value.
    Required,
    /// May be left out, and then PostgreSQL fills it in.
    Optional(Fallback),
    /// Never written: a generated column or an identity `ALWAYS` column.
    ReadOnly,
}

/// What PostgreSQL puts in a column an insert leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The column's `DEFAULT` expression, as SQL (`now()`).
    Default(String),
    /// The next value of an identity `BY DEFAULT` column.
    Identity,
    /// NULL: a nullable column without a default.
    Null,
}

impl ColumnItem<'_> {
    /// Whether a patch may change the column: not a key, not read-only.
    pub fn patchable(&self) -> bool {
        !self.primary_key && self.write != Write::ReadOnly
    }
}

/// Names generated code uses unqualified from the prelude, and the types of `db.rs` and
/// `storage.rs` that the crate re-exports at its top: an item with one of them would shadow it.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "String",
    "Vec",
    "Box",
    "Result",
    "Ok",
    "Err",
    "Default",
    "Db",
    "DbOptions",
    "DbError",
    "Page",
    "Storage",
    "StorageConfig",
    "StorageError",
];

/// Names a schema's module may not take: the crate's own modules, and crates the generated
/// code names by path.
const RESERVED_MODULE_NAMES: &[&str] = &[
    "enums",
    "ids",
    "models",
    "repos",
    "db",
    "storage",
    "chrono",
    "uuid",
    "serde",
    "serde_json",
    "sqlx",
    "rust_decimal",
    "reqwest",
    "bytes",
    "futures_util",
    "tokio",
    "tokio_util",
    "fastrand",
    "std",
    "core",
    "alloc",
];

/// The Rust name of a table's row struct: its `struct_name` hint, else the table name with its
/// last word made singular, in PascalCase (`users` → `User`, `agent_actions` → `AgentAction`,
/// `matches` → `Match`). A row is one user, and sqlc names its row types the same way; a
/// table whose name the rules below get wrong takes a `struct_name` hint.
pub fn struct_name(table: &Table) -> String {
    table
        .rust
        .struct_name
        .clone()
        .unwrap_or_else(|| type_name(&singular_table_name(table.name.name.as_str())))
}

/// `name` with its last `_`-separated word made singular.
fn singular_table_name(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((head, last)) => format!("{head}_{}", singular(last)),
        None => singular(name),
    }
}

/// Words that are their own singular (or whose `-s` is not a plural).
const SINGULAR_AS_IS: &[&str] = &[
    "data",
    "metadata",
    "news",
    "series",
    "species",
    "information",
    "equipment",
    "feedback",
    "analytics",
    "status",
    "bus",
    "alias",
    "canvas",
    "gas",
    "lens",
    "chaos",
];

/// Irregular plurals.
const IRREGULAR: &[(&str, &str)] = &[
    ("people", "person"),
    ("children", "child"),
    ("men", "man"),
    ("women", "woman"),
    ("mice", "mouse"),
    ("geese", "goose"),
    ("indices", "index"),
    ("vertices", "vertex"),
    ("statuses", "status"),
    ("aliases", "alias"),
    ("buses", "bus"),
    ("analyses", "analysis"),
    ("criteria", "criterion"),
];

/// The singular of an English plural, by suffix rules, keeping the word's case: `-ies` →
/// `-y`, `-sses`/`-xes`/`-ches`/`-shes`/`-zzes` lose `-es`, `-ss`/`-us`/`-is` stay, any other
/// `-s` is dropped.
fn singular(word: &str) -> String {
    let lower = word.to_lowercase();
    if SINGULAR_AS_IS.contains(&lower.as_str()) {
        return word.to_owned();
    }
    if let Some((_, one)) = IRREGULAR.iter().find(|(many, _)| *many == lower) {
        // Keep a leading capital.
        return if word.starts_with(char::is_uppercase) {
            type_name(one)
        } else {
            (*one).to_owned()
        };
    }
    // The suffixes are ASCII; `get` keeps an odd non-ASCII spelling from splitting a character.
    let strip = |n: usize| {
        word.get(..word.len().saturating_sub(n))
            .unwrap_or(word)
            .to_owned()
    };
    if lower.len() > 3 && lower.ends_with("ies") {
        return format!(
            "{}{}",
            strip(3),
            if word.ends_with("IES") { "Y" } else { "y" }
        );
    }
    for suffix in ["sses", "xes", "ches", "shes", "zzes"] {
        if lower.ends_with(suffix) {
            return strip(2);
        }
    }
    if ["ss", "us", "is"].iter().any(|s| lower.ends_with(s)) || lower.len() < 2 {
        return word.to_owned();
    }
    if lower.ends_with('s') {
        return strip(1);
    }
    word.to_owned()
}

/// The tables that get a model. Partitions do not: their rows are read and written through
/// the partitioned table, whose model they share.
pub fn modelled_tables(schema: &Schema) -> impl Iterator<Item = &Table> {
    schema.tables.values().filter(|t| t.partition_of.is_none())
}

/// A table's columns as a row has them: for an inheritance child, the parents' columns first
/// (in parent order), then its own; a column the child redeclares keeps the parent's position
/// and the child's definition.
pub fn row_columns<'a>(schema: &'a Schema, table: &'a Table) -> Vec<&'a Column> {
    let mut out: Vec<&Column> = Vec::new();
    let mut visited = BTreeSet::new();
    collect_columns(schema, table, &mut out, &mut visited);
    out
}

fn collect_columns<'a>(
    schema: &'a Schema,
    table: &'a Table,
    out: &mut Vec<&'a Column>,
    visited: &mut BTreeSet<QualifiedName>,
) {
    if !visited.insert(table.name.clone()) {
        return;
    }
    for parent in &table.inherits {
        if let Some(p) = schema.tables.get(parent) {
            collect_columns(schema, p, out, visited);
        }
    }
    for c in &table.columns {
        match out.iter().position(|o| o.name == c.name) {
            Some(i) => out[i] = c,
            None => out.push(c),
        }
    }
}

impl<'a> CrateItems<'a> {
    /// Resolves every name and type of `schema`.
    pub fn build(schema: &'a Schema) -> Result<CrateItems<'a>, RustRenderError> {
        let ids = TypedIds::build(schema)?;
        let enums = schema
            .enums
            .iter()
            .map(|(name, def)| EnumItem {
                def,
                path: enum_path(schema, name),
                variants: def.labels.iter().map(|l| type_name(l)).collect(),
            })
            .collect();
        let mut tables = Vec::new();
        for table in modelled_tables(schema) {
            tables.push(table_item(schema, table, &ids)?);
        }
        let items = CrateItems {
            schema,
            enums,
            ids,
            tables,
        };
        items.check_names()?;
        Ok(items)
    }

    /// Two items of one schema's module with one name, a name that shadows the prelude, or a
    /// schema module that shadows a crate.
    fn check_names(&self) -> Result<(), RustRenderError> {
        let mut seen: BTreeMap<(Option<String>, String), String> = BTreeMap::new();
        let mut claim = |path: &ItemPath, what: String| -> Result<(), RustRenderError> {
            if RESERVED_TYPE_NAMES.contains(&path.name.as_str()) {
                return Err(RustRenderError::ReservedName {
                    name: path.name.clone(),
                    what,
                });
            }
            if let Some(m) = path
                .schema
                .as_ref()
                .filter(|m| RESERVED_MODULE_NAMES.contains(&m.as_str()))
            {
                return Err(RustRenderError::ReservedModule { name: m.clone() });
            }
            let key = (path.schema.clone(), path.name.clone());
            if let Some(first) = seen.get(&key) {
                return Err(RustRenderError::NameClash {
                    name: path.to_string(),
                    first: first.clone(),
                    second: what,
                });
            }
            seen.insert(key, what);
            Ok(())
        };
        for e in &self.enums {
            claim(&e.path, format!("enum `{}`", e.def.name))?;
        }
        for t in &self.tables {
            let n = &t.table.name;
            claim(&t.path, format!("the row struct of table `{n}`"))?;
            claim(&t.new_path, format!("the insert struct of table `{n}`"))?;
            claim(&t.patch_path, format!("the patch struct of table `{n}`"))?;
            claim(&t.repo_path, format!("the repository of table `{n}`"))?;
        }
        for id in self.ids.iter() {
            claim(&id.path, format!("the id type of table `{}`", id.table))?;
        }
        Ok(())
    }
}

fn table_item<'a>(
    schema: &'a Schema,
    table: &'a Table,
    ids: &TypedIds,
) -> Result<TableItem<'a>, RustRenderError> {
    let name = struct_name(table);
    let module = schema_module(&table.name);
    let path = |name: String| ItemPath {
        module: Module::Models,
        schema: module.clone(),
        name,
    };
    let repo_path = ItemPath {
        module: Module::Repos,
        schema: module.clone(),
        name: format!("{name}Repo"),
    };
    let pk: Vec<&str> = table
        .primary_key
        .iter()
        .flat_map(|pk| pk.columns.iter().map(|c| c.as_str()))
        .collect();
    let mut columns = Vec::new();
    for column in row_columns(schema, table) {
        columns.push(ColumnItem {
            column,
            field: column
                .rust
                .field_name
                .clone()
                .unwrap_or_else(|| field_name(column.name.as_str())),
            ty: column_type(schema, &table.name, column, ids)?,
            write: write_of(column),
            primary_key: pk.contains(&column.name.as_str()),
        });
    }
    Ok(TableItem {
        table,
        path: path(name.clone()),
        new_path: path(format!("New{name}")),
        patch_path: path(format!("{name}Patch")),
        repo_path,
        columns,
    })
}

fn write_of(column: &Column) -> Write {
    if column.generated.is_some() {
        return Write::ReadOnly;
    }
    match &column.identity {
        Some(identity) if identity.always => Write::ReadOnly,
        Some(_) => Write::Optional(Fallback::Identity),
        None => match &column.default {
            Some(d) => Write::Optional(Fallback::Default(d.as_str().to_owned())),
            None if column.nullable => Write::Optional(Fallback::Null),
            None => Write::Required,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_become_singular_struct_names() {
        let cases = [
            ("users", "User"),
            ("jobs", "Job"),
            ("matches", "Match"),
            ("agent_actions", "AgentAction"),
            ("companies", "Company"),
            ("addresses", "Address"),
            ("boxes", "Box"),
            ("wishes", "Wish"),
            ("statuses", "Status"),
            ("status", "Status"),
            ("analysis", "Analysis"),
            ("people", "Person"),
            ("user_data", "UserData"),
            ("news", "News"),
            ("series", "Series"),
            ("user", "User"),
            ("Users", "User"),
            ("ITEMS", "Item"),
            ("s", "S"),
            ("things_log", "ThingsLog"),
        ];
        for (table, expected) in cases {
            let t = Table::new(QualifiedName::public(table));
            assert_eq!(struct_name(&t), expected, "{table}");
        }
        // The hint always wins.
        let mut t = Table::new(QualifiedName::public("users"));
        t.rust.struct_name = Some("Account".into());
        assert_eq!(struct_name(&t), "Account");
    }
}
