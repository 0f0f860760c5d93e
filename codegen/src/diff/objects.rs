//! Everything but tables: renames, schemas, extensions, collations, types, routines,
//! sequences, views, default privileges and buckets.

use super::tables::{Rebuilds, comment, create_index_step, diff_grants};
use super::{
    Builder, CleanupRank, DropRank, HazardKind, Loss, Order, Segment, match_by, set_changes,
};
use crate::model::{
    ArgMode, Column, CompositeType, Function, FunctionKind, Ident, PgType, QualifiedName, Schema,
    SqlExpr, Table,
};
use crate::render::{
    CommentTarget, GrantTarget, Phase, add_domain_check, create_collation, create_composite_type,
    create_enum, create_extension, create_schema, create_view, default_privilege_revoke,
    default_privileges_grant, domain_statements, insert_bucket, public_execute, quote_literal,
    routine_phase, routine_statements, sequence_statements, view_order, view_statements,
};
use std::collections::BTreeMap;

/// Applies `to`'s `renamed_from` and `renamed_labels` entries to a copy of `from`: the renamed
/// copy and the `(object, RENAME statement)` pairs, in the order they must run.
pub(crate) fn apply_renames(from: &Schema, to: &Schema) -> (Schema, Vec<(String, String)>) {
    let mut s = from.clone();
    let mut steps = Vec::new();
    // Enums, by their new name: the name `from` knows them by.
    let mut enum_origins: BTreeMap<QualifiedName, QualifiedName> = BTreeMap::new();
    for (name, e) in &to.enums {
        let Some(old) = &e.renamed_from else { continue };
        if s.enums.contains_key(name) || !s.enums.contains_key(old) {
            continue;
        }
        if let Some(mut def) = s.enums.remove(old) {
            enum_origins.insert(name.clone(), old.clone());
            steps.push((format!("enum {name}"), rename_sql("TYPE", old, name)));
            def.name = name.clone();
            s.enums.insert(name.clone(), def);
            retype(
                &mut s,
                &PgType::Named(old.clone()),
                &PgType::Named(name.clone()),
            );
        }
    }
    // Enum labels, on enums present on both sides (after enum renames).
    for (name, e) in &to.enums {
        for (new, old) in &e.renamed_labels {
            let Some(def) = s.enums.get_mut(name) else {
                break;
            };
            if !def.labels.contains(old) || def.labels.contains(new) {
                continue;
            }
            for label in &mut def.labels {
                if label == old {
                    label.clone_from(new);
                }
            }
            steps.push((
                format!("enum {name}"),
                format!(
                    "ALTER TYPE {name} RENAME VALUE {} TO {};",
                    quote_literal(old),
                    quote_literal(new)
                ),
            ));
            let mut types = vec![name.clone()];
            types.extend(enum_origins.get(name).cloned());
            relabel(&mut s, &types, old, new);
        }
    }
    // Tables.
    for (name, t) in &to.tables {
        let Some(old) = &t.renamed_from else { continue };
        if s.tables.contains_key(name) || !s.tables.contains_key(old) {
            continue;
        }
        if let Some(mut def) = s.tables.remove(old) {
            steps.push((format!("table {name}"), rename_sql("TABLE", old, name)));
            def.name = name.clone();
            s.tables.insert(name.clone(), def);
            for other in s.tables.values_mut() {
                for fk in &mut other.foreign_keys {
                    if fk.references == *old {
                        fk.references = name.clone();
                    }
                }
                for p in &mut other.inherits {
                    if p == old {
                        *p = name.clone();
                    }
                }
                if let Some(p) = &mut other.partition_of
                    && p.parent == *old
                {
                    p.parent = name.clone();
                }
            }
            for q in s.sequences.values_mut() {
                if let Some((t, _)) = &mut q.owned_by
                    && t == old
                {
                    *t = name.clone();
                }
            }
        }
    }
    // Columns and indexes of tables that exist on both sides (after table renames).
    for (name, t) in &to.tables {
        let Some(current) = s.tables.get(name) else {
            continue;
        };
        let mut column_renames: Vec<(Ident, Ident)> = Vec::new();
        for c in &t.columns {
            let Some(old) = &c.renamed_from else { continue };
            if current.column(c.name.as_str()).is_none() && current.column(old.as_str()).is_some() {
                column_renames.push((old.clone(), c.name.clone()));
            }
        }
        let mut index_renames: Vec<(Ident, Ident)> = Vec::new();
        for i in &t.indexes {
            let Some(old) = &i.renamed_from else { continue };
            let has = |n: &Ident| current.indexes.iter().any(|x| x.name == *n);
            if !has(&i.name) && has(old) {
                index_renames.push((old.clone(), i.name.clone()));
            }
        }
        for (old, new) in &column_renames {
            steps.push((
                format!("column {name}.{new}"),
                format!("ALTER TABLE {name} RENAME COLUMN {old} TO {new};"),
            ));
            rename_column(&mut s, name, old, new);
        }
        for (old, new) in &index_renames {
            steps.push((
                format!("index {new} on {name}"),
                format!("ALTER INDEX {}.{old} RENAME TO {new};", name.schema),
            ));
            if let Some(table) = s.tables.get_mut(name) {
                for i in &mut table.indexes {
                    if i.name == *old {
                        i.name = new.clone();
                    }
                }
                table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
        // Constraints (a primary key or unique constraint takes its index's name along).
        let Some(current) = s.tables.get(name) else {
            continue;
        };
        let taken: Vec<Ident> = constraints(current).map(|c| c.name.clone()).collect();
        let constraint_renames: Vec<(ConstraintKind, Ident, Ident)> = constraints(t)
            .filter_map(|c| {
                let old = c.renamed_from?;
                let there = constraints(current).any(|x| x.kind == c.kind && x.name == old);
                (there && !taken.contains(c.name)).then(|| (c.kind, old.clone(), c.name.clone()))
            })
            .collect();
        for (kind, old, new) in constraint_renames {
            steps.push((
                format!("{} {new} on {name}", kind.word()),
                format!("ALTER TABLE {name} RENAME CONSTRAINT {old} TO {new};"),
            ));
            if let Some(table) = s.tables.get_mut(name) {
                rename_constraint(table, kind, &old, &new);
            }
        }
    }
    // Checks of domains present on both sides.
    for (name, d) in &to.domains {
        let Some(current) = s.domains.get_mut(name) else {
            continue;
        };
        for c in &d.checks {
            let Some(old) = &c.renamed_from else { continue };
            let has = |n: &Ident| current.checks.iter().any(|x| x.name == *n);
            if has(&c.name) || !has(old) {
                continue;
            }
            steps.push((
                format!("check {} on domain {name}", c.name),
                format!("ALTER DOMAIN {name} RENAME CONSTRAINT {old} TO {};", c.name),
            ));
            for x in &mut current.checks {
                if x.name == *old {
                    x.name = c.name.clone();
                }
            }
            current.checks.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    (s, steps)
}

/// The kinds of table constraints (a rename stays within its kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
}

impl ConstraintKind {
    /// The words the plan names such a constraint with.
    fn word(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::Unique => "unique constraint",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::Check => "check",
            ConstraintKind::Exclusion => "exclusion constraint",
        }
    }
}

/// One constraint of a table, as renames see it.
struct ConstraintRef<'a> {
    kind: ConstraintKind,
    name: &'a Ident,
    renamed_from: Option<&'a Ident>,
}

/// Every constraint of `t`.
fn constraints(t: &Table) -> impl Iterator<Item = ConstraintRef<'_>> {
    fn c<'a>(
        kind: ConstraintKind,
        name: &'a Ident,
        renamed_from: &'a Option<Ident>,
    ) -> ConstraintRef<'a> {
        ConstraintRef {
            kind,
            name,
            renamed_from: renamed_from.as_ref(),
        }
    }
    t.primary_key
        .iter()
        .map(|x| c(ConstraintKind::PrimaryKey, &x.name, &x.renamed_from))
        .chain(
            t.uniques
                .iter()
                .map(|x| c(ConstraintKind::Unique, &x.name, &x.renamed_from)),
        )
        .chain(
            t.foreign_keys
                .iter()
                .map(|x| c(ConstraintKind::ForeignKey, &x.name, &x.renamed_from)),
        )
        .chain(
            t.checks
                .iter()
                .map(|x| c(ConstraintKind::Check, &x.name, &x.renamed_from)),
        )
        .chain(
            t.exclusions
                .iter()
                .map(|x| c(ConstraintKind::Exclusion, &x.name, &x.renamed_from)),
        )
}

/// The `renamed_from` of the constraint of `kind` called `name`.
fn constraint_renamed_from<'a>(
    t: &'a mut Table,
    kind: ConstraintKind,
    name: &Ident,
) -> Option<&'a mut Option<Ident>> {
    match kind {
        ConstraintKind::PrimaryKey => t
            .primary_key
            .as_mut()
            .filter(|x| x.name == *name)
            .map(|x| &mut x.renamed_from),
        ConstraintKind::Unique => t
            .uniques
            .iter_mut()
            .find(|x| x.name == *name)
            .map(|x| &mut x.renamed_from),
        ConstraintKind::ForeignKey => t
            .foreign_keys
            .iter_mut()
            .find(|x| x.name == *name)
            .map(|x| &mut x.renamed_from),
        ConstraintKind::Check => t
            .checks
            .iter_mut()
            .find(|x| x.name == *name)
            .map(|x| &mut x.renamed_from),
        ConstraintKind::Exclusion => t
            .exclusions
            .iter_mut()
            .find(|x| x.name == *name)
            .map(|x| &mut x.renamed_from),
    }
}

/// Renames the constraint of `kind` called `old` in `t`, keeping the lists sorted.
fn rename_constraint(t: &mut Table, kind: ConstraintKind, old: &Ident, new: &Ident) {
    let swap = |n: &mut Ident| {
        if n == old {
            *n = new.clone();
        }
    };
    match kind {
        ConstraintKind::PrimaryKey => t.primary_key.iter_mut().for_each(|x| swap(&mut x.name)),
        ConstraintKind::Unique => t.uniques.iter_mut().for_each(|x| swap(&mut x.name)),
        ConstraintKind::ForeignKey => t.foreign_keys.iter_mut().for_each(|x| swap(&mut x.name)),
        ConstraintKind::Check => t.checks.iter_mut().for_each(|x| swap(&mut x.name)),
        ConstraintKind::Exclusion => t.exclusions.iter_mut().for_each(|x| swap(&mut x.name)),
    }
    t.sort_children();
}

/// Rewrites the enum constant `'old'::type` to `'new'::type` in the expressions of `s`, for each
/// name in `types` the enum goes by: PostgreSQL keeps enum constants by OID, so after `RENAME
/// VALUE` it prints them with the new label (function bodies are text and keep the old one).
fn relabel(s: &mut Schema, types: &[QualifiedName], old: &str, new: &str) {
    let literal = |l: &str| format!("'{}'", l.replace('\'', "''"));
    let pairs: Vec<(String, String)> = types
        .iter()
        .map(|t| {
            (
                format!("{}::{t}", literal(old)),
                format!("{}::{t}", literal(new)),
            )
        })
        .collect();
    let fix = |e: &mut SqlExpr| {
        for (from, to) in &pairs {
            e.0 = replace_constant(&e.0, from, to);
        }
    };
    let fix_opt = |e: &mut Option<SqlExpr>| {
        if let Some(e) = e {
            fix(e);
        }
    };
    let fix_index = |i: &mut crate::model::Index| {
        fix_opt(&mut i.predicate);
        for k in &mut i.keys {
            if let crate::model::IndexKey::Expr(e) = &mut k.key {
                fix(e);
            }
        }
    };
    let fix_policies = |ps: &mut Vec<crate::model::Policy>| {
        for p in ps {
            fix_opt(&mut p.using);
            fix_opt(&mut p.with_check);
        }
    };
    let fix_triggers = |ts: &mut Vec<crate::model::Trigger>| {
        for t in ts {
            fix_opt(&mut t.when);
        }
    };
    for t in s.tables.values_mut() {
        for c in &mut t.columns {
            fix_opt(&mut c.default);
            fix_opt(&mut c.generated);
        }
        for c in &mut t.checks {
            fix(&mut c.expr);
        }
        for x in &mut t.exclusions {
            fix(&mut x.definition);
        }
        for i in &mut t.indexes {
            fix_index(i);
        }
        fix_triggers(&mut t.triggers);
        fix_policies(&mut t.policies);
        if let Some(p) = &mut t.partition_of {
            fix(&mut p.bound);
        }
    }
    for d in s.domains.values_mut() {
        fix_opt(&mut d.default);
        for c in &mut d.checks {
            fix(&mut c.expr);
        }
    }
    for v in s.views.values_mut() {
        fix(&mut v.definition);
        for i in &mut v.indexes {
            fix_index(i);
        }
        fix_triggers(&mut v.triggers);
    }
    for a in s.attached.values_mut() {
        fix_policies(&mut a.policies);
        fix_triggers(&mut a.triggers);
    }
    for f in s.functions.values_mut() {
        for a in &mut f.args {
            fix_opt(&mut a.default);
        }
    }
}

/// `text` with every `from` (an enum constant `'label'::type`) replaced by `to`, where it stands
/// on its own: not the tail of a longer literal (`'x''label'`) nor the head of a longer type name.
pub(super) fn replace_constant(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let (before, after) = (&rest[..at], &rest[at + from.len()..]);
        let joined_before = before.ends_with('\'');
        let joined_after = after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        out.push_str(before);
        out.push_str(if joined_before || joined_after {
            from
        } else {
            to
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `from` annotated with the renames that undo `to`'s: for the down migration, where the
/// objects `to` renamed must be renamed back rather than dropped and created.
pub(crate) fn reverse_renames(from: &Schema, to: &Schema) -> Schema {
    let mut s = from.clone();
    for (name, e) in &to.enums {
        let old_name = match &e.renamed_from {
            Some(old) if !from.enums.contains_key(name) && from.enums.contains_key(old) => old,
            _ => name,
        };
        let Some(def) = s.enums.get_mut(old_name) else {
            continue;
        };
        if old_name != name {
            def.renamed_from = Some(name.clone());
        }
        for (new, old) in &e.renamed_labels {
            if def.labels.contains(old)
                && !def.labels.contains(new)
                && !def.renamed_labels.iter().any(|(n, _)| n == old)
            {
                def.renamed_labels.push((old.clone(), new.clone()));
            }
        }
    }
    for (name, d) in &to.domains {
        let Some(def) = s.domains.get_mut(name) else {
            continue;
        };
        for c in &d.checks {
            if let Some(old) = &c.renamed_from
                && !def.checks.iter().any(|x| x.name == c.name)
                && !d.checks.iter().any(|x| x.name == *old)
                && let Some(check) = def.checks.iter_mut().find(|x| x.name == *old)
            {
                check.renamed_from = Some(c.name.clone());
            }
        }
    }
    for (name, t) in &to.tables {
        let old_name = match &t.renamed_from {
            Some(old) if !from.tables.contains_key(name) && from.tables.contains_key(old) => old,
            _ => name,
        };
        let Some(def) = s.tables.get_mut(old_name) else {
            continue;
        };
        if old_name != name {
            def.renamed_from = Some(name.clone());
        }
        for c in &t.columns {
            if let Some(old) = &c.renamed_from
                && from
                    .tables
                    .get(old_name)
                    .is_none_or(|f| f.column(c.name.as_str()).is_none())
                && let Some(col) = def.columns.iter_mut().find(|x| x.name == *old)
            {
                col.renamed_from = Some(c.name.clone());
            }
        }
        for i in &t.indexes {
            if let Some(old) = &i.renamed_from
                && let Some(idx) = def.indexes.iter_mut().find(|x| x.name == *old)
                && !t.indexes.iter().any(|x| x.name == *old)
            {
                idx.renamed_from = Some(i.name.clone());
            }
        }
        let taken: Vec<Ident> = constraints(def).map(|c| c.name.clone()).collect();
        let in_to: Vec<Ident> = constraints(t).map(|c| c.name.clone()).collect();
        for c in constraints(t) {
            if let Some(old) = c.renamed_from
                && !taken.contains(c.name)
                && !in_to.contains(old)
                && let Some(r) = constraint_renamed_from(def, c.kind, old)
            {
                *r = Some(c.name.clone());
            }
        }
    }
    s
}

fn rename_sql(kind: &str, old: &QualifiedName, new: &QualifiedName) -> String {
    if old.schema == new.schema {
        format!("ALTER {kind} {old} RENAME TO {};", new.name)
    } else {
        let moved = QualifiedName::new(new.schema.as_str(), old.name.as_str());
        let mut sql = format!("ALTER {kind} {old} SET SCHEMA {};", new.schema);
        if moved != *new {
            sql.push_str(&format!("\nALTER {kind} {moved} RENAME TO {};", new.name));
        }
        sql
    }
}

fn rename_column(s: &mut Schema, table: &QualifiedName, old: &Ident, new: &Ident) {
    let swap = |cols: &mut Vec<Ident>| {
        for c in cols.iter_mut() {
            if c == old {
                *c = new.clone();
            }
        }
    };
    if let Some(t) = s.tables.get_mut(table) {
        for c in &mut t.columns {
            if c.name == *old {
                c.name = new.clone();
            }
        }
        if let Some(pk) = &mut t.primary_key {
            swap(&mut pk.columns);
            swap(&mut pk.include);
        }
        for u in &mut t.uniques {
            swap(&mut u.columns);
            swap(&mut u.include);
        }
        for fk in &mut t.foreign_keys {
            swap(&mut fk.columns);
        }
        for i in &mut t.indexes {
            swap(&mut i.include);
            for k in &mut i.keys {
                if let crate::model::IndexKey::Column(c) = &mut k.key
                    && c == old
                {
                    *c = new.clone();
                }
            }
        }
        for tr in &mut t.triggers {
            swap(&mut tr.events.update_columns);
        }
    }
    for other in s.tables.values_mut() {
        for fk in &mut other.foreign_keys {
            if fk.references == *table {
                swap(&mut fk.referenced_columns);
            }
        }
    }
    for q in s.sequences.values_mut() {
        if let Some((t, c)) = &mut q.owned_by
            && t == table
            && c == old
        {
            *c = new.clone();
        }
    }
}

/// Replaces a type everywhere columns, attributes and domains use it (after an enum rename).
fn retype(s: &mut Schema, old: &PgType, new: &PgType) {
    fn swap(ty: &mut PgType, old: &PgType, new: &PgType) {
        match ty {
            PgType::Array(inner) => swap(inner, old, new),
            t if t == old => *t = new.clone(),
            _ => {}
        }
    }
    let columns = |cols: &mut Vec<Column>| {
        for c in cols {
            swap(&mut c.ty, old, new);
        }
    };
    for t in s.tables.values_mut() {
        columns(&mut t.columns);
    }
    for c in s.composites.values_mut() {
        for a in &mut c.attributes {
            swap(&mut a.ty, old, new);
        }
    }
    for d in s.domains.values_mut() {
        swap(&mut d.base, old, new);
    }
}

pub(crate) fn diff_schemas(b: &mut Builder<'_>) {
    let (from, to) = (b.from, b.to);
    for (name, f, t) in match_by(
        from.schemas.iter().map(|(k, v)| (k.clone(), v)),
        to.schemas.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let public = name.as_str() == "public";
        match (f, t) {
            (Some(_), None) if !public => {
                b.push(
                    CleanupRank::Schemas.order(),
                    format!("schema {name}"),
                    format!("DROP SCHEMA {name};"),
                );
            }
            (None, Some(t)) if !public => {
                b.push(
                    Order::create(Phase::Schemas),
                    format!("schema {name}"),
                    create_schema(t),
                );
            }
            _ => {}
        }
        let empty = Default::default();
        let fg = f.map_or(&empty, |f| &f.grants);
        let tg = t.map_or(&empty, |t| &t.grants);
        if t.is_some() || public {
            diff_grants(
                b,
                &format!("schema {name}"),
                GrantTarget::Schema(&name),
                fg,
                tg,
            );
        }
        if let Some(t) = t {
            comment(
                b,
                CommentTarget::Schema(&name),
                &f.and_then(|f| f.comment.clone()),
                &t.comment,
            );
        }
    }
    for (name, f, t) in match_by(
        from.extensions.iter().map(|(k, v)| (k.clone(), v)),
        to.extensions.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("extension {name}");
        match (f, t) {
            (Some(_), None) => {
                b.push(
                    CleanupRank::Extensions.order(),
                    object,
                    format!("DROP EXTENSION {name};"),
                );
            }
            (None, Some(t)) => {
                b.push(
                    Order::create(Phase::Extensions),
                    object,
                    create_extension(t),
                );
                comment(b, CommentTarget::Extension(&name), &None, &t.comment);
            }
            (Some(f), Some(t)) => {
                if f.schema != t.schema {
                    b.push(
                        Order::create(Phase::Extensions),
                        object.clone(),
                        format!("ALTER EXTENSION {name} SET SCHEMA {};", t.schema),
                    );
                }
                if let Some(v) = &t.version
                    && f.version.as_ref() != Some(v)
                {
                    b.push(
                        Order::create(Phase::Extensions),
                        object,
                        format!("ALTER EXTENSION {name} UPDATE TO {};", quote_literal(v)),
                    );
                }
                comment(b, CommentTarget::Extension(&name), &f.comment, &t.comment);
            }
            (None, None) => {}
        }
    }
    for (name, f, t) in match_by(
        from.collations.iter().map(|(k, v)| (k.clone(), v)),
        to.collations.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("collation {name}");
        let strip = |c: &crate::model::Collation| {
            let mut c = c.clone();
            c.comment = None;
            c
        };
        let same = matches!((f, t), (Some(f), Some(t)) if strip(f) == strip(t));
        if let (Some(_), false) = (f, same) {
            b.push(
                CleanupRank::Collations.order(),
                object.clone(),
                format!("DROP COLLATION {name};"),
            );
        }
        if let Some(t) = t {
            if !same {
                // A changed collation is created under its name after the old one is gone:
                // the cleanup stage comes last, so recreate it in cleanup too.
                let order = if f.is_some() {
                    CleanupRank::Collations.order().with_sub(1)
                } else {
                    Order::create(Phase::Collations)
                };
                b.push(order, object, create_collation(t));
            }
            let before = if same {
                f.and_then(|f| f.comment.clone())
            } else {
                None
            };
            comment(b, CommentTarget::Collation(&name), &before, &t.comment);
        }
    }
}

pub(crate) fn diff_types(b: &mut Builder<'_>, r: &Rebuilds) {
    let (from, to) = (b.from, b.to);
    // Enums.
    for (name, f, t) in match_by(
        from.enums.iter().map(|(k, v)| (k.clone(), v)),
        to.enums.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("enum {name}");
        match (f, t) {
            (Some(_), None) => {
                b.push(
                    CleanupRank::Enums.order(),
                    object,
                    format!("DROP TYPE {name};"),
                );
            }
            (None, Some(t)) => {
                b.push(Order::create(Phase::Enums), object, create_enum(t));
                comment(b, CommentTarget::Type(&name), &None, &t.comment);
            }
            (Some(f), Some(t)) => {
                if r.enums.contains(&name) {
                    rebuild_enum(b, f, t);
                } else if f.labels != t.labels {
                    // Only additions: ADD VALUE, each placed next to a label that exists.
                    let mut present: Vec<String> = f.labels.clone();
                    for (i, label) in t.labels.iter().enumerate() {
                        if present.contains(label) {
                            continue;
                        }
                        let place = match t.labels[..i].iter().rev().find(|l| present.contains(l)) {
                            Some(before) => format!(" AFTER {}", quote_literal(before)),
                            None => match t.labels[i + 1..].iter().find(|l| present.contains(l)) {
                                Some(after) => format!(" BEFORE {}", quote_literal(after)),
                                None => String::new(),
                            },
                        };
                        b.push(
                            Order::create(Phase::Enums).in_segment(Segment::EnumValues),
                            object.clone(),
                            format!(
                                "ALTER TYPE {name} ADD VALUE {}{place};",
                                quote_literal(label)
                            ),
                        );
                        present.push(label.clone());
                    }
                }
                let before = if r.enums.contains(&name) {
                    None
                } else {
                    f.comment.clone()
                };
                comment(b, CommentTarget::Type(&name), &before, &t.comment);
            }
            (None, None) => {}
        }
    }
    // Domains.
    for (name, f, t) in match_by(
        from.domains.iter().map(|(k, v)| (k.clone(), v)),
        to.domains.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("domain {name}");
        match (f, t) {
            (Some(_), None) => {
                b.push(
                    CleanupRank::Domains.order(),
                    object,
                    format!("DROP DOMAIN {name};"),
                );
            }
            (None, Some(t)) => {
                let statements = domain_statements(t, b.to);
                b.push_statements(&object, statements);
            }
            (Some(f), Some(t)) => {
                if f.base != t.base || f.collation != t.collation {
                    // A domain's type cannot change in place.
                    b.push(
                        Order::drop(DropRank::Columns).with_sub(9),
                        object.clone(),
                        format!("DROP DOMAIN {name};"),
                    );
                    let statements = domain_statements(t, b.to);
                    b.push_statements(&object, statements);
                    continue;
                }
                let alter = Order::create(Phase::Domains);
                if f.default != t.default {
                    let sql = match &t.default {
                        Some(d) => format!("ALTER DOMAIN {name} SET DEFAULT {d};"),
                        None => format!("ALTER DOMAIN {name} DROP DEFAULT;"),
                    };
                    b.push(alter, object.clone(), sql);
                }
                if f.not_null != t.not_null {
                    let verb = if t.not_null { "SET" } else { "DROP" };
                    b.push(
                        alter,
                        object.clone(),
                        format!("ALTER DOMAIN {name} {verb} NOT NULL;"),
                    );
                }
                for c in &f.checks {
                    if !t
                        .checks
                        .iter()
                        .any(|x| x.name == c.name && x.expr == c.expr)
                    {
                        b.push(
                            Order::drop(DropRank::Constraints),
                            object.clone(),
                            format!("ALTER DOMAIN {name} DROP CONSTRAINT {};", c.name),
                        );
                    }
                }
                for c in &t.checks {
                    let old = f
                        .checks
                        .iter()
                        .find(|x| x.name == c.name && x.expr == c.expr);
                    match old {
                        None => {
                            b.push(
                                Order::create(Phase::LateChecks),
                                object.clone(),
                                add_domain_check(&name, c),
                            );
                        }
                        Some(o) if o.not_valid && !c.not_valid => {
                            b.push(
                                Order::create(Phase::LateChecks),
                                object.clone(),
                                format!("ALTER DOMAIN {name} VALIDATE CONSTRAINT {};", c.name),
                            );
                        }
                        Some(_) => {}
                    }
                    let before = old.and_then(|o| o.comment.clone());
                    comment(
                        b,
                        CommentTarget::DomainConstraint(&name, &c.name),
                        &before,
                        &c.comment,
                    );
                }
                comment(b, CommentTarget::Domain(&name), &f.comment, &t.comment);
            }
            (None, None) => {}
        }
    }
    // Composite types.
    for (name, f, t) in match_by(
        from.composites.iter().map(|(k, v)| (k.clone(), v)),
        to.composites.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("type {name}");
        match (f, t) {
            (Some(_), None) => {
                b.push(
                    CleanupRank::Composites.order(),
                    object,
                    format!("DROP TYPE {name};"),
                );
            }
            (None, Some(t)) => {
                b.push(
                    Order::create(Phase::CompositeTypes),
                    object,
                    create_composite_type(t),
                );
                comment(b, CommentTarget::Type(&name), &None, &t.comment);
            }
            (Some(f), Some(t)) => {
                alter_composite(b, f, t);
                comment(b, CommentTarget::Type(&name), &f.comment, &t.comment);
            }
            (None, None) => {}
        }
    }
}

fn alter_composite(b: &mut Builder<'_>, f: &CompositeType, t: &CompositeType) {
    let name = &t.name;
    let object = format!("type {name}");
    let mut actions = Vec::new();
    for a in &f.attributes {
        if !t.attributes.iter().any(|x| x.name == a.name) {
            actions.push(format!("DROP ATTRIBUTE {}", a.name));
        }
    }
    for a in &t.attributes {
        match f.attributes.iter().find(|x| x.name == a.name) {
            None => {
                let collate = a
                    .collation
                    .as_ref()
                    .map(|c| format!(" COLLATE {c}"))
                    .unwrap_or_default();
                actions.push(format!("ADD ATTRIBUTE {} {}{collate}", a.name, a.ty));
            }
            Some(x) if x.ty != a.ty || x.collation != a.collation => {
                let collate = a
                    .collation
                    .as_ref()
                    .map(|c| format!(" COLLATE {c}"))
                    .unwrap_or_default();
                actions.push(format!("ALTER ATTRIBUTE {} TYPE {}{collate}", a.name, a.ty));
            }
            Some(_) => {}
        }
    }
    if !actions.is_empty() {
        b.push(
            Order::create(Phase::CompositeTypes),
            object,
            format!("ALTER TYPE {name} {};", actions.join(", ")),
        );
    }
}

/// An enum whose labels are removed or reordered: renamed away, created anew, every column
/// converted through text, the old type dropped.
fn rebuild_enum(b: &mut Builder<'_>, f: &crate::model::EnumType, t: &crate::model::EnumType) {
    let name = &t.name;
    let object = format!("enum {name}");
    let old = QualifiedName::new(
        name.schema.as_str(),
        crate::naming::make_object_name(name.name.as_str(), None, Some("old")),
    );
    b.push(
        Order::create(Phase::Enums),
        object.clone(),
        format!("ALTER TYPE {name} RENAME TO {};", old.name),
    );
    let removed: Vec<&String> = f.labels.iter().filter(|l| !t.labels.contains(l)).collect();
    let step = b.push(
        Order::create(Phase::Enums).with_sub(6),
        object.clone(),
        create_enum(t),
    );
    if !removed.is_empty() {
        let list: Vec<String> = removed.iter().map(|l| quote_literal(l)).collect();
        step.hazard(
            HazardKind::DataLoss(Loss::RemoveEnumLabel),
            format!(
                "removes {} from {name}: the conversion fails on rows that hold them",
                list.join(", ")
            ),
            Some("UPDATE the rows to another label first".to_owned()),
        );
    }
    // The columns' ALTER TYPE comes from the column diff (their enum is marked rebuilt); the
    // old type goes once they are converted.
    b.push(
        Order::create(Phase::Tables).with_sub(9),
        object,
        format!("DROP TYPE {old};"),
    );
}

/// Whether `CREATE OR REPLACE` can turn `from` into `to` (same result type, same argument
/// names and modes, no argument default removed).
pub(crate) fn replaceable(from: &Function, to: &Function) -> bool {
    let names = |f: &Function| -> Vec<(ArgMode, Option<Ident>, PgType)> {
        f.args
            .iter()
            .map(|a| (a.mode, a.name.clone(), a.ty.clone()))
            .collect()
    };
    let defaults_removed = from
        .args
        .iter()
        .zip(&to.args)
        .any(|(a, b)| a.default.is_some() && b.default.is_none());
    from.kind == to.kind
        && from.returns == to.returns
        && names(from) == names(to)
        && !defaults_removed
}

pub(crate) fn diff_routines(b: &mut Builder<'_>, r: &Rebuilds) {
    let (from, to) = (b.from, b.to);
    // Creation order: routines whose SQL-standard bodies call others after those.
    // Drops in the reverse order, so a routine goes before the routines its body calls.
    let order = crate::render::routine_order(&to.functions);
    let from_order = crate::render::routine_order(&from.functions);
    let rank = |id: &crate::model::FunctionId, dropped: bool| match dropped {
        true => from_order.len() - from_order.iter().position(|o| o == id).unwrap_or(0),
        false => order.iter().position(|o| o == id).unwrap_or(0),
    };
    let mut pairs = match_by(
        from.functions.iter().map(|(k, v)| (k.clone(), v)),
        to.functions.iter().map(|(k, v)| (k.clone(), v)),
    );
    pairs.sort_by_key(|(id, _, t)| rank(id, t.is_none()));
    for (id, f, t) in pairs {
        let kind = |f: &Function| {
            if f.kind == FunctionKind::Procedure {
                "PROCEDURE"
            } else {
                "FUNCTION"
            }
        };
        let Some(any) = t.or(f) else { continue };
        let object = format!("{} {id}", kind(any).to_ascii_lowercase());
        match (f, t) {
            (Some(f), None) => {
                b.push(
                    CleanupRank::Routines.order(),
                    object,
                    format!("DROP {} {id};", kind(f)),
                );
            }
            (None, Some(t)) => {
                b.push_statements(&object, routine_statements(t, to));
            }
            (Some(f), Some(t)) => {
                let rebuilt = r.routines.contains(&id.name) && !replaceable(f, t);
                if rebuilt {
                    b.push(
                        Order::drop(DropRank::Routines),
                        object.clone(),
                        format!("DROP {} {id};", kind(f)),
                    );
                    b.push_statements(&object, routine_statements(t, to));
                    continue;
                }
                let strip = |x: &Function| {
                    let mut x = x.clone();
                    x.grants.clear();
                    x.public_execute = true;
                    x.comment = None;
                    x
                };
                if strip(f) != strip(t) {
                    let sql = crate::render::create_function(t).replacen(
                        "CREATE ",
                        "CREATE OR REPLACE ",
                        1,
                    );
                    b.push(Order::create(routine_phase(t, to)), object.clone(), sql);
                }
                if f.public_execute != t.public_execute {
                    b.push(
                        Order::create(Phase::Grants),
                        object.clone(),
                        public_execute(&id, t.kind, t.public_execute),
                    )
                    .authorization();
                }
                diff_grants(
                    b,
                    &object,
                    GrantTarget::Routine(&id, t.kind),
                    &f.grants,
                    &t.grants,
                );
                comment(
                    b,
                    CommentTarget::Routine(&id, t.kind),
                    &f.comment,
                    &t.comment,
                );
            }
            (None, None) => {}
        }
    }
}

pub(crate) fn diff_sequences(b: &mut Builder<'_>, r: &Rebuilds) {
    let (from, to) = (b.from, b.to);
    for (name, f, t) in match_by(
        from.sequences.iter().map(|(k, v)| (k.clone(), v)),
        to.sequences.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("sequence {name}");
        match (f, t) {
            (Some(f), None) => {
                // An owned sequence goes with its column or table.
                let owner_gone = f.owned_by.as_ref().is_some_and(|(table, column)| {
                    to.tables
                        .get(table)
                        .is_none_or(|t| t.column(column.as_str()).is_none())
                });
                if !owner_gone {
                    b.push(
                        CleanupRank::Sequences.order(),
                        object,
                        format!("DROP SEQUENCE {name};"),
                    )
                    .hazard(
                        HazardKind::DataLoss(Loss::DropOther),
                        format!("drops {name} and its position"),
                        None,
                    );
                }
            }
            (None, Some(t)) => {
                b.push_statements(&object, sequence_statements(t));
            }
            (Some(f), Some(t)) => {
                let mut parts = Vec::new();
                if f.data_type != t.data_type {
                    parts.push(format!("AS {}", t.data_type));
                }
                parts.extend(super::sequence_changes(
                    &super::SeqOptions::of_sequence(f),
                    &super::SeqOptions::of_sequence(t),
                ));
                if !parts.is_empty() {
                    b.push(
                        Order::create(Phase::Sequences),
                        object.clone(),
                        format!("ALTER SEQUENCE {name} {};", parts.join(" ")),
                    );
                }
                // A sequence whose owner goes (a dropped or recreated table or column) would
                // go with it: it is released first, and owned again once the owner exists.
                let owner_recreated = f.owned_by.as_ref().is_some_and(|(table, column)| {
                    r.recreated.contains(table)
                        || to
                            .tables
                            .get(table)
                            .is_none_or(|t| t.column(column.as_str()).is_none())
                        || r.changed_columns
                            .get(table)
                            .is_some_and(|cols| cols.contains(column))
                });
                if f.owned_by.is_some() && (f.owned_by != t.owned_by || owner_recreated) {
                    b.push(
                        Order::drop(DropRank::Buckets),
                        object.clone(),
                        crate::render::alter_sequence_owned_by(&name, None),
                    );
                }
                if t.owned_by.is_some() && (f.owned_by != t.owned_by || owner_recreated) {
                    b.push(
                        Order::create(Phase::SequenceOwnership),
                        object.clone(),
                        crate::render::alter_sequence_owned_by(&name, t.owned_by.as_ref()),
                    );
                }
                diff_grants(
                    b,
                    &object,
                    GrantTarget::Sequence(&name),
                    &f.grants,
                    &t.grants,
                );
                comment(b, CommentTarget::Sequence(&name), &f.comment, &t.comment);
            }
            (None, None) => {}
        }
    }
}

pub(crate) fn diff_views(b: &mut Builder<'_>, r: &Rebuilds) {
    let (from, to) = (b.from, b.to);
    // Drops: dependents first.
    let mut order = view_order(&from.views);
    order.reverse();
    for name in &order {
        let Some(v) = from.views.get(name) else {
            continue;
        };
        if r.views.contains(name) || !to.views.contains_key(name) {
            let kind = if v.materialized {
                "MATERIALIZED VIEW"
            } else {
                "VIEW"
            };
            let step = b.push(
                Order::drop(DropRank::Views),
                format!("view {name}"),
                format!("DROP {kind} {name};"),
            );
            if v.materialized && !to.views.contains_key(name) {
                step.hazard(
                    HazardKind::DataLoss(Loss::DropOther),
                    format!("drops the contents of {name}"),
                    None,
                );
            }
        }
    }
    // Creates: dependencies first.
    for name in view_order(&to.views) {
        let Some(v) = to.views.get(&name) else {
            continue;
        };
        let object = format!("view {name}");
        match from.views.get(&name) {
            Some(f) if !r.views.contains(&name) => {
                for i in &f.indexes {
                    if !v
                        .indexes
                        .iter()
                        .any(|x| x.name == i.name && strip_index(x) == strip_index(i))
                    {
                        b.push(
                            Order::drop(DropRank::ViewIndexes),
                            format!("index {} on {name}", i.name),
                            format!("DROP INDEX {}.{};", name.schema, i.name),
                        );
                    }
                }
                for i in &v.indexes {
                    if !f
                        .indexes
                        .iter()
                        .any(|x| x.name == i.name && strip_index(x) == strip_index(i))
                    {
                        create_index_step(b, &name, i, true);
                    }
                    let before = f
                        .indexes
                        .iter()
                        .find(|x| x.name == i.name && strip_index(x) == strip_index(i))
                        .and_then(|x| x.comment.clone());
                    comment(b, CommentTarget::Index(&name, &i.name), &before, &i.comment);
                }
                for tr in &f.triggers {
                    if !v.triggers.contains(tr) {
                        b.push(
                            Order::drop(DropRank::Triggers),
                            format!("trigger {} on {name}", tr.name),
                            format!("DROP TRIGGER {} ON {name};", tr.name),
                        );
                    }
                }
                for tr in &v.triggers {
                    if !f.triggers.contains(tr) {
                        b.push(
                            Order::create(Phase::ViewTriggers),
                            format!("trigger {} on {name}", tr.name),
                            crate::render::create_trigger(&name, tr),
                        );
                        comment(
                            b,
                            CommentTarget::Trigger(&name, &tr.name),
                            &None,
                            &tr.comment,
                        );
                    }
                }
                diff_grants(b, &object, GrantTarget::Table(&name), &f.grants, &v.grants);
                comment(
                    b,
                    CommentTarget::View(&name, v.materialized),
                    &f.comment,
                    &v.comment,
                );
                for (column, text) in &v.column_comments {
                    let before = f
                        .column_comments
                        .iter()
                        .find(|(c, _)| c == column)
                        .map(|(_, t)| t.clone());
                    comment(
                        b,
                        CommentTarget::Column(&name, column),
                        &before,
                        &Some(text.clone()),
                    );
                }
                for (column, _) in &f.column_comments {
                    if !v.column_comments.iter().any(|(c, _)| c == column) {
                        comment(
                            b,
                            CommentTarget::Column(&name, column),
                            &Some(String::new()),
                            &None,
                        );
                    }
                }
            }
            _ => {
                let statements = view_statements(v);
                let view_sql = create_view(v);
                for st in statements {
                    if st.sql == view_sql {
                        b.push(Order::create(Phase::Views), object.clone(), st.sql);
                    } else if st.phase == Phase::ViewIndexes {
                        // Materialized view indexes, built on a new view: no online form needed.
                        b.push(Order::create(Phase::ViewIndexes), object.clone(), st.sql);
                    } else {
                        b.push_statements(&object, vec![st]);
                    }
                }
            }
        }
    }
}

fn strip_index(i: &crate::model::Index) -> crate::model::Index {
    let mut i = i.clone();
    i.comment = None;
    i.renamed_from = None;
    i
}

pub(crate) fn diff_default_privileges(b: &mut Builder<'_>) {
    let from: std::collections::BTreeSet<_> = b.from.default_privileges.iter().cloned().collect();
    let to: std::collections::BTreeSet<_> = b.to.default_privileges.iter().cloned().collect();
    let (revoke, grant) = set_changes(&from, &to);
    for d in &revoke {
        b.push(
            Order::create(Phase::DefaultPrivileges).with_sub(1),
            "default privileges",
            default_privilege_revoke(d),
        )
        .authorization();
    }
    let grant: Vec<_> = grant.into_iter().collect();
    for sql in default_privileges_grant(&grant) {
        b.push(
            Order::create(Phase::DefaultPrivileges).with_sub(2),
            "default privileges",
            sql,
        )
        .authorization();
    }
}

pub(crate) fn diff_buckets(b: &mut Builder<'_>) {
    let (from, to) = (&b.from.buckets, &b.to.buckets);
    for (id, f, t) in match_by(
        from.iter().map(|(k, v)| (k.clone(), v)),
        to.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let object = format!("bucket {id}");
        match (f, t) {
            (Some(_), None) => {
                b.push(
                    Order::drop(DropRank::Buckets),
                    object,
                    format!(
                        "DELETE FROM storage.buckets WHERE id = {};",
                        quote_literal(&id)
                    ),
                )
                .hazard(
                    HazardKind::DataLoss(Loss::DropOther),
                    format!("removes bucket {id} (fails while it holds objects)"),
                    None,
                );
            }
            (None, Some(t)) => {
                b.push(Order::create(Phase::Buckets), object, insert_bucket(t));
            }
            (Some(f), Some(t)) if f != t => {
                b.push(
                    Order::create(Phase::Buckets),
                    object,
                    crate::render::update_bucket(t),
                )
                .authorization();
            }
            _ => {}
        }
    }
}
