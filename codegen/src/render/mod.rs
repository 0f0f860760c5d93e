//! SQL rendering: the IR ([`Schema`]) as a complete, dependency-ordered, deterministic DDL
//! script — what `migrations/0001_baseline.up.sql` holds and what a fresh Supabase database gets
//! after Supabase's own objects.
//!
//! [`sql`] holds the per-object building blocks (re-exported here), shared with the differ.
//! This module only decides order: every statement is tagged with a [`Phase`], whose variant
//! order *is* execution order, and the statements are stably sorted by phase. Within a phase,
//! objects come in `BTreeMap` (name) order, except where a dependency inside the phase matters
//! (table parents, views on views): there a stable topological sort with name order among
//! equals decides.

pub mod rust;
pub mod sql;

#[cfg(test)]
pub(crate) mod fixture;

pub use sql::{
    CommentTarget, GrantTarget, add_check, add_domain_check, add_foreign_key,
    alter_force_row_security, alter_replica_identity, alter_row_security, alter_sequence_owned_by,
    alter_trigger_firing, check_clause, column_definition, comment_on, create_collation,
    create_composite_type, create_domain, create_enum, create_extension, create_function,
    create_index, create_policy, create_schema, create_sequence, create_table, create_trigger,
    create_view, default_privilege_revoke, default_privileges_grant, deferrable_clause,
    dollar_quote, dollar_tag, exclusion_clause, foreign_key_clause, function_arg,
    function_set_clause, grant_statements, ident_list, identity_clause, index_key, insert_bucket,
    partition_column_options, primary_key_clause, public_execute, quote_literal, reloption,
    revoke_statements, role_name, unique_clause, update_bucket,
};

use crate::model::{
    Function, FunctionBody, PgType, Policy, QualifiedName, ReplicaIdentity, Schema, Table, Trigger,
    TriggerFiring, View,
};
use std::collections::{BTreeMap, BTreeSet};

/// When a statement runs. Order matters: the variants are listed in execution order, and the
/// script is these phases in `Ord` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// `SET check_function_bodies = false`, first, as pg_dump does: SQL-language bodies may
    /// reference tables that are created later in the script.
    Settings,
    /// `CREATE SCHEMA`: everything else lives in one.
    Schemas,
    /// `CREATE EXTENSION`: extensions provide types (citext) and operator classes (btree_gist)
    /// that types, columns and indexes use.
    Extensions,
    /// `CREATE COLLATION`: used by domains, composite types and columns.
    Collations,
    /// Enums: used by domains, composites, routine signatures and columns.
    Enums,
    /// Domains: used by composites, routine signatures and columns.
    Domains,
    /// Composite types: used by routine signatures and columns.
    CompositeTypes,
    /// Functions and procedures with source bodies (`AS $$…$$`): the body is not resolved at
    /// creation (see [`Phase::Settings`]), so they can come before the tables whose defaults,
    /// checks and generated columns call them. Routines whose signature names a table's or
    /// view's row type wait for [`Phase::RowTypeFunctions`].
    Functions,
    /// `CREATE SEQUENCE`: column defaults call `nextval` on them.
    Sequences,
    /// `CREATE TABLE`, parents (partitioned and inherited) before their children.
    Tables,
    /// Source-body routines whose arguments or result are a table's or view's row type: the
    /// type exists once the relation does.
    RowTypeFunctions,
    /// `ALTER SEQUENCE … OWNED BY`: needs the owning table.
    SequenceOwnership,
    /// `NOT VALID` CHECK constraints, which only `ALTER TABLE`/`ALTER DOMAIN` can add.
    NotValidChecks,
    /// Routines with SQL-standard bodies (`BEGIN ATOMIC`, `RETURN`): the body is parsed and
    /// resolved at creation, so the tables must exist. Before indexes, whose expressions may
    /// call them.
    AtomicFunctions,
    /// CHECK constraints (tables and domains) that call routines of the schema.
    LateChecks,
    /// `CREATE INDEX` on tables.
    Indexes,
    /// `ALTER TABLE … REPLICA IDENTITY`: `USING INDEX` needs the index, so after indexes.
    ReplicaIdentity,
    /// Foreign keys, after all tables so that table order and reference cycles never matter,
    /// and after indexes because a foreign key may reference columns whose uniqueness comes
    /// from a unique index rather than a constraint (pg_dump also adds them last).
    ForeignKeys,
    /// Views and materialized views, views they select from first.
    Views,
    /// Indexes on materialized views.
    ViewIndexes,
    /// Triggers on tables (own and attached), each followed by its firing state when not the
    /// default.
    Triggers,
    /// `INSTEAD OF` triggers on views.
    ViewTriggers,
    /// `ENABLE` / `FORCE ROW LEVEL SECURITY`.
    RowSecurity,
    /// `CREATE POLICY` on own and attached tables.
    Policies,
    /// `GRANT` / `REVOKE` on schemas, tables, columns, views, sequences and routines.
    Grants,
    /// `ALTER DEFAULT PRIVILEGES`: only affects objects created later, so after ours.
    DefaultPrivileges,
    /// `COMMENT ON`, once every object exists.
    Comments,
    /// Rows of `storage.buckets` (data, so last).
    Buckets,
}

impl Phase {
    /// The section header written above the phase in the script.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Settings => "Settings",
            Phase::Schemas => "Schemas",
            Phase::Extensions => "Extensions",
            Phase::Collations => "Collations",
            Phase::Enums => "Enums",
            Phase::Domains => "Domains",
            Phase::CompositeTypes => "Composite types",
            Phase::Functions => "Functions and procedures",
            Phase::Sequences => "Sequences",
            Phase::Tables => "Tables",
            Phase::RowTypeFunctions => "Functions on row types",
            Phase::SequenceOwnership => "Sequence ownership",
            Phase::NotValidChecks => "NOT VALID checks",
            Phase::AtomicFunctions => "Functions with SQL-standard bodies",
            Phase::LateChecks => "Checks calling routines",
            Phase::Indexes => "Indexes",
            Phase::ReplicaIdentity => "Replica identity",
            Phase::ForeignKeys => "Foreign keys",
            Phase::Views => "Views",
            Phase::ViewIndexes => "Materialized view indexes",
            Phase::Triggers => "Triggers",
            Phase::ViewTriggers => "View triggers",
            Phase::RowSecurity => "Row-level security",
            Phase::Policies => "Policies",
            Phase::Grants => "Grants",
            Phase::DefaultPrivileges => "Default privileges",
            Phase::Comments => "Comments",
            Phase::Buckets => "Storage buckets",
        }
    }
}

/// One statement of a rendered script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// When it runs.
    pub phase: Phase,
    /// The SQL, ending in `;`.
    pub sql: String,
}

/// The whole script for `schema`: phase headers, statements separated by blank lines, one
/// trailing newline.
pub fn render_schema(schema: &Schema) -> String {
    let mut out = String::new();
    let mut current = None;
    for statement in schema_statements(schema) {
        if !out.is_empty() {
            out.push('\n');
        }
        if current != Some(statement.phase) {
            current = Some(statement.phase);
            out.push_str("-- ");
            out.push_str(statement.phase.title());
            out.push('\n');
        }
        out.push_str(&statement.sql);
        out.push('\n');
    }
    out
}

/// Every statement that creates `schema`, in execution order.
pub fn schema_statements(schema: &Schema) -> Vec<Statement> {
    let mut s = Collector::default();
    // language=PostgreSQL
    s.push(
        Phase::Settings,
        "SET check_function_bodies = false;".to_owned(),
    );
    schema_objects(schema, &mut s);
    types(schema, &mut s);
    routines(schema, &mut s);
    sequences(schema, &mut s);
    tables(schema, &mut s);
    attached(schema, &mut s);
    views(schema, &mut s);
    s.extend(
        Phase::DefaultPrivileges,
        default_privileges_grant(&schema.default_privileges),
    );
    for b in schema.buckets.values() {
        s.push(Phase::Buckets, insert_bucket(b));
    }
    // Stable: keeps the collection order inside each phase.
    s.0.sort_by_key(|st| st.phase);
    s.0
}

#[derive(Default)]
struct Collector(Vec<Statement>);

impl Collector {
    fn push(&mut self, phase: Phase, sql: String) {
        self.0.push(Statement { phase, sql });
    }

    fn extend(&mut self, phase: Phase, sqls: Vec<String>) {
        for sql in sqls {
            self.push(phase, sql);
        }
    }

    fn comment(&mut self, target: CommentTarget<'_>, comment: &Option<String>) {
        if let Some(c) = comment {
            self.push(Phase::Comments, comment_on(target, Some(c)));
        }
    }
}

fn schema_objects(schema: &Schema, s: &mut Collector) {
    for def in schema.schemas.values() {
        // Every database has `public`; it is listed only for its grants and comment.
        if def.name.as_str() != "public" {
            s.push(Phase::Schemas, create_schema(def));
        }
        s.extend(
            Phase::Grants,
            grant_statements(GrantTarget::Schema(&def.name), &def.grants),
        );
        s.comment(CommentTarget::Schema(&def.name), &def.comment);
    }
    for e in schema.extensions.values() {
        s.push(Phase::Extensions, create_extension(e));
        s.comment(CommentTarget::Extension(&e.name), &e.comment);
    }
    for c in schema.collations.values() {
        s.push(Phase::Collations, create_collation(c));
        s.comment(CommentTarget::Collation(&c.name), &c.comment);
    }
}

fn types(schema: &Schema, s: &mut Collector) {
    for e in schema.enums.values() {
        s.push(Phase::Enums, create_enum(e));
        s.comment(CommentTarget::Type(&e.name), &e.comment);
    }
    for d in schema.domains.values() {
        domain(d, schema, s);
    }
    for t in schema.composites.values() {
        s.push(Phase::CompositeTypes, create_composite_type(t));
        s.comment(CommentTarget::Type(&t.name), &t.comment);
    }
}

fn domain(d: &crate::model::Domain, schema: &Schema, s: &mut Collector) {
    let mut early = d.clone();
    early
        .checks
        .retain(|c| c.not_valid || !calls_routine(&c.expr.0, schema));
    s.push(Phase::Domains, create_domain(&early));
    for c in d
        .checks
        .iter()
        .filter(|c| !c.not_valid && calls_routine(&c.expr.0, schema))
    {
        s.push(Phase::LateChecks, add_domain_check(&d.name, c));
    }
    for c in d.checks.iter().filter(|c| c.not_valid) {
        s.push(Phase::NotValidChecks, add_domain_check(&d.name, c));
    }
    s.comment(CommentTarget::Domain(&d.name), &d.comment);
    for c in &d.checks {
        s.comment(
            CommentTarget::DomainConstraint(&d.name, &c.name),
            &c.comment,
        );
    }
}

/// Whether a routine's signature names the row type of a table or view of `schema`.
fn uses_row_type(f: &Function, schema: &Schema) -> bool {
    let is_relation = |ty: &PgType| {
        ty.named()
            .is_some_and(|n| schema.tables.contains_key(n) || schema.views.contains_key(n))
    };
    f.args.iter().any(|a| is_relation(&a.ty))
        || f.returns.as_ref().is_some_and(|r| is_relation(&r.ty))
}

/// True when `expr` calls a routine of `schema` (by its name followed by `(`).
pub fn calls_routine(expr: &str, schema: &Schema) -> bool {
    schema
        .functions
        .keys()
        .any(|id| expr.contains(&format!("{}(", id.name.name)))
}

fn routines(schema: &Schema, s: &mut Collector) {
    for f in routine_order(&schema.functions)
        .iter()
        .filter_map(|id| schema.functions.get(id))
    {
        routine(f, schema, s);
    }
}

/// Routines in creation order: one with a SQL-standard body after the routines its body calls
/// (those bodies are resolved at creation).
pub fn routine_order(
    functions: &BTreeMap<crate::model::FunctionId, Function>,
) -> Vec<crate::model::FunctionId> {
    let ids: Vec<crate::model::FunctionId> = functions.keys().cloned().collect();
    stable_topo_sort(&ids, |id| {
        let Some(FunctionBody::Atomic(body)) = functions.get(id).map(|f| &f.body) else {
            return Vec::new();
        };
        ids.iter()
            .filter(|other| *other != id && body.0.contains(&format!("{}(", other.name.name)))
            .cloned()
            .collect()
    })
}

fn routine(f: &Function, schema: &Schema, s: &mut Collector) {
    s.push(routine_phase(f, schema), create_function(f));
    if !f.public_execute {
        s.push(Phase::Grants, public_execute(&f.id, f.kind, false));
    }
    s.extend(
        Phase::Grants,
        grant_statements(GrantTarget::Routine(&f.id, f.kind), &f.grants),
    );
    s.comment(CommentTarget::Routine(&f.id, f.kind), &f.comment);
}

fn sequences(schema: &Schema, s: &mut Collector) {
    for q in schema.sequences.values() {
        sequence(q, s);
    }
}

fn sequence(q: &crate::model::Sequence, s: &mut Collector) {
    s.push(Phase::Sequences, create_sequence(q));
    if let Some(owner) = &q.owned_by {
        s.push(
            Phase::SequenceOwnership,
            alter_sequence_owned_by(&q.name, Some(owner)),
        );
    }
    s.extend(
        Phase::Grants,
        grant_statements(GrantTarget::Sequence(&q.name), &q.grants),
    );
    s.comment(CommentTarget::Sequence(&q.name), &q.comment);
}

/// The tables a table's `CREATE` needs first: its partition parent and inheritance parents.
pub fn table_parents(t: &Table) -> Vec<QualifiedName> {
    let mut parents = t.inherits.clone();
    parents.extend(t.partition_of.iter().map(|p| p.parent.clone()));
    parents
}

fn tables(schema: &Schema, s: &mut Collector) {
    for name in &table_order(&schema.tables) {
        if let Some(t) = schema.tables.get(name) {
            create_table_only(t, s, schema);
        }
    }
    for t in schema.tables.values() {
        table_children(t, s, schema);
    }
}

/// Tables in creation order: partition and inheritance parents before their children.
pub fn table_order(tables: &BTreeMap<QualifiedName, Table>) -> Vec<QualifiedName> {
    let names: Vec<QualifiedName> = tables.keys().cloned().collect();
    stable_topo_sort(&names, |n| {
        tables.get(n).map(table_parents).unwrap_or_default()
    })
}

/// `CREATE TABLE`, and the CHECK constraints that must wait for the routines they call.
fn create_table_only(t: &Table, s: &mut Collector, schema: &Schema) {
    let mut early = t.clone();
    early.checks.retain(|c| !calls_routine(&c.expr.0, schema));
    s.push(Phase::Tables, create_table(&early));
    for c in t.checks.iter().filter(|c| calls_routine(&c.expr.0, schema)) {
        s.push(Phase::LateChecks, add_check(&t.name, c));
    }
}

/// Every statement that creates one table with everything on it (constraints, indexes,
/// triggers, policies, grants, comments), tagged with phases; `context` is the schema the table
/// belongs to (which routines exist decides when CHECKs run). The differ uses this for new
/// tables, so a table is created the same way in a baseline and in a migration.
pub fn table_statements(t: &Table, context: &Schema) -> Vec<Statement> {
    let mut s = Collector::default();
    create_table_only(t, &mut s, context);
    table_children(t, &mut s, context);
    s.0
}

/// Every statement that creates one routine: the `CREATE`, its `EXECUTE` rights and comment.
pub fn routine_statements(f: &Function, context: &Schema) -> Vec<Statement> {
    let mut s = Collector::default();
    routine(f, context, &mut s);
    s.0
}

/// The phase a routine's `CREATE` runs in (see [`Phase`]).
pub fn routine_phase(f: &Function, context: &Schema) -> Phase {
    match f.body {
        FunctionBody::Atomic(_) => Phase::AtomicFunctions,
        FunctionBody::Source(_) if uses_row_type(f, context) => Phase::RowTypeFunctions,
        FunctionBody::Source(_) => Phase::Functions,
    }
}

/// Every statement that creates one view with its indexes, triggers, grants and comments.
pub fn view_statements(v: &View) -> Vec<Statement> {
    let mut s = Collector::default();
    s.push(Phase::Views, create_view(v));
    view_children(v, &mut s);
    s.0
}

/// Every statement that creates one domain (checks calling routines of `context` late).
pub fn domain_statements(d: &crate::model::Domain, context: &Schema) -> Vec<Statement> {
    let mut s = Collector::default();
    domain(d, context, &mut s);
    s.0
}

/// Every statement that creates one sequence (ownership, grants, comment).
pub fn sequence_statements(q: &crate::model::Sequence) -> Vec<Statement> {
    let mut s = Collector::default();
    sequence(q, &mut s);
    s.0
}

/// Everything about a table other than its `CREATE TABLE`.
fn table_children(t: &Table, s: &mut Collector, schema: &Schema) {
    let name = &t.name;
    for c in t
        .checks
        .iter()
        .filter(|c| c.not_valid && !calls_routine(&c.expr.0, schema))
    {
        s.push(Phase::NotValidChecks, add_check(name, c));
    }
    for fk in &t.foreign_keys {
        s.push(Phase::ForeignKeys, add_foreign_key(name, fk));
    }
    for i in &t.indexes {
        s.push(Phase::Indexes, create_index(name, i));
    }
    if t.replica_identity != ReplicaIdentity::Default {
        s.push(
            Phase::ReplicaIdentity,
            alter_replica_identity(name, &t.replica_identity),
        );
    }
    triggers(name, &t.triggers, Phase::Triggers, s);
    if t.row_security.enabled {
        s.push(Phase::RowSecurity, alter_row_security(name, true));
    }
    if t.row_security.forced {
        s.push(Phase::RowSecurity, alter_force_row_security(name, true));
    }
    for p in &t.policies {
        s.push(Phase::Policies, create_policy(name, p));
    }
    s.extend(
        Phase::Grants,
        grant_statements(GrantTarget::Table(name), &t.grants),
    );
    for c in &t.columns {
        s.extend(
            Phase::Grants,
            grant_statements(GrantTarget::Column(name, &c.name), &c.grants),
        );
    }

    // Comments: the table, then its parts in the order they were created.
    s.comment(CommentTarget::Table(name), &t.comment);
    for c in &t.columns {
        s.comment(CommentTarget::Column(name, &c.name), &c.comment);
    }
    let constraint_comments = t
        .primary_key
        .iter()
        .map(|c| (&c.name, &c.comment))
        .chain(t.uniques.iter().map(|c| (&c.name, &c.comment)))
        .chain(t.checks.iter().map(|c| (&c.name, &c.comment)))
        .chain(t.exclusions.iter().map(|c| (&c.name, &c.comment)))
        .chain(t.foreign_keys.iter().map(|c| (&c.name, &c.comment)));
    for (constraint, comment) in constraint_comments {
        s.comment(CommentTarget::Constraint(name, constraint), comment);
    }
    for i in &t.indexes {
        s.comment(CommentTarget::Index(name, &i.name), &i.comment);
    }
    trigger_comments(name, &t.triggers, s);
    policy_comments(name, &t.policies, s);
}

/// `CREATE TRIGGER`s on a table or view, each followed by its firing state when not the
/// default.
fn triggers(on: &QualifiedName, triggers: &[Trigger], phase: Phase, s: &mut Collector) {
    for tr in triggers {
        s.push(phase, create_trigger(on, tr));
        if tr.firing != TriggerFiring::Origin {
            s.push(phase, alter_trigger_firing(on, &tr.name, tr.firing));
        }
    }
}

fn trigger_comments(on: &QualifiedName, triggers: &[Trigger], s: &mut Collector) {
    for tr in triggers {
        s.comment(CommentTarget::Trigger(on, &tr.name), &tr.comment);
    }
}

fn policy_comments(on: &QualifiedName, policies: &[Policy], s: &mut Collector) {
    for p in policies {
        s.comment(CommentTarget::Policy(on, &p.name), &p.comment);
    }
}

/// Policies and triggers on tables the application does not own (`storage.objects`).
fn attached(schema: &Schema, s: &mut Collector) {
    for (name, a) in &schema.attached {
        triggers(name, &a.triggers, Phase::Triggers, s);
        for p in &a.policies {
            s.push(Phase::Policies, create_policy(name, p));
        }
        trigger_comments(name, &a.triggers, s);
        policy_comments(name, &a.policies, s);
    }
}

fn views(schema: &Schema, s: &mut Collector) {
    for name in view_order(&schema.views) {
        if let Some(v) = schema.views.get(&name) {
            s.push(Phase::Views, create_view(v));
        }
    }
    for v in schema.views.values() {
        view_children(v, s);
    }
}

/// A view's indexes, triggers, grants and comments.
fn view_children(v: &View, s: &mut Collector) {
    {
        let name = &v.name;
        for i in &v.indexes {
            s.push(Phase::ViewIndexes, create_index(name, i));
        }
        triggers(name, &v.triggers, Phase::ViewTriggers, s);
        s.extend(
            Phase::Grants,
            grant_statements(GrantTarget::Table(name), &v.grants),
        );
        s.comment(CommentTarget::View(name, v.materialized), &v.comment);
        for (column, comment) in &v.column_comments {
            s.push(
                Phase::Comments,
                comment_on(CommentTarget::Column(name, column), Some(comment)),
            );
        }
        for i in &v.indexes {
            s.comment(CommentTarget::Index(name, &i.name), &i.comment);
        }
        trigger_comments(name, &v.triggers, s);
    }
}

/// Views in creation order: a view after every view its definition names. The edges come from
/// finding the other views' qualified names, as `Display` prints them, in each definition
/// (canonical definitions are printed under an empty `search_path`, so every relation is
/// schema-qualified).
pub fn view_order(views: &BTreeMap<QualifiedName, View>) -> Vec<QualifiedName> {
    let names: Vec<QualifiedName> = views.keys().cloned().collect();
    let printed: Vec<(QualifiedName, String)> =
        names.iter().map(|n| (n.clone(), n.to_string())).collect();
    stable_topo_sort(&names, |name| {
        let Some(view) = views.get(name) else {
            return Vec::new();
        };
        printed
            .iter()
            .filter(|(other, text)| other != name && mentions(view.definition.as_str(), text))
            .map(|(other, _)| other.clone())
            .collect()
    })
}

/// Whether `text` contains `name` as a whole name: not preceded by an identifier character, a
/// dot or a double quote, and not followed by an identifier character or a double quote (so
/// `public.v1` is not found in `public.v10`).
pub fn mentions(text: &str, name: &str) -> bool {
    let ident_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(|c| ident_char(c) || c == '.' || c == '"')
            && !after.is_some_and(|c| ident_char(c) || c == '"')
    })
}

/// Kahn's algorithm over `nodes`, taking the smallest ready node first, so the result is
/// deterministic and keeps name order among nodes that do not depend on each other.
/// Dependencies outside `nodes` are ignored. Nodes on a cycle (which PostgreSQL itself would
/// reject) are appended in name order rather than dropped.
pub fn stable_topo_sort<K, F>(nodes: &[K], deps: F) -> Vec<K>
where
    K: Ord + Clone,
    F: Fn(&K) -> Vec<K>,
{
    let all: BTreeSet<&K> = nodes.iter().collect();
    let mut pending: BTreeMap<&K, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<K, Vec<&K>> = BTreeMap::new();
    for node in &all {
        let mut own: BTreeSet<K> = deps(node).into_iter().collect();
        own.retain(|d| d != *node && all.contains(d));
        pending.insert(node, own.len());
        for d in own {
            dependents.entry(d).or_default().push(node);
        }
    }
    let mut ready: BTreeSet<&K> = pending
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut out = Vec::with_capacity(all.len());
    while let Some(node) = ready.pop_first() {
        out.push(node.clone());
        pending.remove(node);
        for dependent in dependents.get(node).into_iter().flatten() {
            if let Some(n) = pending.get_mut(dependent) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    ready.insert(dependent);
                }
            }
        }
    }
    out.extend(pending.keys().map(|k| (*k).clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SqlExpr;

    fn view(name: &str, definition: &str) -> (QualifiedName, View) {
        let name = QualifiedName::public(name);
        let v = View {
            name: name.clone(),
            materialized: false,
            definition: SqlExpr::new(definition),
            options: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
            grants: BTreeSet::new(),
            comment: None,
            column_comments: Vec::new(),
        };
        (name, v)
    }

    fn order(views: &[(&str, &str)]) -> Vec<String> {
        let map: BTreeMap<_, _> = views.iter().map(|(n, d)| view(n, d)).collect();
        view_order(&map).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn views_chain_in_dependency_order() {
        let got = order(&[
            ("v1", " SELECT t.a\n   FROM public.t;"),
            ("v2", " SELECT v1.a\n   FROM public.v1;"),
            ("v3", " SELECT v2.a\n   FROM public.v2;"),
        ]);
        assert_eq!(got, ["public.v1", "public.v2", "public.v3"]);
        // Names sorting against the dependency order.
        let got = order(&[
            ("c", " SELECT t.a FROM public.t;"),
            ("b", " SELECT c.a FROM public.c;"),
            ("a", " SELECT b.a FROM public.b;"),
        ]);
        assert_eq!(got, ["public.c", "public.b", "public.a"]);
    }

    #[test]
    fn views_diamond_keeps_name_order_among_equals() {
        let got = order(&[
            ("top", " SELECT 1 FROM public.left_v, public.right_v;"),
            ("right_v", " SELECT 1 FROM public.base;"),
            ("left_v", " SELECT 1 FROM public.base;"),
            ("base", " SELECT 1;"),
            ("alone", " SELECT 2;"),
        ]);
        assert_eq!(
            got,
            [
                "public.alone",
                "public.base",
                "public.left_v",
                "public.right_v",
                "public.top"
            ]
        );
    }

    #[test]
    fn view_names_match_whole_names_only() {
        assert!(mentions("FROM public.v1;", "public.v1"));
        assert!(mentions("FROM public.v1 x", "public.v1"));
        assert!(!mentions("FROM public.v10;", "public.v1"));
        assert!(!mentions("FROM xpublic.v1;", "public.v1"));
        assert!(mentions("FROM public.\"V 1\" v", "public.\"V 1\""));
        // v10 depends on nothing even though its name starts with v1's.
        let got = order(&[("v1", " SELECT 1 FROM public.v10;"), ("v10", " SELECT 1;")]);
        assert_eq!(got, ["public.v10", "public.v1"]);
    }

    #[test]
    fn every_field_schema_renders() {
        insta::assert_snapshot!(render_schema(&fixture::every_field_schema()));
    }

    #[test]
    fn tables_come_after_their_parents() {
        let statements = schema_statements(&fixture::every_field_schema());
        let tables: Vec<&str> = statements
            .iter()
            .filter(|s| s.phase == Phase::Tables)
            .filter_map(|s| s.sql.split_whitespace().find(|w| w.starts_with("public.")))
            .collect();
        let position = |name: &str| tables.iter().position(|t| *t == name).unwrap();
        assert!(position("public.regions") < position("public.a_regions_eu"));
        assert!(position("public.base_items") < position("public.a_special_items"));
        assert!(position("public.events") < position("public.events_2024"));
        assert!(position("public.events_2024") < position("public.events_2024_p0"));
    }

    #[test]
    fn output_is_deterministic_and_has_no_trailing_whitespace() {
        let schema = fixture::every_field_schema();
        let script = render_schema(&schema);
        assert_eq!(script, render_schema(&schema.clone()));
        for (n, line) in script.lines().enumerate() {
            assert_eq!(
                line,
                line.trim_end(),
                "line {} has trailing whitespace",
                n + 1
            );
        }
        assert!(script.ends_with(";\n"));
    }

    fn describe(e: &tokio_postgres::Error) -> String {
        match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        }
    }

    /// The rendered every-field script applies, statement by statement, to a fresh database
    /// with the Supabase bootstrap.
    #[tokio::test]
    async fn every_field_schema_applies_to_postgres() {
        let script = render_schema(&fixture::every_field_schema());
        let server = pgkit::Server::shared().await.unwrap();
        let db = server.create_database("render_every_field").await.unwrap();
        db.apply_bootstrap().await.unwrap();
        let client = db.connect().await.unwrap();
        for st in crate::sqlscript::split(&script).unwrap() {
            if let Err(e) = client.batch_execute(&st.text).await {
                panic!("line {}: {}\n{}", st.line, describe(&e), st.text);
            }
        }
        // A few facts the script must have produced.
        // language=PostgreSQL
        let facts =
            "SELECT (SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname)
                               FROM pg_catalog.pg_trigger
                              WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal),
                            (SELECT relreplident::text FROM pg_catalog.pg_class
                              WHERE oid = 'public.users'::regclass),
                            (SELECT count(*) FROM storage.buckets)";
        let row = client.query_one(facts, &[]).await.unwrap();
        let triggers: String = row.get(0);
        let replica_identity: String = row.get(1);
        let buckets: i64 = row.get(2);
        assert_eq!(
            triggers,
            "users_audit_insert=D,users_audit_update=O,users_deferred_check=R,\
             users_set_updated_at=O,users_truncate=A"
        );
        assert_eq!(replica_identity, "i");
        assert_eq!(buckets, 2);
    }

    #[test]
    fn cycles_do_not_lose_nodes() {
        let got = order(&[("a", "public.b"), ("b", "public.a"), ("c", "SELECT 1")]);
        assert_eq!(got, ["public.c", "public.a", "public.b"]);
    }
}
