//! `conformance`: takes every start and target state of the peer suites in
//! `../shared/conformance/`, and a generated 1,000-table schema, through the toolkit's round trip
//! (SQL -> introspect -> TOML -> load -> render -> apply -> introspect) and writes the results to
//! `CONFORMANCE.md`. See `jobpilot_tests::conformance` for what is judged.
//!
//! ```text
//! cargo run --release -p jobpilot-tests --bin conformance -- [--suite NAME] [--jobs N]
//!     [--filter SUBSTR] [--write CONFORMANCE.md] [--dump DIR] [--dir SUITES]
//! ```
//!
//! Exit status: 0 when the run completed (whatever the pass rate; the summary says whether the
//! goal is met), 2 when it could not run (no server, unreadable suites).

use clap::Parser;
use jobpilot_tests::conformance::corpus::{self, Corpus, State, Suite};
use jobpilot_tests::conformance::report::{self, RunReport, SyntheticResult};
use jobpilot_tests::conformance::roundtrip::{self, Input, Judgement, Outcome};
use jobpilot_tests::conformance::{SYNTHETIC_SIZE, roles};
use jobpilot_tests::synthetic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The name `--suite` takes for the generated schema.
const SYNTHETIC: &str = "synthetic";

/// How progress lines name the generated schema.
const SYNTHETIC_LABEL: &str = "synthetic schema";

/// Round-trips the peer suites' states and writes CONFORMANCE.md.
#[derive(Debug, Parser)]
#[command(name = "conformance", version, about)]
struct Args {
    /// Only this suite: sqldef, migra, pg-schema-diff or synthetic (the generated schema).
    #[arg(long, value_name = "NAME")]
    suite: Option<String>,
    /// States judged in parallel (each uses its own databases).
    #[arg(long, default_value_t = 2, value_name = "N")]
    jobs: usize,
    /// Only states whose `suite/case/which` contains this text.
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
    /// Write the report to this file (CONFORMANCE.md).
    #[arg(long, value_name = "PATH")]
    write: Option<PathBuf>,
    /// The suites' directory (default: ../shared/conformance beside the workspace).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Write each failing state's steps (state, TOML, rendered SQL, failures) to DIR/<state id>.
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
            eprintln!("conformance: {e}");
            ExitCode::from(2)
        }
    }
}

/// The command line as typed, for the report.
fn command_line() -> String {
    let mut cmd = String::from("cargo run --release -p jobpilot-tests --bin conformance --");
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

/// Whether a state is selected by `--suite` and `--filter`.
fn selected(state: &State, suite: Option<Suite>, filter: Option<&str>) -> bool {
    state
        .occurrences
        .iter()
        .any(|o| suite.is_none_or(|s| o.suite == s) && filter.is_none_or(|f| o.label().contains(f)))
}

async fn run(args: Args) -> Result<(), RunError> {
    let started = Instant::now();
    let jobs = args.jobs.max(1);
    let (suite, synthetic_wanted) = match args.suite.as_deref() {
        None => (
            None,
            args.filter.as_deref().is_none_or(|f| SYNTHETIC.contains(f)),
        ),
        Some(SYNTHETIC) => (None, true),
        Some(name) => match Suite::parse(name) {
            Some(s) => (Some(s), false),
            None => {
                return Err(RunError::Usage(format!(
                    "unknown suite `{name}`: use sqldef, migra, pg-schema-diff or {SYNTHETIC}"
                )));
            }
        },
    };
    let only_synthetic = args.suite.as_deref() == Some(SYNTHETIC);
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| jobpilot_tests::shared_dir().join("conformance"));
    let corpus = if only_synthetic {
        Corpus::default()
    } else {
        corpus::load(&dir)?
    };
    let chosen: Vec<State> = corpus
        .states
        .iter()
        .filter(|s| selected(s, suite, args.filter.as_deref()))
        .cloned()
        .collect();
    let (skipped, runnable): (Vec<State>, Vec<State>) =
        chosen.into_iter().partition(|s| s.skip.is_some());
    let empty = corpus
        .empty
        .iter()
        .filter(|o| {
            suite.is_none_or(|s| o.suite == s)
                && args.filter.as_deref().is_none_or(|f| o.label().contains(f))
        })
        .cloned()
        .collect();

    let server = pgkit::Server::shared().await?;
    let admin = roles::admin_client(&server).await?;
    let version: String = admin.query_one("SELECT version()", &[]).await?.try_get(0)?;
    let postgres = version.split(" on ").next().unwrap_or(&version).to_owned();
    drop(admin);
    eprintln!(
        "conformance: {} states to run, {} skipped (not for PostgreSQL 15){}, {jobs} jobs, on {} ({postgres})",
        runnable.len(),
        skipped.len(),
        if synthetic_wanted {
            ", plus the generated schema"
        } else {
            ""
        },
        server.describe()
    );

    let mut wanted_roles = corpus.roles.clone();
    if synthetic_wanted {
        wanted_roles.extend(synthetic::ROLES.iter().map(|r| (*r).to_owned()));
    }
    let created_roles = roles::ensure_roles(&server, &wanted_roles).await?;
    let (judged, synthetic) = judge_all(
        &server,
        runnable,
        synthetic_wanted,
        jobs,
        args.dump.as_deref(),
    )
    .await;
    let role_problems = roles::drop_roles(&server, &created_roles).await;
    for p in &role_problems {
        eprintln!("conformance: warning: {p}");
    }

    let report = RunReport {
        command: command_line(),
        date: report::today(),
        postgres,
        jobs,
        elapsed: started.elapsed(),
        partial: args.suite.is_some() || args.filter.is_some(),
        judged,
        skipped,
        empty,
        synthetic,
        role_problems,
    };
    print_summary(&report);
    if let Some(path) = &args.write {
        std::fs::write(path, report::render_markdown(&report)).map_err(|e| RunError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        eprintln!("conformance: wrote {}", path.display());
    }
    Ok(())
}

/// What a job judges.
enum Job {
    State(Box<State>),
    Synthetic,
}

/// What a finished job hands back: its place in the queue, the state (none for the generated
/// schema) and the verdict.
type Done = (usize, Option<Box<State>>, Judgement);

/// Collects finished jobs, printing a progress line for each.
struct Collector {
    total: usize,
    finished: usize,
    started: Instant,
    results: Vec<(usize, State, Judgement)>,
    synthetic: Option<SyntheticResult>,
}

impl Collector {
    fn take(&mut self, done: Result<Done, tokio::task::JoinError>) {
        self.finished += 1;
        match done {
            Ok((index, Some(state), j)) => {
                self.progress(&state.label(), &j);
                self.results.push((index, *state, j));
            }
            Ok((_, None, j)) => {
                self.progress(SYNTHETIC_LABEL, &j);
                self.synthetic = Some(SyntheticResult {
                    size: SYNTHETIC_SIZE,
                    judgement: j,
                });
            }
            // Judging never panics out of its task (judge_isolated catches it), so this is a
            // cancelled runtime; the state is then missing from the report.
            Err(e) => eprintln!("conformance: a job failed: {e}"),
        }
    }

    /// One line on stderr per finished state: `[ 12/1460  0:42] FAIL label: step: cause`.
    fn progress(&self, label: &str, j: &Judgement) {
        let width = self.total.to_string().len();
        let secs = self.started.elapsed().as_secs();
        let verdict = match &j.outcome {
            Outcome::Pass => "pass".to_owned(),
            Outcome::NotRunnable(e) => format!("not runnable: {}", first_line(e)),
            Outcome::Fail(failures) => failures
                .iter()
                .map(|f| format!("{}: {}", f.stage, f.cause))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let tag = match &j.outcome {
            Outcome::Pass => "ok  ",
            Outcome::NotRunnable(_) => "n/r ",
            Outcome::Fail(_) => "FAIL",
        };
        eprintln!(
            "[{:>width$}/{} {:>3}:{:02}] {tag} {label} ({:.1} s): {verdict}",
            self.finished,
            self.total,
            secs / 60,
            secs % 60,
            j.elapsed().as_secs_f64(),
        );
    }
}

/// The first line of a message.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// Runs every state (and the generated schema first, when wanted), `jobs` at a time, printing a
/// line per verdict. Results come back in the states' order.
async fn judge_all(
    server: &Arc<pgkit::Server>,
    states: Vec<State>,
    synthetic_wanted: bool,
    jobs: usize,
    dump: Option<&Path>,
) -> (Vec<(State, Judgement)>, Option<SyntheticResult>) {
    let mut collector = Collector {
        total: states.len() + usize::from(synthetic_wanted),
        finished: 0,
        started: Instant::now(),
        results: Vec::new(),
        synthetic: None,
    };
    let permits = Arc::new(Semaphore::new(jobs));
    let mut set: JoinSet<Done> = JoinSet::new();
    let mut queue: Vec<(usize, Job)> = Vec::new();
    if synthetic_wanted {
        queue.push((usize::MAX, Job::Synthetic));
    }
    queue.extend(
        states
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i, Job::State(Box::new(s)))),
    );
    for (index, job) in queue {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        // Report what has finished so far before starting the next.
        while let Some(done) = set.try_join_next() {
            collector.take(done);
        }
        let server = Arc::clone(server);
        let dump = dump.map(Path::to_path_buf);
        set.spawn(async move {
            let _permit = permit;
            match job {
                Job::Synthetic => {
                    let input = Input {
                        label: SYNTHETIC_LABEL.to_owned(),
                        sql: synthetic::schema_sql(SYNTHETIC_SIZE),
                        prelude: None,
                        out_of_order: false,
                        dump: dump.map(|d| d.join(SYNTHETIC)),
                    };
                    (index, None, roundtrip::judge_isolated(server, input).await)
                }
                Job::State(state) => {
                    let input = Input {
                        label: state.label(),
                        sql: state.sql.clone(),
                        prelude: state.prelude.clone(),
                        out_of_order: state.out_of_order,
                        dump: dump.map(|d| d.join(&state.id)),
                    };
                    let j = roundtrip::judge_isolated(server, input).await;
                    (index, Some(state), j)
                }
            }
        });
    }
    while let Some(done) = set.join_next().await {
        collector.take(done);
    }
    let mut results = collector.results;
    results.sort_by_key(|(i, _, _)| *i);
    (
        results.into_iter().map(|(_, s, j)| (s, j)).collect(),
        collector.synthetic,
    )
}

/// The run's summary on stdout: the tallies, the goal, and the largest failure clusters.
fn print_summary(r: &RunReport) {
    println!(
        "conformance: {} on {}, {} jobs, {}{}",
        r.date,
        r.postgres,
        r.jobs,
        report::human_duration(r.elapsed),
        if r.partial { " (partial run)" } else { "" }
    );
    println!(
        "{:<16} {:>7} {:>7} {:>7} {:>8} {:>6} {:>6} {:>8}",
        "suite", "states", "skipped", "n/r", "runnable", "pass", "fail", "rate"
    );
    let mut rows: Vec<(&str, report::Tally)> = Suite::ALL
        .iter()
        .map(|s| (s.name(), r.tally(Some(*s))))
        .filter(|(_, t)| t.states > 0)
        .collect();
    rows.push(("all (distinct)", r.tally(None)));
    for (name, t) in &rows {
        println!(
            "{name:<16} {:>7} {:>7} {:>7} {:>8} {:>6} {:>6} {:>7.1}%",
            t.states,
            t.skipped,
            t.not_runnable,
            t.runnable(),
            t.passed,
            t.failed,
            t.rate()
        );
    }
    let all = r.tally(None);
    println!(
        "goal {:.0}%: {} ({} of {} runnable states pass)",
        report::GOAL_PERCENT,
        if all.rate() >= report::GOAL_PERCENT {
            "met"
        } else {
            "NOT met"
        },
        all.passed,
        all.runnable()
    );
    if let Some(s) = &r.synthetic {
        let verdict = match &s.judgement.outcome {
            Outcome::Pass => "pass".to_owned(),
            Outcome::NotRunnable(e) => format!("not runnable: {}", first_line(e)),
            Outcome::Fail(f) => format!(
                "FAIL ({})",
                f.iter()
                    .map(|f| format!("{}: {}", f.stage, f.cause))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        println!(
            "generated schema ({} tables, {} objects): {verdict} in {:.1} s",
            s.judgement.tables,
            s.judgement.objects,
            s.judgement.elapsed().as_secs_f64()
        );
    }
    let clusters = r.clusters();
    if !clusters.is_empty() {
        println!("failures by step and cause (states):");
        for c in &clusters {
            println!("{:>5}  {}: {}", c.members.len(), c.stage, c.cause);
        }
    }
}
