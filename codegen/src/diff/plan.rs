//! What the differ produces: a [`Plan`] of [`Step`]s, each with its SQL, where it runs
//! ([`Segment`]) and what it risks ([`Hazard`]).

use crate::model::{Ident, QualifiedName};
use serde::Serialize;
use std::fmt;

/// Where a step runs. The variants are in execution order; each transactional segment is one
/// transaction (one migration file), and each [`Segment::Concurrent`] step runs on its own,
/// outside any transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// `ALTER TYPE … ADD VALUE`: a new enum label cannot be used in the transaction that adds
    /// it, so the labels are committed before the statements that may use them.
    EnumValues,
    /// Everything else that runs in a transaction.
    Main,
    /// `CREATE INDEX CONCURRENTLY`: cannot run inside a transaction block; one statement per
    /// migration.
    Concurrent,
    /// What must come after the concurrent index builds or in a transaction of its own so the
    /// stronger locks of `Main` are not held meanwhile: `VALIDATE CONSTRAINT`, constraints
    /// added `USING INDEX`, `SET NOT NULL` through a validated CHECK.
    Validate,
}

impl Segment {
    /// Whether the segment runs inside a transaction.
    pub fn transactional(self) -> bool {
        self != Segment::Concurrent
    }

    /// A short name, for headers and file names.
    pub fn name(self) -> &'static str {
        match self {
            Segment::EnumValues => "enum_values",
            Segment::Main => "main",
            Segment::Concurrent => "concurrent",
            Segment::Validate => "validate",
        }
    }
}

/// A kind of data loss. Each needs its own explicit permission (`--allow drop-table` and so on):
/// the destructive-change guard refuses a plan with a loss that was not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// `DROP TABLE` (or a rebuild that recreates a table empty).
    DropTable,
    /// `DROP COLUMN`.
    DropColumn,
    /// A column type change that may truncate, round or fail on existing values.
    ChangeType,
    /// Removing an enum label: rows holding it cannot be converted.
    RemoveEnumLabel,
    /// Dropping a sequence (its position), a materialized view's contents or a bucket row.
    DropOther,
}

impl Loss {
    /// Every kind, in order.
    pub const ALL: [Loss; 5] = [
        Loss::DropTable,
        Loss::DropColumn,
        Loss::ChangeType,
        Loss::RemoveEnumLabel,
        Loss::DropOther,
    ];

    /// The flag value that allows it (`--allow drop-table`).
    pub fn flag(self) -> &'static str {
        match self {
            Loss::DropTable => "drop-table",
            Loss::DropColumn => "drop-column",
            Loss::ChangeType => "change-type",
            Loss::RemoveEnumLabel => "remove-enum-label",
            Loss::DropOther => "drop-other",
        }
    }

    /// Parses a flag value.
    pub fn parse(flag: &str) -> Option<Loss> {
        Loss::ALL.into_iter().find(|l| l.flag() == flag)
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.flag())
    }
}

/// What a statement risks on a live database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "loss")]
pub enum HazardKind {
    /// Loses data (refused unless allowed).
    DataLoss(Loss),
    /// Rewrites the whole table under an `ACCESS EXCLUSIVE` lock.
    TableRewrite,
    /// Builds an index (time and I/O proportional to the table).
    IndexBuild,
    /// Takes an `ACCESS EXCLUSIVE` lock (or another lock that blocks writes) on a table that
    /// exists, queueing every query behind it while it waits.
    Lock,
    /// Scans the whole table to check existing rows (and fails if one does not pass).
    Validation,
    /// Changes who may read or write what (grants, policies, row-level security).
    Authorization,
}

impl HazardKind {
    /// A short name for lint output.
    pub fn name(self) -> &'static str {
        match self {
            HazardKind::DataLoss(_) => "data-loss",
            HazardKind::TableRewrite => "table-rewrite",
            HazardKind::IndexBuild => "index-build",
            HazardKind::Lock => "lock",
            HazardKind::Validation => "validation",
            HazardKind::Authorization => "authorization",
        }
    }
}

/// One hazard of a step: the kind, why, and the safer form when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hazard {
    /// The kind (in JSON: `"kind": "data_loss", "loss": "drop-column"`).
    #[serde(flatten)]
    pub kind: HazardKind,
    /// Why it is a hazard, for this statement.
    pub why: String,
    /// The safer form, when there is one.
    pub safer: Option<String>,
}

/// One statement of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The SQL, ending in `;`.
    pub sql: String,
    /// Where it runs.
    pub segment: Segment,
    /// The object it changes, for messages (`column public.users.avatar_url`).
    pub object: String,
    /// What it risks.
    pub hazards: Vec<Hazard>,
    /// For a [`Segment::Concurrent`] step that creates an index: the table (or materialized
    /// view) and the index's name (in the table's schema). The proof uses it to derive the
    /// states between concurrent steps; not part of the plan's JSON.
    #[serde(skip)]
    pub creates_index: Option<(QualifiedName, Ident)>,
}

impl Step {
    /// The kinds of data loss this step causes.
    pub fn losses(&self) -> impl Iterator<Item = Loss> + '_ {
        self.hazards.iter().filter_map(|h| match h.kind {
            HazardKind::DataLoss(l) => Some(l),
            _ => None,
        })
    }
}

/// An ordered list of statements that takes one schema to another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The statements in execution order (segments in [`Segment`] order).
    pub steps: Vec<Step>,
}

/// The statements of one transaction (or one non-transactional statement) of a plan: what one
/// migration file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The segment.
    pub segment: Segment,
    /// Its steps, in order.
    pub steps: Vec<&'a Step>,
}

impl Chunk<'_> {
    /// The chunk as a script: statements separated by blank lines, each preceded by its
    /// hazards as comments; a non-transactional chunk starts with sqlx's `-- no-transaction`.
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        if !self.segment.transactional() {
            out.push_str("-- no-transaction\n");
        }
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 || !out.is_empty() {
                out.push('\n');
            }
            for h in &step.hazards {
                out.push_str(&format!("-- hazard {}: {}\n", h.kind.name(), h.why));
            }
            out.push_str(&step.sql);
            out.push('\n');
        }
        out
    }
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The plan cut into what runs together: one chunk per transactional segment, one per
    /// concurrent statement.
    pub fn chunks(&self) -> Vec<Chunk<'_>> {
        let mut chunks: Vec<Chunk<'_>> = Vec::new();
        for step in &self.steps {
            match chunks.last_mut() {
                Some(c) if c.segment == step.segment && step.segment.transactional() => {
                    c.steps.push(step);
                }
                _ => chunks.push(Chunk {
                    segment: step.segment,
                    steps: vec![step],
                }),
            }
        }
        chunks
    }

    /// The whole plan as one script, each chunk under a header that says how it runs.
    pub fn to_sql(&self) -> String {
        let chunks = self.chunks();
        let many = chunks.len() > 1;
        let mut out = String::new();
        for chunk in &chunks {
            if !out.is_empty() {
                out.push('\n');
            }
            if many || !chunk.segment.transactional() {
                let how = if chunk.segment.transactional() {
                    "in one transaction"
                } else {
                    "outside a transaction"
                };
                out.push_str(&format!("-- step: {} ({how})\n", chunk.segment.name()));
            }
            let body = chunk.to_sql();
            out.push_str(body.strip_prefix("-- no-transaction\n").unwrap_or(&body));
        }
        out
    }

    /// The changes as a report for people: the steps grouped by the object they change, each
    /// with its hazards (why, and the safer form), then a summary line.
    pub fn report(&self) -> String {
        let mut groups: Vec<(&str, Vec<&Step>)> = Vec::new();
        for step in self.steps.iter().filter(|s| s.object != "session") {
            match groups.iter_mut().find(|(o, _)| *o == step.object) {
                Some((_, steps)) => steps.push(step),
                None => groups.push((&step.object, vec![step])),
            }
        }
        let mut out = String::new();
        for (object, steps) in &groups {
            out.push_str(object);
            out.push('\n');
            for step in steps {
                let first = step.sql.lines().next().unwrap_or_default();
                let more = if step.sql.lines().nth(1).is_some() {
                    " …"
                } else {
                    ""
                };
                let place = if step.segment == Segment::Main {
                    String::new()
                } else {
                    format!(" [{}]", step.segment.name())
                };
                out.push_str(&format!("  {first}{more}{place}\n"));
                for h in &step.hazards {
                    out.push_str(&format!("    {}: {}\n", h.kind.name(), h.why));
                    if let Some(safer) = &h.safer {
                        out.push_str(&format!("      safer: {safer}\n"));
                    }
                }
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// One line: how many statements, objects, transactions and hazards.
    pub fn summary(&self) -> String {
        let statements = self.steps.iter().filter(|s| s.object != "session").count();
        if statements == 0 {
            return "no changes".to_owned();
        }
        let objects: std::collections::BTreeSet<&str> = self
            .steps
            .iter()
            .filter(|s| s.object != "session")
            .map(|s| s.object.as_str())
            .collect();
        let losses = self.steps.iter().flat_map(Step::losses).count();
        let hazards: usize = self.steps.iter().map(|s| s.hazards.len()).sum();
        format!(
            "{statements} statement(s) on {} object(s) in {} step(s); {hazards} hazard(s), {losses} losing data",
            objects.len(),
            self.chunks().len()
        )
    }

    /// The plan as one migration file, for plans without concurrent steps (down migrations
    /// are planned with the plain forms): one transaction when there is one chunk, else
    /// `-- no-transaction` with each chunk in its own `BEGIN`/`COMMIT` (an enum label committed
    /// before the statements that use it). `None` when a step must run outside any transaction.
    pub fn to_single_file(&self) -> Option<String> {
        let chunks = self.chunks();
        if chunks.iter().any(|c| !c.segment.transactional()) {
            return None;
        }
        if chunks.len() <= 1 {
            return Some(chunks.first().map(Chunk::to_sql).unwrap_or_default());
        }
        let mut out = String::from("-- no-transaction\n");
        for c in &chunks {
            out.push_str(&format!("\n-- step: {}\nBEGIN;\n\n", c.segment.name()));
            out.push_str(&c.to_sql());
            out.push_str("\nCOMMIT;\n");
        }
        Some(out)
    }

    /// Steps that lose data of a kind not in `allowed`, with the loss.
    pub fn disallowed_losses(&self, allowed: &[Loss]) -> Vec<(&Step, Loss)> {
        self.steps
            .iter()
            .flat_map(|s| s.losses().map(move |l| (s, l)))
            .filter(|(_, l)| !allowed.contains(l))
            .collect()
    }
}
