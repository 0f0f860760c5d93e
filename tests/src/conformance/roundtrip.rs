//! Judges one SQL state: the whole round trip of the toolkit on a real PostgreSQL.
//!
//! 1. A fresh database (no Supabase bootstrap: the suites' states are plain PostgreSQL); the
//!    state applied statement by statement (out-of-order texts the way psqldef applies them).
//!    A state that does not apply is "not runnable", with PostgreSQL's error.
//! 2. Introspection (`Filter { supabase: false, .. }`) gives S1; objects the model cannot
//!    represent fail the state, by name.
//! 3. The schema language: S1 written as TOML and loaded back gives S2, which must equal S1.
//! 4. SQL: S2 rendered, applied to another fresh database and introspected gives S3, which must
//!    equal S1.
//!
//! When step 3 cannot load the TOML at all, step 4 renders S1 instead, so that one state can
//! show a writer problem and a renderer problem at once. Each database is dropped as soon as it
//! has been read.

use codegen::canonical::structural_differences;
use codegen::introspect::{Filter, introspect};
use codegen::model::{Schema, Unsupported};
use codegen::source::{SourceError, SqlSource, apply_script};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one statement may run before PostgreSQL cancels it.
// language=PostgreSQL
const SESSION_SETUP: &str = "SET statement_timeout = '60s'; SET lock_timeout = '30s'";

/// Upper bound for the whole round trip of one state.
const STATE_LIMIT: Duration = Duration::from_secs(300);

/// The database name prefix of the run's databases (pgkit appends a unique part).
const DB_PREFIX: &str = "jp_conf";

/// One SQL text to judge.
#[derive(Debug, Clone)]
pub struct Input {
    /// Names the text in messages (`sqldef tests_tables.yml:CreateTable (desired)`).
    pub label: String,
    /// The SQL.
    pub sql: String,
    /// Statements run first on the same connection (a `SET search_path`, say).
    pub prelude: Option<String>,
    /// Apply the way psqldef does: retry failed statements in further passes until no progress.
    pub out_of_order: bool,
    /// When the state fails, write what each step produced into this directory (the state, the
    /// TOML files, the rendered SQL, the failures), for a person to look at.
    pub dump: Option<PathBuf>,
}

/// A step of the round trip, for failures; the order is the pipeline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// No database could be had, or the run timed out.
    Harness,
    /// Introspection returned an error.
    Introspect,
    /// The state has objects the model cannot represent.
    Unsupported,
    /// The TOML written from S1 does not load.
    WriteLoad,
    /// The TOML loads, but S2 differs from S1.
    SchemaLanguage,
    /// PostgreSQL refused the SQL rendered from S2.
    RenderApply,
    /// The rendered SQL applies, but S3 differs from S1.
    SqlRoundTrip,
    /// Something panicked (a bug wherever it was).
    Panic,
}

impl Stage {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Harness => "harness",
            Stage::Introspect => "introspect error",
            Stage::Unsupported => "unsupported objects",
            Stage::WriteLoad => "TOML does not load",
            Stage::SchemaLanguage => "TOML round trip differs (S2 != S1)",
            Stage::RenderApply => "rendered SQL does not apply",
            Stage::SqlRoundTrip => "SQL round trip differs (S3 != S1)",
            Stage::Panic => "panic",
        }
    }

    /// The modules to look at first when a state fails at this step.
    pub fn suspects(self) -> &'static str {
        match self {
            Stage::Harness => "pgkit / the runner",
            Stage::Introspect => "introspect",
            Stage::Unsupported => "model gap (reported by introspect)",
            Stage::WriteLoad => "parse writer or loader/validator",
            Stage::SchemaLanguage => "parse writer or lowering",
            Stage::RenderApply => "render",
            Stage::SqlRoundTrip => "render or introspect",
            Stage::Panic => "the module that panicked",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One way a state failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where.
    pub stage: Stage,
    /// What: differences (`path: left != right`) or error lines, all of them.
    pub details: Vec<String>,
    /// The cause, with names and values taken out, for grouping (`tables.*.columns[].default
    /// differs`, `relation "…" does not exist`).
    pub cause: String,
}

impl Failure {
    fn new(stage: Stage, details: Vec<String>, cause: String) -> Self {
        Failure {
            stage,
            details,
            cause,
        }
    }

    fn error(stage: Stage, message: impl Into<String>) -> Self {
        let message = message.into();
        let cause = message_pattern(&message);
        Failure::new(stage, vec![message], cause)
    }
}

/// The verdict on a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// S2 and S3 both equal S1.
    Pass,
    /// The state itself does not apply to an empty database (PostgreSQL's error).
    NotRunnable(String),
    /// At least one equality does not hold (or a step failed), in pipeline order.
    Fail(Vec<Failure>),
}

/// The verdict with what was learnt on the way.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Pass, fail or not runnable.
    pub outcome: Outcome,
    /// Objects of S1 the model cannot represent.
    pub unsupported: Vec<Unsupported>,
    /// Tables in S1.
    pub tables: usize,
    /// Objects in S1 (`Schema::object_count`).
    pub objects: usize,
    /// Wall time of each step that ran.
    pub timings: Vec<(&'static str, Duration)>,
}

impl Judgement {
    fn new(outcome: Outcome) -> Self {
        Judgement {
            outcome,
            unsupported: Vec::new(),
            tables: 0,
            objects: 0,
            timings: Vec::new(),
        }
    }

    /// Total wall time.
    pub fn elapsed(&self) -> Duration {
        self.timings.iter().map(|(_, d)| *d).sum()
    }
}

/// Judges `input` in a task of its own, so that a panic anywhere in the toolkit becomes a failure
/// of this state instead of ending the run, and with an overall time limit.
pub async fn judge_isolated(server: Arc<pgkit::Server>, input: Input) -> Judgement {
    let work = async move { judge(&server, &input).await };
    match super::isolated(STATE_LIMIT, work).await {
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

/// The introspection filter of the run: plain PostgreSQL, nothing is Supabase's.
pub fn filter() -> Filter {
    Filter {
        supabase: false,
        ..Filter::default()
    }
}

/// Takes `input` through the whole round trip.
pub async fn judge(server: &Arc<pgkit::Server>, input: &Input) -> Judgement {
    let mut j = Judgement::new(Outcome::Pass);
    let mut failures = Vec::new();

    // 1 + 2: the state's database, read back.
    let clock = Instant::now();
    let db = match fresh_database(server).await {
        Ok(db) => db,
        Err(f) => return Judgement::new(Outcome::Fail(vec![f])),
    };
    if let Err(message) = apply_state(&db.1, input).await {
        drop_database(db).await;
        j.timings.push(("apply state", clock.elapsed()));
        j.outcome = Outcome::NotRunnable(message);
        return j;
    }
    j.timings.push(("apply state", clock.elapsed()));
    let clock = Instant::now();
    let found = introspect(&db.1, &filter()).await;
    drop_database(db).await;
    j.timings.push(("introspect S1", clock.elapsed()));
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            j.outcome = Outcome::Fail(vec![Failure::error(Stage::Introspect, e.to_string())]);
            return j;
        }
    };
    let s1 = found.schema.database_view();
    j.tables = s1.tables.len();
    j.objects = s1.object_count();
    if !found.unsupported.is_empty() {
        let mut kinds: Vec<&str> = found.unsupported.iter().map(|u| u.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        failures.push(Failure::new(
            Stage::Unsupported,
            found.unsupported.iter().map(ToString::to_string).collect(),
            format!("unsupported: {}", kinds.join(", ")),
        ));
        j.unsupported = found.unsupported;
    }

    // 3: the schema language.
    let clock = Instant::now();
    let (files, loaded) = schema_language_round_trip(&s1);
    let s2 = match loaded {
        Ok(s2) => {
            let differences = structural_differences(&s1, &s2);
            if !differences.is_empty() {
                failures.push(difference_failure(
                    Stage::SchemaLanguage,
                    differences,
                    &s1,
                    &s2,
                ));
            }
            Some(s2)
        }
        Err(f) => {
            failures.push(f);
            None
        }
    };
    j.timings.push(("write + load TOML", clock.elapsed()));

    // 4: SQL.
    let clock = Instant::now();
    let script = codegen::render::render_schema(s2.as_ref().unwrap_or(&s1));
    j.timings.push(("render SQL", clock.elapsed()));
    let clock = Instant::now();
    match sql_round_trip(server, &script).await {
        Ok((s3, unsupported)) => {
            j.timings
                .push(("apply rendered + introspect S3", clock.elapsed()));
            let mut differences = structural_differences(&s1, &s3);
            // Objects S1 already had that the model cannot represent fail the state once, above;
            // only new ones are the rendering's doing.
            let before: Vec<String> = j.unsupported.iter().map(ToString::to_string).collect();
            differences.extend(
                unsupported
                    .iter()
                    .map(ToString::to_string)
                    .filter(|u| !before.contains(u))
                    .map(|u| format!("unsupported after rendering: {u}")),
            );
            if !differences.is_empty() {
                failures.push(difference_failure(
                    Stage::SqlRoundTrip,
                    differences,
                    &s1,
                    &s3,
                ));
            }
        }
        Err(f) => {
            j.timings
                .push(("apply rendered + introspect S3", clock.elapsed()));
            failures.push(f);
        }
    }

    if !failures.is_empty() {
        if let Some(dir) = &input.dump {
            if let Err(e) = dump(dir, input, &files, &script, &failures) {
                eprintln!("conformance: cannot dump {}: {e}", dir.display());
            }
        }
        j.outcome = Outcome::Fail(failures);
    }
    j
}

/// Writes a failing state's steps into `dir`: `state.sql`, `toml/*`, `rendered.sql` and
/// `failures.txt` (every detail of every failure).
fn dump(
    dir: &std::path::Path,
    input: &Input,
    files: &[(String, String)],
    script: &str,
    failures: &[Failure],
) -> std::io::Result<()> {
    // A previous run's files (TOML files under other names) would mislead.
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let toml = dir.join("toml");
    std::fs::create_dir_all(&toml)?;
    let mut state = format!("-- {}\n", input.label);
    if let Some(prelude) = &input.prelude {
        state.push_str(&format!("-- prelude:\n{prelude}\n-- state:\n"));
    }
    state.push_str(&input.sql);
    std::fs::write(dir.join("state.sql"), state)?;
    for (name, text) in files {
        // Written names are plain file names; keep only the last component all the same.
        let name = std::path::Path::new(name)
            .file_name()
            .map_or_else(|| "unnamed.toml".into(), |n| n.to_owned());
        std::fs::write(toml.join(name), text)?;
    }
    std::fs::write(dir.join("rendered.sql"), script)?;
    let mut text = String::new();
    for f in failures {
        text.push_str(&format!("## {}: {}\n", f.stage, f.cause));
        for d in &f.details {
            text.push_str(d);
            text.push('\n');
        }
    }
    std::fs::write(dir.join("failures.txt"), text)
}

/// A database and a connection to it.
pub type Db = (pgkit::TempDb, tokio_postgres::Client);

pub async fn fresh_database(server: &Arc<pgkit::Server>) -> Result<Db, Failure> {
    let harness = |e: &dyn fmt::Display| Failure::error(Stage::Harness, e.to_string());
    let db = server
        .create_database(DB_PREFIX)
        .await
        .map_err(|e| harness(&e))?;
    let client = match db.connect().await {
        Ok(c) => c,
        Err(e) => {
            drop_guard(db).await;
            return Err(harness(&e));
        }
    };
    if let Err(e) = client.batch_execute(SESSION_SETUP).await {
        drop_database((db, client)).await;
        return Err(harness(&e));
    }
    Ok((db, client))
}

/// Closes the connection and drops the database.
pub async fn drop_database(db: Db) {
    let (db, client) = db;
    drop(client);
    drop_guard(db).await;
}

/// Drops a database guard on a blocking thread: pgkit's guard blocks while it drops.
async fn drop_guard(db: pgkit::TempDb) {
    // A failed drop is swept by pgkit on a later run; nothing to report here.
    let _ = tokio::task::spawn_blocking(move || drop(db)).await;
}

/// Applies the state (its prelude first) to `client`. The error is PostgreSQL's, with the line.
pub async fn apply_state(client: &tokio_postgres::Client, input: &Input) -> Result<(), String> {
    if let Some(prelude) = &input.prelude {
        client
            .batch_execute(prelude)
            .await
            .map_err(|e| format!("prelude: {}", db_message(&e)))?;
    }
    if input.out_of_order {
        apply_until_no_progress(client, &input.label, &input.sql).await
    } else {
        let source = SqlSource {
            path: PathBuf::from(&input.label),
            text: input.sql.clone(),
        };
        apply_script(client, &source)
            .await
            .map(|_| ())
            .map_err(|e| source_error_message(&e))
    }
}

/// psqldef's treatment of a text written out of dependency order: run every statement; run the
/// ones that failed again, in order, as long as each pass makes progress.
async fn apply_until_no_progress(
    client: &tokio_postgres::Client,
    label: &str,
    sql: &str,
) -> Result<(), String> {
    let statements =
        codegen::sqlscript::split(sql).map_err(|e| format!("{label}: cannot split: {e}"))?;
    let mut pending: Vec<&codegen::sqlscript::Statement> = statements.iter().collect();
    loop {
        let mut failed = Vec::new();
        let mut first_error = None;
        for stmt in &pending {
            if let Err(e) = client.batch_execute(&stmt.text).await {
                if first_error.is_none() {
                    first_error = Some(format!("line {}: {}", stmt.line, db_message(&e)));
                }
                failed.push(*stmt);
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        if failed.len() == pending.len() {
            return Err(first_error.unwrap_or_default());
        }
        pending = failed;
    }
}

/// PostgreSQL's message of an error (with its detail), or the client error.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => match d.detail() {
            Some(detail) => format!("{} ({detail})", d.message()),
            None => d.message().to_owned(),
        },
        None => e.to_string(),
    }
}

/// The message of a failed script: `line L: message`, plus the statement.
fn source_error_message(e: &SourceError) -> String {
    match e {
        SourceError::Statement(s) => {
            let mut m = format!("line {}: {}", s.line, s.message);
            if let Some(d) = &s.detail {
                m.push_str(&format!(" ({d})"));
            }
            m.push_str(&format!("; statement: {}", s.statement));
            m
        }
        other => other.to_string(),
    }
}

/// S1 written in the schema language (the files) and loaded back.
fn schema_language_round_trip(s1: &Schema) -> (Vec<(String, String)>, Result<Schema, Failure>) {
    let files = codegen::parse::write_schema(s1, &codegen::parse::WriteOptions::default());
    let loaded = match codegen::parse::load_files(files.clone()) {
        Ok(loaded) => Ok(loaded.schema.database_view()),
        Err(diagnostics) => {
            let details: Vec<String> = diagnostics
                .items
                .iter()
                .map(|d| format!("[{}] {d}", d.code))
                .collect();
            let cause = diagnostics.items.first().map_or_else(
                || "no diagnostics".to_owned(),
                |d| format!("{}: {}", d.code, message_pattern(&d.message)),
            );
            Err(Failure::new(Stage::WriteLoad, details, cause))
        }
    };
    (files, loaded)
}

/// The rendered script applied to a fresh database and read back.
async fn sql_round_trip(
    server: &Arc<pgkit::Server>,
    script: &str,
) -> Result<(Schema, Vec<Unsupported>), Failure> {
    let db = fresh_database(server).await?;
    let source = SqlSource {
        path: PathBuf::from("<rendered S2>"),
        text: script.to_owned(),
    };
    if let Err(e) = apply_script(&db.1, &source).await {
        drop_database(db).await;
        let cause = match &e {
            SourceError::Statement(s) => message_pattern(&s.message),
            other => message_pattern(&other.to_string()),
        };
        return Err(Failure::new(
            Stage::RenderApply,
            vec![source_error_message(&e)],
            cause,
        ));
    }
    let found = introspect(&db.1, &filter()).await;
    drop_database(db).await;
    match found {
        Ok(f) => Ok((f.schema.database_view(), f.unsupported)),
        Err(e) => Err(Failure::error(Stage::Introspect, e.to_string())),
    }
}

/// A failure made of structural differences, grouped by the first difference's path.
fn difference_failure(
    stage: Stage,
    differences: Vec<String>,
    left: &Schema,
    right: &Schema,
) -> Failure {
    let cause = differences
        .first()
        .map(|d| difference_pattern(d, left, right))
        .unwrap_or_default();
    Failure::new(stage, differences, cause)
}

/// The shape of a difference line without names and values: `tables.public.users.columns[2].
/// default: "a" != "b"` becomes `tables.*.columns[].default differs`.
pub fn difference_pattern(line: &str, left: &Schema, right: &Schema) -> String {
    if let Some(rest) = line.strip_prefix("unsupported after rendering: ") {
        return format!(
            "unsupported after rendering: {}",
            rest.split_whitespace().next().unwrap_or("")
        );
    }
    let (path, tail) = split_difference(line);
    let verdict = match tail {
        "only on the left" => "only in S1",
        "only on the right" => "only in the round-tripped schema",
        _ => "differs",
    };
    let (field, rest) = path.split_once('.').unwrap_or((path, ""));
    let mut keys: Vec<String> = Vec::new();
    for s in [left, right] {
        if let Ok(serde_json::Value::Object(top)) = serde_json::to_value(s) {
            if let Some(serde_json::Value::Object(map)) = top.get(field) {
                keys.extend(map.keys().cloned());
            }
        }
    }
    // The longest key that the rest starts with, followed by a path separator or the end.
    let key = keys
        .iter()
        .filter(|k| {
            rest.strip_prefix(k.as_str())
                .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
        })
        .max_by_key(|k| k.len());
    let remainder = match key {
        Some(k) => format!("{field}.*{}", &rest[k.len()..]),
        None if rest.is_empty() => field.to_owned(),
        None => format!("{field}.{rest}"),
    };
    format!("{} {verdict}", strip_indices(&remainder))
}

/// Splits `path: tail` at the separator after the path (paths themselves may contain `: ` only
/// inside names, which come before the last `]`/name segment; the verdicts are fixed texts).
fn split_difference(line: &str) -> (&str, &str) {
    for verdict in ["only on the left", "only on the right"] {
        if let Some(path) = line
            .strip_suffix(verdict)
            .and_then(|p| p.strip_suffix(": "))
        {
            return (path, verdict);
        }
    }
    // `path: left != right`: values are JSON, so the first `: ` followed by a JSON value start.
    let mut search = 0;
    while let Some(i) = line[search..].find(": ") {
        let at = search + i;
        let after = &line[at + 2..];
        if after.starts_with(['"', '{', '[', 't', 'f', 'n', '-'])
            || after.starts_with(|c: char| c.is_ascii_digit())
        {
            return (&line[..at], after);
        }
        search = at + 2;
    }
    (line, "")
}

/// `columns[12].x` -> `columns[].x`.
fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' if in_index => {
                in_index = false;
                out.push(']');
            }
            c if in_index && c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out
}

/// An error message without its names, numbers and parenthesised lists: `relation "users" does
/// not exist` becomes `relation "…" does not exist` (names in backticks, as the loader quotes
/// them, likewise; `references (foo, id)` becomes `references (…)`); the statement a message
/// quotes is cut off.
pub fn message_pattern(message: &str) -> String {
    let message = message.split("; statement: ").next().unwrap_or(message);
    let message = message
        .strip_prefix("line ")
        .and_then(|m| m.split_once(": ").map(|(_, rest)| rest))
        .unwrap_or(message);
    let mut out = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                out.push(c);
                out.push('…');
                out.push(c);
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '(' => {
                // A column or argument list: `references (foo, id) of`.
                out.push_str("(…)");
                let mut depth = 1;
                for d in chars.by_ref() {
                    match d {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            c if c.is_ascii_digit() => {
                out.push('N');
                while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    chars.next();
                }
            }
            '\n' => break,
            c => out.push(c),
        }
    }
    let mut out = out.trim().to_owned();
    // PostgreSQL names routines without quotes: `function public.add(integer, integer) does not
    // exist`.
    for kind in ["function", "procedure"] {
        if out.starts_with(&format!("{kind} ")) && out.ends_with(" does not exist") {
            out = format!("{kind} … does not exist");
        }
    }
    if out.chars().count() > 140 {
        out.chars().take(137).collect::<String>() + "..."
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen::model::{Column, PgType, QualifiedName, Table};

    fn schema_with(table: &str) -> Schema {
        let mut s = Schema::default();
        let mut t = Table::new(QualifiedName::new("my.schema", table));
        t.columns.push(Column::new("a", PgType::Text));
        s.tables.insert(t.name.clone(), t);
        s
    }

    #[test]
    fn difference_patterns_drop_names_indices_and_values() {
        let s = schema_with("users");
        let line = "tables.\"my.schema\".users.columns[12].default: \"'a'::text\" != null";
        assert_eq!(
            difference_pattern(line, &s, &s),
            "tables.*.columns[].default differs"
        );
        assert_eq!(
            difference_pattern("tables.\"my.schema\".users: only on the left", &s, &s),
            "tables.* only in S1"
        );
        assert_eq!(
            difference_pattern("default_privileges: [] != [1]", &s, &s),
            "default_privileges differs"
        );
    }

    #[test]
    fn message_patterns_drop_names_and_numbers() {
        assert_eq!(
            message_pattern("line 12: relation \"users\" does not exist; statement: SELECT 1"),
            "relation \"…\" does not exist"
        );
        assert_eq!(
            message_pattern("syntax error at or near \"x\" at character 42"),
            "syntax error at or near \"…\" at character N"
        );
        assert_eq!(
            message_pattern("line 3: function schema_2.add(integer, integer) does not exist"),
            "function … does not exist"
        );
        assert_eq!(
            message_pattern("key `k` references (foo, (id)) of `t`, which is not unique"),
            "key `…` references (…) of `…`, which is not unique"
        );
        assert_eq!(
            message_pattern("table `goodschema.t` and table `public.t` both become `T` in Rust"),
            "table `…` and table `…` both become `…` in Rust"
        );
    }
}
