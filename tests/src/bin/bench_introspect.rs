//! `bench_introspect`: how long `codegen::introspect` takes, how many queries it sends and how
//! much memory it needs, on two generated databases, with `pg_dump --schema-only` of the same
//! databases as a peer on the same machine in the same run.
//!
//! ```text
//! cargo run --release -p jobpilot-tests --bin bench_introspect -- [--runs N] [--dump-runs N]
//!     [--modules N] [--write BENCHMARKS.md]
//! ```
//!
//! The databases, both built on the harness's server (`pgkit::Server::shared`) with the Supabase
//! bootstrap, then `VACUUM ANALYZE`d so the catalogs have statistics as a live database does:
//!
//! - **synthetic**: the 1,000-table schema of `jobpilot_tests::synthetic` (the size the
//!   conformance runner round-trips: 1,000 tables, 2 extra columns each);
//! - **catalog**: a mixed application catalog of `--modules` modules (default 108, ≈ 12,000
//!   objects), each with an enum, a domain, a composite type, six tables (identity key, FK,
//!   unique and check constraints, two indexes, a trigger, RLS with two policies, grants,
//!   comments), two views, a materialized view with an index and three functions.
//!
//! Objects are counted from the catalogs of the governed schemas after the build, not from the
//! generator: `pg_class` rows + `pg_constraint` rows + `pg_proc` rows + `pg_type` rows (row and
//! array types included) + `pg_policy` rows + user (`NOT tgisinternal`) `pg_trigger` rows.
//!
//! Per database: one introspection on a new connection (reported as "first run"; it also warms
//! the backend's catalog caches), then `--runs` more on that connection, of which min / median /
//! p95 wall time are reported. Memory: the kernel's peak-RSS counter (`VmHWM`) is reset through
//! `/proc/self/clear_refs` just before those runs and read after them, so the peak covers the
//! introspections (plus the process's baseline), not the build. Then every catalog query of
//! `codegen/src/introspect/queries/` is timed on its own and `EXPLAIN ANALYZE`d, to show where
//! the time goes. Timings are printed, never asserted: this is a benchmark, not a test.
//!
//! Exit status: 0 when the run completed (whether or not the goals are met), 2 when it could not
//! run.

use clap::Parser;
use codegen::introspect::{Filter, Introspection, introspect, introspect_parallel};
use codegen::source::{SqlSource, apply_script};
use jobpilot_tests::benchmarks::{field_kib, status_kib};
use jobpilot_tests::synthetic::{self, Size};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

/// The section of BENCHMARKS.md this tool owns.
const SECTION: &str = "## Introspection";

/// The 1,000-table schema, the size `conformance` round-trips.
const SYNTHETIC_SIZE: Size = Size {
    tables: 1000,
    extra_columns: 2,
};

/// Goal for the 1,000-table database.
const GOAL_SYNTHETIC: Duration = Duration::from_millis(100);

/// Goal for the 12,000-object catalog.
const GOAL_CATALOG: Duration = Duration::from_millis(300);

/// Tables per module of the mixed catalog.
const TABLES_PER_MODULE: usize = 6;

/// Times each catalog query is run on its own for the per-query breakdown.
const QUERY_RUNS: usize = 5;

/// `EXPLAIN ANALYZE` runs per query and setting; the fastest is reported.
const EXPLAIN_RUNS: usize = 3;

/// Measures introspection and writes the "Introspection" section of BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "bench_introspect", version, about)]
struct Args {
    /// Timed introspections per database (after one untimed first run).
    #[arg(long, default_value_t = 20, value_name = "N")]
    runs: usize,
    /// Timed `pg_dump --schema-only` runs per database (0: skip the peer measurement).
    #[arg(long, default_value_t = 5, value_name = "N")]
    dump_runs: usize,
    /// Modules of the mixed catalog (≈ 111 objects each; 108 give ≈ 12,000).
    #[arg(long, default_value_t = 108, value_name = "N")]
    modules: usize,
    /// Replace (or add) the "Introspection" section of this file (BENCHMARKS.md).
    #[arg(long, value_name = "PATH")]
    write: Option<PathBuf>,
    /// Measure only this database (synthetic or catalog), in this process.
    #[arg(long, value_name = "DB")]
    only: Option<Kind>,
    /// Print the SQL that builds this database (synthetic or catalog, applied after the Supabase
    /// bootstrap) and exit, e.g. to `EXPLAIN` the catalog queries by hand.
    #[arg(long, value_name = "DB")]
    emit_sql: Option<Kind>,
    /// Print the measurement as JSON (what the parent process reads from its children).
    #[arg(long, hide = true)]
    json: bool,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Usage(String),
    #[error("PostgreSQL harness: {0}")]
    Server(#[from] pgkit::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error(transparent)]
    Introspect(#[from] codegen::introspect::IntrospectError),
    #[error(transparent)]
    Source(#[from] codegen::source::SourceError),
    #[error("measuring the {kind} database in a child process: {message}")]
    Child { kind: &'static str, message: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<tokio_postgres::Error> for BenchError {
    fn from(e: tokio_postgres::Error) -> Self {
        BenchError::Postgres(match e.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => e.to_string(),
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_introspect: {e}");
            ExitCode::from(2)
        }
    }
}

/// The two databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
enum Kind {
    Synthetic,
    Catalog,
}

/// What one database's measurement found.
#[derive(Debug, Serialize, Deserialize)]
struct Measurement {
    kind: Kind,
    /// How the database was generated.
    recipe: String,
    /// How long building it took (create, bootstrap, apply, VACUUM ANALYZE).
    build: Duration,
    catalog: CatalogCount,
    /// Introspection on a new connection (cold backend caches).
    first: Duration,
    /// The timed runs (two sessions sharing a snapshot), sorted.
    runs: Vec<Duration>,
    /// The same number of runs on one session, sorted.
    single: Vec<Duration>,
    /// CPU time this process (every thread) spent over the timed runs, divided by their number:
    /// the client's share of an introspection.
    cpu_per_run: Option<Duration>,
    /// Pairs run back to back after the timed runs: an introspection, then the catalog queries
    /// alone (sent as `introspect` sends them, rows received but not mapped).
    pairs: Vec<Pair>,
    /// `Introspection::queries` (the same in every run, else the largest).
    queries: usize,
    /// Whether every run reported the same number of queries.
    queries_constant: bool,
    model: ModelCount,
    /// `Introspection::unsupported` of the last run.
    unsupported: usize,
    memory: Memory,
    dump: Option<DumpMeasurement>,
    per_query: Vec<QueryTiming>,
}

/// Objects in the catalogs of the governed schemas.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CatalogCount {
    relations: i64,
    constraints: i64,
    functions: i64,
    types: i64,
    policies: i64,
    triggers: i64,
    /// Internal (foreign-key) triggers: not counted as objects.
    internal_triggers: i64,
    /// Columns of governed relations (`attnum > 0`): not counted as objects.
    columns: i64,
    /// Tables (`relkind` r/p).
    tables: i64,
    /// `pg_class` / `pg_attribute` / `pg_depend` rows of the whole database, platform included.
    all_class: i64,
    all_attribute: i64,
    all_depend: i64,
}

impl CatalogCount {
    fn objects(&self) -> i64 {
        self.relations
            + self.constraints
            + self.functions
            + self.types
            + self.policies
            + self.triggers
    }
}

/// What introspection read back, as model objects.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ModelCount {
    tables: usize,
    views: usize,
    sequences: usize,
    columns: usize,
    constraints: usize,
    indexes: usize,
    triggers: usize,
    policies: usize,
    functions: usize,
    types: usize,
}

impl ModelCount {
    fn of(found: &Introspection) -> Self {
        let s = &found.schema;
        let mut m = ModelCount {
            tables: s.tables.len(),
            views: s.views.len(),
            sequences: s.sequences.len(),
            functions: s.functions.len(),
            types: s.enums.len() + s.domains.len() + s.composites.len(),
            ..ModelCount::default()
        };
        for t in s.tables.values() {
            m.columns += t.columns.len();
            m.constraints += usize::from(t.primary_key.is_some())
                + t.uniques.len()
                + t.foreign_keys.len()
                + t.checks.len()
                + t.exclusions.len();
            m.indexes += t.indexes.len();
            m.triggers += t.triggers.len();
            m.policies += t.policies.len();
        }
        for v in s.views.values() {
            m.indexes += v.indexes.len();
            m.triggers += v.triggers.len();
        }
        for d in s.domains.values() {
            m.constraints += d.checks.len();
        }
        m
    }

    fn objects(&self) -> usize {
        self.tables
            + self.views
            + self.sequences
            + self.constraints
            + self.indexes
            + self.triggers
            + self.policies
            + self.functions
            + self.types
    }
}

/// Resident memory of this process around the timed introspections, in KiB.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Memory {
    /// `VmRSS` just before the first introspection of this database.
    rss_before: u64,
    /// `VmHWM` after the runs, the counter having been reset just before them (0 when the
    /// kernel refused the reset: then it is the whole process's peak).
    peak: u64,
    /// Whether the reset worked.
    reset: bool,
    /// `VmRSS` after the runs (the last result dropped).
    rss_after: u64,
    /// The measuring process's `VmHWM` over its whole life: building the database, the runs,
    /// the per-query timings.
    process_peak: u64,
}

/// `pg_dump --schema-only` of the same database.
#[derive(Debug, Serialize, Deserialize)]
struct DumpMeasurement {
    /// Sorted wall times.
    runs: Vec<Duration>,
    /// Bytes of SQL it printed.
    bytes: usize,
    /// Its peak RSS in KiB (`/usr/bin/time -f %M`, one extra run), when available.
    max_rss: Option<u64>,
}

/// One catalog query on its own.
#[derive(Debug, Serialize, Deserialize)]
struct QueryTiming {
    name: String,
    rows: usize,
    /// Median client-side wall time of [`QUERY_RUNS`] runs.
    wall: Duration,
    /// From `EXPLAIN ANALYZE`.
    planning_ms: Option<f64>,
    execution_ms: Option<f64>,
    jit_ms: Option<f64>,
    /// `EXPLAIN ANALYZE`'s execution time with `jit = off`.
    execution_no_jit_ms: Option<f64>,
    /// The error, when the query failed on its own.
    error: Option<String>,
}

async fn run(args: &Args) -> Result<(), BenchError> {
    if args.runs == 0 {
        return Err(BenchError::Usage("--runs must be at least 1".into()));
    }
    if args.modules == 0 {
        return Err(BenchError::Usage("--modules must be at least 1".into()));
    }
    if let Some(kind) = args.emit_sql {
        println!("{}", kind.sql(args.modules));
        return Ok(());
    }
    let server = pgkit::Server::shared().await?;
    if let (Some(kind), true) = (args.only, args.json) {
        let m = measure(&server, kind, args).await?;
        let json = serde_json::to_string(&m).map_err(|e| BenchError::Child {
            kind: kind.label(),
            message: e.to_string(),
        })?;
        println!("{json}");
        return Ok(());
    }
    let env = Environment::read(&server).await?;
    eprintln!(
        "bench_introspect: {} on {}; {} CPUs, {} GiB RAM",
        env.postgres,
        server.describe(),
        env.cpus,
        env.mem_gib
    );
    let mut results = Vec::new();
    match args.only {
        Some(kind) => results.push(measure(&server, kind, args).await?),
        None => {
            // One process per database, so that each one's memory figures start from a fresh
            // process rather than from the allocator's pages retained by the other.
            for kind in [Kind::Synthetic, Kind::Catalog] {
                results.push(measure_in_child(kind, args)?);
            }
        }
    }
    for m in &results {
        print_progress(m);
    }
    let mut env = env;
    env.load_end = load_average();
    let section = render_section(args, &env, &results);
    println!("{section}");
    if let Some(path) = &args.write {
        write_section(path, &env, &section)?;
        eprintln!("bench_introspect: wrote {}", path.display());
    }
    Ok(())
}

/// Runs this program with `--only kind --json` and reads its measurement.
fn measure_in_child(kind: Kind, args: &Args) -> Result<Measurement, BenchError> {
    let child_error = |message: String| BenchError::Child {
        kind: kind.label(),
        message,
    };
    let exe = std::env::current_exe()
        .map_err(|e| child_error(format!("cannot find this program: {e}")))?;
    let out = Command::new(exe)
        .args(["--only", kind.name(), "--json"])
        .args(["--runs", &args.runs.to_string()])
        .args(["--dump-runs", &args.dump_runs.to_string()])
        .args(["--modules", &args.modules.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| child_error(e.to_string()))?;
    if !out.status.success() {
        return Err(child_error(format!("it exited with {}", out.status)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| child_error(format!("its output: {e}")))
}

/// The machine and server the figures were taken on.
#[derive(Debug)]
struct Environment {
    postgres: String,
    settings: String,
    date: String,
    cpus: usize,
    mem_gib: u64,
    cpu_model: String,
    /// `/proc/loadavg`'s 1-minute load when the run started.
    load: String,
    /// The same when the measurements ended (set by `run`).
    load_end: Option<String>,
}

impl Environment {
    async fn read(server: &std::sync::Arc<pgkit::Server>) -> Result<Self, BenchError> {
        let (client, connection) = server.admin_config().connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            // An error surfaces on the client's next request.
            let _ = connection.await;
        });
        // language=PostgreSQL
        let row = client
            .query_one(
                "SELECT pg_catalog.version(), CURRENT_DATE::pg_catalog.text, \
                 pg_catalog.current_setting('jit'), pg_catalog.current_setting('shared_buffers'), \
                 pg_catalog.current_setting('work_mem')",
                &[],
            )
            .await?;
        let version: String = row.try_get(0)?;
        let postgres = version
            .split(" on ")
            .next()
            .unwrap_or(&version)
            .trim()
            .to_owned();
        let settings = format!(
            "jit = {}, shared_buffers = {}, work_mem = {}",
            row.try_get::<_, String>(2)?,
            row.try_get::<_, String>(3)?,
            row.try_get::<_, String>(4)?
        );
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mem_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| field_kib(&s, "MemTotal"))
            .map_or(0, |kib| kib / (1024 * 1024));
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let load = load_average().unwrap_or_else(|| "?".into());
        Ok(Environment {
            load,
            load_end: None,
            postgres,
            settings,
            date: row.try_get(1)?,
            cpus,
            mem_gib,
            cpu_model,
        })
    }

    /// The machine and server, without the moment's load (for the file's header).
    fn hardware(&self) -> String {
        format!(
            "{} CPUs (`nproc`), {} GiB RAM (`free -g`), {}; {} ({}) on the same machine",
            self.cpus, self.mem_gib, self.cpu_model, self.postgres, self.settings
        )
    }

    fn machine(&self) -> String {
        format!(
            "{} CPUs (`nproc`), {} GiB RAM (`free -g`), {}; {} ({}) on the same machine; \
             1-minute load average {} when the run started{} (the machine is shared with other \
             work, so timings carry its noise)",
            self.cpus,
            self.mem_gib,
            self.cpu_model,
            self.postgres,
            self.settings,
            self.load,
            self.load_end
                .as_ref()
                .map(|l| format!(", {l} when it ended"))
                .unwrap_or_default()
        )
    }
}

/// Builds one database and measures it.
async fn measure(
    server: &std::sync::Arc<pgkit::Server>,
    kind: Kind,
    args: &Args,
) -> Result<Measurement, BenchError> {
    let started = Instant::now();
    let prefix = format!("bench_{}", kind.name());
    let recipe = match kind {
        Kind::Synthetic => format!(
            "`synthetic::schema_sql(Size {{ tables: {}, extra_columns: {} }})`",
            SYNTHETIC_SIZE.tables, SYNTHETIC_SIZE.extra_columns
        ),
        Kind::Catalog => format!("mixed catalog, `--modules {}`", args.modules),
    };
    let sql = kind.sql(args.modules);
    eprintln!("bench_introspect: building the {} database…", kind.label());
    let db = server.create_database(&prefix).await?;
    db.apply_bootstrap().await?;
    {
        let client = db.connect().await?;
        let source = SqlSource {
            path: PathBuf::from(format!("<{prefix}>")),
            text: sql,
        };
        apply_script(&client, &source).await?;
        // language=PostgreSQL
        client.batch_execute("VACUUM ANALYZE").await?;
    }
    let build = started.elapsed();
    let filter = Filter::default();
    let client = db.connect().await?;
    let (governed, platform) = namespaces(&client, &filter).await?;
    let catalog = count_catalog(&client, &governed).await?;
    drop(client);
    eprintln!(
        "bench_introspect: built in {:.1} s: {} objects ({} tables); introspecting {} + 1 times…",
        build.as_secs_f64(),
        catalog.objects(),
        catalog.tables,
        args.runs
    );

    // The timed part: nothing else allocates in this process meanwhile.
    let build_peak = status_kib("VmHWM").unwrap_or(0);
    let rss_before = status_kib("VmRSS").unwrap_or(0);
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    // Two sessions sharing a snapshot, as the commands read a live database
    // (`codegen::introspect::Sessions`).
    let client = db.connect().await?;
    let second = db.connect().await?;
    let t = Instant::now();
    let found = introspect_parallel(&client, &second, &filter).await?;
    let first = t.elapsed();
    let mut queries = found.queries;
    let mut queries_constant = true;
    drop(found);
    let mut runs = Vec::with_capacity(args.runs);
    let mut last = None;
    let cpu_before = process_cpu();
    for _ in 0..args.runs {
        // The previous result is dropped first, so runs do not overlap in memory.
        drop(last.take());
        let t = Instant::now();
        let found = introspect_parallel(&client, &second, &filter).await?;
        runs.push(t.elapsed());
        if found.queries != queries {
            queries_constant = false;
            queries = queries.max(found.queries);
        }
        last = Some(found);
    }
    let cpu_per_run = cpu_before
        .zip(process_cpu())
        .map(|(before, after)| after.saturating_sub(before) / args.runs.max(1) as u32);
    let (model, unsupported) = last
        .as_ref()
        .map(|f| (ModelCount::of(f), f.unsupported.len()))
        .unwrap_or_default();
    if let Some(f) = &last {
        for u in f.unsupported.iter().take(5) {
            eprintln!("bench_introspect: unsupported: {u:?}");
        }
    }
    drop(last);
    let peak = status_kib("VmHWM").unwrap_or(0);
    let rss_after = status_kib("VmRSS").unwrap_or(0);
    runs.sort();
    // The same on the first session alone (`introspect`), for comparison.
    let mut single = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let t = Instant::now();
        drop(introspect(&client, &filter).await?);
        single.push(t.elapsed());
    }
    single.sort();
    drop(second);

    eprintln!("bench_introspect: timing introspections against the catalog queries alone…");
    let queries_sql = CatalogQuery::load()?;
    let client = std::sync::Arc::new(client);
    let pairs = time_pairs(
        &client,
        &filter,
        &queries_sql,
        &governed,
        &platform,
        args.runs,
    )
    .await?;
    eprintln!("bench_introspect: timing each catalog query…");
    let per_query = time_queries(&client, &queries_sql, &governed, &platform).await?;
    drop(client);

    let dump = if args.dump_runs > 0 {
        eprintln!(
            "bench_introspect: pg_dump --schema-only × {}…",
            args.dump_runs
        );
        Some(time_pg_dump(&db, args.dump_runs)?)
    } else {
        None
    };
    // The kernel syncs the RSS counters lazily, so the later reading may lag a little.
    let process_peak = build_peak.max(peak).max(status_kib("VmHWM").unwrap_or(0));
    Ok(Measurement {
        kind,
        recipe,
        build,
        catalog,
        first,
        runs,
        single,
        cpu_per_run,
        pairs,
        queries,
        queries_constant,
        model,
        unsupported,
        memory: Memory {
            rss_before,
            peak,
            reset,
            rss_after,
            process_peak,
        },
        dump,
        per_query,
    })
}

impl Kind {
    /// The name `--only` and `--emit-sql` take.
    fn name(self) -> &'static str {
        match self {
            Kind::Synthetic => "synthetic",
            Kind::Catalog => "catalog",
        }
    }

    /// The SQL that builds it (after the Supabase bootstrap).
    fn sql(self, modules: usize) -> String {
        match self {
            Kind::Synthetic => synthetic::schema_sql(SYNTHETIC_SIZE),
            Kind::Catalog => catalog_sql(modules),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Synthetic => "1,000-table",
            Kind::Catalog => "12,000-object",
        }
    }

    fn goal(self) -> Duration {
        match self {
            Kind::Synthetic => GOAL_SYNTHETIC,
            Kind::Catalog => GOAL_CATALOG,
        }
    }
}

/// The mixed application catalog: `modules` modules of ≈ 111 catalog objects each.
fn catalog_sql(modules: usize) -> String {
    let mut s = String::new();
    for k in 1..=modules {
        let m = format!("m{k:03}");
        let _ = writeln!(
            s,
            "CREATE TYPE public.{m}_state AS ENUM ('draft', 'open', 'closed');\n\
             CREATE DOMAIN public.{m}_email AS text CHECK (VALUE LIKE '%@%');\n\
             CREATE TYPE public.{m}_money AS (amount numeric(12,2), currency char(3));\n\
             CREATE FUNCTION public.{m}_touch() RETURNS trigger LANGUAGE plpgsql AS $$\n\
             BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;"
        );
        for j in 1..=TABLES_PER_MODULE {
            let t = format!("{m}_t{j}");
            let parent = if j > 1 {
                Some(format!("{m}_t{}", j - 1))
            } else if k > 1 {
                Some(format!("m{:03}_t{TABLES_PER_MODULE}", k - 1))
            } else {
                None
            };
            let parent_column = match parent {
                Some(p) => {
                    format!("bigint REFERENCES public.{p} (id) ON DELETE SET NULL")
                }
                None => "bigint".to_owned(),
            };
            let _ = writeln!(
                s,
                "CREATE TABLE public.{t} (\n\
                 \x20   id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n\
                 \x20   owner_id uuid NOT NULL DEFAULT auth.uid(),\n\
                 \x20   state public.{m}_state NOT NULL DEFAULT 'draft',\n\
                 \x20   email public.{m}_email,\n\
                 \x20   title text NOT NULL,\n\
                 \x20   body text,\n\
                 \x20   price public.{m}_money,\n\
                 \x20   amount numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),\n\
                 \x20   data jsonb NOT NULL DEFAULT '{{}}',\n\
                 \x20   parent_id {parent_column},\n\
                 \x20   created_at timestamptz NOT NULL DEFAULT now(),\n\
                 \x20   updated_at timestamptz NOT NULL DEFAULT now(),\n\
                 \x20   CONSTRAINT {t}_owner_title_key UNIQUE (owner_id, title)\n\
                 );\n\
                 CREATE INDEX {t}_created_idx ON public.{t} (created_at DESC);\n\
                 CREATE INDEX {t}_parent_idx ON public.{t} (parent_id) WHERE parent_id IS NOT NULL;\n\
                 CREATE TRIGGER {t}_touch BEFORE UPDATE ON public.{t} \
                 FOR EACH ROW EXECUTE FUNCTION public.{m}_touch();\n\
                 ALTER TABLE public.{t} ENABLE ROW LEVEL SECURITY;\n\
                 CREATE POLICY {t}_read ON public.{t} FOR SELECT TO authenticated \
                 USING (owner_id = auth.uid());\n\
                 CREATE POLICY {t}_write ON public.{t} FOR INSERT TO authenticated \
                 WITH CHECK (owner_id = auth.uid() AND state <> 'closed');\n\
                 GRANT SELECT, INSERT ON public.{t} TO authenticated;\n\
                 COMMENT ON TABLE public.{t} IS 'Module {k}, table {j}';\n\
                 COMMENT ON COLUMN public.{t}.title IS 'Shown in lists';"
            );
        }
        let _ = writeln!(
            s,
            "CREATE VIEW public.{m}_open AS\n\
             \x20   SELECT t.id, t.title, p.title AS parent_title\n\
             \x20   FROM public.{m}_t2 t LEFT JOIN public.{m}_t1 p ON p.id = t.parent_id\n\
             \x20   WHERE t.state = 'open';\n\
             CREATE VIEW public.{m}_totals AS\n\
             \x20   SELECT owner_id, count(*) AS n, sum(amount) AS total\n\
             \x20   FROM public.{m}_t3 GROUP BY owner_id;\n\
             GRANT SELECT ON public.{m}_open, public.{m}_totals TO authenticated;\n\
             CREATE MATERIALIZED VIEW public.{m}_summary AS\n\
             \x20   SELECT state, count(*) AS n FROM public.{m}_t4 GROUP BY state;\n\
             CREATE UNIQUE INDEX {m}_summary_state_idx ON public.{m}_summary (state);\n\
             CREATE FUNCTION public.{m}_count(p_owner uuid) RETURNS bigint\n\
             \x20   LANGUAGE sql STABLE\n\
             \x20   AS $$ SELECT count(*) FROM public.{m}_t1 WHERE owner_id = p_owner $$;\n\
             CREATE FUNCTION public.{m}_search(p_query text, p_limit integer DEFAULT 20)\n\
             \x20   RETURNS SETOF public.{m}_t1\n\
             \x20   LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''\n\
             \x20   AS $$\n\
             BEGIN\n\
             \x20 RETURN QUERY SELECT * FROM public.{m}_t1 WHERE title ILIKE '%' || p_query || '%' \
             LIMIT p_limit;\n\
             END;\n\
             $$;\n\
             COMMENT ON FUNCTION public.{m}_search(text, integer) IS 'Title search';"
        );
    }
    s
}

/// Oids of the governed and of the platform schemas, as `introspect` classifies them.
async fn namespaces(client: &Client, filter: &Filter) -> Result<(Vec<u32>, Vec<u32>), BenchError> {
    // language=PostgreSQL
    let sql = "SELECT n.oid, n.nspname::pg_catalog.text, \
               EXISTS (SELECT FROM pg_catalog.pg_depend e \
                       WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass \
                         AND e.objid = n.oid AND e.deptype = 'e') \
               FROM pg_catalog.pg_namespace n";
    let mut governed = Vec::new();
    let mut platform = Vec::new();
    for row in client.query(sql, &[]).await? {
        let oid: u32 = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let extension_member: bool = row.try_get(2)?;
        if extension_member {
            continue;
        }
        if filter.governs(&name) {
            governed.push(oid);
        } else if filter.is_platform_schema(&name) {
            platform.push(oid);
        }
    }
    Ok((governed, platform))
}

/// Counts the objects of the governed schemas in the catalogs.
async fn count_catalog(client: &Client, governed: &[u32]) -> Result<CatalogCount, BenchError> {
    // language=PostgreSQL
    let sql = "SELECT \
        (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FROM pg_catalog.pg_constraint \
         WHERE connamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FROM pg_catalog.pg_type WHERE typnamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FROM pg_catalog.pg_policy p \
         JOIN pg_catalog.pg_class c ON c.oid = p.polrelid \
         WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FILTER (WHERE NOT t.tgisinternal) FROM pg_catalog.pg_trigger t \
         JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
         WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FILTER (WHERE t.tgisinternal) FROM pg_catalog.pg_trigger t \
         JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
         WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])), \
        (SELECT count(*) FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         WHERE c.relnamespace = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 \
           AND NOT a.attisdropped), \
        (SELECT count(*) FROM pg_catalog.pg_class \
         WHERE relnamespace = ANY ($1::pg_catalog.oid[]) AND relkind IN ('r', 'p')), \
        (SELECT count(*) FROM pg_catalog.pg_class), \
        (SELECT count(*) FROM pg_catalog.pg_attribute), \
        (SELECT count(*) FROM pg_catalog.pg_depend)";
    let oids = governed.to_vec();
    let row = client.query_one(sql, &[&oids]).await?;
    Ok(CatalogCount {
        relations: row.try_get(0)?,
        constraints: row.try_get(1)?,
        functions: row.try_get(2)?,
        types: row.try_get(3)?,
        policies: row.try_get(4)?,
        triggers: row.try_get(5)?,
        internal_triggers: row.try_get(6)?,
        columns: row.try_get(7)?,
        tables: row.try_get(8)?,
        all_class: row.try_get(9)?,
        all_attribute: row.try_get(10)?,
        all_depend: row.try_get(11)?,
    })
}

/// `/proc/loadavg`'s 1-minute figure.
fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
}

/// A catalog query of `codegen/src/introspect/queries/`, read at run time.
#[derive(Debug, Clone)]
struct CatalogQuery {
    /// The file name without `.sql`.
    name: String,
    sql: String,
    /// Its parameters: the governed schemas' oids (`$1`), and the platform schemas' (`$2`).
    params: usize,
}

impl CatalogQuery {
    /// Every query file, sorted by name.
    fn load() -> Result<Vec<CatalogQuery>, BenchError> {
        let dir = jobpilot_tests::repo_root().join("codegen/src/introspect/queries");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|source| BenchError::Io {
                what: format!("reading {}", dir.display()),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let sql = std::fs::read_to_string(&path).map_err(|source| BenchError::Io {
                    what: format!("reading {}", path.display()),
                    source,
                })?;
                let params = if sql.contains("$2") {
                    2
                } else {
                    usize::from(sql.contains("$1"))
                };
                Ok(CatalogQuery {
                    name: path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    sql,
                    params,
                })
            })
            .collect()
    }

    /// Whether `introspect` runs it in its first round (before the others, which need the
    /// schemas' oids).
    fn first_round(&self) -> bool {
        self.name == "database" || self.name == "namespaces"
    }

    /// Runs it; returns the number of rows.
    async fn run(
        &self,
        client: &Client,
        governed: &Vec<u32>,
        platform: &Vec<u32>,
    ) -> Result<usize, tokio_postgres::Error> {
        // Typed parameters, one round trip each, as `introspect` sends them.
        let oids = tokio_postgres::types::Type::OID_ARRAY;
        let params: Vec<(&(dyn ToSql + Sync), tokio_postgres::types::Type)> = match self.params {
            0 => Vec::new(),
            1 => vec![(governed, oids)],
            _ => vec![(governed, oids.clone()), (platform, oids)],
        };
        client
            .query_typed(&self.sql, &params)
            .await
            .map(|rows| rows.len())
    }
}

/// The snapshot transaction `introspect` opens, with its settings (but `jit`, which the
/// measurements below set themselves).
// language=PostgreSQL
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
     SET LOCAL search_path = ''; SET LOCAL max_parallel_workers_per_gather = 0; \
     SET LOCAL work_mem = '64MB'";

/// One pair of [`time_pairs`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Pair {
    /// Wall time of the introspection.
    whole: Duration,
    /// Wall time of the queries alone.
    alone: Duration,
    /// CPU time of this process during the introspection, when readable.
    whole_cpu: Option<Duration>,
    /// CPU time of this process during the queries alone.
    alone_cpu: Option<Duration>,
}

/// This process's CPU time so far, summed over its threads (`/proc/self/task/*/schedstat`,
/// nanoseconds on the CPU), or `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(task) = task else { continue };
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(Duration::from_nanos(total))
}

/// `after - before` when both were read.
fn cpu_between(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    before.zip(after).map(|(b, a)| a.saturating_sub(b))
}

/// `runs` pairs, back to back so that both halves of a pair see the same load: an
/// introspection, then every catalog query as `introspect` sends them — the same transaction,
/// the first round, then the rest pipelined on the one connection — with the rows received but
/// not mapped. Wall and CPU time of each half.
async fn time_pairs(
    client: &std::sync::Arc<Client>,
    filter: &Filter,
    queries: &[CatalogQuery],
    governed: &[u32],
    platform: &[u32],
    runs: usize,
) -> Result<Vec<Pair>, BenchError> {
    let governed = std::sync::Arc::new(governed.to_vec());
    let platform = std::sync::Arc::new(platform.to_vec());
    let mut pairs = Vec::with_capacity(runs);
    for _ in 0..runs {
        let cpu = process_cpu();
        let t = Instant::now();
        drop(introspect(client, filter).await?);
        let whole = t.elapsed();
        let cpu_mid = process_cpu();
        let t = Instant::now();
        client.batch_execute(BEGIN_SNAPSHOT).await?;
        for first_round in [true, false] {
            let mut set = tokio::task::JoinSet::new();
            for q in queries.iter().filter(|q| q.first_round() == first_round) {
                let (client, q) = (std::sync::Arc::clone(client), q.clone());
                let (governed, platform) = (
                    std::sync::Arc::clone(&governed),
                    std::sync::Arc::clone(&platform),
                );
                set.spawn(async move { q.run(&client, &governed, &platform).await });
            }
            while let Some(done) = set.join_next().await {
                done.map_err(|e| BenchError::Postgres(format!("a query task failed: {e}")))??;
            }
        }
        // language=PostgreSQL
        client.batch_execute("ROLLBACK").await?;
        let alone = t.elapsed();
        pairs.push(Pair {
            whole,
            alone,
            whole_cpu: cpu_between(cpu, cpu_mid),
            alone_cpu: cpu_between(cpu_mid, process_cpu()),
        });
    }
    Ok(pairs)
}

/// Medians over the pairs of [`time_pairs`].
#[derive(Debug, Default)]
struct PairMedians {
    whole: Duration,
    alone: Duration,
    whole_cpu: Option<Duration>,
    alone_cpu: Option<Duration>,
    /// Median of the per-pair CPU differences: decoding and mapping.
    mapping_cpu: Option<Duration>,
}

fn pair_medians(pairs: &[Pair]) -> PairMedians {
    let median = |mut v: Vec<Duration>| {
        v.sort();
        percentile(&v, 50)
    };
    let cpu = |v: Vec<Option<Duration>>| v.into_iter().collect::<Option<Vec<_>>>().map(median);
    PairMedians {
        whole: median(pairs.iter().map(|p| p.whole).collect()),
        alone: median(pairs.iter().map(|p| p.alone).collect()),
        whole_cpu: cpu(pairs.iter().map(|p| p.whole_cpu).collect()),
        alone_cpu: cpu(pairs.iter().map(|p| p.alone_cpu).collect()),
        mapping_cpu: cpu(pairs
            .iter()
            .map(|p| cpu_between(p.alone_cpu, p.whole_cpu))
            .collect()),
    }
}

/// Each catalog query on its own, in the snapshot transaction `introspect` uses: median wall
/// time of [`QUERY_RUNS`] runs, rows, and `EXPLAIN ANALYZE`'s planning, execution and JIT times,
/// then the execution time again with `jit = off`.
async fn time_queries(
    client: &Client,
    queries: &[CatalogQuery],
    governed: &[u32],
    platform: &[u32],
) -> Result<Vec<QueryTiming>, BenchError> {
    let governed = governed.to_vec();
    let platform = platform.to_vec();
    let mut timings = Vec::new();
    for q in queries {
        client.batch_execute(BEGIN_SNAPSHOT).await?;
        let timing = time_query(client, q, &governed, &platform).await;
        // language=PostgreSQL
        client.batch_execute("ROLLBACK").await?;
        timings.push(timing);
    }
    Ok(timings)
}

/// One query of [`time_queries`]; a failure is recorded, not returned (the transaction is
/// rolled back by the caller either way).
async fn time_query(
    client: &Client,
    q: &CatalogQuery,
    governed: &Vec<u32>,
    platform: &Vec<u32>,
) -> QueryTiming {
    let mut timing = QueryTiming {
        name: q.name.clone(),
        rows: 0,
        wall: Duration::ZERO,
        planning_ms: None,
        execution_ms: None,
        jit_ms: None,
        execution_no_jit_ms: None,
        error: None,
    };
    let mut walls = Vec::with_capacity(QUERY_RUNS);
    for _ in 0..QUERY_RUNS {
        let t = Instant::now();
        match q.run(client, governed, platform).await {
            Ok(rows) => {
                walls.push(t.elapsed());
                timing.rows = rows;
            }
            Err(e) => {
                timing.error = Some(BenchError::from(e).to_string());
                return timing;
            }
        }
    }
    walls.sort();
    timing.wall = percentile(&walls, 50);
    let explain = CatalogQuery {
        sql: format!("EXPLAIN (ANALYZE, BUFFERS)\n{}", q.sql),
        ..q.clone()
    };
    match fastest_explain(client, &explain, governed, platform).await {
        Ok(t) => {
            timing.planning_ms = t.planning;
            timing.execution_ms = t.execution;
            timing.jit_ms = t.jit;
        }
        Err(e) => {
            timing.error = Some(format!("EXPLAIN: {e}"));
            return timing;
        }
    }
    // language=PostgreSQL
    let no_jit = match client.batch_execute("SET LOCAL jit = off").await {
        Ok(()) => fastest_explain(client, &explain, governed, platform).await,
        Err(e) => Err(e.into()),
    };
    match no_jit {
        Ok(t) => timing.execution_no_jit_ms = t.execution,
        Err(e) => timing.error = Some(format!("EXPLAIN with jit = off: {e}")),
    }
    timing
}

/// The `EXPLAIN ANALYZE` run of [`EXPLAIN_RUNS`] with the shortest execution: on a shared
/// machine the fastest run is the one least disturbed by other work.
async fn fastest_explain(
    client: &Client,
    q: &CatalogQuery,
    governed: &Vec<u32>,
    platform: &Vec<u32>,
) -> Result<ExplainTimes, BenchError> {
    let mut best: Option<ExplainTimes> = None;
    for _ in 0..EXPLAIN_RUNS {
        let t = explain_times(client, q, governed, platform).await?;
        let faster = best
            .as_ref()
            .is_none_or(|b| t.execution.unwrap_or(f64::MAX) < b.execution.unwrap_or(f64::MAX));
        if faster {
            best = Some(t);
        }
    }
    Ok(best.unwrap_or_default())
}

/// The times `EXPLAIN ANALYZE` reports, in ms.
#[derive(Debug, Default)]
struct ExplainTimes {
    planning: Option<f64>,
    execution: Option<f64>,
    /// JIT's total (generation, inlining, optimisation, emission), when JIT ran.
    jit: Option<f64>,
}

/// Runs an `EXPLAIN ANALYZE` (`q.sql`) and reads its times.
async fn explain_times(
    client: &Client,
    q: &CatalogQuery,
    governed: &Vec<u32>,
    platform: &Vec<u32>,
) -> Result<ExplainTimes, BenchError> {
    let params: Vec<&(dyn ToSql + Sync)> = match q.params {
        0 => Vec::new(),
        1 => vec![governed],
        _ => vec![governed, platform],
    };
    let mut times = ExplainTimes::default();
    let mut in_jit = false;
    for row in client.query(&q.sql, &params).await? {
        let line: String = row.try_get(0)?;
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Planning Time:") {
            times.planning = parse_ms(v);
        } else if let Some(v) = line.strip_prefix("Execution Time:") {
            times.execution = parse_ms(v);
        } else if line.starts_with("JIT:") {
            in_jit = true;
        } else if in_jit && line.starts_with("Timing:") {
            times.jit = line
                .split_once("Total")
                .and_then(|(_, total)| parse_ms(total));
        }
    }
    Ok(times)
}

/// ` 12.345 ms` → 12.345.
fn parse_ms(text: &str) -> Option<f64> {
    text.trim()
        .trim_end_matches(|c: char| c == ',' || c.is_whitespace())
        .trim_end_matches("ms")
        .trim()
        .parse()
        .ok()
}

/// `pg_dump --schema-only` of `db`, `runs` times, output discarded after counting; then one
/// more run under `/usr/bin/time -f %M` for its peak RSS.
fn time_pg_dump(db: &pgkit::TempDb, runs: usize) -> Result<DumpMeasurement, BenchError> {
    let binary = jobpilot_tests::pg_dump_binary();
    let url = db.url();
    let password = db
        .config()
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let dump_command = |program: &Path| {
        let mut cmd = Command::new(program);
        if let Some(p) = &password {
            cmd.env("PGPASSWORD", p);
        }
        cmd
    };
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let out = dump_command(&binary)
            .args(["--schema-only", "--dbname"])
            .arg(&url)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| BenchError::Io {
                what: format!("running {}", binary.display()),
                source,
            })?;
        times.push(t.elapsed());
        if !out.status.success() {
            return Err(BenchError::Postgres(format!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        bytes = out.stdout.len();
    }
    times.sort();
    let time = Path::new("/usr/bin/time");
    let max_rss = if time.exists() {
        dump_command(time)
            .args(["-f", "%M"])
            .arg(&binary)
            .args(["--schema-only", "--file", "/dev/null", "--dbname"])
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .and_then(|l| l.trim().parse().ok())
            })
    } else {
        None
    };
    Ok(DumpMeasurement {
        runs: times,
        bytes,
        max_rss,
    })
}

/// The `p`th percentile (nearest rank) of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted
        .get(rank - 1)
        .or(sorted.last())
        .copied()
        .unwrap_or_default()
}

/// `12.3 ms`.
fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `12.3 MiB`.
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `12,345`.
fn thousands(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn print_progress(m: &Measurement) {
    eprintln!(
        "bench_introspect: {}: median {} (min {}, p95 {}), {} queries, first run {}",
        m.kind.label(),
        ms(percentile(&m.runs, 50)),
        ms(percentile(&m.runs, 0)),
        ms(percentile(&m.runs, 95)),
        m.queries,
        ms(m.first)
    );
}

/// The command line as typed, for the report.
fn command_line() -> String {
    let mut cmd = String::from("cargo run --release -p jobpilot-tests --bin bench_introspect");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        cmd.push_str(" --");
    }
    for a in args {
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

/// The "Introspection" section (Markdown), ending with a newline.
fn render_section(args: &Args, env: &Environment, results: &[Measurement]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{SECTION}\n");
    let _ = writeln!(
        o,
        "Produced by `{}` on {}.\n\nMachine: {}.\n",
        command_line(),
        env.date,
        env.machine()
    );
    let _ = writeln!(
        o,
        "`codegen::introspect::introspect_parallel` with the default (Supabase) filter, the way \
         the commands read a live database (`Sessions`): two sessions of the database, the \
         second adopting the first one's snapshot (`pg_export_snapshot` / `SET TRANSACTION \
         SNAPSHOT`), the catalog queries split between them so that two server processes work \
         at once. One run on new connections (\"first run\", which also fills the backends' \
         catalog caches), then {} timed runs; wall time measured around the call, which \
         includes the snapshot transactions, every catalog query and the mapping into the \
         model. \"One session\" is `introspect` on the first session alone, {} runs after the \
         timed ones. Both databases are built with the Supabase bootstrap and `VACUUM \
         ANALYZE`d before measuring.\n",
        args.runs, args.runs
    );
    let _ = writeln!(
        o,
        "| Database | Catalog objects | Tables | Queries | Min | Median | p95 | First run | One session: median | Goal | Met |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for m in results {
        let median = percentile(&m.runs, 50);
        let met = if median <= m.kind.goal() {
            "yes"
        } else {
            "**no**"
        };
        let _ = writeln!(
            o,
            "| {} ({}) | {} | {} | {}{} | {} | {} | {} | {} | {} | ≤ {} | {met} (median) |",
            m.kind.label(),
            m.recipe,
            thousands(m.catalog.objects()),
            thousands(m.catalog.tables),
            m.queries,
            if m.queries_constant { "" } else { " (varied)" },
            ms(percentile(&m.runs, 0)),
            ms(median),
            ms(percentile(&m.runs, 95)),
            ms(m.first),
            ms(percentile(&m.single, 50)),
            ms(m.kind.goal()),
        );
    }
    let _ = writeln!(
        o,
        "\n\"Queries\" is `Introspection::queries`: catalog queries sent per introspection (the \
         snapshot transactions' `BEGIN`/`SET`/`ROLLBACK` and the snapshot export are not counted); \
         all but the first two are pipelined on their session.\n"
    );

    let _ = writeln!(o, "### What was read\n");
    let _ = writeln!(
        o,
        "Catalog objects are counted from the catalogs of the governed schemas after the build \
         (`pg_class` + `pg_constraint` + `pg_proc` + `pg_type` — row and array types included — \
         + `pg_policy` + user triggers); \"read back\" counts the model's objects in the \
         `Introspection` of the last run (tables, views, free-standing sequences, constraints, \
         indexes, triggers, policies, functions, enum/domain/composite types; identity \
         sequences, constraint indexes, row and array types are part of their owner there).\n"
    );
    let _ = writeln!(
        o,
        "| Database | pg_class | pg_constraint | pg_proc | pg_type | pg_policy | triggers (+ internal) | columns | read back: tables / views / columns / constraints / indexes / triggers / policies / functions / types | read back, total | unsupported | whole DB: pg_class / pg_attribute / pg_depend rows | build time |"
    );
    let _ = writeln!(
        o,
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|"
    );
    for m in results {
        let c = &m.catalog;
        let r = &m.model;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} (+ {}) | {} | {} / {} / {} / {} / {} / {} / {} / {} / {} | {} | {} | {} / {} / {} | {:.0} s |",
            m.kind.label(),
            thousands(c.relations),
            thousands(c.constraints),
            thousands(c.functions),
            thousands(c.types),
            thousands(c.policies),
            thousands(c.triggers),
            thousands(c.internal_triggers),
            thousands(c.columns),
            thousands(r.tables as i128),
            thousands(r.views as i128),
            thousands(r.columns as i128),
            thousands(r.constraints as i128),
            thousands(r.indexes as i128),
            thousands(r.triggers as i128),
            thousands(r.policies as i128),
            thousands(r.functions as i128),
            thousands(r.types as i128),
            thousands(r.objects() as i128),
            m.unsupported,
            thousands(c.all_class),
            thousands(c.all_attribute),
            thousands(c.all_depend),
            m.build.as_secs_f64(),
        );
    }

    if let (Some(syn), Some(cat)) = (
        results.iter().find(|m| m.kind == Kind::Synthetic),
        results.iter().find(|m| m.kind == Kind::Catalog),
    ) {
        let _ = writeln!(
            o,
            "\nCounted this way the 1,000-table database holds {} objects and the mixed \
             catalog {}: every synthetic table brings an identity sequence, four indexes, \
             four constraints and a row and an array type, while the mixed catalog spreads its \
             objects over fewer tables ({}) plus views, a materialized view, functions, enums, \
             domains and composite types.",
            thousands(syn.catalog.objects()),
            thousands(cat.catalog.objects()),
            thousands(cat.catalog.tables)
        );
    }
    let _ = writeln!(o, "\n### Memory\n");
    let reset = results.iter().all(|m| m.memory.reset);
    let _ = writeln!(
        o,
        "Resident memory (`/proc/self/status`) of the process that measured the database; each \
         database is measured by its own process (this program re-run with `--only DB`), so one \
         database's allocations do not inflate the other's figures. {}\"Growth\" is the peak \
         minus the RSS just before the first run: roughly what one introspection of that \
         database needs on top of the process (runs are sequential and each result is dropped \
         before the next). The peak also holds the process's baseline (runtime, libraries, \
         pages the allocator kept from generating and applying the SQL). \"Process peak\" is \
         `VmHWM` over the process's whole life, the build (generating the SQL and applying it \
         statement by statement) and the per-query timings included.\n",
        if reset {
            "\"Peak during the runs\" is `VmHWM` read after the runs, the kernel's counter \
             having been reset (`echo 5 > /proc/self/clear_refs`) just before the first one, so \
             it excludes the build. "
        } else {
            "The kernel refused to reset `VmHWM`, so \"Peak during the runs\" is the process's \
             peak so far, building included. "
        }
    );
    let _ = writeln!(
        o,
        "| Database | RSS before the runs | Peak during the runs | Growth | RSS after | Process peak |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
    for m in results {
        let mem = &m.memory;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            m.kind.label(),
            mib(mem.rss_before),
            mib(mem.peak),
            mib(mem.peak.saturating_sub(mem.rss_before)),
            mib(mem.rss_after),
            mib(mem.process_peak),
        );
    }
    let _ = writeln!(o);

    if results.iter().any(|m| m.dump.is_some()) {
        let _ = writeln!(o, "### Peer: `pg_dump --schema-only`\n");
        let _ = writeln!(
            o,
            "The same databases, in the same run: `{} --schema-only --dbname URL` (output \
             captured and discarded), timed with `std::process::Command` from spawn to exit, so \
             it includes process start and connection; peak RSS from one more run under \
             `/usr/bin/time -f %M`. It reads the same catalogs but prints SQL rather than \
             building a model.\n",
            jobpilot_tests::pg_dump_binary().display()
        );
        let _ = writeln!(
            o,
            "| Database | Runs | Min | Median | Output | pg_dump peak RSS | introspect median |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
        for m in results {
            let Some(d) = &m.dump else { continue };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                m.kind.label(),
                d.runs.len(),
                ms(percentile(&d.runs, 0)),
                ms(percentile(&d.runs, 50)),
                mib(d.bytes as u64 / 1024),
                d.max_rss.map_or_else(|| "n/a".to_owned(), mib),
                ms(percentile(&m.runs, 50)),
            );
        }
        let _ = writeln!(o);
    }

    let _ = writeln!(o, "### Where the time goes\n");
    let _ = writeln!(
        o,
        "After the timed runs, {} pairs run back to back on the same connection: an \
         introspection, then \"queries alone\": every catalog query sent as `introspect` \
         sends them (same snapshot transaction and parameters, first round then the rest \
         pipelined on one connection, texts read from `codegen/src/introspect/queries/` at run \
         time), all rows received but not mapped. Besides wall time, the CPU time of this \
         process (all its threads, `/proc/self/task/*/schedstat`) is read around each half: \
         the client's own work, which the machine's load barely affects. The median of the \
         per-pair CPU differences is the decoding and mapping into the model; what the CPU \
         time of the introspection leaves of its wall time is the server's work, the transfer \
         and waiting.\n",
        args.runs
    );
    let _ = writeln!(
        o,
        "| Database | Introspection: wall / client CPU | Queries alone: wall / client CPU | Decoding + mapping (CPU) | Client CPU per timed run |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|");
    for m in results {
        let p = pair_medians(&m.pairs);
        let _ = writeln!(
            o,
            "| {} | {} / {} | {} / {} | {} | {} |",
            m.kind.label(),
            ms(p.whole),
            opt_duration(p.whole_cpu),
            ms(p.alone),
            opt_duration(p.alone_cpu),
            opt_duration(p.mapping_cpu),
            opt_duration(m.cpu_per_run),
        );
    }
    let _ = writeln!(
        o,
        "\nEach query on its own, in the same kind of snapshot transaction with the same \
         parameters: median client wall time of {QUERY_RUNS} runs, then the fastest of \
         {EXPLAIN_RUNS} `EXPLAIN (ANALYZE, BUFFERS)` for the server's planning and execution \
         time and the part of it JIT compilation took, then the fastest of {EXPLAIN_RUNS} more \
         with `SET LOCAL jit = off`. (`EXPLAIN ANALYZE`'s per-node timing inflates execution \
         times somewhat; compare rows with each other.)\n"
    );
    for m in results {
        let _ = writeln!(o, "{}:\n", m.kind.label());
        let _ = writeln!(
            o,
            "| Query | Rows | Wall | Planning | Execution | of which JIT | Execution, jit = off |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
        let mut by_cost: Vec<&QueryTiming> = m.per_query.iter().collect();
        by_cost.sort_by(|a, b| {
            b.execution_ms
                .unwrap_or(0.0)
                .total_cmp(&a.execution_ms.unwrap_or(0.0))
        });
        for q in &by_cost {
            match &q.error {
                None => {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | {} | {} | {} | {} |",
                        q.name,
                        thousands(q.rows as i128),
                        ms(q.wall),
                        opt_ms(q.planning_ms),
                        opt_ms(q.execution_ms),
                        opt_ms(q.jit_ms),
                        opt_ms(q.execution_no_jit_ms),
                    );
                }
                Some(e) => {
                    let _ = writeln!(
                        o,
                        "| {} | – | failed: {} | | | | |",
                        q.name,
                        e.replace('|', "\\|")
                    );
                }
            }
        }
        let sum = |f: fn(&QueryTiming) -> Option<f64>| {
            m.per_query.iter().filter_map(f).fold(0.0, |acc, v| acc + v)
        };
        let wall: Duration = m.per_query.iter().map(|q| q.wall).sum();
        let _ = writeln!(
            o,
            "| **sum** | | **{}** | {} | **{}** | {} | **{}** |\n",
            ms(wall),
            opt_ms(Some(sum(|q| q.planning_ms))),
            opt_ms(Some(sum(|q| q.execution_ms))),
            opt_ms(Some(sum(|q| q.jit_ms))),
            opt_ms(Some(sum(|q| q.execution_no_jit_ms))),
        );
        let _ = writeln!(o, "{}", observations(m, &by_cost));
    }
    o
}

/// What the figures of one database say, as a short list (computed, so it stays true to the
/// numbers above it).
fn observations(m: &Measurement, by_cost: &[&QueryTiming]) -> String {
    let mut o = String::new();
    let median = percentile(&m.runs, 50);
    let goal = m.kind.goal();
    let exec: f64 = by_cost
        .iter()
        .filter_map(|q| q.execution_ms)
        .fold(0.0, |a, b| a + b);
    let _ = writeln!(
        o,
        "- Median {} against a goal of {}: {}.",
        ms(median),
        ms(goal),
        if median <= goal {
            "met".to_owned()
        } else {
            format!(
                "**not met**, {:.2}× the goal",
                median.as_secs_f64() / goal.as_secs_f64()
            )
        }
    );
    if exec > 0.0 {
        let top: Vec<String> = by_cost
            .iter()
            .take(4)
            .filter_map(|q| {
                q.execution_ms
                    .map(|e| format!("`{}` {e:.0} ms ({:.0} %)", q.name, 100.0 * e / exec))
            })
            .collect();
        let _ = writeln!(
            o,
            "- Server execution, summed over the queries: {exec:.0} ms; the largest: {}.",
            top.join(", ")
        );
    }
    let jitted: Vec<String> = by_cost
        .iter()
        .filter_map(|q| {
            let jit = q.jit_ms?;
            Some(format!(
                "`{}` ({jit:.0} ms of JIT; {} ms → {} ms with `jit = off`)",
                q.name,
                opt_ms(q.execution_ms),
                opt_ms(q.execution_no_jit_ms)
            ))
        })
        .collect();
    if jitted.is_empty() {
        let _ = writeln!(o, "- No query was JIT-compiled.");
    } else {
        let _ = writeln!(
            o,
            "- JIT-compiled (the planner's cost estimate passed `jit_above_cost`): {}.",
            jitted.join(", ")
        );
    }
    let p = pair_medians(&m.pairs);
    if let (Some(cpu), Some(mapping)) = (p.whole_cpu, p.mapping_cpu) {
        let _ = writeln!(
            o,
            "- The client's CPU time is {} of an introspection's {} wall time, {} of it \
             decoding and mapping the rows (in `introspect`, after the last query's rows have \
             arrived); the rest of the wall time is the server's work, the transfer and \
             waiting.",
            ms(cpu),
            ms(p.whole),
            ms(mapping)
        );
    }
    o
}

/// `12.3 ms` or `n/a`.
fn opt_duration(d: Option<Duration>) -> String {
    d.map_or_else(|| "n/a".to_owned(), ms)
}

/// `12.3` or `–`.
fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

/// Replaces this tool's section of `path` with `section` (appending it when absent), creating
/// the file with a short header when it does not exist.
fn write_section(path: &Path, env: &Environment, section: &str) -> Result<(), BenchError> {
    let preamble = format!(
        "# Benchmarks\n\n\
         Measured performance figures of the toolkit. Every figure comes with the command \
         that produced it; each section is rewritten by its tool (`--write BENCHMARKS.md`), \
         so edit the tools, not the numbers.\n\n\
         Machine when this file was created: {}.\n",
        env.hardware()
    );
    jobpilot_tests::benchmarks::write_section(path, SECTION, section, &preamble).map_err(|source| {
        BenchError::Io {
            what: format!("writing {}", path.display()),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0), Duration::from_millis(1));
        assert_eq!(percentile(&d, 50), Duration::from_millis(10));
        assert_eq!(percentile(&d, 95), Duration::from_millis(19));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn explain_and_proc_fields_parse() {
        assert_eq!(parse_ms(" 12.345 ms"), Some(12.345));
        assert_eq!(parse_ms(" 84.4 ms"), Some(84.4));
        assert_eq!(
            field_kib("VmPeak:\t  1234 kB\nVmHWM:\t   42 kB\n", "VmHWM"),
            Some(42)
        );
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(thousands(-1_000), "-1,000");
    }
}
