//! Tables, columns, constraints and indexes.

use super::security::{Grant, Policy};
use super::{Ident, PgType, QualifiedName, SqlExpr, Trigger};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Schema-qualified name.
    pub name: QualifiedName,
    /// Columns in their physical order. For partitions and inheritance children only the
    /// columns the child declares itself (`attislocal`), since the rest come from the parent.
    pub columns: Vec<Column>,
    /// `PRIMARY KEY`.
    pub primary_key: Option<PrimaryKey>,
    /// `UNIQUE` constraints, sorted by name.
    pub uniques: Vec<UniqueConstraint>,
    /// `FOREIGN KEY` constraints, sorted by name.
    pub foreign_keys: Vec<ForeignKey>,
    /// `CHECK` constraints, sorted by name.
    pub checks: Vec<CheckConstraint>,
    /// `EXCLUDE` constraints, sorted by name.
    pub exclusions: Vec<ExclusionConstraint>,
    /// Indexes that do not back a constraint, sorted by name.
    pub indexes: Vec<Index>,
    /// Triggers, sorted by name.
    pub triggers: Vec<Trigger>,
    /// Row-level security flags.
    pub row_security: RowSecurity,
    /// Policies, sorted by name.
    pub policies: Vec<Policy>,
    /// Table-level grants (excluding the owner's own privileges).
    pub grants: BTreeSet<Grant>,
    /// `PARTITION BY`.
    pub partitioned_by: Option<PartitionedBy>,
    /// `PARTITION OF parent FOR VALUES …`.
    pub partition_of: Option<PartitionBound>,
    /// `INHERITS (…)` parents, in order (not for partitions).
    pub inherits: Vec<QualifiedName>,
    /// `UNLOGGED`.
    pub unlogged: bool,
    /// Storage parameters (`WITH (fillfactor = 70)`), sorted, as `name=value`.
    pub options: Vec<String>,
    /// `REPLICA IDENTITY`.
    pub replica_identity: ReplicaIdentity,
    /// `COMMENT ON TABLE`.
    pub comment: Option<String>,
    /// The table's former name, for the differ: a rename, not a drop and an add.
    pub renamed_from: Option<QualifiedName>,
    /// Rust-side hints.
    pub rust: TableRustHints,
}

impl Table {
    /// An empty table with defaults everywhere.
    pub fn new(name: QualifiedName) -> Self {
        Table {
            name,
            columns: Vec::new(),
            primary_key: None,
            uniques: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            exclusions: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
            row_security: RowSecurity::default(),
            policies: Vec::new(),
            grants: BTreeSet::new(),
            partitioned_by: None,
            partition_of: None,
            inherits: Vec::new(),
            unlogged: false,
            options: Vec::new(),
            replica_identity: ReplicaIdentity::Default,
            comment: None,
            renamed_from: None,
            rust: TableRustHints::default(),
        }
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// Sorts every named child list by name: the canonical order of the model.
    pub fn sort_children(&mut self) {
        self.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        self.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        self.checks.sort_by(|a, b| a.name.cmp(&b.name));
        self.exclusions.sort_by(|a, b| a.name.cmp(&b.name));
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        self.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        self.policies.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Row-level security flags of a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSecurity {
    /// `ENABLE ROW LEVEL SECURITY`.
    pub enabled: bool,
    /// `FORCE ROW LEVEL SECURITY` (applies to the owner too).
    pub forced: bool,
}

/// `REPLICA IDENTITY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaIdentity {
    /// The primary key (the default).
    Default,
    /// `REPLICA IDENTITY FULL`.
    Full,
    /// `REPLICA IDENTITY NOTHING`.
    Nothing,
    /// `REPLICA IDENTITY USING INDEX name`.
    Index(Ident),
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Name.
    pub name: Ident,
    /// Type.
    pub ty: PgType,
    /// False means `NOT NULL` (primary-key columns are always `NOT NULL`).
    pub nullable: bool,
    /// `DEFAULT` expression.
    pub default: Option<SqlExpr>,
    /// `GENERATED … AS IDENTITY`.
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (expr) STORED`.
    pub generated: Option<SqlExpr>,
    /// `COLLATE`, when not the type's default.
    pub collation: Option<QualifiedName>,
    /// Column-level grants (`GRANT SELECT (col) …`).
    pub grants: BTreeSet<Grant>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
    /// The column's former name.
    pub renamed_from: Option<Ident>,
    /// Rust-side hints.
    pub rust: ColumnRustHints,
}

impl Column {
    /// A nullable column of `ty` with nothing else set.
    pub fn new(name: impl Into<Ident>, ty: PgType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullable: true,
            default: None,
            identity: None,
            generated: None,
            collation: None,
            grants: BTreeSet::new(),
            comment: None,
            renamed_from: None,
            rust: ColumnRustHints::default(),
        }
    }
}

/// `GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY (sequence options)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `ALWAYS` (true) or `BY DEFAULT`.
    pub always: bool,
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
}

impl Identity {
    /// An identity with PostgreSQL's defaults for a column of type `ty`.
    pub fn with_defaults(always: bool, ty: &PgType) -> Self {
        Identity {
            always,
            start: 1,
            increment: 1,
            min_value: 1,
            max_value: integer_max(ty),
            cache: 1,
            cycle: false,
        }
    }
}

/// The largest value of an integer type (the default `MAXVALUE` of its sequences).
pub fn integer_max(ty: &PgType) -> i64 {
    match ty {
        PgType::SmallInt => i64::from(i16::MAX),
        PgType::Integer => i64::from(i32::MAX),
        _ => i64::MAX,
    }
}

/// The smallest value of an integer type.
pub fn integer_min(ty: &PgType) -> i64 {
    match ty {
        PgType::SmallInt => i64::from(i16::MIN),
        PgType::Integer => i64::from(i32::MIN),
        _ => i64::MIN,
    }
}

/// `DEFERRABLE` / `INITIALLY DEFERRED`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deferrable {
    /// `NOT DEFERRABLE` (the default).
    #[default]
    No,
    /// `DEFERRABLE INITIALLY IMMEDIATE`.
    InitiallyImmediate,
    /// `DEFERRABLE INITIALLY DEFERRED`.
    InitiallyDeferred,
}

/// `PRIMARY KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Constraint name (PostgreSQL's default is `<table>_pkey`).
    pub name: Ident,
    /// Key columns in order.
    pub columns: Vec<Ident>,
    /// `INCLUDE (…)` columns.
    pub include: Vec<Ident>,
    /// Deferrability.
    pub deferrable: Deferrable,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
    /// The constraint's former name (not part of the database).
    pub renamed_from: Option<Ident>,
}

/// `UNIQUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueConstraint {
    /// Constraint name.
    pub name: Ident,
    /// Columns in order.
    pub columns: Vec<Ident>,
    /// `NULLS NOT DISTINCT`.
    pub nulls_not_distinct: bool,
    /// `INCLUDE (…)` columns.
    pub include: Vec<Ident>,
    /// Deferrability.
    pub deferrable: Deferrable,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
    /// The constraint's former name (not part of the database).
    pub renamed_from: Option<Ident>,
}

/// A referential action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// `NO ACTION` (the default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl FkAction {
    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// `MATCH` type of a foreign key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkMatch {
    /// `MATCH SIMPLE` (the default).
    #[default]
    Simple,
    /// `MATCH FULL`.
    Full,
}

/// `FOREIGN KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name (PostgreSQL's default is `<table>_<cols>_fkey`).
    pub name: Ident,
    /// Referencing columns.
    pub columns: Vec<Ident>,
    /// Referenced table.
    pub references: QualifiedName,
    /// Referenced columns (the referenced table's primary key when omitted in SQL; always
    /// explicit in the model).
    pub referenced_columns: Vec<Ident>,
    /// `ON DELETE`.
    pub on_delete: FkAction,
    /// `ON UPDATE`.
    pub on_update: FkAction,
    /// `MATCH`.
    pub match_type: FkMatch,
    /// Deferrability.
    pub deferrable: Deferrable,
    /// `NOT VALID` (existing rows not checked).
    pub not_valid: bool,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
    /// The constraint's former name (not part of the database).
    pub renamed_from: Option<Ident>,
}

/// `CHECK (expr)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConstraint {
    /// Constraint name.
    pub name: Ident,
    /// The condition, canonical (`pg_get_expr(conbin)`).
    pub expr: SqlExpr,
    /// `NO INHERIT`.
    pub no_inherit: bool,
    /// `NOT VALID`.
    pub not_valid: bool,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
    /// The constraint's former name (not part of the database).
    pub renamed_from: Option<Ident>,
}

/// `EXCLUDE USING method (…)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionConstraint {
    /// Constraint name.
    pub name: Ident,
    /// Everything after the name: `EXCLUDE USING gist (room WITH =, during WITH &&)`, canonical
    /// (`pg_get_constraintdef`).
    pub definition: SqlExpr,
    /// Deferrability (also inside `definition`, kept apart for the differ).
    pub deferrable: Deferrable,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
    /// The constraint's former name (not part of the database).
    pub renamed_from: Option<Ident>,
}

/// An index that does not back a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name (in the table's schema).
    pub name: Ident,
    /// `UNIQUE`.
    pub unique: bool,
    /// `NULLS NOT DISTINCT` (unique indexes).
    pub nulls_not_distinct: bool,
    /// Access method (`btree` by default, `gin`, `gist`, `hash`, `brin`, `spgist`).
    pub method: String,
    /// Key columns and expressions, in order.
    pub keys: Vec<IndexColumn>,
    /// `INCLUDE (…)` columns.
    pub include: Vec<Ident>,
    /// Partial-index predicate, canonical.
    pub predicate: Option<SqlExpr>,
    /// Storage parameters, sorted, as `name=value`.
    pub options: Vec<String>,
    /// `COMMENT ON INDEX`.
    pub comment: Option<String>,
    /// The index's former name.
    pub renamed_from: Option<Ident>,
}

/// One key of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexColumn {
    /// A column or an expression.
    pub key: IndexKey,
    /// `COLLATE`, when not the column's own.
    pub collation: Option<QualifiedName>,
    /// Operator class, when not the default one for the type and method.
    pub opclass: Option<QualifiedName>,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST`. Canonical: always explicit (PostgreSQL's default is `descending`).
    pub nulls_first: bool,
}

/// What an index key indexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKey {
    /// A plain column.
    Column(Ident),
    /// An expression, canonical (`pg_get_indexdef(indexrelid, n, true)`).
    Expr(SqlExpr),
}

/// `PARTITION BY strategy (key)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionedBy {
    /// `RANGE`, `LIST` or `HASH`.
    pub strategy: PartitionStrategy,
    /// The key list inside the parentheses, canonical (from `pg_get_partkeydef`).
    pub key: SqlExpr,
}

/// Partitioning strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionStrategy {
    /// `RANGE`.
    Range,
    /// `LIST`.
    List,
    /// `HASH`.
    Hash,
}

impl PartitionStrategy {
    /// The SQL word.
    pub fn sql(self) -> &'static str {
        match self {
            PartitionStrategy::Range => "RANGE",
            PartitionStrategy::List => "LIST",
            PartitionStrategy::Hash => "HASH",
        }
    }
}

/// `PARTITION OF parent FOR VALUES …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionBound {
    /// The partitioned table.
    pub parent: QualifiedName,
    /// `FOR VALUES …` or `DEFAULT`, canonical (`pg_get_expr(relpartbound)`).
    pub bound: SqlExpr,
}

/// Rust-side hints for a table (not part of the database).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRustHints {
    /// The model struct's name, when not derived from the table name.
    pub struct_name: Option<String>,
}

/// Rust-side hints for a column (not part of the database).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnRustHints {
    /// A Rust type to use instead of the mapped one (`chrono::NaiveDate`, `my_crate::Money`).
    pub rust_type: Option<String>,
    /// The field name, when not the column name.
    pub field_name: Option<String>,
}
