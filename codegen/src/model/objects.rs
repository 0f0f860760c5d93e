//! Schema-level objects other than tables and routines: schemas, extensions, collations, enums,
//! domains, composite types, sequences and views.

use super::security::Grant;
use super::{CheckConstraint, Ident, Index, PgType, QualifiedName, SqlExpr, Trigger};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `CREATE SCHEMA`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDef {
    /// Name.
    pub name: Ident,
    /// `GRANT … ON SCHEMA` (excluding the owner's and, for `public`, PostgreSQL's defaults).
    pub grants: BTreeSet<Grant>,
    /// `COMMENT ON SCHEMA`.
    pub comment: Option<String>,
}

/// `CREATE EXTENSION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Name (`pgcrypto`, `uuid-ossp`).
    pub name: Ident,
    /// The schema its objects live in.
    pub schema: Ident,
    /// Installed version; `None` in a declaration means "the default version".
    pub version: Option<String>,
    /// `COMMENT ON EXTENSION`, when changed from the extension's own.
    pub comment: Option<String>,
}

/// `CREATE COLLATION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collation {
    /// Name.
    pub name: QualifiedName,
    /// `provider` (`libc`, `icu`).
    pub provider: String,
    /// `lc_collate` (libc) or the ICU locale.
    pub locale: Option<String>,
    /// `lc_ctype` (libc), when different from `locale`.
    pub lc_ctype: Option<String>,
    /// `deterministic = false`.
    pub deterministic: bool,
    /// `COMMENT ON COLLATION`.
    pub comment: Option<String>,
}

/// `CREATE TYPE … AS ENUM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    /// Name.
    pub name: QualifiedName,
    /// Labels in their sort order.
    pub labels: Vec<String>,
    /// `COMMENT ON TYPE`.
    pub comment: Option<String>,
    /// The type's former name.
    pub renamed_from: Option<QualifiedName>,
    /// Labels renamed in place (`ALTER TYPE … RENAME VALUE`), as `(new, old)` in declaration
    /// order (not part of the database, like `renamed_from`). Always written: the cache's
    /// binary form (`codegen::cache`) has no field names, so no field may be left out.
    #[serde(default)]
    pub renamed_labels: Vec<(String, String)>,
    /// Rust enum name, when not derived from the type name (not part of the database).
    pub rust_name: Option<String>,
}

/// `CREATE DOMAIN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Name.
    pub name: QualifiedName,
    /// Underlying type.
    pub base: PgType,
    /// `COLLATE`.
    pub collation: Option<QualifiedName>,
    /// `DEFAULT`, canonical.
    pub default: Option<SqlExpr>,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `CHECK` constraints (`VALUE` refers to the value), sorted by name.
    pub checks: Vec<CheckConstraint>,
    /// `COMMENT ON DOMAIN`.
    pub comment: Option<String>,
}

/// `CREATE TYPE … AS (…)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeType {
    /// Name.
    pub name: QualifiedName,
    /// Attributes in order.
    pub attributes: Vec<CompositeAttribute>,
    /// `COMMENT ON TYPE`.
    pub comment: Option<String>,
}

/// One attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeAttribute {
    /// Name.
    pub name: Ident,
    /// Type.
    pub ty: PgType,
    /// `COLLATE`, when not the type's default.
    pub collation: Option<QualifiedName>,
}

/// `CREATE SEQUENCE`. Every option is explicit in the model (PostgreSQL's defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    /// Name.
    pub name: QualifiedName,
    /// `AS smallint | integer | bigint`.
    pub data_type: PgType,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    pub cycle: bool,
    /// `OWNED BY table.column`.
    pub owned_by: Option<(QualifiedName, Ident)>,
    /// Grants.
    pub grants: BTreeSet<Grant>,
    /// `COMMENT ON SEQUENCE`.
    pub comment: Option<String>,
}

/// `CREATE VIEW` or `CREATE MATERIALIZED VIEW`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Name.
    pub name: QualifiedName,
    /// `MATERIALIZED`.
    pub materialized: bool,
    /// The query, canonical (`pg_get_viewdef`).
    pub definition: SqlExpr,
    /// View options (`security_barrier=true`, `security_invoker=true`,
    /// `check_option=local`), sorted, as `name=value`.
    pub options: Vec<String>,
    /// Indexes (materialized views only), sorted by name.
    pub indexes: Vec<Index>,
    /// Triggers (`INSTEAD OF` on plain views), sorted by name.
    pub triggers: Vec<Trigger>,
    /// Grants.
    pub grants: BTreeSet<Grant>,
    /// `COMMENT ON VIEW`.
    pub comment: Option<String>,
    /// `COMMENT ON COLUMN` of the view's columns, by column.
    pub column_comments: Vec<(Ident, String)>,
}
