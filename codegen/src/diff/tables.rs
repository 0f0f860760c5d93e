//! Tables: columns, constraints, indexes, triggers, policies, grants and comments, and what
//! must be rebuilt around a change.

use super::{Builder, DropRank, HazardKind, Loss, Order, Segment, match_by, set_changes};
use crate::model::{
    CheckConstraint, Column, Ident, Index, PgType, Policy, QualifiedName, ReplicaIdentity, Table,
    Trigger, TriggerFiring,
};
use crate::render::{
    CommentTarget, GrantTarget, Phase, add_check, add_foreign_key, alter_force_row_security,
    alter_replica_identity, alter_row_security, alter_trigger_firing, check_clause,
    column_definition, comment_on, create_index, create_policy, create_trigger, grant_statements,
    identity_clause, mentions, primary_key_clause, reloption, revoke_statements, role_name,
    table_order, table_statements, unique_clause,
};
use std::collections::{BTreeMap, BTreeSet};

/// What must be rebuilt (dropped and created again) because of other changes.
#[derive(Debug, Default)]
pub(crate) struct Rebuilds {
    /// Tables whose columns change shape (dropped, retyped, regenerated), or that are dropped
    /// or recreated: views reading them are rebuilt.
    pub reshaped: BTreeSet<QualifiedName>,
    /// Tables dropped and created again (or only dropped): foreign keys to them are rebuilt.
    pub recreated: BTreeSet<QualifiedName>,
    /// Columns dropped, retyped or regenerated, per table: policies and triggers that mention
    /// them are rebuilt (PostgreSQL refuses to change a column a policy or trigger uses).
    pub changed_columns: BTreeMap<QualifiedName, BTreeSet<Ident>>,
    /// Enums whose labels are removed or reordered.
    pub enums: BTreeSet<QualifiedName>,
    /// Routines that cannot be replaced in place, by name.
    pub routines: BTreeSet<QualifiedName>,
    /// Views dropped and created again (and views only dropped).
    pub views: BTreeSet<QualifiedName>,
    /// Unique keys `(table, sorted columns)` that are dropped or rebuilt: foreign keys on them
    /// are rebuilt too.
    pub keys: BTreeSet<(QualifiedName, Vec<Ident>)>,
    /// Unique keys `(table, sorted columns)` that the plan builds concurrently (online): a
    /// foreign key to one is added after it exists, in the validate step.
    pub late_keys: BTreeSet<(QualifiedName, Vec<Ident>)>,
}

fn key_of(table: &QualifiedName, columns: &[Ident]) -> (QualifiedName, Vec<Ident>) {
    let mut c = columns.to_vec();
    c.sort();
    (table.clone(), c)
}

/// The key columns of an index, when all are plain columns.
fn index_columns(i: &Index) -> Option<Vec<Ident>> {
    i.keys
        .iter()
        .map(|k| match &k.key {
            crate::model::IndexKey::Column(c) => Some(c.clone()),
            crate::model::IndexKey::Expr(_) => None,
        })
        .collect()
}

impl Rebuilds {
    pub fn compute(b: &Builder<'_>) -> Rebuilds {
        let mut r = Rebuilds::default();
        for (name, e) in &b.from.enums {
            if let Some(t) = b.to.enums.get(name)
                && t.labels != e.labels
                && !is_subsequence(&e.labels, &t.labels)
            {
                r.enums.insert(name.clone());
            }
        }
        for (id, f) in &b.from.functions {
            if let Some(t) = b.to.functions.get(id)
                && !super::objects::replaceable(f, t)
            {
                r.routines.insert(id.name.clone());
            }
        }
        for (name, from) in &b.from.tables {
            let Some(to) = b.to.tables.get(name) else {
                r.reshaped.insert(name.clone());
                r.recreated.insert(name.clone());
                continue;
            };
            if table_rebuilt(from, to) {
                r.reshaped.insert(name.clone());
                r.recreated.insert(name.clone());
                continue;
            }
            for c in &from.columns {
                let uses_rebuilt_enum = c.ty.element().named().is_some_and(|n| r.enums.contains(n));
                let changed = match to.column(c.name.as_str()) {
                    None => true,
                    Some(t) => {
                        t.ty != c.ty
                            || t.collation != c.collation
                            || t.generated != c.generated
                            || uses_rebuilt_enum
                    }
                };
                if changed {
                    r.reshaped.insert(name.clone());
                    r.changed_columns
                        .entry(name.clone())
                        .or_default()
                        .insert(c.name.clone());
                }
            }
        }
        // Partitions and inheritance children of a recreated table are recreated with it
        // (DROP TABLE takes partitions along).
        loop {
            let more: Vec<QualifiedName> = b
                .from
                .tables
                .iter()
                .filter(|(n, t)| {
                    !r.recreated.contains(*n)
                        && b.to.tables.contains_key(*n)
                        && (t
                            .partition_of
                            .as_ref()
                            .is_some_and(|p| r.recreated.contains(&p.parent))
                            || t.inherits.iter().any(|p| r.recreated.contains(p)))
                })
                .map(|(n, _)| n.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            for n in more {
                r.reshaped.insert(n.clone());
                r.recreated.insert(n);
            }
        }
        for (name, from) in &b.from.tables {
            let to = b.to.tables.get(name);
            let reshaped = r.recreated.contains(name);
            if let Some(pk) = &from.primary_key
                && (reshaped
                    || strip_pk(&to.and_then(|t| t.primary_key.clone()))
                        != strip_pk(&Some(pk.clone())))
            {
                r.keys.insert(key_of(name, &pk.columns));
            }
            for u in &from.uniques {
                if reshaped || !to.is_some_and(|t| t.uniques.iter().any(|x| same_unique(x, u))) {
                    r.keys.insert(key_of(name, &u.columns));
                }
            }
            for i in from.indexes.iter().filter(|i| i.unique) {
                if (reshaped || !to.is_some_and(|t| t.indexes.iter().any(|x| same_index(x, i))))
                    && let Some(cols) = index_columns(i)
                {
                    r.keys.insert(key_of(name, &cols));
                }
            }
        }
        if b.options.online {
            for (name, to) in &b.to.tables {
                let Some(from) = b.from.tables.get(name) else {
                    continue;
                };
                if table_rebuilt(from, to) || to.partitioned_by.is_some() {
                    continue;
                }
                if let Some(pk) = &to.primary_key
                    && strip_pk(&from.primary_key) != strip_pk(&Some(pk.clone()))
                {
                    r.late_keys.insert(key_of(name, &pk.columns));
                }
                for u in &to.uniques {
                    if !from.uniques.iter().any(|f| same_unique(f, u)) {
                        r.late_keys.insert(key_of(name, &u.columns));
                    }
                }
                for i in to.indexes.iter().filter(|i| i.unique) {
                    if !from.indexes.iter().any(|f| same_index(f, i))
                        && let Some(cols) = index_columns(i)
                    {
                        r.late_keys.insert(key_of(name, &cols));
                    }
                }
            }
        }
        // Views: changed, gone, or reading something that changes shape; then whatever reads
        // a rebuilt view, until nothing changes.
        for (name, v) in &b.from.views {
            let reads_changed = |text: &str| {
                r.reshaped.iter().any(|t| mentions(text, &t.to_string()))
                    || r.routines
                        .iter()
                        .any(|f| text.contains(&format!("{}(", f.name)))
                    || r.enums.iter().any(|e| mentions(text, &e.to_string()))
            };
            let changed = match b.to.views.get(name) {
                None => true,
                Some(t) => {
                    t.definition != v.definition
                        || t.options != v.options
                        || t.materialized != v.materialized
                }
            };
            if changed || reads_changed(v.definition.as_str()) {
                r.views.insert(name.clone());
            }
        }
        loop {
            let more: Vec<QualifiedName> = b
                .from
                .views
                .iter()
                .filter(|(n, v)| {
                    !r.views.contains(*n)
                        && r.views
                            .iter()
                            .any(|other| mentions(v.definition.as_str(), &other.to_string()))
                })
                .map(|(n, _)| n.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            r.views.extend(more);
        }
        r
    }

    /// Whether a trigger must be dropped and created again although it did not change.
    fn trigger_rebuilt(&self, table: &QualifiedName, t: &Trigger) -> bool {
        self.routines.contains(&t.function)
            || t.events
                .update_columns
                .iter()
                .any(|c| self.column_changed(table, c.as_str()))
            || t.when
                .as_ref()
                .is_some_and(|w| self.mentions_changed_column(table, w.as_str()))
    }

    fn column_changed(&self, table: &QualifiedName, column: &str) -> bool {
        self.changed_columns
            .get(table)
            .is_some_and(|cols| cols.iter().any(|c| c.as_str() == column))
    }

    /// Whether `text` (an expression on `table`) mentions a column of it that changes.
    pub fn mentions_changed_column(&self, table: &QualifiedName, text: &str) -> bool {
        self.changed_columns
            .get(table)
            .is_some_and(|cols| cols.iter().any(|c| mentions(text, &c.to_string())))
    }

    /// Whether a policy must be dropped and created again although it did not change.
    fn policy_rebuilt(&self, table: &QualifiedName, p: &Policy) -> bool {
        [&p.using, &p.with_check]
            .into_iter()
            .flatten()
            .any(|e| self.mentions_changed_column(table, e.as_str()))
    }
}

/// `a` is `b` with some items left out, in the same order.
pub(crate) fn is_subsequence(a: &[String], b: &[String]) -> bool {
    let mut it = b.iter();
    a.iter().all(|x| it.any(|y| y == x))
}

/// Changes PostgreSQL cannot make to a table in place: the table is dropped and created again.
fn table_rebuilt(from: &Table, to: &Table) -> bool {
    from.partitioned_by != to.partitioned_by
        || from.partition_of.as_ref().map(|p| &p.parent)
            != to.partition_of.as_ref().map(|p| &p.parent)
        || (from.partition_of.is_some() && from.partition_of != to.partition_of)
}

pub(crate) fn diff_tables(b: &mut Builder<'_>, r: &Rebuilds) {
    let (from, to) = (b.from, b.to);
    // Dropped (and rebuilt) tables: their foreign keys first, so drop order never matters;
    // children before parents.
    let mut order = table_order(&from.tables);
    order.reverse();
    for name in &order {
        let Some(t) = from.tables.get(name) else {
            continue;
        };
        let rebuilt = to.tables.contains_key(name) && r.recreated.contains(name);
        if to.tables.contains_key(name) && !rebuilt {
            continue;
        }
        for fk in &t.foreign_keys {
            b.push(
                Order::drop(DropRank::ForeignKeys),
                format!("foreign key {} on {name}", fk.name),
                format!("ALTER TABLE {name} DROP CONSTRAINT {};", fk.name),
            );
        }
        let obj = format!("table {name}");
        let sql = format!("DROP TABLE {name};");
        b.push(Order::drop(DropRank::Tables), obj, sql).hazard(
            HazardKind::DataLoss(Loss::DropTable),
            if rebuilt {
                format!("{name} is recreated empty: PostgreSQL cannot change how it is partitioned in place")
            } else {
                format!("drops {name} and every row in it")
            },
            None,
        );
    }
    // New (and rebuilt) tables, parents first.
    for name in table_order(&to.tables) {
        let Some(t) = to.tables.get(&name) else {
            continue;
        };
        let rebuilt = from.tables.contains_key(&name) && r.recreated.contains(&name);
        if from.tables.contains_key(&name) && !rebuilt {
            continue;
        }
        // A foreign key to a key the plan builds concurrently waits for it (validate step).
        let late: Vec<String> = t
            .foreign_keys
            .iter()
            .filter(|fk| {
                r.late_keys
                    .contains(&key_of(&fk.references, &fk.referenced_columns))
            })
            .map(|fk| add_foreign_key(&name, fk))
            .collect();
        let mut statements = table_statements(t, to);
        statements.retain(|st| !late.contains(&st.sql));
        b.push_statements(&format!("table {name}"), statements);
        for sql in late {
            b.push(
                Order::create(Phase::ForeignKeys).in_segment(Segment::Validate),
                format!("table {name}"),
                sql,
            );
        }
    }
    for (name, t) in &to.tables {
        if let Some(f) = from.tables.get(name)
            && !r.recreated.contains(name)
        {
            diff_table(b, r, f, t);
        }
    }
}

/// Policies and triggers the application attaches to tables it does not own.
pub(crate) fn diff_attached(b: &mut Builder<'_>) {
    let (from, to) = (&b.from.attached, &b.to.attached);
    let empty = crate::model::Attachments::default();
    for (name, f, t) in match_by(
        from.iter().map(|(k, v)| (k.clone(), v)),
        to.iter().map(|(k, v)| (k.clone(), v)),
    ) {
        let f = f.unwrap_or(&empty);
        let t = t.unwrap_or(&empty);
        diff_triggers(
            b,
            &Rebuilds::default(),
            &name,
            &f.triggers,
            &t.triggers,
            Phase::Triggers,
        );
        diff_policies(b, &Rebuilds::default(), &name, &f.policies, &t.policies);
    }
}

fn diff_table(b: &mut Builder<'_>, r: &Rebuilds, from: &Table, to: &Table) {
    let name = &to.name;
    let existing = b.is_existing(name);

    // Constraints and indexes that go or change: dropped before columns change.
    let drop_constraint = |b: &mut Builder<'_>, rank: DropRank, what: &str, c: &Ident| {
        b.push(
            Order::drop(rank),
            format!("{what} {c} on {name}"),
            format!("ALTER TABLE {name} DROP CONSTRAINT {c};"),
        );
    };
    for fk in &from.foreign_keys {
        let kept = to.foreign_keys.iter().any(|t| same_fk(t, fk))
            && !r
                .keys
                .contains(&key_of(&fk.references, &fk.referenced_columns))
            && !r.recreated.contains(&fk.references);
        let validated_only = to.foreign_keys.iter().any(|t| {
            t.name == fk.name && fk.not_valid && !t.not_valid && {
                let mut x = t.clone();
                x.not_valid = true;
                &x == fk
            }
        });
        if !kept && !validated_only {
            drop_constraint(b, DropRank::ForeignKeys, "foreign key", &fk.name);
        }
    }
    let pk_changed = strip_pk(&from.primary_key) != strip_pk(&to.primary_key);
    if pk_changed && let Some(pk) = &from.primary_key {
        drop_constraint(b, DropRank::Constraints, "primary key", &pk.name);
    }
    for u in &from.uniques {
        if !to.uniques.iter().any(|t| same_unique(t, u)) {
            drop_constraint(b, DropRank::Constraints, "unique constraint", &u.name);
        }
    }
    for c in &from.checks {
        if !check_kept(c, to) {
            drop_constraint(b, DropRank::Constraints, "check", &c.name);
        }
    }
    for x in &from.exclusions {
        if !to.exclusions.iter().any(|t| same_exclusion(t, x)) {
            drop_constraint(b, DropRank::Constraints, "exclusion constraint", &x.name);
        }
    }
    for i in &from.indexes {
        if !to.indexes.iter().any(|t| same_index(t, i)) {
            b.push(
                Order::drop(DropRank::Indexes),
                format!("index {} on {name}", i.name),
                format!("DROP INDEX {}.{};", name.schema, i.name),
            )
            .hazard(
                HazardKind::Lock,
                "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table while it runs",
                Some(format!(
                    "DROP INDEX CONCURRENTLY {}.{} (outside a transaction)",
                    name.schema, i.name
                )),
            );
        }
    }

    diff_columns(b, r, from, to);

    // Table-level attributes.
    if from.unlogged != to.unlogged {
        let what = if to.unlogged { "UNLOGGED" } else { "LOGGED" };
        b.push(
            Order::create(Phase::Tables).with_sub(7),
            format!("table {name}"),
            format!("ALTER TABLE {name} SET {what};"),
        )
        .hazard(
            HazardKind::TableRewrite,
            format!("SET {what} rewrites {name}"),
            None,
        );
    }
    if from.options != to.options {
        let reset: Vec<String> = from
            .options
            .iter()
            .filter_map(|o| o.split_once('=').map(|(k, _)| k.to_owned()))
            .filter(|k| {
                !to.options
                    .iter()
                    .any(|o| o.split_once('=').map(|(t, _)| t) == Some(k))
            })
            .collect();
        if !reset.is_empty() {
            b.push(
                Order::create(Phase::Tables).with_sub(7),
                format!("table {name}"),
                format!("ALTER TABLE {name} RESET ({});", reset.join(", ")),
            );
        }
        let set: Vec<String> = to
            .options
            .iter()
            .filter(|o| !from.options.contains(o))
            .map(|o| reloption(o))
            .collect();
        if !set.is_empty() {
            b.push(
                Order::create(Phase::Tables).with_sub(7),
                format!("table {name}"),
                format!("ALTER TABLE {name} SET ({});", set.join(", ")),
            );
        }
    }
    for p in &from.inherits {
        if !to.inherits.contains(p) {
            b.push(
                Order::create(Phase::Tables).with_sub(8),
                format!("table {name}"),
                format!("ALTER TABLE {name} NO INHERIT {p};"),
            );
        }
    }
    for p in &to.inherits {
        if !from.inherits.contains(p) {
            b.push(
                Order::create(Phase::Tables).with_sub(8),
                format!("table {name}"),
                format!("ALTER TABLE {name} INHERIT {p};"),
            );
        }
    }

    // Constraints and indexes that are new or changed.
    if pk_changed && let Some(pk) = &to.primary_key {
        add_unique_key(
            b,
            name,
            existing,
            &pk.name,
            primary_key_clause(pk),
            &pk.columns,
            &pk.include,
            "PRIMARY KEY",
            pk.deferrable,
            false,
        );
    }
    for u in &to.uniques {
        if !from.uniques.iter().any(|f| same_unique(f, u)) {
            add_unique_key(
                b,
                name,
                existing,
                &u.name,
                unique_clause(u),
                &u.columns,
                &u.include,
                "UNIQUE",
                u.deferrable,
                u.nulls_not_distinct,
            );
        }
    }
    for c in &to.checks {
        let old = from
            .checks
            .iter()
            .find(|f| same_check(f, c) && check_kept(f, to));
        let validate_only = match old {
            Some(f) if f.not_valid == c.not_valid => continue,
            Some(_) => true,
            None => false,
        };
        if validate_only {
            b.push(
                Order::create(Phase::Tables).in_segment(Segment::Validate),
                format!("check {} on {name}", c.name),
                format!("ALTER TABLE {name} VALIDATE CONSTRAINT {};", c.name),
            )
            .hazard(
                HazardKind::Validation,
                format!("scans {name} to check existing rows"),
                None,
            );
            continue;
        }
        let late = crate::render::calls_routine(&c.expr.0, b.to);
        let phase = if late {
            Phase::LateChecks
        } else {
            Phase::NotValidChecks
        };
        if existing && b.options.online && !c.not_valid {
            let mut nv = c.clone();
            nv.not_valid = true;
            b.push(
                Order::create(phase),
                format!("check {} on {name}", c.name),
                add_check(name, &nv),
            );
            b.push(
                Order::create(phase).in_segment(Segment::Validate),
                format!("check {} on {name}", c.name),
                format!("ALTER TABLE {name} VALIDATE CONSTRAINT {};", c.name),
            )
            .hazard(
                HazardKind::Validation,
                format!("scans {name} to check existing rows (under a lock that lets reads and writes go on)"),
                None,
            );
        } else {
            let step = b.push(
                Order::create(phase),
                format!("check {} on {name}", c.name),
                add_check(name, c),
            );
            if existing && !c.not_valid {
                step.hazard(
                    HazardKind::Validation,
                    format!("scans {name} under an ACCESS EXCLUSIVE lock to check existing rows"),
                    Some(format!(
                        "ADD {} NOT VALID, then VALIDATE CONSTRAINT in another transaction",
                        check_clause(c)
                    )),
                );
            }
        }
    }
    for x in &to.exclusions {
        if !from.exclusions.iter().any(|f| same_exclusion(f, x)) {
            let step = b.push(
                Order::create(Phase::Indexes),
                format!("exclusion constraint {} on {name}", x.name),
                format!(
                    "ALTER TABLE {name} ADD {};",
                    crate::render::exclusion_clause(x)
                ),
            );
            if existing {
                step.hazard(
                    HazardKind::IndexBuild,
                    format!("builds an index on {name} under an ACCESS EXCLUSIVE lock"),
                    None,
                );
            }
        }
    }
    for i in &to.indexes {
        if from.indexes.iter().any(|f| same_index(f, i)) {
            continue;
        }
        create_index_step(b, name, i, existing && to.partitioned_by.is_none());
    }
    for fk in &to.foreign_keys {
        let kept = from.foreign_keys.iter().any(|f| same_fk(f, fk))
            && !r
                .keys
                .contains(&key_of(&fk.references, &fk.referenced_columns))
            && !r.recreated.contains(&fk.references);
        if kept {
            continue;
        }
        let validate_only = !fk.not_valid
            && from.foreign_keys.iter().any(|f| {
                f.name == fk.name && f.not_valid && {
                    let mut x = fk.clone();
                    x.not_valid = true;
                    &x == f
                }
            });
        let object = format!("foreign key {} on {name}", fk.name);
        if validate_only {
            b.push(
                Order::create(Phase::ForeignKeys).in_segment(Segment::Validate),
                object,
                format!("ALTER TABLE {name} VALIDATE CONSTRAINT {};", fk.name),
            )
            .hazard(
                HazardKind::Validation,
                format!("scans {name} to check existing rows"),
                None,
            );
            continue;
        }
        let late_key = r
            .late_keys
            .contains(&key_of(&fk.references, &fk.referenced_columns));
        if late_key {
            // The key it references is built concurrently: add it once the key exists.
            b.push(
                Order::create(Phase::ForeignKeys).in_segment(Segment::Validate),
                object,
                add_foreign_key(name, fk),
            )
            .hazard(
                HazardKind::Validation,
                format!("scans {name} to check existing rows while blocking writes to it"),
                None,
            );
            continue;
        }
        let online = existing
            && b.options.online
            && !fk.not_valid
            && b.is_existing(&fk.references)
            && to.partitioned_by.is_none()
            && to.partition_of.is_none();
        if online {
            let mut nv = fk.clone();
            nv.not_valid = true;
            b.push(
                Order::create(Phase::ForeignKeys),
                object.clone(),
                add_foreign_key(name, &nv),
            );
            b.push(
                Order::create(Phase::ForeignKeys).in_segment(Segment::Validate),
                object,
                format!("ALTER TABLE {name} VALIDATE CONSTRAINT {};", fk.name),
            )
            .hazard(
                HazardKind::Validation,
                format!("scans {name} to check existing rows (reads and writes go on meanwhile)"),
                None,
            );
        } else {
            let step = b.push(
                Order::create(Phase::ForeignKeys),
                object,
                add_foreign_key(name, fk),
            );
            if existing && !fk.not_valid {
                step.hazard(
                    HazardKind::Validation,
                    format!(
                        "scans {name} to check existing rows while blocking writes to it and to {}",
                        fk.references
                    ),
                    Some(
                        "ADD … NOT VALID, then VALIDATE CONSTRAINT in another transaction"
                            .to_owned(),
                    ),
                );
            }
        }
    }
    if from.replica_identity != to.replica_identity {
        let order = match (&to.replica_identity, existing && b.options.online) {
            (ReplicaIdentity::Index(_), true) => {
                Order::create(Phase::ReplicaIdentity).in_segment(Segment::Validate)
            }
            _ => Order::create(Phase::ReplicaIdentity),
        };
        b.push(
            order,
            format!("table {name}"),
            alter_replica_identity(name, &to.replica_identity),
        );
    }

    diff_triggers(b, r, name, &from.triggers, &to.triggers, Phase::Triggers);
    if from.row_security.enabled != to.row_security.enabled {
        b.push(
            Order::create(Phase::RowSecurity),
            format!("table {name}"),
            alter_row_security(name, to.row_security.enabled),
        )
        .authorization();
    }
    if from.row_security.forced != to.row_security.forced {
        b.push(
            Order::create(Phase::RowSecurity),
            format!("table {name}"),
            alter_force_row_security(name, to.row_security.forced),
        )
        .authorization();
    }
    diff_policies(b, r, name, &from.policies, &to.policies);
    diff_grants(
        b,
        &format!("table {name}"),
        GrantTarget::Table(name),
        &from.grants,
        &to.grants,
    );
    for c in &to.columns {
        let empty = BTreeSet::new();
        let before = from
            .column(c.name.as_str())
            .filter(|f| !column_recreated(f, c))
            .map_or(&empty, |f| &f.grants);
        diff_grants(
            b,
            &format!("column {name}.{}", c.name),
            GrantTarget::Column(name, &c.name),
            before,
            &c.grants,
        );
    }

    // Comments.
    comment(b, CommentTarget::Table(name), &from.comment, &to.comment);
    for c in &to.columns {
        let before = from
            .column(c.name.as_str())
            .filter(|f| !column_recreated(f, c))
            .and_then(|f| f.comment.clone());
        comment(b, CommentTarget::Column(name, &c.name), &before, &c.comment);
    }
    let constraint_comments = |t: &Table| -> Vec<(Ident, Option<String>, String)> {
        let mut v: Vec<(Ident, Option<String>, String)> = Vec::new();
        if let Some(pk) = &t.primary_key {
            v.push((pk.name.clone(), pk.comment.clone(), format!("{pk:?}")));
        }
        v.extend(
            t.uniques
                .iter()
                .map(|c| (c.name.clone(), c.comment.clone(), format!("{c:?}"))),
        );
        v.extend(t.checks.iter().map(|c| {
            (
                c.name.clone(),
                c.comment.clone(),
                format!("{:?}", (&c.expr, c.no_inherit)),
            )
        }));
        v.extend(
            t.exclusions
                .iter()
                .map(|c| (c.name.clone(), c.comment.clone(), format!("{c:?}"))),
        );
        v.extend(
            t.foreign_keys
                .iter()
                .map(|c| (c.name.clone(), c.comment.clone(), format!("{c:?}"))),
        );
        v
    };
    let before = constraint_comments(from);
    for (c, text, _) in constraint_comments(to) {
        // A recreated constraint starts without a comment.
        let old = before
            .iter()
            .find(|(n, _, _)| *n == c)
            .filter(|_| constraint_kept(from, to, &c, r))
            .and_then(|(_, t, _)| t.clone());
        // Keys attached and foreign keys added in the validate step get their comment there.
        let late = !constraint_kept(from, to, &c, r)
            && (to
                .primary_key
                .iter()
                .filter(|p| p.name == c)
                .any(|p| r.late_keys.contains(&key_of(name, &p.columns)))
                || to
                    .uniques
                    .iter()
                    .filter(|u| u.name == c)
                    .any(|u| r.late_keys.contains(&key_of(name, &u.columns)))
                || to.foreign_keys.iter().filter(|f| f.name == c).any(|f| {
                    r.late_keys
                        .contains(&key_of(&f.references, &f.referenced_columns))
                }));
        if late && old != text {
            b.push(
                Order::create(Phase::Comments).in_segment(Segment::Validate),
                "comment",
                comment_on(CommentTarget::Constraint(name, &c), text.as_deref()),
            );
            continue;
        }
        comment(b, CommentTarget::Constraint(name, &c), &old, &text);
    }
    for i in &to.indexes {
        let old = from.indexes.iter().find(|f| same_index(f, i));
        let concurrent =
            old.is_none() && existing && b.options.online && to.partitioned_by.is_none();
        if concurrent && let Some(text) = &i.comment {
            // The index exists only after the concurrent step.
            b.push(
                Order::create(Phase::Comments).in_segment(Segment::Validate),
                "comment",
                comment_on(CommentTarget::Index(name, &i.name), Some(text)),
            );
            continue;
        }
        let old = old.and_then(|f| f.comment.clone());
        comment(b, CommentTarget::Index(name, &i.name), &old, &i.comment);
    }
    for t in &to.triggers {
        let old = from
            .triggers
            .iter()
            .find(|f| same_trigger(f, t) && !r.trigger_rebuilt(name, f))
            .and_then(|f| f.comment.clone());
        comment(b, CommentTarget::Trigger(name, &t.name), &old, &t.comment);
    }
    for p in &to.policies {
        let old = from
            .policies
            .iter()
            .find(|f| f.name == p.name && !r.policy_rebuilt(name, f) && policy_alterable(f, p))
            .and_then(|f| f.comment.clone());
        comment(b, CommentTarget::Policy(name, &p.name), &old, &p.comment);
    }
}

/// Whether the constraint called `name` survives the plan (so its comment does too).
fn constraint_kept(from: &Table, to: &Table, name: &Ident, r: &Rebuilds) -> bool {
    if let (Some(a), Some(b)) = (&from.primary_key, &to.primary_key)
        && a.name == *name
    {
        let (mut a, mut b) = (a.clone(), b.clone());
        a.comment = None;
        b.comment = None;
        return a == b;
    }
    let strip = |mut x: crate::model::UniqueConstraint| {
        x.comment = None;
        x
    };
    if let Some(u) = to.uniques.iter().find(|u| u.name == *name) {
        return from
            .uniques
            .iter()
            .any(|f| strip(f.clone()) == strip(u.clone()));
    }
    if to.checks.iter().any(|c| c.name == *name) {
        return from
            .checks
            .iter()
            .any(|f| f.name == *name && check_kept(f, to));
    }
    if let Some(fk) = to.foreign_keys.iter().find(|f| f.name == *name) {
        let strip = |mut x: crate::model::ForeignKey| {
            x.comment = None;
            x.not_valid = false;
            x
        };
        return from
            .foreign_keys
            .iter()
            .any(|f| strip(f.clone()) == strip(fk.clone()))
            && !r
                .keys
                .contains(&key_of(&fk.references, &fk.referenced_columns))
            && !r.recreated.contains(&fk.references);
    }
    let strip = |mut x: crate::model::ExclusionConstraint| {
        x.comment = None;
        x
    };
    to.exclusions.iter().filter(|x| x.name == *name).any(|x| {
        from.exclusions
            .iter()
            .any(|f| strip(f.clone()) == strip(x.clone()))
    })
}

/// Same CHECK, validation and comment aside.
fn same_check(a: &CheckConstraint, b: &CheckConstraint) -> bool {
    a.name == b.name && a.expr == b.expr && a.no_inherit == b.no_inherit
}

/// A CHECK of `from` that survives into `to` (validated later, perhaps). A valid constraint
/// that `to` wants `NOT VALID` cannot be un-validated: it is dropped and added again.
fn check_kept(c: &CheckConstraint, to: &Table) -> bool {
    to.checks
        .iter()
        .any(|t| same_check(t, c) && (c.not_valid || !t.not_valid))
}

fn strip_pk(pk: &Option<crate::model::PrimaryKey>) -> Option<crate::model::PrimaryKey> {
    pk.clone().map(|mut p| {
        p.comment = None;
        p
    })
}

fn same_unique(a: &crate::model::UniqueConstraint, b: &crate::model::UniqueConstraint) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    a.comment = None;
    b.comment = None;
    a == b
}

fn same_exclusion(
    a: &crate::model::ExclusionConstraint,
    b: &crate::model::ExclusionConstraint,
) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    a.comment = None;
    b.comment = None;
    a == b
}

/// Same foreign key, comments aside.
fn same_fk(a: &crate::model::ForeignKey, b: &crate::model::ForeignKey) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    a.comment = None;
    b.comment = None;
    a == b
}

/// Two indexes are the same index when everything but the comment agrees.
fn same_index(a: &Index, b: &Index) -> bool {
    let strip = |i: &Index| {
        let mut i = i.clone();
        i.comment = None;
        i.renamed_from = None;
        i
    };
    strip(a) == strip(b)
}

fn same_trigger(a: &Trigger, b: &Trigger) -> bool {
    let strip = |t: &Trigger| {
        let mut t = t.clone();
        t.comment = None;
        t.firing = TriggerFiring::Origin;
        t
    };
    strip(a) == strip(b)
}

/// `CREATE INDEX`, concurrently on a table that exists (unless the plan is not online).
pub(crate) fn create_index_step(
    b: &mut Builder<'_>,
    table: &QualifiedName,
    i: &Index,
    existing: bool,
) {
    let object = format!("index {} on {table}", i.name);
    let sql = create_index(table, i);
    if existing && b.options.online {
        let concurrent = sql.replacen(" INDEX ", " INDEX CONCURRENTLY ", 1);
        let step = b.push(
            Order::create(Phase::Indexes).in_segment(Segment::Concurrent),
            object,
            concurrent,
        );
        step.creates_index = Some((table.clone(), i.name.clone()));
        step.hazard(
                HazardKind::IndexBuild,
                format!("builds an index on {table} without blocking writes; runs outside a transaction and can leave an INVALID index behind if it fails"),
                None,
            );
    } else {
        let step = b.push(Order::create(Phase::Indexes), object, sql);
        if existing {
            step.hazard(
                HazardKind::IndexBuild,
                format!("builds an index on {table} while blocking writes to it"),
                Some("CREATE INDEX CONCURRENTLY (outside a transaction)".to_owned()),
            );
        }
    }
}

/// A primary key or unique constraint added to a table: online, a unique index built
/// concurrently and then attached with `ADD CONSTRAINT … USING INDEX`.
#[allow(clippy::too_many_arguments)]
fn add_unique_key(
    b: &mut Builder<'_>,
    table: &QualifiedName,
    existing: bool,
    name: &Ident,
    clause: String,
    columns: &[Ident],
    include: &[Ident],
    kind: &str,
    deferrable: crate::model::Deferrable,
    nulls_not_distinct: bool,
) {
    let object = format!("{} {name} on {table}", kind.to_ascii_lowercase());
    let partitioned =
        b.to.tables
            .get(table)
            .is_some_and(|t| t.partitioned_by.is_some());
    if existing && b.options.online && !partitioned {
        let include_sql = if include.is_empty() {
            String::new()
        } else {
            format!(" INCLUDE ({})", crate::render::ident_list(include))
        };
        let nnd = if nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        };
        let step = b.push(
            Order::create(Phase::Indexes).in_segment(Segment::Concurrent),
            object.clone(),
            format!(
                "CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} ({}){include_sql}{nnd};",
                crate::render::ident_list(columns)
            ),
        );
        step.creates_index = Some((table.clone(), name.clone()));
        step.hazard(
            HazardKind::IndexBuild,
            format!("builds the key's index on {table} without blocking writes"),
            None,
        );
        b.push(
            Order::create(Phase::Indexes).in_segment(Segment::Validate),
            object,
            format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {name}{};",
                crate::render::deferrable_clause(deferrable)
            ),
        );
    } else {
        let step = b.push(
            Order::create(Phase::Tables).with_sub(9),
            object,
            format!("ALTER TABLE {table} ADD {clause};"),
        );
        if existing {
            step.hazard(
                HazardKind::IndexBuild,
                format!("builds the key's index on {table} while blocking writes to it"),
                Some(
                    "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … USING INDEX"
                        .to_owned(),
                ),
            );
        }
    }
}

/// A column that has to be dropped and added again (PostgreSQL cannot change a generated
/// expression in place, nor turn a plain column into a generated one).
fn column_recreated(from: &Column, to: &Column) -> bool {
    to.generated.is_some() && from.generated != to.generated
}

fn diff_columns(b: &mut Builder<'_>, r: &Rebuilds, from: &Table, to: &Table) {
    let name = &to.name;
    let (from_schema, to_schema) = (b.from, b.to);
    let existing = b.is_existing(name);
    let partition = to.partition_of.is_some();
    // A partition's or child's column that its parent also has goes with the parent's.
    let mut parents: Vec<&QualifiedName> = from.inherits.iter().collect();
    parents.extend(from.partition_of.iter().map(|p| &p.parent));
    let inherited = |column: &str| {
        parents.iter().any(|p| {
            from_schema
                .tables
                .get(*p)
                .is_some_and(|t| t.column(column).is_some())
        })
    };
    for c in &from.columns {
        let gone = match to.column(c.name.as_str()) {
            None => !inherited(c.name.as_str()),
            Some(t) => column_recreated(c, t),
        };
        if gone {
            let step = b.push(
                Order::drop(DropRank::Columns),
                format!("column {name}.{}", c.name),
                format!("ALTER TABLE {name} DROP COLUMN {};", c.name),
            );
            if c.generated.is_none() {
                step.hazard(
                    HazardKind::DataLoss(Loss::DropColumn),
                    format!("drops {name}.{} and its values", c.name),
                    None,
                );
            }
        }
    }
    for c in &to.columns {
        let Some(f) = from
            .column(c.name.as_str())
            .filter(|f| !column_recreated(f, c))
        else {
            add_column(b, name, c, existing);
            continue;
        };
        let object = format!("column {name}.{}", c.name);
        let alter = |sub: u8| Order::create(Phase::Tables).with_sub(sub);
        let enum_rebuilt = c.ty.element().named().is_some_and(|n| r.enums.contains(n));
        let retyped = f.ty != c.ty || f.collation != c.collation || enum_rebuilt;
        if f.generated.is_some() && c.generated.is_none() {
            b.push(
                alter(3),
                object.clone(),
                format!(
                    "ALTER TABLE {name} ALTER COLUMN {} DROP EXPRESSION;",
                    c.name
                ),
            );
        }
        if retyped && !partition {
            if f.default.is_some() {
                b.push(
                    alter(1),
                    object.clone(),
                    format!("ALTER TABLE {name} ALTER COLUMN {} DROP DEFAULT;", c.name),
                );
            }
            let collate = c
                .collation
                .as_ref()
                .map(|x| format!(" COLLATE {x}"))
                .unwrap_or_default();
            let using = if enum_rebuilt
                || f.ty.element().named().is_some()
                || c.ty.element().named().is_some()
            {
                let text = if c.ty.is_array() { "text[]" } else { "text" };
                format!(" USING {}::{text}::{}", c.name, c.ty)
            } else {
                format!(" USING {}::{}", c.name, c.ty)
            };
            let step = b.push(
                alter(2),
                object.clone(),
                format!(
                    "ALTER TABLE {name} ALTER COLUMN {} TYPE {}{collate}{using};",
                    c.name, c.ty
                ),
            );
            if existing && !binary_compatible(&f.ty, &c.ty) {
                step.hazard(
                    HazardKind::TableRewrite,
                    format!("rewrites {name} and its indexes under an ACCESS EXCLUSIVE lock"),
                    Some("add a new column, backfill it in batches, then swap".to_owned()),
                );
            }
            let removed_labels: Vec<String> =
                c.ty.element()
                    .named()
                    .filter(|_| enum_rebuilt)
                    .and_then(|n| Some((from_schema.enums.get(n)?, to_schema.enums.get(n)?)))
                    .map(|(old, new)| {
                        old.labels
                            .iter()
                            .filter(|l| !new.labels.contains(l))
                            .map(|l| crate::render::quote_literal(l))
                            .collect()
                    })
                    .unwrap_or_default();
            if !removed_labels.is_empty() {
                step.hazard(
                    HazardKind::DataLoss(Loss::RemoveEnumLabel),
                    format!(
                        "fails on rows of {name} whose {} is {}",
                        c.name,
                        removed_labels.join(" or ")
                    ),
                    Some("UPDATE those rows to another label first".to_owned()),
                );
            }
            if existing && !widening(&f.ty, &c.ty) && !enum_rebuilt {
                step.hazard(
                    HazardKind::DataLoss(Loss::ChangeType),
                    format!(
                        "{} {} → {}: existing values may not convert, or lose precision",
                        c.name, f.ty, c.ty
                    ),
                    None,
                );
            }
        }
        let default_reset = retyped && f.default.is_some();
        if (f.default != c.default || default_reset) && c.identity.is_none()
            || (f.default.is_some() && c.default.is_none() && !default_reset)
        {
            match &c.default {
                Some(d) if f.default.as_ref() != Some(d) || default_reset => {
                    b.push(
                        alter(4),
                        object.clone(),
                        format!(
                            "ALTER TABLE {name} ALTER COLUMN {} SET DEFAULT {d};",
                            c.name
                        ),
                    );
                }
                None if f.default.is_some() && !default_reset => {
                    b.push(
                        alter(4),
                        object.clone(),
                        format!("ALTER TABLE {name} ALTER COLUMN {} DROP DEFAULT;", c.name),
                    );
                }
                _ => {}
            }
        }
        if f.identity != c.identity {
            match (&f.identity, &c.identity) {
                (Some(_), None) => {
                    b.push(
                        alter(3),
                        object.clone(),
                        format!("ALTER TABLE {name} ALTER COLUMN {} DROP IDENTITY;", c.name),
                    );
                }
                (None, Some(id)) => {
                    b.push(
                        alter(5),
                        object.clone(),
                        format!(
                            "ALTER TABLE {name} ALTER COLUMN {} ADD {};",
                            c.name,
                            identity_clause(id, &c.ty)
                        ),
                    );
                }
                (Some(old), Some(id)) => {
                    let mut parts = Vec::new();
                    if old.always != id.always {
                        parts.push(format!(
                            "SET GENERATED {}",
                            if id.always { "ALWAYS" } else { "BY DEFAULT" }
                        ));
                    }
                    parts.extend(
                        super::sequence_changes(
                            &super::SeqOptions::of_identity(old),
                            &super::SeqOptions::of_identity(id),
                        )
                        .into_iter()
                        .map(|p| format!("SET {p}")),
                    );
                    b.push(
                        alter(5),
                        object.clone(),
                        format!(
                            "ALTER TABLE {name} ALTER COLUMN {} {};",
                            c.name,
                            parts.join(" ")
                        ),
                    );
                }
                (None, None) => {}
            }
        }
        if f.nullable != c.nullable {
            if c.nullable {
                b.push(
                    alter(3),
                    object.clone(),
                    format!("ALTER TABLE {name} ALTER COLUMN {} DROP NOT NULL;", c.name),
                );
            } else if c.identity.is_some() && f.identity.is_none() {
                // An identity needs NOT NULL first, in the same transaction.
                b.push(
                    alter(4),
                    object.clone(),
                    format!("ALTER TABLE {name} ALTER COLUMN {} SET NOT NULL;", c.name),
                );
            } else {
                set_not_null(b, name, &c.name, existing);
            }
        }
    }
}

/// `SET NOT NULL`; online, through a CHECK added `NOT VALID` and validated in a later
/// transaction, which `SET NOT NULL` then uses instead of scanning under its lock.
fn set_not_null(b: &mut Builder<'_>, table: &QualifiedName, column: &Ident, existing: bool) {
    let object = format!("column {table}.{column}");
    let alter = Order::create(Phase::Tables).with_sub(6);
    if existing && b.options.online {
        let check = Ident::new(crate::naming::make_object_name(
            table.name.as_str(),
            Some(column.as_str()),
            Some("not_null"),
        ));
        b.push(
            alter,
            object.clone(),
            format!(
                "ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID;"
            ),
        );
        b.push(
            alter.in_segment(Segment::Validate),
            object.clone(),
            format!("ALTER TABLE {table} VALIDATE CONSTRAINT {check};"),
        )
        .hazard(
            HazardKind::Validation,
            format!("scans {table} for NULLs in {column} (reads and writes go on)"),
            None,
        );
        b.push(
            alter.in_segment(Segment::Validate).with_sub(7),
            object.clone(),
            format!("ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;"),
        );
        b.push(
            alter.in_segment(Segment::Validate).with_sub(8),
            object,
            format!("ALTER TABLE {table} DROP CONSTRAINT {check};"),
        );
    } else {
        let step = b.push(
            alter,
            object,
            format!("ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;"),
        );
        if existing {
            step.hazard(
                HazardKind::Validation,
                format!("scans {table} for NULLs under an ACCESS EXCLUSIVE lock"),
                Some(
                    "ADD CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL"
                        .to_owned(),
                ),
            );
        }
    }
}

fn add_column(b: &mut Builder<'_>, table: &QualifiedName, c: &Column, existing: bool) {
    let object = format!("column {table}.{}", c.name);
    let in_partition =
        b.to.tables
            .get(table)
            .is_some_and(|t| t.partition_of.is_some());
    if in_partition {
        // A partition's columns come from its parent; only its own options can differ.
        let mut stmts = Vec::new();
        if let Some(d) = &c.default {
            stmts.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} SET DEFAULT {d};",
                c.name
            ));
        }
        if !c.nullable {
            stmts.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} SET NOT NULL;",
                c.name
            ));
        }
        for sql in stmts {
            b.push(
                Order::create(Phase::Tables).with_sub(6),
                object.clone(),
                sql,
            );
        }
        return;
    }
    let step = b.push(
        Order::create(Phase::Tables).with_sub(5),
        object,
        format!("ALTER TABLE {table} ADD COLUMN {};", column_definition(c)),
    );
    if existing {
        let volatile = c
            .default
            .as_ref()
            .is_some_and(|d| volatile_default(d.as_str()));
        if c.generated.is_some() || c.identity.is_some() || volatile {
            step.hazard(
                HazardKind::TableRewrite,
                format!("fills {} for every existing row: rewrites {table} under an ACCESS EXCLUSIVE lock", c.name),
                Some("add the column without the default, set it for new rows, backfill in batches".to_owned()),
            );
        } else {
            step.hazard(
                HazardKind::Lock,
                format!("takes a brief ACCESS EXCLUSIVE lock on {table} (no rewrite)"),
                None,
            );
        }
        if !c.nullable && c.default.is_none() && c.identity.is_none() && c.generated.is_none() {
            step.hazard(
                HazardKind::Validation,
                format!("NOT NULL without a default fails if {table} has rows"),
                Some("add it nullable, backfill, then SET NOT NULL".to_owned()),
            );
        }
    }
}

/// Defaults that PostgreSQL must evaluate per row (a table rewrite when a column is added).
fn volatile_default(expr: &str) -> bool {
    [
        "random(",
        "gen_random_uuid(",
        "uuid_generate",
        "nextval(",
        "clock_timestamp(",
        "timeofday(",
    ]
    .iter()
    .any(|f| expr.contains(f))
}

/// A type change PostgreSQL makes without rewriting the table.
fn binary_compatible(from: &PgType, to: &PgType) -> bool {
    match (from, to) {
        (PgType::Varchar(_), PgType::Text) => true,
        (PgType::Varchar(Some(a)), PgType::Varchar(Some(b))) => b >= a,
        (PgType::Varchar(_), PgType::Varchar(None)) => true,
        (
            PgType::Numeric {
                precision: Some(p1),
                scale: s1,
            },
            PgType::Numeric {
                precision: Some(p2),
                scale: s2,
            },
        ) => s1 == s2 && p2 >= p1,
        (
            PgType::Numeric { .. },
            PgType::Numeric {
                precision: None, ..
            },
        ) => true,
        (PgType::VarBit(Some(a)), PgType::VarBit(Some(b))) => b >= a,
        (
            PgType::Timestamp {
                with_time_zone: a, ..
            },
            PgType::Timestamp {
                with_time_zone: b,
                precision: None,
            },
        ) => a == b,
        _ => false,
    }
}

/// A type change that keeps every value (so it loses nothing).
fn widening(from: &PgType, to: &PgType) -> bool {
    binary_compatible(from, to)
        || matches!(
            (from, to),
            (PgType::SmallInt, PgType::Integer | PgType::BigInt)
                | (PgType::Integer, PgType::BigInt)
                | (PgType::Real, PgType::DoublePrecision)
                | (PgType::Char(_), PgType::Text)
                | (PgType::Json, PgType::Jsonb)
                | (
                    PgType::SmallInt | PgType::Integer | PgType::BigInt,
                    PgType::Numeric {
                        precision: None,
                        ..
                    }
                )
                | (_, PgType::Text)
        )
}

fn diff_triggers(
    b: &mut Builder<'_>,
    r: &Rebuilds,
    on: &QualifiedName,
    from: &[Trigger],
    to: &[Trigger],
    phase: Phase,
) {
    for f in from {
        let kept = to.iter().any(|t| same_trigger(f, t)) && !r.trigger_rebuilt(on, f);
        if !kept {
            b.push(
                Order::drop(DropRank::Triggers),
                format!("trigger {} on {on}", f.name),
                format!("DROP TRIGGER {} ON {on};", f.name),
            );
        }
    }
    for t in to {
        let old = from
            .iter()
            .find(|f| same_trigger(f, t) && !r.trigger_rebuilt(on, f));
        let object = format!("trigger {} on {on}", t.name);
        match old {
            None => {
                b.push(Order::create(phase), object.clone(), create_trigger(on, t));
                if t.firing != TriggerFiring::Origin {
                    b.push(
                        Order::create(phase).with_sub(6),
                        object,
                        alter_trigger_firing(on, &t.name, t.firing),
                    );
                }
            }
            Some(f) if f.firing != t.firing => {
                b.push(
                    Order::create(phase).with_sub(6),
                    object,
                    alter_trigger_firing(on, &t.name, t.firing),
                );
            }
            Some(_) => {}
        }
    }
}

/// `ALTER POLICY` can change roles and expressions, not the command or permissiveness.
fn policy_alterable(from: &Policy, to: &Policy) -> bool {
    from.command == to.command && from.permissive == to.permissive
}

fn diff_policies(
    b: &mut Builder<'_>,
    r: &Rebuilds,
    on: &QualifiedName,
    from: &[Policy],
    to: &[Policy],
) {
    let strip = |p: &Policy| {
        let mut p = p.clone();
        p.comment = None;
        p
    };
    for f in from {
        let keep = !r.policy_rebuilt(on, f)
            && to
                .iter()
                .any(|t| t.name == f.name && policy_alterable(f, t));
        if !keep {
            b.push(
                Order::drop(DropRank::Policies),
                format!("policy {} on {on}", f.name),
                format!("DROP POLICY {} ON {on};", f.name),
            )
            .authorization();
        }
    }
    for t in to {
        let object = format!("policy {} on {on}", t.name);
        match from
            .iter()
            .find(|f| f.name == t.name && !r.policy_rebuilt(on, f) && policy_alterable(f, t))
        {
            None => {
                b.push(Order::create(Phase::Policies), object, create_policy(on, t))
                    .authorization();
            }
            Some(f) if strip(f) != strip(t) => {
                // ALTER POLICY can set a clause, not remove one: then the policy is recreated.
                let removes = (f.using.is_some() && t.using.is_none())
                    || (f.with_check.is_some() && t.with_check.is_none());
                if removes {
                    b.push(
                        Order::drop(DropRank::Policies),
                        object.clone(),
                        format!("DROP POLICY {} ON {on};", t.name),
                    )
                    .authorization();
                    b.push(Order::create(Phase::Policies), object, create_policy(on, t))
                        .authorization();
                    continue;
                }
                let mut sql = format!("ALTER POLICY {} ON {on}", t.name);
                if f.roles != t.roles {
                    let roles: Vec<String> = if t.roles.is_empty() {
                        vec!["PUBLIC".to_owned()]
                    } else {
                        t.roles.iter().map(role_name).collect()
                    };
                    sql.push_str(&format!(" TO {}", roles.join(", ")));
                }
                if let Some(u) = t.using.as_ref().filter(|_| f.using != t.using) {
                    sql.push_str(&format!("\n    USING ({u})"));
                }
                if let Some(c) = t
                    .with_check
                    .as_ref()
                    .filter(|_| f.with_check != t.with_check)
                {
                    sql.push_str(&format!("\n    WITH CHECK ({c})"));
                }
                sql.push(';');
                b.push(Order::create(Phase::Policies), object, sql)
                    .authorization();
            }
            Some(_) => {}
        }
    }
}

/// `REVOKE`s then `GRANT`s for the difference between two grant sets.
pub(crate) fn diff_grants(
    b: &mut Builder<'_>,
    object: &str,
    target: GrantTarget<'_>,
    from: &BTreeSet<crate::model::Grant>,
    to: &BTreeSet<crate::model::Grant>,
) {
    let (revoke, grant) = set_changes(from, to);
    for sql in revoke_statements(target, &revoke) {
        b.push(Order::create(Phase::Grants).with_sub(1), object, sql)
            .authorization();
    }
    for sql in grant_statements(target, &grant) {
        b.push(Order::create(Phase::Grants).with_sub(2), object, sql)
            .authorization();
    }
}

/// `COMMENT ON` when the comment changes.
pub(crate) fn comment(
    b: &mut Builder<'_>,
    target: CommentTarget<'_>,
    from: &Option<String>,
    to: &Option<String>,
) {
    if from != to {
        b.push(
            Order::create(Phase::Comments),
            "comment",
            comment_on(target, to.as_deref()),
        );
    }
}
