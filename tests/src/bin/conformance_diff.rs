//! `conformance_diff`: judges the differ (`codegen::diff`) on every runnable case of the peer
//! suites in `../shared/conformance/` (a start state and a target state: sqldef `current` →
//! `desired` and back when the case has `down`, migra `a` ↔ `b`, pg-schema-diff `old` → `new`)
//! and writes the results to `CONFORMANCE-DIFF.md`. See `jobpilot_tests::conformance::migration`
//! for what is judged.
//!
//! ```text
//! cargo run --release -p jobpilot-tests --bin conformance_diff -- [--suite NAME] [--jobs N]
//!     [--filter SUBSTR] [--write CONFORMANCE-DIFF.md] [--dump DIR] [--dir SUITES]
//! ```
//!
//! The round-trip runner (`conformance`) owns `CONFORMANCE.md` and rewrites it whole; this one
//! writes its own file, so both can be re-run independently.
//!
//! Exit status: 0 when the run completed (whatever the pass rate), 2 when it could not run.

use clap::Parser;
use jobpilot_tests::conformance::cases::{self, Case, Direction};
use jobpilot_tests::conformance::corpus::{self, Skip, Suite};
use jobpilot_tests::conformance::migration::{self, Failure, Judgement, Outcome, Stage};
use jobpilot_tests::conformance::report::{self, cell, code};
use jobpilot_tests::conformance::roles;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How many details are listed per failing case.
const DETAILS_PER_CASE: usize = 3;

/// Judges the differ on the peer suites' cases and writes CONFORMANCE-DIFF.md.
#[derive(Debug, Parser)]
#[command(name = "conformance_diff", version, about)]
struct Args {
    /// Only this suite: sqldef, migra or pg-schema-diff.
    #[arg(long, value_name = "NAME")]
    suite: Option<String>,
    /// Cases judged in parallel (each uses two databases).
    #[arg(long, default_value_t = 2, value_name = "N")]
    jobs: usize,
    /// Only cases whose `suite/case/from->to` contains this text.
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
    /// Write the report to this file (CONFORMANCE-DIFF.md).
    #[arg(long, value_name = "PATH")]
    write: Option<PathBuf>,
    /// The suites' directory (default: ../shared/conformance beside the workspace).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Write each failing case's states, plans and failures to DIR/<case>.
    #[arg(long, value_name = "DIR")]
    dump: Option<PathBuf>,
}

/// Why the run could not happen.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Corpus(#[from] corpus::CorpusError),
    #[error("PostgreSQL: {0}")]
    Server(#[from] pgkit::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance_diff: {e}");
            ExitCode::from(2)
        }
    }
}

/// The command line as typed, for the report.
fn command_line() -> String {
    let mut cmd = String::from("cargo run --release -p jobpilot-tests --bin conformance_diff --");
    for a in std::env::args().skip(1) {
        cmd.push(' ');
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
            cmd.push('\'');
            cmd.push_str(&a.replace('\'', "'\\''"));
            cmd.push('\'');
        } else {
            cmd.push_str(&a);
        }
    }
    cmd
}

async fn run(args: Args) -> Result<(), RunError> {
    let started = Instant::now();
    let jobs = args.jobs.max(1);
    let suite = match args.suite.as_deref() {
        None => None,
        Some(name) => Some(Suite::parse(name).ok_or_else(|| {
            RunError::Usage(format!(
                "unknown suite `{name}`: use sqldef, migra or pg-schema-diff"
            ))
        })?),
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| jobpilot_tests::shared_dir().join("conformance"));
    let corpus = corpus::load(&dir)?;
    let all = cases::load(&dir, &corpus)?;
    let (skipped, runnable): (Vec<Case>, Vec<Case>) = all
        .into_iter()
        .filter(|c| cases::selected(c, suite, args.filter.as_deref()))
        .partition(|c| c.skip.is_some());

    let server = pgkit::Server::shared().await?;
    let admin = roles::admin_client(&server).await?;
    let version: String = admin.query_one("SELECT version()", &[]).await?.try_get(0)?;
    let postgres = version.split(" on ").next().unwrap_or(&version).to_owned();
    drop(admin);
    eprintln!(
        "conformance_diff: {} cases to run, {} skipped, {jobs} jobs, on {} ({postgres})",
        runnable.len(),
        skipped.len(),
        server.describe()
    );

    let created_roles = roles::ensure_roles(&server, &corpus.roles).await?;
    let judged = judge_all(&server, runnable, jobs, args.dump.as_deref()).await;
    let role_problems = roles::drop_roles(&server, &created_roles).await;
    for p in &role_problems {
        eprintln!("conformance_diff: warning: {p}");
    }

    let report = DiffReport {
        command: command_line(),
        date: report::today(),
        postgres,
        jobs,
        elapsed: started.elapsed(),
        partial: args.suite.is_some() || args.filter.is_some(),
        judged,
        skipped,
        role_problems,
    };
    print_summary(&report);
    if let Some(path) = &args.write {
        std::fs::write(path, render_markdown(&report)).map_err(|e| RunError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        eprintln!("conformance_diff: wrote {}", path.display());
    }
    Ok(())
}

/// Runs every case, `jobs` at a time, printing a line per verdict. Results come back in the
/// cases' order.
async fn judge_all(
    server: &Arc<pgkit::Server>,
    cases: Vec<Case>,
    jobs: usize,
    dump: Option<&Path>,
) -> Vec<(Case, Judgement)> {
    let total = cases.len();
    let clock = Instant::now();
    let permits = Arc::new(Semaphore::new(jobs));
    let mut set: JoinSet<(usize, Case, Judgement)> = JoinSet::new();
    let mut results = Vec::with_capacity(total);
    let mut finished = 0;
    let mut take = |done: Result<(usize, Case, Judgement), tokio::task::JoinError>,
                    results: &mut Vec<(usize, Case, Judgement)>| {
        finished += 1;
        match done {
            Ok((i, case, j)) => {
                progress(finished, total, clock.elapsed(), &case, &j);
                if let Some(dir) = dump {
                    if !j.outcome.passed() && !matches!(j.outcome, Outcome::NotRunnable(_)) {
                        if let Err(e) = write_dump(dir, &case, &j) {
                            eprintln!("conformance_diff: cannot dump {}: {e}", case.label());
                        }
                    }
                }
                results.push((i, case, j));
            }
            // judge_isolated catches panics; this is a cancelled runtime.
            Err(e) => eprintln!("conformance_diff: a job failed: {e}"),
        }
    };
    for (i, case) in cases.into_iter().enumerate() {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        while let Some(done) = set.try_join_next() {
            take(done, &mut results);
        }
        let server = Arc::clone(server);
        set.spawn(async move {
            let _permit = permit;
            let j = migration::judge_isolated(server, case.clone()).await;
            (i, case, j)
        });
    }
    while let Some(done) = set.join_next().await {
        take(done, &mut results);
    }
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, c, j)| (c, j)).collect()
}

/// `[ 12/1860  0:42] FAIL label (1.2 s): step: cause`.
fn progress(finished: usize, total: usize, elapsed: Duration, case: &Case, j: &Judgement) {
    let width = total.to_string().len();
    let secs = elapsed.as_secs();
    let (tag, verdict) = match &j.outcome {
        Outcome::Pass => ("ok  ", "pass".to_owned()),
        Outcome::Refused(e) => ("ok  ", format!("refused: {}", first_line(e))),
        Outcome::NotRunnable(e) => ("n/r ", format!("not runnable: {}", first_line(e))),
        Outcome::Fail(failures) => (
            "FAIL",
            failures
                .iter()
                .map(|f| format!("{}: {}", f.stage, f.cause))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    eprintln!(
        "[{finished:>width$}/{total} {:>3}:{:02}] {tag} {} ({:.1} s): {verdict}",
        secs / 60,
        secs % 60,
        case.label(),
        j.elapsed().as_secs_f64(),
    );
}

/// The first line of a message.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// A file-system-safe name for a case.
fn dump_name(case: &Case) -> String {
    case.label()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes a failing case's states, plans and failures into `dir/<case>`.
fn write_dump(dir: &Path, case: &Case, j: &Judgement) -> std::io::Result<()> {
    let dir = dir.join(dump_name(case));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    for (file, side) in [("from.sql", &case.from), ("to.sql", &case.to)] {
        let mut text = format!("-- {} ({})\n", case, side.label);
        if let Some(p) = &side.prelude {
            text.push_str(&format!("-- prelude:\n{p}\n"));
        }
        for s in &side.scripts {
            text.push_str(&format!("-- {}:\n{}\n", s.which, s.sql));
        }
        std::fs::write(dir.join(file), text)?;
    }
    if let Some(plan) = &j.plan {
        std::fs::write(dir.join("plan.sql"), plan)?;
    }
    if let Some(plan) = &j.second_plan {
        std::fs::write(dir.join("second_plan.sql"), plan)?;
    }
    let mut text = String::new();
    if let Outcome::Fail(failures) = &j.outcome {
        for f in failures {
            text.push_str(&format!("## {}: {}\n", f.stage, f.cause));
            for d in &f.details {
                text.push_str(d);
                text.push('\n');
            }
        }
    }
    std::fs::write(dir.join("failures.txt"), text)
}

/// Everything a run learnt.
struct DiffReport {
    command: String,
    date: String,
    postgres: String,
    jobs: usize,
    elapsed: Duration,
    partial: bool,
    judged: Vec<(Case, Judgement)>,
    skipped: Vec<Case>,
    role_problems: Vec<String>,
}

/// Counts for a set of cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    cases: usize,
    skipped: usize,
    not_runnable: usize,
    passed: usize,
    refused: usize,
    failed: usize,
}

impl Tally {
    fn runnable(&self) -> usize {
        self.passed + self.refused + self.failed
    }

    fn rate(&self) -> f64 {
        if self.runnable() == 0 {
            100.0
        } else {
            (self.passed + self.refused) as f64 * 100.0 / self.runnable() as f64
        }
    }

    fn percent(&self) -> String {
        if self.runnable() == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.1}%", self.rate())
        }
    }

    fn add(&mut self, outcome: Option<&Outcome>) {
        self.cases += 1;
        match outcome {
            None => self.skipped += 1,
            Some(Outcome::Pass) => self.passed += 1,
            Some(Outcome::Refused(_)) => self.refused += 1,
            Some(Outcome::NotRunnable(_)) => self.not_runnable += 1,
            Some(Outcome::Fail(_)) => self.failed += 1,
        }
    }
}

/// Failing cases that share a step and a cause.
struct Cluster<'a> {
    stage: Stage,
    cause: &'a str,
    members: Vec<(&'a Case, &'a Failure)>,
}

impl DiffReport {
    fn tally(&self, wanted: impl Fn(&Case) -> bool) -> Tally {
        let mut t = Tally::default();
        for (c, j) in &self.judged {
            if wanted(c) {
                t.add(Some(&j.outcome));
            }
        }
        for c in &self.skipped {
            if wanted(c) {
                t.add(None);
            }
        }
        t
    }

    /// Rows of the summary: each suite (and direction, where there are reverse cases), then all.
    fn rows(&self) -> Vec<(String, Tally)> {
        let mut rows = Vec::new();
        for suite in Suite::ALL {
            let t = self.tally(|c| c.suite == suite);
            if t.cases == 0 {
                continue;
            }
            rows.push((suite.name().to_owned(), t));
            let reverse = self.tally(|c| c.suite == suite && c.direction == Direction::Reverse);
            if reverse.cases > 0 {
                rows.push((
                    format!("{suite}, forward"),
                    self.tally(|c| c.suite == suite && c.direction == Direction::Forward),
                ));
                rows.push((format!("{suite}, reverse"), reverse));
            }
        }
        rows.push(("all".to_owned(), self.tally(|_| true)));
        rows
    }

    fn clusters(&self) -> Vec<Cluster<'_>> {
        let mut map: BTreeMap<(Stage, &str), Vec<(&Case, &Failure)>> = BTreeMap::new();
        for (c, j) in &self.judged {
            if let Outcome::Fail(failures) = &j.outcome {
                for f in failures {
                    map.entry((f.stage, f.cause.as_str()))
                        .or_default()
                        .push((c, f));
                }
            }
        }
        let mut clusters: Vec<Cluster<'_>> = map
            .into_iter()
            .map(|((stage, cause), members)| Cluster {
                stage,
                cause,
                members,
            })
            .collect();
        clusters.sort_by(|a, b| {
            b.members
                .len()
                .cmp(&a.members.len())
                .then(a.stage.cmp(&b.stage))
                .then(a.cause.cmp(b.cause))
        });
        clusters
    }
}

/// The run's summary on stdout.
fn print_summary(r: &DiffReport) {
    println!(
        "conformance_diff: {} on {}, {} jobs, {}{}",
        r.date,
        r.postgres,
        r.jobs,
        report::human_duration(r.elapsed),
        if r.partial { " (partial run)" } else { "" }
    );
    println!(
        "{:<26} {:>6} {:>7} {:>5} {:>8} {:>6} {:>7} {:>5} {:>7}",
        "suite", "cases", "skipped", "n/r", "runnable", "pass", "refused", "fail", "rate"
    );
    for (name, t) in r.rows() {
        println!(
            "{name:<26} {:>6} {:>7} {:>5} {:>8} {:>6} {:>7} {:>5} {:>7}",
            t.cases,
            t.skipped,
            t.not_runnable,
            t.runnable(),
            t.passed,
            t.refused,
            t.failed,
            t.percent()
        );
    }
    let all = r.tally(|_| true);
    println!(
        "goal {:.0}%: {} ({} of {} runnable cases pass)",
        report::GOAL_PERCENT,
        if all.rate() >= report::GOAL_PERCENT {
            "met"
        } else {
            "NOT met"
        },
        all.passed + all.refused,
        all.runnable()
    );
    let clusters = r.clusters();
    if !clusters.is_empty() {
        println!("failures by step and cause (cases):");
        for c in &clusters {
            println!("{:>5}  {}: {}", c.members.len(), c.stage, c.cause);
        }
    }
}

/// Renders `CONFORMANCE-DIFF.md`.
fn render_markdown(r: &DiffReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Conformance: the differ on the peer suites\n");
    let _ = writeln!(
        o,
        "<!-- Written by tests/src/bin/conformance_diff.rs; do not edit by hand: re-run the \
         command below. The round trip of each state is in CONFORMANCE.md. -->\n"
    );
    let _ = writeln!(
        o,
        "Produced by `{}` on {} against {}, {} parallel cases, in {}.{}\n",
        r.command,
        r.date,
        r.postgres,
        r.jobs,
        report::human_duration(r.elapsed),
        if r.partial {
            " **Partial run** (`--suite`/`--filter`): the figures cover only the selected cases."
        } else {
            ""
        }
    );
    write_method(&mut o);
    write_summary(&mut o, r);
    write_clusters(&mut o, r);
    write_refused(&mut o, r);
    write_not_runnable(&mut o, r);
    write_skipped(&mut o, r);
    if !r.role_problems.is_empty() {
        let _ = writeln!(o, "## Roles that could not be dropped\n");
        for p in &r.role_problems {
            let _ = writeln!(o, "- {}", code(p));
        }
        o.push('\n');
    }
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

fn write_method(o: &mut String) {
    let _ = writeln!(
        o,
        "## What is judged\n\n\
         Every case of the three peer suites in `../shared/conformance/` is a start state and a \
         target state: sqldef `current` → `desired` (and `desired` → `current` when the case \
         has `down`), migra `a` → `b` and `b` → `a`, pg-schema-diff `old` → `new` (`expected` \
         when present). Per case, on a real PostgreSQL (the suite README's \"How to judge a \
         differ on these cases\"):\n\n\
         1. database A gets the start state, database B the target, each applied to a fresh \
         empty database the way the round trip applies a state (texts written out of \
         dependency order on purpose the psqldef way; the `user:` prelude first); a side that \
         does not apply makes the case *not runnable*;\n\
         2. both are introspected (S_a, S_b); objects the model cannot represent fail the \
         case;\n\
         3. `codegen::diff::diff(S_a, S_b, DiffOptions::default())` is applied to A chunk by \
         chunk (`Plan::chunks`): each transactional chunk inside `BEGIN`/`COMMIT`, each \
         concurrent statement on its own;\n\
         4. A is introspected again (S_a2): `canonical::structural_differences(S_a2, S_b)` must \
         be empty with each table's columns sorted by name on both sides (`ALTER TABLE` cannot \
         reorder columns);\n\
         5. `diff(S_a2, S_b)` must be empty (idempotency).\n\n\
         Where the peer expects a refusal (sqldef `error`, pg-schema-diff \
         `expectedPlanErrorIs`/`expectedPlanErrorContains`) the case also passes when the plan \
         fails to apply with PostgreSQL's error (*refused*). Where pg-schema-diff expects an \
         empty plan (`expectEmptyPlan`), ours must be empty too. sqldef cases whose `desired` \
         uses a schema only `current` creates take `current` + `up` as the target. migra's \
         schema filters are not replayed: the whole database is diffed, which is stricter. \
         Skipped: cases with a state stock PostgreSQL 15 cannot run (as in the round trip) and \
         the psqldef-option categories we have no equivalent of. Each database is dropped \
         after use; a case has {} s.\n",
        migration::CASE_LIMIT.as_secs()
    );
}

fn write_summary(o: &mut String, r: &DiffReport) {
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(
        o,
        "| suite | cases | skipped | not runnable | runnable | pass | refused | fail | pass rate |"
    );
    let _ = writeln!(
        o,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (name, t) in r.rows() {
        let name = if name == "all" {
            "**all**".to_owned()
        } else {
            name
        };
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.cases,
            t.skipped,
            t.not_runnable,
            t.runnable(),
            t.passed,
            t.refused,
            t.failed,
            t.percent()
        );
    }
    let all = r.tally(|_| true);
    let verdict = if all.rate() >= report::GOAL_PERCENT {
        "met"
    } else {
        "**not met**"
    };
    let _ = writeln!(
        o,
        "\nGoal: at least {:.0}% of runnable cases pass (pass or refused) — {verdict} ({} of \
         {}).\n",
        report::GOAL_PERCENT,
        all.passed + all.refused,
        all.runnable()
    );
}

fn write_clusters(o: &mut String, r: &DiffReport) {
    let clusters = r.clusters();
    let _ = writeln!(o, "## Failures by cause\n");
    if clusters.is_empty() {
        let _ = writeln!(o, "None.\n");
        return;
    }
    let _ = writeln!(
        o,
        "A failing case is listed under every step that failed for it, under the cause of that \
         step's first difference, statement or error (names and values taken out). Plan \
         failures name the statement's shape and PostgreSQL's message.\n"
    );
    let _ = writeln!(o, "| # | step | cause | cases | suspects |");
    let _ = writeln!(o, "| ---: | --- | --- | ---: | --- |");
    for (i, c) in clusters.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            c.stage,
            code(&cell(c.cause)),
            c.members.len(),
            c.stage.suspects()
        );
    }
    o.push('\n');
    for (i, c) in clusters.iter().enumerate() {
        let _ = writeln!(
            o,
            "### {}. {}: {} ({} case{})\n",
            i + 1,
            c.stage,
            code(c.cause),
            c.members.len(),
            if c.members.len() == 1 { "" } else { "s" }
        );
        for (case, failure) in &c.members {
            let _ = writeln!(o, "- {}", code(&case.label()));
            for d in failure.details.iter().take(DETAILS_PER_CASE) {
                let _ = writeln!(o, "  - {}", code(d));
            }
            if failure.details.len() > DETAILS_PER_CASE {
                let _ = writeln!(o, "  - … {} more", failure.details.len() - DETAILS_PER_CASE);
            }
        }
        o.push('\n');
    }
}

fn write_refused(o: &mut String, r: &DiffReport) {
    let expecting: Vec<&(Case, Judgement)> = r
        .judged
        .iter()
        .filter(|(c, _)| c.expects_error.is_some())
        .collect();
    if expecting.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Cases where the peer expects a refusal\n");
    let _ = writeln!(
        o,
        "They pass when our plan fails to apply (*refused*, PostgreSQL's error shown) or when it \
         migrates and reaches the target.\n"
    );
    for (c, j) in expecting {
        let verdict = match &j.outcome {
            Outcome::Pass => "migrated and reached the target".to_owned(),
            Outcome::Refused(e) => format!("refused: {}", code(e)),
            Outcome::NotRunnable(_) => "not runnable".to_owned(),
            Outcome::Fail(f) => format!(
                "**fail** ({})",
                f.iter()
                    .map(|f| f.stage.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let _ = writeln!(
            o,
            "- {} (peer: {}): {verdict}",
            code(&c.label()),
            code(c.expects_error.as_deref().unwrap_or(""))
        );
    }
    o.push('\n');
}

fn write_not_runnable(o: &mut String, r: &DiffReport) {
    let rows: Vec<(&Case, &String)> = r
        .judged
        .iter()
        .filter_map(|(c, j)| match &j.outcome {
            Outcome::NotRunnable(e) => Some((c, e)),
            _ => None,
        })
        .collect();
    let _ = writeln!(o, "## Not runnable\n");
    if rows.is_empty() {
        let _ = writeln!(o, "None: both states of every case that was run applied.\n");
        return;
    }
    for (c, e) in rows {
        let _ = writeln!(o, "- {}: {}", code(&c.label()), code(e));
    }
    o.push('\n');
}

fn write_skipped(o: &mut String, r: &DiffReport) {
    let _ = writeln!(o, "## Skipped\n");
    if r.skipped.is_empty() {
        let _ = writeln!(o, "None.\n");
        return;
    }
    let mut by_category: BTreeMap<&str, Vec<(&Case, &Skip)>> = BTreeMap::new();
    for c in &r.skipped {
        if let Some(skip) = &c.skip {
            by_category
                .entry(skip.category.as_str())
                .or_default()
                .push((c, skip));
        }
    }
    let _ = writeln!(o, "| reason | cases |\n| --- | ---: |");
    for (cat, cases) in &by_category {
        let _ = writeln!(o, "| `{cat}` | {} |", cases.len());
    }
    o.push('\n');
    for (cat, cases) in &by_category {
        let _ = writeln!(o, "### `{cat}`\n");
        for (c, skip) in cases {
            let _ = writeln!(o, "- {}: {}", code(&c.label()), code(&skip.detail));
        }
        o.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_counts_as_passed() {
        let mut t = Tally::default();
        t.add(Some(&Outcome::Pass));
        t.add(Some(&Outcome::Refused("boom".into())));
        t.add(Some(&Outcome::Fail(vec![])));
        t.add(Some(&Outcome::NotRunnable("x".into())));
        t.add(None);
        assert_eq!(t.cases, 5);
        assert_eq!(t.runnable(), 3);
        assert!((t.rate() - 200.0 / 3.0).abs() < 1e-9);
    }
}
