//! Judges the differ on one [`Case`] (a start and a target state), as the suite README's "How to
//! judge a differ on these cases" describes:
//!
//! 1. database A gets the start state, database B the target (each applied the way the round
//!    trip applies a state: out-of-order texts the psqldef way, the `user:` prelude first); a side
//!    that does not apply makes the case *not runnable*;
//! 2. both are introspected (S_a, S_b); objects the model cannot represent fail the case (the
//!    differ cannot see them);
//! 3. `plan = diff(S_a, S_b)` is applied to A, chunk by chunk: each transactional chunk inside
//!    `BEGIN`/`COMMIT`, each concurrent statement on its own;
//! 4. A is introspected again (S_a2), which must equal S_b up to column order (`ALTER TABLE`
//!    cannot reorder columns);
//! 5. `diff(S_a2, S_b)` must be empty (idempotency).
//!
//! A case where the peer expects a refusal passes when the plan fails to apply with
//! PostgreSQL's error (*refused*), or when it passes steps 3–5. A case where the peer expects an
//! empty plan fails when ours is not.

use super::cases::{Case, Side};
use super::roundtrip::{
    self, Db, Input, apply_state, db_message, difference_pattern, drop_database, fresh_database,
    message_pattern,
};
use codegen::canonical::structural_differences;
use codegen::diff::{DiffOptions, Plan, Segment, diff};
use codegen::introspect::introspect;
use codegen::model::{Schema, Unsupported};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Upper bound for one case.
pub const CASE_LIMIT: Duration = Duration::from_secs(120);

/// A step of the judging, for failures; the order is the pipeline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// No database could be had, or the case timed out.
    Harness,
    /// Introspection returned an error.
    Introspect,
    /// A side has objects the model cannot represent.
    Unsupported,
    /// The peer expects an empty plan and ours is not.
    NotEmpty,
    /// PostgreSQL refused a statement of the plan.
    PlanApply,
    /// The plan applies, but the result differs from the target.
    ResultDiffers,
    /// The plan applies and reaches the target, but a second diff is not empty.
    NotIdempotent,
    /// Something panicked.
    Panic,
}

impl Stage {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Harness => "harness",
            Stage::Introspect => "introspect error",
            Stage::Unsupported => "unsupported objects",
            Stage::NotEmpty => "plan not empty (peer expects none)",
            Stage::PlanApply => "plan does not apply",
            Stage::ResultDiffers => "result differs from target",
            Stage::NotIdempotent => "second diff not empty",
            Stage::Panic => "panic",
        }
    }

    /// The modules to look at first.
    pub fn suspects(self) -> &'static str {
        match self {
            Stage::Harness => "pgkit / the runner",
            Stage::Introspect => "introspect",
            Stage::Unsupported => "model gap (reported by introspect)",
            Stage::NotEmpty | Stage::PlanApply | Stage::NotIdempotent => "diff",
            Stage::ResultDiffers => "diff (or introspect)",
            Stage::Panic => "the module that panicked",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One way a case failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where.
    pub stage: Stage,
    /// What: differences, statements or error lines, all of them.
    pub details: Vec<String>,
    /// The cause without names and values, for grouping.
    pub cause: String,
}

impl Failure {
    fn error(stage: Stage, message: impl Into<String>) -> Self {
        let message = message.into();
        Failure {
            stage,
            cause: message_pattern(&message),
            details: vec![message],
        }
    }
}

/// The verdict on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plan reaches the target and a second diff is empty.
    Pass,
    /// The peer expects a refusal and the plan failed to apply: PostgreSQL's error.
    Refused(String),
    /// A side does not apply to an empty database.
    NotRunnable(String),
    /// At least one step failed, in pipeline order.
    Fail(Vec<Failure>),
}

impl Outcome {
    /// Pass or refused.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass | Outcome::Refused(_))
    }
}

/// The verdict with what was produced on the way.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// The verdict.
    pub outcome: Outcome,
    /// The plan (`Plan::to_sql`), when one was made.
    pub plan: Option<String>,
    /// Statements in the plan.
    pub plan_steps: usize,
    /// The second plan, when one was made and is not empty.
    pub second_plan: Option<String>,
    /// Wall time of each step that ran.
    pub timings: Vec<(&'static str, Duration)>,
}

impl Judgement {
    fn new(outcome: Outcome) -> Self {
        Judgement {
            outcome,
            plan: None,
            plan_steps: 0,
            second_plan: None,
            timings: Vec::new(),
        }
    }

    /// Total wall time.
    pub fn elapsed(&self) -> Duration {
        self.timings.iter().map(|(_, d)| *d).sum()
    }
}

/// Judges `case` in a task of its own (a panic becomes a failure of this case), within
/// [`CASE_LIMIT`].
pub async fn judge_isolated(server: Arc<pgkit::Server>, case: Case) -> Judgement {
    let work = async move { judge(&server, &case).await };
    match super::isolated(CASE_LIMIT, work).await {
        Ok(j) => j,
        Err(super::Interrupted::TimedOut(limit)) => {
            Judgement::new(Outcome::Fail(vec![Failure::error(
                Stage::Harness,
                format!("timed out after {} s", limit.as_secs()),
            )]))
        }
        Err(super::Interrupted::Panicked(message)) => {
            Judgement::new(Outcome::Fail(vec![Failure::error(Stage::Panic, message)]))
        }
    }
}

/// A database from a harness failure.
fn harness(f: roundtrip::Failure) -> Failure {
    Failure::error(Stage::Harness, f.details.join("; "))
}

/// A fresh database with `side` applied; `Err(Ok(message))` when the side does not apply,
/// `Err(Err(failure))` when no database could be had.
async fn database_with(
    server: &Arc<pgkit::Server>,
    case: &Case,
    side: &Side,
) -> Result<Db, Result<String, Failure>> {
    let db = fresh_database(server).await.map_err(|f| Err(harness(f)))?;
    match apply_side(&db.1, case, side).await {
        Ok(()) => Ok(db),
        Err(message) => {
            drop_database(db).await;
            Err(Ok(message))
        }
    }
}

/// Applies a side's prelude and scripts, in order, on one connection.
async fn apply_side(
    client: &tokio_postgres::Client,
    case: &Case,
    side: &Side,
) -> Result<(), String> {
    if side.scripts.is_empty() {
        if let Some(prelude) = &side.prelude {
            client
                .batch_execute(prelude)
                .await
                .map_err(|e| format!("prelude: {}", db_message(&e)))?;
        }
        return Ok(());
    }
    for (i, script) in side.scripts.iter().enumerate() {
        let input = Input {
            label: format!("{} {} ({})", case.suite, case.name, script.which),
            sql: script.sql.clone(),
            prelude: if i == 0 { side.prelude.clone() } else { None },
            out_of_order: script.out_of_order,
            dump: None,
        };
        apply_state(client, &input)
            .await
            .map_err(|e| format!("`{}`: {e}", script.which))?;
    }
    Ok(())
}

/// Introspects a database: the schema and what the model cannot represent.
async fn read(
    client: &tokio_postgres::Client,
    side: &str,
) -> Result<(Schema, Vec<Unsupported>), Failure> {
    match introspect(client, &roundtrip::filter()).await {
        Ok(found) => Ok((found.schema.database_view(), found.unsupported)),
        Err(e) => Err(Failure::error(Stage::Introspect, format!("{side}: {e}"))),
    }
}

/// Judges one case.
pub async fn judge(server: &Arc<pgkit::Server>, case: &Case) -> Judgement {
    let mut j = Judgement::new(Outcome::Pass);
    let mut failures = Vec::new();

    // 1: both sides.
    let clock = Instant::now();
    let a = match database_with(server, case, &case.from).await {
        Ok(db) => db,
        Err(Ok(message)) => {
            j.outcome = Outcome::NotRunnable(format!(
                "start state `{}` does not apply: {message}",
                case.from.label
            ));
            return j;
        }
        Err(Err(f)) => return Judgement::new(Outcome::Fail(vec![f])),
    };
    let b = match database_with(server, case, &case.to).await {
        Ok(db) => db,
        Err(result) => {
            drop_database(a).await;
            j.outcome = match result {
                Ok(message) => Outcome::NotRunnable(format!(
                    "target state `{}` does not apply: {message}",
                    case.to.label
                )),
                Err(f) => Outcome::Fail(vec![f]),
            };
            return j;
        }
    };
    j.timings.push(("apply states", clock.elapsed()));

    // 2: read both.
    let clock = Instant::now();
    let target = read(&b.1, "target").await;
    drop_database(b).await;
    let start = read(&a.1, "start").await;
    j.timings.push(("introspect", clock.elapsed()));
    let ((s_a, unsupported_a), (s_b, unsupported_b)) = match (start, target) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(f), _) | (_, Err(f)) => {
            drop_database(a).await;
            j.outcome = Outcome::Fail(vec![f]);
            return j;
        }
    };
    if let Some(f) = unsupported_failure(&unsupported_a, &unsupported_b) {
        failures.push(f);
    }

    // 3: the plan, applied.
    let clock = Instant::now();
    let options = DiffOptions::default();
    let plan = diff(&s_a, &s_b, &options);
    j.timings.push(("diff", clock.elapsed()));
    j.plan = Some(plan.to_sql());
    j.plan_steps = plan.steps.len();
    if case.expects_empty_plan && !plan.is_empty() {
        failures.push(statements_failure(Stage::NotEmpty, &plan));
    }
    let clock = Instant::now();
    let applied = apply_plan(&a.1, &plan).await;
    j.timings.push(("apply plan", clock.elapsed()));
    if let Err(f) = applied {
        drop_database(a).await;
        j.outcome = match &case.expects_error {
            Some(_) if failures.is_empty() => Outcome::Refused(f.details.join("; ")),
            _ => {
                failures.push(f);
                Outcome::Fail(failures)
            }
        };
        return j;
    }

    // 4: the result.
    let clock = Instant::now();
    let result = read(&a.1, "result").await;
    drop_database(a).await;
    j.timings.push(("introspect result", clock.elapsed()));
    let (s_a2, unsupported_a2) = match result {
        Ok(r) => r,
        Err(f) => {
            failures.push(f);
            j.outcome = Outcome::Fail(failures);
            return j;
        }
    };
    let mut differences = structural_differences(&columns_by_name(&s_a2), &columns_by_name(&s_b));
    let before: Vec<String> = unsupported_b.iter().map(ToString::to_string).collect();
    differences.extend(
        unsupported_a2
            .iter()
            .map(ToString::to_string)
            .filter(|u| !before.contains(u))
            .map(|u| format!("unsupported in the result only: {u}")),
    );
    if !differences.is_empty() {
        let cause = differences
            .first()
            .map(|d| result_pattern(d, &s_a2, &s_b))
            .unwrap_or_default();
        failures.push(Failure {
            stage: Stage::ResultDiffers,
            details: differences,
            cause,
        });
    }

    // 5: idempotency.
    let second = diff(&s_a2, &s_b, &options);
    if !second.is_empty() {
        j.second_plan = Some(second.to_sql());
        failures.push(statements_failure(Stage::NotIdempotent, &second));
    }

    if !failures.is_empty() {
        j.outcome = Outcome::Fail(failures);
    }
    j
}

/// Objects of either side that the model cannot represent, as one failure.
fn unsupported_failure(start: &[Unsupported], target: &[Unsupported]) -> Option<Failure> {
    if start.is_empty() && target.is_empty() {
        return None;
    }
    let mut kinds: Vec<&str> = start
        .iter()
        .chain(target)
        .map(|u| u.kind.as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let details = start
        .iter()
        .map(|u| format!("start: {u}"))
        .chain(target.iter().map(|u| format!("target: {u}")))
        .collect();
    Some(Failure {
        stage: Stage::Unsupported,
        details,
        cause: format!("unsupported: {}", kinds.join(", ")),
    })
}

/// A failure that lists a plan's statements, grouped by the shape of the first one that is not
/// a session setting.
fn statements_failure(stage: Stage, plan: &Plan) -> Failure {
    let first = plan
        .steps
        .iter()
        .find(|s| !is_session_setting(&s.sql))
        .or_else(|| plan.steps.first());
    Failure {
        stage,
        details: plan
            .steps
            .iter()
            .map(|s| format!("[{}] {}", s.segment.name(), s.sql))
            .collect(),
        cause: first.map_or_else(String::new, |s| statement_shape(&s.sql)),
    }
}

/// `SET lock_timeout …` / `SET check_function_bodies …`.
fn is_session_setting(sql: &str) -> bool {
    sql.trim_start().starts_with("SET ")
}

/// Applies the plan chunk by chunk: transactional chunks in `BEGIN`/`COMMIT`, concurrent
/// statements alone. The error names the chunk, the statement and PostgreSQL's message.
pub async fn apply_plan(client: &tokio_postgres::Client, plan: &Plan) -> Result<(), Failure> {
    let fail = |chunk: usize, segment: Segment, sql: &str, e: &tokio_postgres::Error| {
        let message = db_message(e);
        Failure {
            stage: Stage::PlanApply,
            cause: format!("{}: {}", statement_shape(sql), message_pattern(&message)),
            details: vec![format!(
                "chunk {chunk} ({}): {message}; statement: {sql}",
                segment.name()
            )],
        }
    };
    for (n, chunk) in plan.chunks().iter().enumerate() {
        let n = n + 1;
        if !chunk.segment.transactional() {
            for step in &chunk.steps {
                client
                    .batch_execute(&step.sql)
                    .await
                    .map_err(|e| fail(n, chunk.segment, &step.sql, &e))?;
            }
            continue;
        }
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| fail(n, chunk.segment, "BEGIN", &e))?;
        for step in &chunk.steps {
            if let Err(e) = client.batch_execute(&step.sql).await {
                // The database is dropped next; a failed rollback changes nothing.
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(fail(n, chunk.segment, &step.sql, &e));
            }
        }
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| fail(n, chunk.segment, "COMMIT", &e))?;
    }
    Ok(())
}

/// The schema with each table's columns sorted by name: `ALTER TABLE` cannot reorder columns,
/// so a migrated table may list them in another order than the target's `CREATE TABLE`.
pub fn columns_by_name(schema: &Schema) -> Schema {
    let mut s = schema.clone();
    for table in s.tables.values_mut() {
        table.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    s
}

/// The round trip's difference pattern, with verdicts that name this comparison's sides (the
/// result on the left, the target on the right).
fn result_pattern(line: &str, result: &Schema, target: &Schema) -> String {
    if let Some(rest) = line.strip_prefix("unsupported in the result only: ") {
        return format!(
            "unsupported in the result only: {}",
            rest.split_whitespace().next().unwrap_or("")
        );
    }
    let p = difference_pattern(line, result, target);
    if let Some(stem) = p.strip_suffix(" only in S1") {
        format!("{stem} only in the result (not dropped)")
    } else if let Some(stem) = p.strip_suffix(" only in the round-tripped schema") {
        format!("{stem} only in the target (not created)")
    } else {
        p
    }
}

/// The keywords of a statement with names and values replaced by `…`: `ALTER TABLE
/// public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);` becomes `ALTER TABLE … ADD CONSTRAINT …
/// PRIMARY KEY`.
pub fn statement_shape(sql: &str) -> String {
    const MAX_TOKENS: usize = 8;
    let mut out: Vec<&str> = Vec::new();
    for token in sql.split_whitespace() {
        if out.len() >= MAX_TOKENS || token.starts_with('(') {
            break;
        }
        let word = token.trim_end_matches([';', ',']);
        let keyword = !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c == '-');
        if keyword {
            out.push(word);
        } else if out.last() != Some(&"…") {
            out.push("…");
        }
        if token.ends_with(';') {
            break;
        }
    }
    while out.last() == Some(&"…") {
        out.pop();
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen::model::{Column, PgType, QualifiedName, Table};

    fn schema(columns: &[&str]) -> Schema {
        let mut s = Schema::default();
        let mut t = Table::new(QualifiedName::public("t"));
        for c in columns {
            t.columns.push(Column::new(*c, PgType::Text));
        }
        s.tables.insert(t.name.clone(), t);
        s
    }

    #[test]
    fn column_order_is_ignored_but_columns_are_not() {
        let target = schema(&["id", "name", "email"]);
        let migrated = schema(&["id", "email", "name"]);
        assert!(!structural_differences(&migrated, &target).is_empty());
        assert!(
            structural_differences(&columns_by_name(&migrated), &columns_by_name(&target))
                .is_empty()
        );
        let short = schema(&["id", "email"]);
        assert!(
            !structural_differences(&columns_by_name(&short), &columns_by_name(&target)).is_empty()
        );
        let sorted = columns_by_name(&target);
        let names: Vec<&str> = sorted.tables[&QualifiedName::public("t")]
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["email", "id", "name"]);
    }

    #[test]
    fn statement_shapes_keep_keywords() {
        assert_eq!(
            statement_shape("ALTER TABLE public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);"),
            "ALTER TABLE … ADD CONSTRAINT … PRIMARY KEY"
        );
        assert_eq!(
            statement_shape("CREATE INDEX CONCURRENTLY \"i\" ON public.t USING btree (a);"),
            "CREATE INDEX CONCURRENTLY … ON … USING"
        );
        assert_eq!(statement_shape("DROP TABLE public.t;"), "DROP TABLE");
        assert_eq!(
            statement_shape("ALTER TABLE a.b ALTER COLUMN c TYPE integer USING c::integer;"),
            "ALTER TABLE … ALTER COLUMN … TYPE"
        );
    }

    #[test]
    fn result_patterns_name_the_sides() {
        let s = schema(&["a"]);
        assert_eq!(
            result_pattern("tables.public.t: only on the left", &s, &s),
            "tables.* only in the result (not dropped)"
        );
        assert_eq!(
            result_pattern("tables.public.t: only on the right", &s, &s),
            "tables.* only in the target (not created)"
        );
        assert_eq!(
            result_pattern("tables.public.t.columns[0].nullable: true != false", &s, &s),
            "tables.*.columns[].nullable differs"
        );
    }

    #[test]
    fn outcomes_that_pass() {
        assert!(Outcome::Pass.passed());
        assert!(Outcome::Refused("x".into()).passed());
        assert!(!Outcome::NotRunnable("x".into()).passed());
        assert!(!Outcome::Fail(vec![]).passed());
    }
}
