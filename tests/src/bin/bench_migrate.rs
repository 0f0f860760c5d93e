//! `bench_migrate`: how long `codegen migrate new` takes, its parts shown apart (the migrations'
//! state: replayed cold, from the cache warm; the diff; the proofs), on JobPilot's schema and on
//! a 1,000-table schema with 100 changes, with migra (PyPI) doing the same diff between the same
//! two databases on the same machine in the same run.
//!
//! ```text
//! cargo run --release -p jobpilot-tests --bin bench_migrate -- [--runs N] [--migra PATH]
//!     [--write BENCHMARKS.md]
//! ```
//!
//! migra: `python3 -m venv /work/migra-venv && /work/migra-venv/bin/pip install migra
//! psycopg2-binary setuptools`; without it the migra column says so. Timings are printed and
//! written, never asserted.

use clap::Parser;
use codegen::diff::prove::ProofTimings;
use codegen::diff::{DiffOptions, diff};
use codegen::migrate::new::{NewOptions, new_migration, prove_up_and_down};
use codegen::migrate::state;
use codegen::model::Schema;
use codegen::project::Paths;
use codegen::source::SqlSource;
use jobpilot_tests::synthetic::{self, Size};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECTION: &str = "## Migrations: migrate new and diff";

#[derive(Debug, Parser)]
#[command(name = "bench_migrate", about)]
struct Args {
    /// Warm runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The migra executable.
    #[arg(long, default_value = "/work/migra-venv/bin/migra")]
    migra: PathBuf,
    /// Replace the section of this file (BENCHMARKS.md).
    #[arg(long)]
    write: Option<PathBuf>,
}

type BenchResult<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The cache of migration states goes to a directory of this run, so "cold" is cold. Set
    // before any thread exists.
    let cache = std::env::temp_dir().join(format!("jp_bench_migrate_cache_{}", std::process::id()));
    // SAFETY: single-threaded here; the runtime is built below.
    unsafe { std::env::set_var("CODEGEN_CACHE_DIR", &cache) };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench_migrate: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(&args));
    let _ = std::fs::remove_dir_all(&cache);
    jobpilot_tests::benchmarks::finish("bench_migrate", SECTION, result, args.write.as_deref())
}

/// A copy of the repository's schema/ and migrations/ in a temporary root.
fn project_copy() -> BenchResult<Paths> {
    let root = std::env::temp_dir().join(format!("jp_bench_migrate_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["schema", "migrations"] {
        std::fs::create_dir_all(root.join(dir)).map_err(err)?;
        for entry in std::fs::read_dir(jobpilot_tests::repo_root().join(dir)).map_err(err)? {
            let entry = entry.map_err(err)?;
            std::fs::copy(entry.path(), root.join(dir).join(entry.file_name())).map_err(err)?;
        }
    }
    Ok(Paths::at(root))
}

/// migra's diff between two databases: the whole process's wall time (median of `runs`).
fn migra(exe: &Path, from: &str, to: &str, runs: usize) -> Option<(Duration, usize)> {
    let mut times = Vec::new();
    let mut lines = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        // SQLAlchemy (under migra) wants `postgresql+psycopg2://` (the driver installed with it).
        let scheme = |u: &str| u.replacen("postgres://", "postgresql+psycopg2://", 1);
        let out = Command::new(exe)
            .args(["--unsafe", &scheme(from), &scheme(to)])
            .output()
            .ok()?;
        times.push(started.elapsed());
        // migra exits 2 when there are differences, 0 when none.
        if !matches!(out.status.code(), Some(0 | 2)) {
            eprintln!("migra failed: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
    }
    Some((median(times), lines))
}

async fn database_with(server: &Arc<pgkit::Server>, sql: &[&str]) -> BenchResult<pgkit::TempDb> {
    let db = server.create_database("jp_bench_mig").await.map_err(err)?;
    db.apply_bootstrap().await.map_err(err)?;
    let client = db.connect().await.map_err(err)?;
    for (i, s) in sql.iter().enumerate() {
        let source = SqlSource {
            path: PathBuf::from(format!("part{i}.sql")),
            text: (*s).to_owned(),
        };
        codegen::source::apply_script(&client, &source)
            .await
            .map_err(err)?;
    }
    Ok(db)
}

struct Row {
    what: String,
    cold_state: Duration,
    warm_state: Duration,
    diff: Duration,
    proof: Duration,
    warm_total: Duration,
    statements: usize,
    migra: Option<(Duration, usize)>,
    /// Where the proof's time went (the median run), when measured.
    parts: Option<ProofTimings>,
}

/// The parts of a proof, for the text under the table.
fn parts(t: &ProofTimings) -> String {
    format!(
        "prepare {}, template {} ({} build, {} {}), statements {}, {} introspection(s) {}{} \
         then rows counted {}, checks {} (compare {}, re-diff {}, derived states {})",
        ms(t.prepare),
        if t.template_hit { "hit" } else { "built" },
        ms(t.build),
        ms(t.clone),
        if t.spare_hit {
            "claiming the spare copy"
        } else {
            "clone"
        },
        ms(t.apply),
        t.introspections,
        ms(t.introspect),
        t.reached.map_or_else(String::new, |n| format!(
            " (the plan's reach: {n} tables and views read back, with the fingerprints of all; \
             the start state's fingerprints {})",
            if t.fingerprints_cached {
                "from the cache"
            } else {
                "read"
            }
        )),
        ms(t.count),
        ms(t.verify),
        ms(t.compare),
        ms(t.rediff),
        ms(t.derive)
    )
}

async fn jobpilot(args: &Args, server: &Arc<pgkit::Server>) -> BenchResult<Row> {
    let paths = project_copy()?;
    let file = paths.schema.join("10_users.toml");
    let text = std::fs::read_to_string(&file).map_err(err)?;
    let from_line = "display_name = { type = \"varchar(120)\", nullable = true }";
    std::fs::write(
        &file,
        text.replacen(
            from_line,
            &format!("{from_line}\navatar_url = {{ type = \"text\", nullable = true }}"),
            1,
        ),
    )
    .map_err(err)?;
    let mut runs = Vec::new();
    for _ in 0..=args.runs {
        let started = Instant::now();
        let out = new_migration(&paths, "add avatar url", server, &NewOptions::default())
            .await
            .map_err(err)?;
        let total = started.elapsed();
        for w in &out.written {
            std::fs::remove_file(paths.root.join(w)).map_err(err)?;
        }
        runs.push((total, out));
    }
    let (_, cold) = runs.remove(0);
    let statements = cold.plan.steps.len();
    let warm_total = median(runs.iter().map(|(t, _)| *t).collect());
    let warm_state = median(runs.iter().map(|(_, o)| o.state_time).collect());
    let diff_time = median(runs.iter().map(|(_, o)| o.diff_time).collect());
    let proof = median(runs.iter().map(|(_, o)| o.proof_time).collect());
    // migra on the same two states: the baseline, and the baseline plus the change.
    let baseline =
        std::fs::read_to_string(paths.migrations.join("0001_baseline.up.sql")).map_err(err)?;
    let a = database_with(server, &[&baseline]).await?;
    let b = database_with(
        server,
        &[
            &baseline,
            "ALTER TABLE public.users ADD COLUMN avatar_url text",
        ],
    )
    .await?;
    let m = migra(&args.migra, &a.url(), &b.url(), args.runs);
    let _ = std::fs::remove_dir_all(&paths.root);
    Ok(Row {
        what: "JobPilot (8 tables): add `users.avatar_url`".to_owned(),
        cold_state: cold.state_time,
        warm_state,
        diff: diff_time,
        proof,
        warm_total,
        statements,
        migra: m,
        parts: None,
    })
}

/// 100 changes to the 1,000-table schema: 25 columns added, 25 indexes created, 25 columns
/// widened (varchar(40) → text), 25 defaults set.
fn hundred_changes() -> String {
    let mut s = String::new();
    for i in 1..=25 {
        let _ = writeln!(s, "ALTER TABLE public.t{i:05} ADD COLUMN note text;");
    }
    for i in 26..=50 {
        let _ = writeln!(
            s,
            "CREATE INDEX t{i:05}_extra_0_idx ON public.t{i:05} (extra_0);"
        );
    }
    for i in 51..=75 {
        let _ = writeln!(
            s,
            "ALTER TABLE public.t{i:05} ALTER COLUMN extra_1 TYPE text;"
        );
    }
    for i in 76..=100 {
        let _ = writeln!(
            s,
            "ALTER TABLE public.t{i:05} ALTER COLUMN extra_0 SET DEFAULT 'x';"
        );
    }
    s
}

async fn thousand(args: &Args, server: &Arc<pgkit::Server>) -> BenchResult<Row> {
    let size = Size {
        tables: 1000,
        extra_columns: 2,
    };
    let roles = synthetic::ROLES
        .iter()
        .map(|r| {
            format!(
                "DO $$ BEGIN CREATE ROLE {r}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let base = format!("{roles}\n{}", synthetic::schema_sql(size));
    let changed = format!("{base}\n{}", hundred_changes());
    let source = |name: &str, text: &str| SqlSource {
        path: PathBuf::from(name),
        text: text.to_owned(),
    };
    let from_files = vec![source("0001_synthetic.up.sql", &base)];
    // The declared side: in `migrate new` it comes from schema/ and the lock (no database);
    // here from the same SQL, through a scratch database, untimed.
    let to: Schema = state::replay(server, &[source("declared.sql", &changed)])
        .await
        .map_err(err)?;
    let started = Instant::now();
    let cold = state::state_of(server, &from_files).await.map_err(err)?;
    let cold_state = started.elapsed();
    let mut warm_states = Vec::new();
    let mut diffs = Vec::new();
    let mut proofs = Vec::new();
    let mut totals = Vec::new();
    let mut timings = Vec::new();
    let mut statements = 0;
    for _ in 0..args.runs.max(1) {
        let t0 = Instant::now();
        let s = state::state_of(server, &from_files).await.map_err(err)?;
        let t1 = Instant::now();
        let plan = diff(&s.schema, &to, &DiffOptions::default());
        let t2 = Instant::now();
        // As `migrate new` proves: the up plan, then each step's down plan back.
        let proven = prove_up_and_down(server, &s.schema, &plan, &to, &DiffOptions::default())
            .await
            .map_err(err)?;
        let t3 = Instant::now();
        eprintln!(
            "1,000 tables: proof {} ({}; planning the downs {})",
            ms(t3 - t2),
            parts(&proven.timings),
            ms(proven.plan_downs)
        );
        timings.push((t3 - t2, proven.timings));
        statements = plan.steps.len();
        warm_states.push(t1 - t0);
        diffs.push(t2 - t1);
        proofs.push(t3 - t2);
        totals.push(t1 - t0 + (t2 - t1));
    }
    let _ = cold;
    timings.sort_by_key(|(t, _)| *t);
    let median_parts = timings.get(timings.len() / 2).map(|(_, p)| p.clone());
    let a = database_with(server, &[&base]).await?;
    let b = database_with(server, &[&changed]).await?;
    let m = migra(&args.migra, &a.url(), &b.url(), args.runs.min(3));
    Ok(Row {
        what: "1,000 tables: 100 changes".to_owned(),
        cold_state,
        warm_state: median(warm_states),
        diff: median(diffs),
        proof: median(proofs),
        warm_total: median(totals),
        statements,
        migra: m,
        parts: median_parts,
    })
}

async fn run(args: &Args) -> BenchResult<String> {
    let server = pgkit::Server::shared().await.map_err(err)?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let small = jobpilot(args, &server).await?;
    let big = thousand(args, &server).await?;
    let mut o = String::new();
    let _ = writeln!(o, "{SECTION}\n");
    let _ = writeln!(
        o,
        "Produced by `cargo run --release -p jobpilot-tests --bin bench_migrate -- --runs {} --write BENCHMARKS.md` \
         on {} ({} cores; load average at the start: {}). Medians of {} warm runs; the first run \
         is cold (empty cache of migration states).\n",
        args.runs,
        jobpilot_tests::conformance::report::today(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace().next().unwrap_or("?"),
        args.runs
    );
    let _ = writeln!(
        o,
        "| schema and change | state of migrations/ cold (replay) | warm (cache) | diff | proof, up and down (scratch database: clone of the seeded start state, apply, introspect, re-diff) | statements | migra (whole process) |"
    );
    let _ = writeln!(o, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in [&small, &big] {
        let migra = r.migra.map_or_else(
            || "not run (see the command above)".to_owned(),
            |(t, lines)| format!("{} ({lines} lines of SQL)", ms(t)),
        );
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {migra} |",
            r.what,
            ms(r.cold_state),
            ms(r.warm_state),
            ms(r.diff),
            ms(r.proof),
            r.statements
        );
    }
    let goal = Duration::from_secs(1);
    let verdict = |d: Duration| if d < goal { "met" } else { "not met" };
    let big_with_proof = big.warm_total + big.proof;
    if let Some(p) = &big.parts {
        let _ = writeln!(
            o,
            "\n1,000 tables, the proof's parts (median run): {}.",
            parts(p)
        );
    }
    let _ = writeln!(
        o,
        "\nGoal: `migrate new` under 1 s warm.\n\n\
         - JobPilot: the whole `migrate new` (loading schema/, the state from the cache, the \
         diff, the proof up and down, writing the files) takes {} warm: {}.\n\
         - 1,000 tables, 100 changes: the state from the cache and the diff take {} warm: {}; \
         with the proof, {}: {}. The proof takes a copy of the seeded 1,000-table start state \
         (a template database built on the first run, which also starts a spare copy of it on \
         the server in the background; each later run claims the spare its predecessor \
         started, by a rename, and starts the next), applies the 27 steps (the 25 \
         new indexes are built `CONCURRENTLY`, one migration step each), reads the database back \
         once after the last step and derives the states before and between the index builds \
         from it, then runs each step's down migration back and proves them all by one more \
         introspection. Each introspection reads back the plan's reach only \
         (`ProofDb::limit_to_reach`): the 100 changed tables, the relations that depend on them \
         directly (here the next table of the chain of foreign keys), and any relation whose \
         catalog rows the plan wrote, found by comparing a fingerprint of each relation's rows \
         with the start state's; the other relations are the start state's. The template's catalogs are analysed when it is built (clones inherit \
         the statistics), and the seeded rows of the reach are counted 100 tables per statement, while the \
         client compares the result with the target and diffs again on a thread of its own (so \
         the parts \"rows counted\", \"compare\" and \"re-diff\" overlap).\n",
        ms(small.warm_total),
        verdict(small.warm_total),
        ms(big.warm_total),
        verdict(big.warm_total),
        ms(big_with_proof),
        verdict(big_with_proof)
    );
    Ok(o)
}
