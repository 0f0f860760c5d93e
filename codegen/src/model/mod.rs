//! The IR: one span-free, normalised, deterministic model of a database schema.
//!
//! Every source lowers into [`Schema`]: the schema files (`parse`), SQL files and migrations
//! (applied to a scratch database, then introspected) and live databases (`introspect`). Every
//! output is computed from it. Two `Schema`s that describe the same database are equal once
//! [`Schema::database_view`] has dropped what is not part of the database (Rust hints and
//! `renamed_from`): structure is normalised in code (see `types.rs`), and expressions are held in
//! the form PostgreSQL itself prints them ([`SqlExpr`]).
//!
//! Named objects live in `BTreeMap`s keyed by name so iteration is deterministic; ordered children
//! (columns, enum labels, index keys) live in `Vec`s.

mod ident;
mod objects;
mod routine;
mod security;
mod storage;
mod table;
mod types;

pub use ident::{
    Ident, MAX_IDENT_BYTES, QualifiedName, needs_quotes, quote_ident, split_qualified,
};
pub use objects::{
    Collation, CompositeAttribute, CompositeType, Domain, EnumType, Extension, SchemaDef, Sequence,
    View,
};
pub use routine::{
    ArgMode, Function, FunctionArg, FunctionBody, FunctionId, FunctionKind, FunctionReturn,
    ParallelSafety, Trigger, TriggerEvents, TriggerFiring, TriggerTiming, Volatility,
};
pub use security::{
    DefaultPrivilege, DefaultPrivilegeObjects, Grant, Policy, PolicyCommand, Privilege,
};
pub use storage::Bucket;
pub use table::{
    CheckConstraint, Column, ColumnRustHints, Deferrable, ExclusionConstraint, FkAction, FkMatch,
    ForeignKey, Identity, Index, IndexColumn, IndexKey, PartitionBound, PartitionStrategy,
    PartitionedBy, PrimaryKey, ReplicaIdentity, RowSecurity, Table, TableRustHints,
    UniqueConstraint, integer_max, integer_min,
};
pub use types::{PgType, TypeParseError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// SQL text in the form PostgreSQL prints it back (`pg_get_expr`, `pg_get_constraintdef`,
/// `pg_get_viewdef`…, under an empty `search_path`, so names are schema-qualified).
///
/// Equality of two `SqlExpr`s is equality of PostgreSQL's own rendering, which is what makes
/// `'draft'` and `'draft'::public.status` compare equal once both went through the database.
/// Text straight from a schema file is not canonical until the canonical-forms lock (or a
/// scratch database) has mapped it; see `canonical`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SqlExpr(pub String);

impl SqlExpr {
    /// Wraps SQL text. Whether it is canonical depends on where it came from.
    pub fn new(text: impl Into<String>) -> Self {
        SqlExpr(text.into())
    }

    /// The SQL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SqlExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Schemas that Supabase creates and manages. The toolkit governs none of them (introspection
/// leaves them out; validation accepts references into them), except what the application
/// attaches there (`Schema::attached`, `Schema::buckets`).
pub const SUPABASE_SCHEMAS: &[&str] = &[
    "_analytics",
    "_realtime",
    "auth",
    "cron",
    "extensions",
    "graphql",
    "graphql_public",
    "net",
    "pgbouncer",
    "pgsodium",
    "pgsodium_masks",
    "realtime",
    "storage",
    "supabase_functions",
    "supabase_migrations",
    "vault",
];

/// A whole database schema: everything the toolkit governs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Schemas (namespaces) the application creates or grants on. `public` is listed only when it
    /// carries a comment or grants of the application.
    pub schemas: BTreeMap<Ident, SchemaDef>,
    /// Extensions, by name.
    pub extensions: BTreeMap<Ident, Extension>,
    /// Collations created by the application.
    pub collations: BTreeMap<QualifiedName, Collation>,
    /// Enum types.
    pub enums: BTreeMap<QualifiedName, EnumType>,
    /// Domains.
    pub domains: BTreeMap<QualifiedName, Domain>,
    /// Composite types (`CREATE TYPE … AS (…)`).
    pub composites: BTreeMap<QualifiedName, CompositeType>,
    /// Free-standing and column-owned sequences (not identity sequences, which belong to their
    /// column).
    pub sequences: BTreeMap<QualifiedName, Sequence>,
    /// Tables, including partitions and inheritance children.
    pub tables: BTreeMap<QualifiedName, Table>,
    /// Views and materialized views.
    pub views: BTreeMap<QualifiedName, View>,
    /// Functions and procedures, keyed by name and argument types (overloads are distinct).
    pub functions: BTreeMap<FunctionId, Function>,
    /// What the application attaches to tables it does not own (Supabase's `storage.objects`,
    /// `auth.users`): policies, triggers and RLS flags on them.
    pub attached: BTreeMap<QualifiedName, Attachments>,
    /// `ALTER DEFAULT PRIVILEGES` entries.
    pub default_privileges: Vec<DefaultPrivilege>,
    /// Supabase Storage buckets (rows of `storage.buckets`), by id.
    pub buckets: BTreeMap<String, Bucket>,
}

/// Objects the application defines on a table owned by someone else (Supabase).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachments {
    /// Row-level security policies.
    pub policies: Vec<Policy>,
    /// Triggers.
    pub triggers: Vec<Trigger>,
}

impl Schema {
    /// The schema without what exists only in declarations (Rust hints, `renamed_from`,
    /// `renamed_labels`): the part that two descriptions of the same database must agree on.
    pub fn database_view(&self) -> Schema {
        self.clone().into_database_view()
    }

    /// [`Schema::database_view`] of a schema that is not needed any more (no copy).
    pub fn into_database_view(self) -> Schema {
        let mut s = self;
        for table in s.tables.values_mut() {
            table.strip_hints();
        }
        for d in s.domains.values_mut() {
            for c in &mut d.checks {
                c.renamed_from = None;
            }
        }
        for e in s.enums.values_mut() {
            e.renamed_from = None;
            e.renamed_labels.clear();
            e.rust_name = None;
        }
        s
    }

    /// Every object's name, for messages: `table public.users`, `enum public.status`…
    pub fn object_count(&self) -> usize {
        self.schemas.len()
            + self.extensions.len()
            + self.collations.len()
            + self.enums.len()
            + self.domains.len()
            + self.composites.len()
            + self.sequences.len()
            + self.tables.len()
            + self.views.len()
            + self.functions.len()
            + self.buckets.len()
    }
}

impl Table {
    /// Drops what only the Rust side and the differ's renames use (as
    /// [`Schema::into_database_view`] does for every table): two tables that are the same in
    /// the database are then equal.
    pub fn strip_hints(&mut self) {
        self.rust = TableRustHints::default();
        self.renamed_from = None;
        for column in &mut self.columns {
            column.rust = ColumnRustHints::default();
            column.renamed_from = None;
        }
        for index in &mut self.indexes {
            index.renamed_from = None;
        }
        if let Some(pk) = &mut self.primary_key {
            pk.renamed_from = None;
        }
        for u in &mut self.uniques {
            u.renamed_from = None;
        }
        for fk in &mut self.foreign_keys {
            fk.renamed_from = None;
        }
        for c in &mut self.checks {
            c.renamed_from = None;
        }
        for x in &mut self.exclusions {
            x.renamed_from = None;
        }
    }

    /// This table as the database holds it ([`Table::strip_hints`] on a copy).
    pub fn database_view(&self) -> Table {
        let mut t = self.clone();
        t.strip_hints();
        t
    }
}

/// An object the model cannot represent, found while reading a database. Import refuses to go
/// on while there are any; introspection reports them by name instead of dropping them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unsupported {
    /// What kind of object (`rule`, `publication`, `aggregate`…).
    pub kind: String,
    /// Its name, qualified where it has a schema.
    pub name: String,
    /// Why it cannot be represented, or what to do about it.
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.name, self.reason)
    }
}
