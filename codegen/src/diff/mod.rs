//! The one differ: `diff(from, to)` → a [`Plan`] of statements that takes a database from one
//! [`Schema`] to the other, in dependency order, with each statement's hazards.
//!
//! Migrations (`migrate new`), `codegen diff` and `codegen verify --fix` all call [`diff`]; there
//! is no other. Statements come from the renderer's building blocks (`render::sql`), so a table
//! is created the same way in a baseline and in a migration.
//!
//! How it works:
//! 1. **Renames** (`renamed_from` on tables, columns, indexes, constraints and enums,
//!    `renamed_labels` on enums) are emitted first and applied to a working copy of `from`, so
//!    the rest compares like with like.
//! 2. Each object kind is compared; every change becomes statements tagged with an [`Order`]:
//!    the [`Segment`], then a [`Stage`] (renames, then drops in reverse dependency order, then
//!    creates and alters in the renderer's [`Phase`] order, then cleanup of what nothing uses
//!    any more), then a rank inside the stage.
//! 3. What PostgreSQL cannot change in place is rebuilt: views around the columns they read,
//!    enums whose labels are removed or reordered, generated columns, functions whose result
//!    changes; what depends on a rebuilt object (views, triggers, foreign keys on a rebuilt key)
//!    is rebuilt with it.
//! 4. Changes to tables that already exist take their online form unless
//!    [`DiffOptions::online`] is off (see [`Segment`]).

mod objects;
mod plan;
pub mod prove;
pub mod sources;
mod tables;

pub use plan::{Chunk, Hazard, HazardKind, Loss, Plan, Segment, Step};

use crate::model::{QualifiedName, Schema};
use crate::render::{Phase, Statement};
use std::collections::{BTreeMap, BTreeSet};

/// How plans are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// Online forms for tables that already exist: `CREATE INDEX CONCURRENTLY`, constraints
    /// added `NOT VALID` then validated, `SET NOT NULL` through a validated CHECK. Off gives
    /// the plain forms (one transaction, stronger locks).
    pub online: bool,
    /// `SET lock_timeout` at the start of each transaction that alters existing tables, so a
    /// migration waiting for a lock fails instead of queueing every query behind it.
    pub lock_timeout: Option<String>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            online: true,
            lock_timeout: Some("5s".to_owned()),
        }
    }
}

/// Stages of a plan inside a segment, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// `SET lock_timeout`, `SET check_function_bodies`.
    Settings,
    /// `RENAME`s.
    Renames,
    /// Drops, dependents first.
    Drops,
    /// Creates and alters, in [`Phase`] order.
    Creates,
    /// Drops of objects that the creates and alters stopped using (routines, sequences, types,
    /// extensions, schemas).
    Cleanup,
}

/// What drops come in what order (dependents first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DropRank {
    Buckets,
    Policies,
    Triggers,
    ViewIndexes,
    Views,
    ForeignKeys,
    Constraints,
    Indexes,
    Columns,
    Tables,
    /// Routines rebuilt because their result type or argument names change (dropped before the
    /// create stage recreates them).
    Routines,
}

/// Where a statement goes: segment, stage, rank inside the stage, then a sequence number that
/// keeps the order in which the differ produced statements of the same rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Order {
    pub segment: Segment,
    pub stage: Stage,
    pub rank: u16,
    pub sub: u8,
}

impl Order {
    pub fn drop(rank: DropRank) -> Order {
        Order {
            segment: Segment::Main,
            stage: Stage::Drops,
            rank: rank as u16,
            sub: 0,
        }
    }

    pub fn create(phase: Phase) -> Order {
        Order {
            segment: Segment::Main,
            stage: Stage::Creates,
            rank: phase as u16,
            sub: 5,
        }
    }

    pub fn with_sub(mut self, sub: u8) -> Order {
        self.sub = sub;
        self
    }

    pub fn in_segment(mut self, segment: Segment) -> Order {
        self.segment = segment;
        self
    }
}

/// Cleanup ranks (dependents first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CleanupRank {
    Routines,
    Sequences,
    Composites,
    Domains,
    Enums,
    Collations,
    Extensions,
    Schemas,
}

impl CleanupRank {
    pub fn order(self) -> Order {
        Order {
            segment: Segment::Main,
            stage: Stage::Cleanup,
            rank: self as u16,
            sub: 0,
        }
    }
}

/// Collects the statements of a plan with their order.
pub(crate) struct Builder<'a> {
    pub from: &'a Schema,
    pub to: &'a Schema,
    pub options: &'a DiffOptions,
    steps: Vec<(Order, usize, Step)>,
    /// Tables (and views) that exist in `from` and are kept: changes to them take online forms.
    pub existing: BTreeSet<QualifiedName>,
}

impl Builder<'_> {
    /// Adds a statement.
    pub fn push(&mut self, order: Order, object: impl Into<String>, sql: String) -> &mut Step {
        let n = self.steps.len();
        self.steps.push((
            order,
            n,
            Step {
                sql,
                segment: order.segment,
                object: object.into(),
                hazards: Vec::new(),
                creates_index: None,
            },
        ));
        let last = self.steps.len() - 1;
        &mut self.steps[last].2
    }

    /// Adds renderer statements (each in the create stage at its phase).
    pub fn push_statements(&mut self, object: &str, statements: Vec<Statement>) {
        for st in statements {
            let order = Order::create(st.phase);
            let authorization = matches!(
                st.phase,
                Phase::Grants | Phase::Policies | Phase::RowSecurity | Phase::DefaultPrivileges
            );
            let step = self.push(order, object, st.sql);
            if authorization {
                step.authorization();
            }
        }
    }

    /// Whether the table or view `name` exists before the plan and after it (so its changes
    /// should not block it).
    pub fn is_existing(&self, name: &QualifiedName) -> bool {
        self.existing.contains(name)
    }

    fn finish(mut self) -> Plan {
        self.steps.sort_by_key(|(order, n, _)| (*order, *n));
        let touches_existing = self.steps.iter().any(|(o, _, s)| {
            o.stage != Stage::Settings && o.segment.transactional() && !s.hazards.is_empty()
        });
        let mut steps: Vec<Step> = Vec::with_capacity(self.steps.len() + 2);
        let mut segments_seen: BTreeSet<Segment> = BTreeSet::new();
        for (order, _, step) in self.steps {
            if order.segment.transactional()
                && segments_seen.insert(order.segment)
                && touches_existing
                && let Some(timeout) = &self.options.lock_timeout
            {
                steps.push(Step {
                    sql: format!(
                        "SET lock_timeout = {};",
                        crate::render::quote_literal(timeout)
                    ),
                    segment: order.segment,
                    object: "session".to_owned(),
                    hazards: Vec::new(),
                    creates_index: None,
                });
            }
            steps.push(step);
        }
        Plan { steps }
    }
}

impl Step {
    /// Marks the step as changing who may do what.
    pub(crate) fn authorization(&mut self) -> &mut Step {
        self.hazard(
            HazardKind::Authorization,
            "changes who may read or write data; review it with the policies it affects",
            None,
        )
    }

    /// Adds a hazard.
    pub(crate) fn hazard(
        &mut self,
        kind: HazardKind,
        why: impl Into<String>,
        safer: Option<String>,
    ) -> &mut Step {
        self.hazards.push(Hazard {
            kind,
            why: why.into(),
            safer,
        });
        self
    }
}

/// The plan that takes a database in state `from` to state `to`.
///
/// Both are compared on [`Schema::database_view`] terms, except that `to`'s `renamed_from`
/// entries turn drop-and-create pairs into renames. Expressions must be canonical on both sides
/// (introspected, or mapped through the canonical lock).
pub fn diff(from: &Schema, to: &Schema, options: &DiffOptions) -> Plan {
    let (renamed, rename_steps) = objects::apply_renames(from, to);
    // Past the renames, only what is part of the database is compared: a constraint that still
    // says `renamed_from` is the same constraint as the one the database has.
    let (renamed, to) = (renamed.database_view(), &to.database_view());
    let existing: BTreeSet<QualifiedName> = renamed
        .tables
        .keys()
        .filter(|n| to.tables.contains_key(*n))
        .chain(renamed.views.keys().filter(|n| to.views.contains_key(*n)))
        .cloned()
        .collect();
    let mut b = Builder {
        from: &renamed,
        to,
        options,
        steps: Vec::new(),
        existing,
    };
    for (object, sql) in rename_steps {
        let order = Order {
            segment: Segment::Main,
            stage: Stage::Renames,
            rank: 0,
            sub: 0,
        };
        b.push(order, object, sql).hazard(
            HazardKind::Lock,
            "takes a brief ACCESS EXCLUSIVE lock; code that uses the old name breaks at once",
            None,
        );
    }
    let rebuilt = tables::Rebuilds::compute(&b);
    objects::diff_schemas(&mut b);
    objects::diff_types(&mut b, &rebuilt);
    objects::diff_routines(&mut b, &rebuilt);
    objects::diff_sequences(&mut b, &rebuilt);
    tables::diff_tables(&mut b, &rebuilt);
    tables::diff_attached(&mut b);
    objects::diff_views(&mut b, &rebuilt);
    objects::diff_default_privileges(&mut b);
    objects::diff_buckets(&mut b);
    // Labels are added in a transaction of their own, before the main one: renames of the
    // enums (and of their labels) go there too, so `ADD VALUE … AFTER 'renamed'` finds them.
    if b.steps
        .iter()
        .any(|(o, _, _)| o.segment == Segment::EnumValues)
    {
        for (o, _, s) in &mut b.steps {
            if o.stage == Stage::Renames && s.object.starts_with("enum ") {
                o.segment = Segment::EnumValues;
                s.segment = Segment::EnumValues;
            }
        }
    }
    if b.steps.iter().any(|(o, _, s)| {
        o.stage == Stage::Creates
            && s.sql.contains("CREATE")
            && (s.sql.contains(" FUNCTION ") || s.sql.contains(" PROCEDURE "))
    }) {
        let order = Order {
            segment: Segment::Main,
            stage: Stage::Settings,
            rank: 0,
            sub: 0,
        };
        b.push(
            order,
            "session",
            "SET check_function_bodies = false;".to_owned(),
        );
    }
    b.finish()
}

/// The down plan of the change `from` → `to`: the plan from `to` back to `from`, with `to`'s
/// renames undone as renames.
pub fn diff_down(from: &Schema, to: &Schema, options: &DiffOptions) -> Plan {
    diff(
        &to.database_view(),
        &objects::reverse_renames(from, to),
        options,
    )
}

/// The options a sequence and an identity column share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeqOptions {
    increment: i64,
    min_value: i64,
    max_value: i64,
    start: i64,
    cache: i64,
    cycle: bool,
}

impl SeqOptions {
    pub fn of_sequence(s: &crate::model::Sequence) -> SeqOptions {
        SeqOptions {
            increment: s.increment,
            min_value: s.min_value,
            max_value: s.max_value,
            start: s.start,
            cache: s.cache,
            cycle: s.cycle,
        }
    }

    pub fn of_identity(i: &crate::model::Identity) -> SeqOptions {
        SeqOptions {
            increment: i.increment,
            min_value: i.min_value,
            max_value: i.max_value,
            start: i.start,
            cache: i.cache,
            cycle: i.cycle,
        }
    }
}

/// `INCREMENT BY 2`, `MINVALUE 1`… for each option that changes (`ALTER SEQUENCE` takes them as
/// they are, an identity column with `SET` before each).
pub(crate) fn sequence_changes(old: &SeqOptions, new: &SeqOptions) -> Vec<String> {
    let mut parts = Vec::new();
    if old.increment != new.increment {
        parts.push(format!("INCREMENT BY {}", new.increment));
    }
    if old.min_value != new.min_value {
        parts.push(format!("MINVALUE {}", new.min_value));
    }
    if old.max_value != new.max_value {
        parts.push(format!("MAXVALUE {}", new.max_value));
    }
    if old.start != new.start {
        parts.push(format!("START WITH {}", new.start));
    }
    if old.cache != new.cache {
        parts.push(format!("CACHE {}", new.cache));
    }
    if old.cycle != new.cycle {
        parts.push(if new.cycle { "CYCLE" } else { "NO CYCLE" }.to_owned());
    }
    parts
}

/// Grants present on one side only: `(revoke, grant)`.
pub(crate) fn set_changes<T: Ord + Clone>(
    from: &BTreeSet<T>,
    to: &BTreeSet<T>,
) -> (BTreeSet<T>, BTreeSet<T>) {
    (
        from.difference(to).cloned().collect(),
        to.difference(from).cloned().collect(),
    )
}

/// Items keyed by name: `(only in from, in both, only in to)`.
pub(crate) fn match_by<'a, K: Ord + Clone, T>(
    from: impl IntoIterator<Item = (K, &'a T)>,
    to: impl IntoIterator<Item = (K, &'a T)>,
) -> Vec<(K, Option<&'a T>, Option<&'a T>)>
where
    T: 'a,
{
    let mut map: BTreeMap<K, (Option<&'a T>, Option<&'a T>)> = BTreeMap::new();
    for (k, v) in from {
        map.entry(k).or_default().0 = Some(v);
    }
    for (k, v) in to {
        map.entry(k).or_default().1 = Some(v);
    }
    map.into_iter().map(|(k, (a, b))| (k, a, b)).collect()
}

#[cfg(test)]
mod tests;
