//! `bench_verify`: how long the whole `codegen verify` process takes, how many queries it sends
//! and how much memory it needs, on JobPilot's schema and on synthetic schemas of 1,000 and
//! 10,000 tables, with migra (PyPI) and `pg_dump --schema-only` run on the same databases in the
//! same run.
//!
//! ```text
//! cargo build --release -p codegen
//! cargo run --release -p jobpilot-tests --bin bench_verify -- [--tables 1000,10000] [--runs N]
//!     [--big-runs N] [--migra PATH] [--codegen PATH] [--write BENCHMARKS.md]
//! ```
//!
//! For each schema: a database (Supabase bootstrap, then the schema; history recorded), a
//! project directory that declares exactly that schema (`schema/*.toml`, the canonical-forms
//! lock, `migrations/`), a byte-for-byte copy of the database (`CREATE DATABASE … TEMPLATE`) as
//! migra's second side. Then one untimed run of each tool through a counting TCP proxy (the
//! statements each process sends; verify must exit 0 there: a clean database), and the timed
//! rounds, the three tools interleaved. Every timed run is a whole process, from spawn to
//! exit, under `/usr/bin/time` for its peak RSS and CPU time. The release `codegen` binary is rebuilt
//! first (`cargo build --release -p codegen`) unless `--no-build`.
//!
//! migra: `python3 -m venv /work/migra-venv && /work/migra-venv/bin/pip install migra
//! psycopg2-binary setuptools`; without it the migra columns say so. Timings are printed and
//! written, never asserted.

use clap::Parser;
use codegen::canonical::CanonicalLock;
use codegen::introspect::{Filter, introspect};
use codegen::project::{self, Paths};
use jobpilot_tests::synthetic::{self, Size};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

const SECTION: &str = "## Verify";

/// Tables per `batch_execute` (one implicit transaction) when building a synthetic database:
/// few enough that the locks of one batch fit the server's lock table.
const TABLES_PER_BATCH: usize = 50;

/// From this many tables on, a schema gets `--big-runs` timed rounds instead of `--runs`.
const BIG: usize = 5_000;

#[derive(Debug, Parser)]
#[command(name = "bench_verify", about)]
struct Args {
    /// Synthetic schema sizes, in tables (each table: `synthetic::schema_sql` with 2 extra
    /// columns).
    #[arg(long, value_delimiter = ',', default_values_t = [1000, 10000])]
    tables: Vec<usize>,
    /// Timed rounds (each runs verify, migra and pg_dump once) per schema; the median is
    /// reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Timed rounds for schemas of 5,000 tables or more.
    #[arg(long, default_value_t = 3)]
    big_runs: usize,
    /// The migra executable.
    #[arg(long, default_value = "/work/migra-venv/bin/migra")]
    migra: PathBuf,
    /// The codegen executable (default: the release binary of the cargo target directory).
    #[arg(long)]
    codegen: Option<PathBuf>,
    /// Do not run `cargo build --release -p codegen` first.
    #[arg(long)]
    no_build: bool,
    /// Replace the section of this file (BENCHMARKS.md).
    #[arg(long)]
    write: Option<PathBuf>,
    /// Keep the project directories of the synthetic schemas (their paths are printed; the
    /// databases are dropped all the same).
    #[arg(long)]
    keep_projects: bool,
    /// Build the synthetic databases and projects, print their URLs and paths, and wait until
    /// standard input closes (for profiling `codegen verify` by hand), then drop them; nothing
    /// is measured.
    #[arg(long)]
    hold: bool,
}

type BenchResult<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench_verify: {e}");
            return ExitCode::from(2);
        }
    };
    jobpilot_tests::benchmarks::finish(
        "bench_verify",
        SECTION,
        runtime.block_on(run(&args)),
        args.write.as_deref(),
    )
}

// ---------------------------------------------------------------------------------------------
// Processes: wall time and peak RSS of one whole process.

/// One finished process.
#[derive(Debug, Clone)]
struct Finished {
    /// From spawn to exit.
    wall: Duration,
    /// Peak RSS, KiB (`None`: not measurable without `/usr/bin/time`).
    max_rss_kib: Option<u64>,
    /// User + system CPU time.
    cpu: Duration,
    /// Exit code (`None`: killed by a signal).
    code: Option<i32>,
    /// What it printed on stdout.
    stdout: String,
    /// What it printed on stderr.
    stderr: String,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// `/usr/bin/time`, when installed: the intermediate process whose child's rusage is the tool's
/// own (see [`run_process`]).
const TIME: &str = "/usr/bin/time";

/// Runs `cmd` to its end with stdout and stderr going to files of `scratch`; its wall time from
/// spawn to exit, and its peak RSS and CPU time from its rusage.
///
/// The rusage comes from `/usr/bin/time -f "%M %U %S"` run around the tool: a process's
/// `ru_maxrss` counts the address space it was forked from, and this process, which holds a
/// whole introspected schema, would pass its own peak on to every child; `time` forks the tool
/// from its own tiny image. Without `/usr/bin/time` the tool is reaped here with `wait4` and
/// its RSS is not reported (it would include this process's).
fn run_process(cmd: Command, scratch: &Path) -> BenchResult<Finished> {
    let out_path = scratch.join("stdout");
    let err_path = scratch.join("stderr");
    let usage_path = scratch.join("usage");
    let out = File::create(&out_path).map_err(err)?;
    let errf = File::create(&err_path).map_err(err)?;
    let wrapped = Path::new(TIME).exists();
    let mut cmd = if wrapped {
        let _ = std::fs::remove_file(&usage_path);
        let mut w = Command::new(TIME);
        w.args(["-f", "%M %U %S", "-o"])
            .arg(&usage_path)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => w.env(k, v),
                None => w.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            w.current_dir(dir);
        }
        w
    } else {
        cmd
    };
    cmd.stdin(Stdio::null()).stdout(out).stderr(errf);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {:?}: {e}", cmd.get_program()))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(err)?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not yet reaped (std's `Child` is never waited on: it is
        // dropped below without a wait); the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4: {e}"));
        }
    }
    let wall = started.elapsed();
    drop(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let (max_rss_kib, cpu) = if wrapped {
        // `time` exits with the tool's code; its report is the last line of the -o file.
        let text = std::fs::read_to_string(&usage_path).unwrap_or_default();
        let fields: Vec<&str> = text
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let seconds = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .map_or(Duration::ZERO, Duration::from_secs_f64)
        };
        (
            fields.first().and_then(|f| f.parse::<u64>().ok()),
            seconds(1) + seconds(2),
        )
    } else {
        (None, timeval(usage.ru_utime) + timeval(usage.ru_stime))
    };
    Ok(Finished {
        wall,
        max_rss_kib,
        cpu,
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    })
}

/// [`run_process`] off the runtime's worker threads (the counting proxy runs on them meanwhile).
async fn run_blocking(cmd: Command, scratch: PathBuf) -> BenchResult<Finished> {
    tokio::task::spawn_blocking(move || run_process(cmd, &scratch))
        .await
        .map_err(err)?
}

// ---------------------------------------------------------------------------------------------
// The counting proxy: a TCP relay between a client and the server that reads the frontend
// protocol and logs every Query ('Q', simple protocol) and Execute ('E', extended protocol)
// message, per connection.

/// What one client connection sent.
#[derive(Debug, Clone, Default)]
struct ConnLog {
    /// `application_name` of the startup message.
    application: String,
    /// Every statement, in order: the text of a Query message, or of the prepared statement an
    /// Execute message runs.
    statements: Vec<String>,
}

struct Proxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<ConnLog>>>,
    active: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> BenchResult<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let log: Arc<Mutex<Vec<ConnLog>>> = Arc::default();
        let active = Arc::new(AtomicUsize::new(0));
        let (l, a) = (Arc::clone(&log), Arc::clone(&active));
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let index = {
                    let mut g = l.lock().unwrap_or_else(|p| p.into_inner());
                    g.push(ConnLog::default());
                    g.len() - 1
                };
                a.fetch_add(1, Ordering::SeqCst);
                let (l2, a2) = (Arc::clone(&l), Arc::clone(&a));
                tokio::spawn(async move {
                    if let Err(e) = relay(client, upstream, &l2, index).await {
                        eprintln!("bench_verify: proxy connection {index}: {e}");
                    }
                    a2.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(Proxy {
            addr,
            log,
            active,
            accept,
        })
    }

    /// The log so far, once every connection has ended (or after 5 s).
    async fn take(&self) -> Vec<ConnLog> {
        let until = Instant::now() + Duration::from_secs(5);
        while self.active.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const PROTOCOL_3: u32 = 196_608;

/// Text up to the first NUL, and the rest after it.
fn cstr(bytes: &[u8]) -> (String, &[u8]) {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let rest = bytes.get(end + 1..).unwrap_or(&[]);
    (
        String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[])).into_owned(),
        rest,
    )
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    log: &Mutex<Vec<ConnLog>>,
    index: usize,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, mut cw) = client.into_split();
    let (mut sr, sw) = server.into_split();
    let mut cr = AsyncBufReader::new(cr);
    let mut sw = BufWriter::new(sw);
    let record = |f: &mut dyn FnMut(&mut ConnLog)| {
        let mut g = log.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = g.get_mut(index) {
            f(c);
        }
    };
    // Untyped messages first: encryption requests (answered "no" here, so the rest is readable;
    // clients with sslmode=prefer go on in plain text), then the startup or cancel message.
    loop {
        let len = cr.read_u32().await?;
        let mut body = vec![0u8; (len as usize).saturating_sub(4)];
        cr.read_exact(&mut body).await?;
        let code = body
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if code == SSL_REQUEST || code == GSSENC_REQUEST {
            cw.write_all(b"N").await?;
            continue;
        }
        if code == PROTOCOL_3 {
            let mut rest = body.get(4..).unwrap_or(&[]);
            while !rest.is_empty() && rest[0] != 0 {
                let (key, r) = cstr(rest);
                let (value, r) = cstr(r);
                rest = r;
                if key == "application_name" {
                    record(&mut |c| c.application.clone_from(&value));
                }
            }
        }
        sw.write_u32(len).await?;
        sw.write_all(&body).await?;
        sw.flush().await?;
        break;
    }
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    });
    let mut statements: HashMap<String, String> = HashMap::new();
    let mut portals: HashMap<String, String> = HashMap::new();
    loop {
        let tag = match cr.read_u8().await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        };
        let len = cr.read_u32().await?;
        let mut body = vec![0u8; (len as usize).saturating_sub(4)];
        cr.read_exact(&mut body).await?;
        match tag {
            b'Q' => {
                let (text, _) = cstr(&body);
                record(&mut |c| c.statements.push(text.clone()));
            }
            b'P' => {
                let (name, rest) = cstr(&body);
                let (text, _) = cstr(rest);
                statements.insert(name, text);
            }
            b'B' => {
                let (portal, rest) = cstr(&body);
                let (statement, _) = cstr(rest);
                portals.insert(portal, statement);
            }
            b'E' => {
                let (portal, _) = cstr(&body);
                let text = portals
                    .get(&portal)
                    .and_then(|s| statements.get(s))
                    .cloned()
                    .unwrap_or_else(|| "(unknown statement)".to_owned());
                record(&mut |c| c.statements.push(text.clone()));
            }
            _ => {}
        }
        sw.write_u8(tag).await?;
        sw.write_u32(len).await?;
        sw.write_all(&body).await?;
        if cr.buffer().is_empty() {
            sw.flush().await?;
        }
        if tag == b'X' {
            break;
        }
    }
    sw.flush().await?;
    let _ = sw.shutdown().await;
    let _ = down.await;
    Ok(())
}

/// Whether a statement only manages the session or transaction (`BEGIN`, `SET`, `COMMIT`…).
fn is_session_statement(text: &str) -> bool {
    let first = text
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "BEGIN" | "START" | "SET" | "RESET" | "COMMIT" | "ROLLBACK" | "END" | "SHOW" | "DISCARD"
    )
}

/// Counted statements of one process.
#[derive(Debug, Clone, Default)]
struct QueryCount {
    connections: Vec<ConnLog>,
}

impl QueryCount {
    fn total(&self) -> usize {
        self.connections.iter().map(|c| c.statements.len()).sum()
    }

    fn session(&self) -> usize {
        self.connections
            .iter()
            .flat_map(|c| &c.statements)
            .filter(|s| is_session_statement(s))
            .count()
    }

    /// `2 connections: "codegen verify" 21 (4 session), "codegen migrate" 3`.
    fn breakdown(&self) -> String {
        let parts: Vec<String> = self
            .connections
            .iter()
            .map(|c| {
                let session = c
                    .statements
                    .iter()
                    .filter(|s| is_session_statement(s))
                    .count();
                let name = if c.application.is_empty() {
                    "(no application_name)".to_owned()
                } else {
                    format!("`{}`", c.application)
                };
                if session > 0 {
                    format!(
                        "{name}: {} ({} queries + {session} session/transaction statements)",
                        c.statements.len(),
                        c.statements.len() - session
                    )
                } else {
                    format!("{name}: {}", c.statements.len())
                }
            })
            .collect();
        format!(
            "{} connection{}: {}",
            self.connections.len(),
            if self.connections.len() == 1 { "" } else { "s" },
            parts.join("; ")
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Databases and projects.

/// The server's TCP address (the proxy's upstream).
fn server_addr(db: &pgkit::TempDb) -> BenchResult<SocketAddr> {
    let config = db.config();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => return Err("the counting proxy needs a TCP server".to_owned()),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    };
    format!("{host}:{port}").parse().map_err(err)
}

/// `db`'s URL with its host and port replaced by the proxy's.
fn proxied_url(db: &pgkit::TempDb, proxy: SocketAddr) -> String {
    let config = db.config();
    let user = config.get_user().unwrap_or("postgres");
    let name = config.get_dbname().unwrap_or(db.name());
    format!("postgres://{user}@{proxy}/{name}")
}

/// A PostgreSQL error with the server's message.
fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!(
            "{} ({}){}",
            d.message(),
            d.code().code(),
            d.hint().map(|h| format!("; hint: {h}")).unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A new database with the same content as `source` (`CREATE DATABASE … TEMPLATE`), dropped
/// with its guard. Nobody may be connected to `source` meanwhile.
async fn copy_database(
    server: &Arc<pgkit::Server>,
    source: &pgkit::TempDb,
) -> BenchResult<pgkit::TempDb> {
    let copy = server
        .create_database("jp_bench_verify_copy")
        .await
        .map_err(err)?;
    let admin = pgkit_admin(server).await?;
    // Keep pgkit's marker comment, so a crashed run's copy is swept like any of its databases.
    let comment: Option<String> = admin
        .query_one(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database WHERE datname = $1",
            &[&copy.name()],
        )
        .await
        .map_err(err)?
        .get(0);
    admin
        .batch_execute(&format!("DROP DATABASE {}", quote_ident(copy.name())))
        .await
        .map_err(err)?;
    let create = format!(
        "CREATE DATABASE {} TEMPLATE {} STRATEGY = FILE_COPY",
        quote_ident(copy.name()),
        quote_ident(source.name())
    );
    let mut attempts = 0;
    loop {
        match admin.batch_execute(&create).await {
            Ok(()) => break,
            // "source database is being accessed by other users": a closing session.
            Err(e) if attempts < 20 => {
                attempts += 1;
                eprintln!("bench_verify: copying {}: {e}; retrying", source.name());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(format!("copying {}: {e}", source.name())),
        }
    }
    if let Some(c) = comment {
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {} IS '{}'",
                quote_ident(copy.name()),
                c.replace('\'', "''")
            ))
            .await
            .map_err(err)?;
    }
    Ok(copy)
}

async fn pgkit_admin(server: &Arc<pgkit::Server>) -> BenchResult<tokio_postgres::Client> {
    let (client, connection) = server
        .admin_config()
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(err)?;
    tokio::spawn(connection);
    Ok(client)
}

/// The synthetic schema's SQL in batches of [`TABLES_PER_BATCH`] tables (the first batch also
/// holds the enum and the trigger function).
fn synthetic_batches(size: Size) -> Vec<String> {
    let sql = synthetic::schema_sql(size);
    let mut batches = vec![String::new()];
    let mut tables_in_batch = 0;
    for line in sql.lines() {
        if line.starts_with("CREATE TABLE ") {
            if tables_in_batch == TABLES_PER_BATCH {
                batches.push(String::new());
                tables_in_batch = 0;
            }
            tables_in_batch += 1;
        }
        if let Some(b) = batches.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    batches
}

/// A temporary project root.
fn scratch_root(what: &str) -> BenchResult<PathBuf> {
    let root = std::env::temp_dir().join(format!("jp_bench_verify_{}_{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(err)?;
    Ok(root)
}

/// A copy of the repository's schema/ and migrations/ in a temporary root (the workspace's
/// own files may change while the benchmark runs).
fn jobpilot_project() -> BenchResult<Paths> {
    let root = scratch_root("jobpilot")?;
    for dir in ["schema", "migrations"] {
        std::fs::create_dir_all(root.join(dir)).map_err(err)?;
        for entry in std::fs::read_dir(jobpilot_tests::repo_root().join(dir)).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.file_type().map_err(err)?.is_file() {
                std::fs::copy(entry.path(), root.join(dir).join(entry.file_name())).map_err(err)?;
            }
        }
    }
    Ok(Paths::at(root))
}

/// Runs a `codegen` command that must succeed (setup, untimed).
fn codegen_ok(exe: &Path, root: &Path, args: &[&str]) -> BenchResult<()> {
    let out = Command::new(exe)
        .arg("--root")
        .arg(root)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "codegen {}: {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A database and the project that declares it.
struct Case {
    label: String,
    /// A synthetic schema (not JobPilot's).
    synthetic: bool,
    recipe: String,
    tables: usize,
    /// Declared objects (`Schema::object_count`).
    objects: usize,
    /// Bytes of `schema/*.toml` + the lock.
    schema_bytes: u64,
    db: pgkit::TempDb,
    paths: Paths,
    /// Building the database (bootstrap, schema, `VACUUM ANALYZE`).
    db_build: Duration,
    /// Writing the project from the database (synthetic schemas; JobPilot's is copied).
    project_build: Option<Duration>,
    /// Leave the project directory behind.
    keep: bool,
}

impl Drop for Case {
    fn drop(&mut self) {
        if self.keep {
            eprintln!(
                "bench_verify: kept the project {}",
                self.paths.root.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.paths.root);
        }
    }
}

/// JobPilot: the Supabase bootstrap, then `codegen migrate up` (the history is recorded).
async fn jobpilot_case(server: &Arc<pgkit::Server>, exe: &Path) -> BenchResult<Case> {
    let started = Instant::now();
    let paths = jobpilot_project()?;
    let db = server
        .create_database("jp_bench_verify_jobpilot")
        .await
        .map_err(err)?;
    db.apply_bootstrap().await.map_err(err)?;
    codegen_ok(
        exe,
        &paths.root,
        &[
            "migrate",
            "up",
            "--no-drift-check",
            "--database-url",
            &db.url(),
        ],
    )?;
    analyze(&db).await?;
    let loaded = project::load_schema(&paths).map_err(err)?;
    let tables = loaded.schema.tables.len();
    Ok(Case {
        label: format!("JobPilot (`schema/`, {tables} tables)"),
        synthetic: false,
        recipe: "Supabase bootstrap + `codegen migrate up` of `migrations/`".to_owned(),
        tables,
        objects: loaded.schema.object_count(),
        schema_bytes: schema_bytes(&paths),
        db,
        paths,
        db_build: started.elapsed(),
        project_build: None,
        keep: false,
    })
}

async fn analyze(db: &pgkit::TempDb) -> BenchResult<()> {
    let client = db.connect().await.map_err(err)?;
    // Catalog statistics, as a live database has them (and no autovacuum during the runs).
    // language=PostgreSQL
    client.batch_execute("VACUUM ANALYZE").await.map_err(err)
}

fn schema_bytes(paths: &Paths) -> u64 {
    std::fs::read_dir(&paths.schema)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.ends_with(".toml") || n == codegen::canonical::LOCK_FILE
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A synthetic schema: the database from `synthetic::schema_sql` (bootstrap first, which
/// creates the role `authenticated` the schema grants to), then its project: `schema/*.toml`
/// written from its introspection exactly as `codegen import --from-db` writes them, the lock
/// built from the same introspection (the database is the scratch database `codegen generate`
/// would build from those files, so the lock is the same), the baseline migration rendered as
/// `generate` renders it, and the history stamped (`codegen migrate stamp 1`).
async fn synthetic_case(
    server: &Arc<pgkit::Server>,
    exe: &Path,
    tables: usize,
) -> BenchResult<Case> {
    let started = Instant::now();
    let size = Size {
        tables,
        extra_columns: 2,
    };
    let db = server
        .create_database(&format!("jp_bench_verify_{tables}"))
        .await
        .map_err(err)?;
    db.apply_bootstrap().await.map_err(err)?;
    let batches = synthetic_batches(size);
    {
        let client = db.connect().await.map_err(err)?;
        let n = batches.len();
        for (i, b) in batches.iter().enumerate() {
            // A batch is one transaction: a failed one left nothing behind and is tried again
            // (the lock table is shared with whatever else the server runs).
            let mut attempt = 0;
            while let Err(e) = client.batch_execute(b).await {
                attempt += 1;
                let message = pg_error(&e);
                if attempt == 3 {
                    return Err(format!("{tables} tables, batch {}: {message}", i + 1));
                }
                eprintln!(
                    "bench_verify: {tables} tables, batch {}: {message}; trying again",
                    i + 1
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            if (i + 1) % 10 == 0 || i + 1 == n {
                eprintln!(
                    "bench_verify: {tables} tables: batch {}/{n} applied ({:.0} s)",
                    i + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    analyze(&db).await?;
    let db_build = started.elapsed();
    eprintln!(
        "bench_verify: {tables} tables: database built in {:.0} s; writing the project…",
        db_build.as_secs_f64()
    );
    let paths = Paths::at(scratch_root(&tables.to_string())?);
    let found = {
        let client = db.connect().await.map_err(err)?;
        introspect(&client, &Filter::default()).await.map_err(err)?
    };
    if !found.unsupported.is_empty() {
        return Err(format!("unsupported objects: {:?}", found.unsupported));
    }
    std::fs::create_dir_all(&paths.schema).map_err(err)?;
    std::fs::create_dir_all(&paths.migrations).map_err(err)?;
    for (name, text) in
        codegen::parse::write_schema(&found.schema, &codegen::parse::WriteOptions::default())
    {
        std::fs::write(paths.schema.join(name), text).map_err(err)?;
    }
    let loaded = project::load_schema(&paths).map_err(err)?;
    let lock = CanonicalLock::build(
        &loaded.schema.database_view(),
        &found.schema,
        &found.server_version,
    )
    .map_err(err)?;
    std::fs::write(paths.lock_file(), lock.to_json()).map_err(err)?;
    let canonical = project::canonical_schema(&loaded, &lock).map_err(err)?;
    std::fs::write(
        paths.migrations.join("0001_baseline.up.sql"),
        project::render_baseline(&canonical),
    )
    .map_err(err)?;
    codegen_ok(
        exe,
        &paths.root,
        &["migrate", "stamp", "1", "--database-url", &db.url()],
    )?;
    Ok(Case {
        label: format!("{} tables", thousands(tables)),
        synthetic: true,
        recipe: format!(
            "`synthetic::schema_sql(Size {{ tables: {tables}, extra_columns: 2 }})` on the \
             Supabase bootstrap, applied {TABLES_PER_BATCH} tables per transaction; \
             history stamped"
        ),
        tables,
        objects: loaded.schema.object_count(),
        schema_bytes: schema_bytes(&paths),
        db,
        paths,
        db_build,
        project_build: Some(started.elapsed() - db_build),
        keep: false,
    })
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/// One tool on one case.
#[derive(Debug, Clone, Default)]
struct ToolResult {
    /// The timed runs.
    runs: Vec<Finished>,
    /// Statements counted through the proxy.
    queries: Option<QueryCount>,
    /// Why it was not measured.
    skipped: Option<String>,
    /// Bytes of stdout (last run).
    output_bytes: usize,
}

impl ToolResult {
    fn median_wall(&self) -> Option<Duration> {
        let mut v: Vec<Duration> = self.runs.iter().map(|r| r.wall).collect();
        v.sort();
        v.get(v.len() / 2).copied()
    }

    fn min_wall(&self) -> Option<Duration> {
        self.runs.iter().map(|r| r.wall).min()
    }

    fn median_cpu(&self) -> Option<Duration> {
        let mut v: Vec<Duration> = self.runs.iter().map(|r| r.cpu).collect();
        v.sort();
        v.get(v.len() / 2).copied()
    }

    fn max_rss(&self) -> Option<u64> {
        self.runs.iter().filter_map(|r| r.max_rss_kib).max()
    }
}

struct Measured {
    case: Case,
    /// One run of `codegen sql` (the declared side without a database).
    load: Finished,
    /// verify with both caches filled by the run before (the database unchanged since).
    verify: ToolResult,
    /// verify with the declared schema cached and no introspection cached (the database
    /// changed since the last run, or was never verified from here): the catalogs are read.
    verify_read: ToolResult,
    /// verify with an empty cache (parsing and validating `schema/`, reading the catalogs).
    verify_cold: ToolResult,
    /// verify with both caches filled by the run before, after a column was added to one table
    /// out of band: the catalogs are read again (their fingerprint changed) and the drift is
    /// reported, located in `schema/` (the declarations' places come from the cache).
    verify_changed: ToolResult,
    /// The table the change went to.
    changed_table: String,
    /// The statements the run after the change sends (through the proxy).
    queries_changed: Option<QueryCount>,
    /// The statements a run sends when the catalogs are unchanged (through the proxy).
    queries_cached: Option<QueryCount>,
    migra: ToolResult,
    pg_dump: ToolResult,
    verify_summary: String,
    rounds: usize,
}

impl Measured {
    /// The largest peak RSS of the timed verify runs, whichever cache they had.
    fn verify_peak_rss(&self) -> Option<u64> {
        [
            &self.verify,
            &self.verify_read,
            &self.verify_cold,
            &self.verify_changed,
        ]
        .iter()
        .filter_map(|r| r.max_rss())
        .max()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Verify,
    Migra,
    PgDump,
}

struct Tools {
    codegen: PathBuf,
    migra: Option<PathBuf>,
    pg_dump: PathBuf,
}

/// The command of `tool` on `case`, with `url` for the database (and `copy_url` for migra's
/// other side).
fn command(tools: &Tools, tool: Tool, case: &Case, url: &str, copy_url: &str) -> Option<Command> {
    match tool {
        Tool::Verify => {
            let mut c = Command::new(&tools.codegen);
            c.arg("--root")
                .arg(&case.paths.root)
                .args(["verify", "--database-url", url])
                .current_dir(&case.paths.root)
                .env("NO_COLOR", "1")
                // Its own cache of the declared schema, so that warm and cold runs are known.
                .env("CODEGEN_CACHE_DIR", cache_dir(case));
            Some(c)
        }
        Tool::Migra => tools.migra.as_ref().map(|m| {
            let mut c = Command::new(m);
            // The copy is "from", the database under check "to", as a drift check would run.
            // SQLAlchemy 2.1 (under migra) wants `postgresql+DRIVER`; psycopg2 is what is installed.
            c.args(["--unsafe", &sqlalchemy_url(copy_url), &sqlalchemy_url(url)]);
            c
        }),
        Tool::PgDump => {
            let mut c = Command::new(&tools.pg_dump);
            c.args(["--schema-only", "--dbname", url]);
            Some(c)
        }
    }
}

/// The cache directory verify runs with in this benchmark.
fn cache_dir(case: &Case) -> PathBuf {
    case.paths.root.join(".bench").join("cache")
}

/// Removes the cached introspections from the benchmark's cache (the declared schema stays), so
/// that the next verify reads the catalogs as it does when the database changed.
fn forget_introspections(case: &Case) -> BenchResult<()> {
    let Ok(entries) = std::fs::read_dir(cache_dir(case)) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(err)?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("introspection-"))
        {
            std::fs::remove_file(&path).map_err(err)?;
        }
    }
    Ok(())
}

fn sqlalchemy_url(url: &str) -> String {
    match url.strip_prefix("postgres://") {
        Some(rest) => format!("postgresql+psycopg2://{rest}"),
        None => url.to_owned(),
    }
}

/// Whether a run ended as a clean comparison of identical schemas.
fn check_clean(tool: Tool, f: &Finished) -> BenchResult<()> {
    let ok = match tool {
        // 0 clean; migra: 0 no differences (2 differences).
        Tool::Verify | Tool::Migra | Tool::PgDump => f.code == Some(0),
    };
    let empty_migra = tool != Tool::Migra || f.stdout.trim().is_empty();
    if ok && empty_migra {
        Ok(())
    } else {
        Err(format!(
            "{tool:?} did not run clean (exit {:?}):\n{}\n{}",
            f.code,
            f.stdout.lines().take(40).collect::<Vec<_>>().join("\n"),
            f.stderr.lines().take(40).collect::<Vec<_>>().join("\n")
        ))
    }
}

/// A verify run after `column` was added to a table out of band must report exactly that
/// column (exit 1).
fn check_changed(f: &Finished, column: &str) -> BenchResult<()> {
    let reported = f.stdout.contains(column) && f.stdout.contains("unexpected");
    if f.code == Some(1) && reported {
        Ok(())
    } else {
        Err(format!(
            "verify after adding {column} did not report it (exit {:?}):\n{}\n{}",
            f.code,
            f.stdout.lines().take(40).collect::<Vec<_>>().join("\n"),
            f.stderr.lines().take(40).collect::<Vec<_>>().join("\n")
        ))
    }
}

/// The first ordinary table of `public` by name, quoted: where the out-of-band change goes.
async fn table_to_change(db: &pgkit::TempDb) -> BenchResult<String> {
    let client = db.connect().await.map_err(err)?;
    // language=PostgreSQL
    let row = client
        .query_one(
            "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE '\\_sqlx%' \
             ORDER BY c.relname LIMIT 1",
            &[],
        )
        .await
        .map_err(err)?;
    Ok(row.get(0))
}

/// Runs `sql` on `db` (the out-of-band change, and undoing it).
async fn execute(db: &pgkit::TempDb, sql: &str) -> BenchResult<()> {
    let client = db.connect().await.map_err(err)?;
    client.batch_execute(sql).await.map_err(err)
}

async fn measure(
    server: &Arc<pgkit::Server>,
    tools: &Tools,
    case: Case,
    rounds: usize,
) -> BenchResult<Measured> {
    let scratch = case.paths.root.join(".bench");
    std::fs::create_dir_all(&scratch).map_err(err)?;
    let copy = copy_database(server, &case.db).await?;
    let url = case.db.url();
    let copy_url = copy.url();
    let all = [Tool::Verify, Tool::Migra, Tool::PgDump];
    let mut results: HashMap<&'static str, ToolResult> = HashMap::new();
    let key = |t: Tool| match t {
        Tool::Verify => "verify",
        Tool::Migra => "migra",
        Tool::PgDump => "pg_dump",
    };
    // The first, untimed run of each tool goes through the counting proxy: verify and migra
    // must find no difference, and the proxy counts the statements each sends.
    let proxy = Proxy::start(server_addr(&case.db)?).await?;
    let purl = proxied_url(&case.db, proxy.addr);
    let pcopy = proxied_url(&copy, proxy.addr);
    let mut verify_summary = String::new();
    // The counted run reads everything (no cache).
    let _ = std::fs::remove_dir_all(cache_dir(&case));
    for tool in all {
        let entry = results.entry(key(tool)).or_default();
        let Some(cmd) = command(tools, tool, &case, &purl, &pcopy) else {
            entry.skipped = Some("not installed".to_owned());
            continue;
        };
        eprintln!("bench_verify: {}: first run of {tool:?}…", case.label);
        let f = run_blocking(cmd, scratch.clone()).await?;
        let connections = proxy.take().await;
        match check_clean(tool, &f) {
            Ok(()) => {}
            Err(e) if tool == Tool::Migra => {
                eprintln!("bench_verify: {e}");
                entry.skipped = Some(match f.code {
                    Some(c) => format!("failed (exit {c})"),
                    None => "failed (killed)".to_owned(),
                });
                continue;
            }
            Err(e) => return Err(e),
        }
        let count = QueryCount { connections };
        eprintln!(
            "bench_verify: {}: {tool:?} {:.3} s (through the proxy), {:?} KiB; sent {} \
             statements ({})",
            case.label,
            f.wall.as_secs_f64(),
            f.max_rss_kib,
            count.total(),
            count.breakdown()
        );
        if tool == Tool::Verify {
            let last = f.stdout.lines().last().unwrap_or("").trim();
            // `URL: no differences; …`: the URL names a temporary database.
            verify_summary = last
                .strip_prefix(purl.as_str())
                .map_or(last, |r| r.trim_start_matches(':').trim())
                .to_owned();
            for c in &count.connections {
                for s in &c.statements {
                    let first = s.split_whitespace().collect::<Vec<_>>().join(" ");
                    let short: String = first.chars().take(100).collect();
                    eprintln!("    [{}] {short}", c.application);
                }
            }
        }
        entry.queries = Some(count);
    }
    // One more counted run, with the caches the first one filled: the catalogs are unchanged.
    let mut queries_cached = None;
    if let Some(cmd) = command(tools, Tool::Verify, &case, &purl, &pcopy) {
        let f = run_blocking(cmd, scratch.clone()).await?;
        check_clean(Tool::Verify, &f)?;
        let count = QueryCount {
            connections: proxy.take().await,
        };
        eprintln!(
            "bench_verify: {}: Verify, unchanged database: sent {} statements ({})",
            case.label,
            count.total(),
            count.breakdown()
        );
        queries_cached = Some(count);
    }
    // And one after a column was added to one table out of band: the drift is reported.
    let changed_table = table_to_change(&case.db).await?;
    let mut queries_changed = None;
    if let Some(cmd) = command(tools, Tool::Verify, &case, &purl, &pcopy) {
        execute(
            &case.db,
            &format!("ALTER TABLE {changed_table} ADD COLUMN bench_drift_0 text"),
        )
        .await?;
        let f = run_blocking(cmd, scratch.clone()).await?;
        check_changed(&f, "bench_drift_0")?;
        execute(
            &case.db,
            &format!("ALTER TABLE {changed_table} DROP COLUMN bench_drift_0"),
        )
        .await?;
        let count = QueryCount {
            connections: proxy.take().await,
        };
        eprintln!(
            "bench_verify: {}: Verify, one table changed: sent {} statements ({})",
            case.label,
            count.total(),
            count.breakdown()
        );
        queries_changed = Some(count);
    }
    drop(proxy);
    // The timed rounds, the tools interleaved; each round starts with a verify whose cache is
    // emptied first (cold), then one whose cached introspections are removed (the catalogs are
    // read), then the runs with both caches filled by the run before.
    let mut cold = ToolResult::default();
    let mut read = ToolResult::default();
    let mut changed = ToolResult::default();
    for round in 0..rounds {
        for (variant, result) in [("cold cache", &mut cold), ("catalogs read", &mut read)] {
            if variant == "cold cache" {
                let _ = std::fs::remove_dir_all(cache_dir(&case));
            } else {
                forget_introspections(&case)?;
            }
            if let Some(cmd) = command(tools, Tool::Verify, &case, &url, &copy_url) {
                let f = run_blocking(cmd, scratch.clone()).await?;
                check_clean(Tool::Verify, &f)?;
                eprintln!(
                    "bench_verify: {}: round {}/{rounds}: Verify ({variant}) {:.3} s, {:?} KiB",
                    case.label,
                    round + 1,
                    f.wall.as_secs_f64(),
                    f.max_rss_kib,
                );
                result.runs.push(f);
            }
        }
        for tool in all {
            if results.get(key(tool)).is_some_and(|r| r.skipped.is_some()) {
                continue;
            }
            let Some(cmd) = command(tools, tool, &case, &url, &copy_url) else {
                continue;
            };
            let f = run_blocking(cmd, scratch.clone()).await?;
            check_clean(tool, &f)?;
            eprintln!(
                "bench_verify: {}: round {}/{rounds}: {tool:?} {:.3} s, {:?} KiB, CPU {:.3} s",
                case.label,
                round + 1,
                f.wall.as_secs_f64(),
                f.max_rss_kib,
                f.cpu.as_secs_f64()
            );
            if let Some(r) = results.get_mut(key(tool)) {
                r.output_bytes = f.stdout.len();
                r.runs.push(f);
            }
        }
        // The caches are those of the unchanged run; a column is added to one table, verify
        // reports it, and the column is dropped again (the next round starts cold).
        if let Some(cmd) = command(tools, Tool::Verify, &case, &url, &copy_url) {
            let column = format!("bench_drift_{}", round + 1);
            execute(
                &case.db,
                &format!("ALTER TABLE {changed_table} ADD COLUMN {column} text"),
            )
            .await?;
            let f = run_blocking(cmd, scratch.clone()).await?;
            check_changed(&f, &column)?;
            execute(
                &case.db,
                &format!("ALTER TABLE {changed_table} DROP COLUMN {column}"),
            )
            .await?;
            eprintln!(
                "bench_verify: {}: round {}/{rounds}: Verify (one table changed) {:.3} s, {:?} KiB",
                case.label,
                round + 1,
                f.wall.as_secs_f64(),
                f.max_rss_kib,
            );
            changed.runs.push(f);
        }
    }
    drop(copy);
    // The declared side alone, once: `codegen sql` loads schema/ and the lock as verify does
    // (and renders the schema as SQL), without a database.
    let mut sql = Command::new(&tools.codegen);
    sql.arg("--root")
        .arg(&case.paths.root)
        .arg("sql")
        .current_dir(&case.paths.root);
    let load = run_blocking(sql, scratch.clone()).await?;
    if load.code != Some(0) {
        return Err(format!("codegen sql failed: {}", load.stderr));
    }
    eprintln!(
        "bench_verify: {}: codegen sql {:.3} s, {:?} KiB",
        case.label,
        load.wall.as_secs_f64(),
        load.max_rss_kib
    );
    Ok(Measured {
        load,
        case,
        verify: results.remove("verify").unwrap_or_default(),
        verify_read: read,
        verify_cold: cold,
        verify_changed: changed,
        changed_table,
        queries_changed,
        queries_cached,
        migra: results.remove("migra").unwrap_or_default(),
        pg_dump: results.remove("pg_dump").unwrap_or_default(),
        verify_summary,
        rounds,
    })
}

// ---------------------------------------------------------------------------------------------
// The report.

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".to_owned(), |d| format!("{:.3}", d.as_secs_f64()))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "–".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}

fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::File::open("/proc/cpuinfo")
        .ok()
        .and_then(|f| {
            BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1).map(|m| m.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<u64>().ok())
                })
        })
        .map_or(0, |k| k / 1024 / 1024);
    format!("{cpus} CPUs ({model}), {mem_gib} GiB RAM")
}

fn tool_version(program: &Path, arg: &str) -> String {
    Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "version unknown".to_owned())
}

/// migra's version from its venv's `migra-*.dist-info` directory.
fn migra_version(exe: &Path) -> String {
    let lib = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("lib"))
        .unwrap_or_default();
    let mut found = None;
    if let Ok(pythons) = std::fs::read_dir(&lib) {
        for py in pythons.flatten() {
            if let Ok(pkgs) = std::fs::read_dir(py.path().join("site-packages")) {
                for p in pkgs.flatten() {
                    let n = p.file_name().to_string_lossy().into_owned();
                    if let Some(v) = n
                        .strip_prefix("migra-")
                        .and_then(|r| r.strip_suffix(".dist-info"))
                    {
                        found = Some(v.to_owned());
                    }
                }
            }
        }
    }
    found.map_or_else(|| "version unknown".to_owned(), |v| format!("migra {v}"))
}

fn command_line(args: &Args) -> String {
    let mut s = "cargo run --release -p jobpilot-tests --bin bench_verify --".to_owned();
    let default_tables = [1000, 10000];
    if args.tables != default_tables {
        let t: Vec<String> = args.tables.iter().map(ToString::to_string).collect();
        let _ = write!(s, " --tables {}", t.join(","));
    }
    if args.runs != 5 {
        let _ = write!(s, " --runs {}", args.runs);
    }
    if args.big_runs != 3 {
        let _ = write!(s, " --big-runs {}", args.big_runs);
    }
    if args.write.is_some() {
        s.push_str(" --write BENCHMARKS.md");
    }
    s
}

fn codegen_path(args: &Args) -> PathBuf {
    args.codegen.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| jobpilot_tests::repo_root().join("target"))
            .join("release/codegen")
    })
}

async fn run(args: &Args) -> BenchResult<String> {
    let load_start = load1();
    let started = Instant::now();
    let date = jobpilot_tests::conformance::report::today();
    let exe = codegen_path(args);
    if !args.no_build {
        eprintln!("bench_verify: cargo build --release -p codegen…");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "codegen", "--bin", "codegen"])
            .current_dir(jobpilot_tests::repo_root())
            .status()
            .map_err(err)?;
        if !status.success() {
            return Err("cargo build --release -p codegen failed".to_owned());
        }
    }
    if !exe.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p codegen` or pass --codegen",
            exe.display()
        ));
    }
    let tools = Tools {
        codegen: exe.clone(),
        migra: args.migra.exists().then(|| args.migra.clone()),
        pg_dump: jobpilot_tests::pg_dump_binary(),
    };
    let server = pgkit::Server::shared().await.map_err(err)?;
    let server_version = {
        let admin = pgkit_admin(&server).await?;
        admin
            .query_one("SHOW server_version", &[])
            .await
            .map_err(err)?
            .get::<_, String>(0)
    };

    if args.hold {
        let mut cases = Vec::new();
        for &tables in &args.tables {
            let case = synthetic_case(&server, &exe, tables).await?;
            println!("{} {} {}", tables, case.db.url(), case.paths.root.display());
            cases.push(case);
        }
        eprintln!("bench_verify: holding until standard input closes");
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).map_err(err)? > 0 {}
        return Ok(String::new());
    }
    let mut measured = Vec::new();
    let jp = jobpilot_case(&server, &exe).await?;
    measured.push(measure(&server, &tools, jp, args.runs).await?);
    for &tables in &args.tables {
        let mut case = synthetic_case(&server, &exe, tables).await?;
        case.keep = args.keep_projects;
        let rounds = if tables >= BIG {
            args.big_runs
        } else {
            args.runs
        };
        measured.push(measure(&server, &tools, case, rounds).await?);
    }
    let load_end = load1();
    let total = started.elapsed();

    let mut o = String::new();
    let _ = writeln!(o, "{SECTION}\n");
    let _ = writeln!(
        o,
        "Produced by `{}` on {date}, in {:.0} s. Machine: {}; PostgreSQL {server_version} on the \
         same machine (pgkit's shared server); 1-minute load average {load_start} when the run \
         started (`/proc/loadavg`), {load_end} when it ended (the machine is shared with other \
         work, so timings carry its noise). Peers: {} (`{}`), `{}`.\n",
        command_line(args),
        total.as_secs_f64(),
        machine(),
        tools
            .migra
            .as_deref()
            .map_or_else(|| "migra not installed".to_owned(), migra_version),
        args.migra.display(),
        tool_version(&tools.pg_dump, "--version"),
    );
    let _ = writeln!(
        o,
        "Each figure is a whole process, from spawn to exit, run under `/usr/bin/time -f \
         \"%M %U %S\"` for its peak RSS and CPU time (the wrapper forks the tool from its own \
         small image: a child forked straight from the benchmark would count the benchmark's \
         memory in its `ru_maxrss`; it adds about a millisecond to the wall time): `codegen \
         --root DIR verify --database-url URL` (the release binary: loading `schema/` and the \
         lock, connecting, introspecting, the migration history, comparing, printing), `migra \
         --unsafe COPY_URL URL` and `pg_dump --schema-only --dbname URL`. Per schema: one \
         untimed run of each through a counting proxy (verify must exit 0, migra must print \
         nothing: the project declares exactly what the database holds), then the timed \
         rounds, each running verify, migra and pg_dump once, one after the other; medians of \
         the rounds. Output goes to a file. verify keeps two caches (README, \"Speed\"): the \
         declared schema in canonical form, keyed by the bytes of `schema/`, and what it read \
         of a database, keyed by the fingerprint of the database's catalogs (read by one \
         query per session in the snapshot the catalogs would be read in). Four runs of \
         verify per round: \
         \"cold cache\" first, after emptying the cache (parsing and validating `schema/`, \
         applying the lock, reading the catalogs), as on a fresh CI runner; \"catalogs read\" \
         second, after removing the cached introspections only, as when the database changed \
         since the last run (a migration applied, or drift); then \"unchanged database\", \
         both caches filled by the run before, as in a scheduled drift check of a database \
         nobody touched, from a CI that keeps `~/.cache`; last, after migra and pg_dump, \
         \"one table changed\": a column added out of band to one table (`ALTER TABLE … ADD \
         COLUMN bench_drift_N text`; verify must exit 1 reporting it; the column is dropped \
         again after the run), the caches those of the unchanged run: the catalogs are read \
         again and the difference is located in `schema/`, as in the CI run that catches a \
         drift.\n"
    );
    let _ = writeln!(
        o,
        "| schema | verify, unchanged database (s) | verify, one table changed (s) | verify, catalogs read (s) | verify, cold cache (s) | queries (catalogs read / unchanged / one table changed) | verify peak RSS (unchanged / changed / catalogs read / cold) | migra (s) | pg_dump --schema-only (s) |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for m in &measured {
        let skipped = |r: &ToolResult| r.skipped.clone().unwrap_or_else(|| secs(r.median_wall()));
        let count =
            |q: Option<&QueryCount>| q.map_or_else(|| "–".to_owned(), |q| q.total().to_string());
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} / {} / {} | {} / {} / {} / {} | {} | {} |",
            m.case.label,
            secs(m.verify.median_wall()),
            secs(m.verify_changed.median_wall()),
            secs(m.verify_read.median_wall()),
            secs(m.verify_cold.median_wall()),
            count(m.verify.queries.as_ref()),
            count(m.queries_cached.as_ref()),
            count(m.queries_changed.as_ref()),
            mib(m.verify.max_rss()),
            mib(m.verify_changed.max_rss()),
            mib(m.verify_read.max_rss()),
            mib(m.verify_cold.max_rss()),
            skipped(&m.migra),
            skipped(&m.pg_dump),
        );
    }
    let _ = writeln!(o);

    // Goals.
    let _ = writeln!(o, "Goals (issue 5):\n");
    let find = |t: usize| {
        measured
            .iter()
            .find(|m| m.case.synthetic && m.case.tables == t)
    };
    let verdict = |ok: bool| if ok { "**met**" } else { "**not met**" };
    match find(1000) {
        Some(m) => {
            if let Some(v) = m.verify.median_wall() {
                let read = m.verify_read.median_wall().unwrap_or_default();
                let cold = m.verify_cold.median_wall().unwrap_or_default();
                let changed = m.verify_changed.median_wall().unwrap_or_default();
                let _ = writeln!(
                    o,
                    "- ≤ 0.15 s at 1,000 tables: {:.3} s on an unchanged database, {}; {:.3} s \
                     after one table changed, {}; {:.3} s \
                     when the catalogs are read, {}; {:.3} s with an empty cache, {}.",
                    v.as_secs_f64(),
                    verdict(v <= Duration::from_millis(150)),
                    changed.as_secs_f64(),
                    verdict(changed <= Duration::from_millis(150)),
                    read.as_secs_f64(),
                    verdict(read <= Duration::from_millis(150)),
                    cold.as_secs_f64(),
                    verdict(cold <= Duration::from_millis(150)),
                );
                match m.migra.median_wall() {
                    Some(mg) => {
                        let ratio = |d: Duration| mg.as_secs_f64() / d.as_secs_f64().max(1e-9);
                        let _ = writeln!(
                            o,
                            "- Ten times faster than migra at 1,000 tables: migra {:.3} s; \
                             {:.1}× verify on an unchanged database, {}; {:.1}× verify after \
                             one table changed, {}; {:.1}× verify reading the catalogs, {}.",
                            mg.as_secs_f64(),
                            ratio(v),
                            verdict(ratio(v) >= 10.0),
                            ratio(changed),
                            verdict(ratio(changed) >= 10.0),
                            ratio(read),
                            verdict(ratio(read) >= 10.0),
                        );
                    }
                    None => {
                        let _ = writeln!(
                            o,
                            "- Ten times faster than migra: not measured (migra {}).",
                            m.migra.skipped.as_deref().unwrap_or("not run")
                        );
                    }
                }
            }
        }
        None => {
            let _ = writeln!(o, "- ≤ 0.15 s at 1,000 tables: not measured in this run.");
        }
    }
    match find(10_000) {
        Some(m) => {
            if let Some(v) = m.verify.median_wall() {
                let read = m.verify_read.median_wall().unwrap_or_default();
                let cold = m.verify_cold.median_wall().unwrap_or_default();
                let changed = m.verify_changed.median_wall().unwrap_or_default();
                let _ = writeln!(
                    o,
                    "- ≤ 1 s at 10,000 tables: {:.3} s on an unchanged database, {}; {:.3} s \
                     after one table changed, {}; {:.3} s \
                     when the catalogs are read, {}; {:.3} s with an empty cache, {}.",
                    v.as_secs_f64(),
                    verdict(v <= Duration::from_secs(1)),
                    changed.as_secs_f64(),
                    verdict(changed <= Duration::from_secs(1)),
                    read.as_secs_f64(),
                    verdict(read <= Duration::from_secs(1)),
                    cold.as_secs_f64(),
                    verdict(cold <= Duration::from_secs(1)),
                );
            }
        }
        None => {
            let _ = writeln!(
                o,
                "- ≤ 1 s at 10,000 tables: **not measured in this run** (the 10,000-table \
                 database was not built; `--tables 1000,10000` does)."
            );
        }
    }
    let synthetic: Vec<&Measured> = measured.iter().filter(|m| m.case.synthetic).collect();
    if let (Some(small), Some(big)) = (synthetic.first(), synthetic.last())
        && big.case.tables > small.case.tables
        && let (Some(rs), Some(rb)) = (small.verify_peak_rss(), big.verify_peak_rss())
    {
        let rss_ratio = rb as f64 / rs.max(1) as f64;
        let obj_ratio = big.case.objects as f64 / small.case.objects.max(1) as f64;
        let bytes_ratio = big.case.schema_bytes as f64 / small.case.schema_bytes.max(1) as f64;
        let _ = writeln!(
            o,
            "- Memory growing no faster than the schema: from {} to {} tables the largest peak RSS \
             of the four kinds of verify run grows \
             {rss_ratio:.2}× ({} → {}), the declared objects {obj_ratio:.2}× ({} → {}) and the \
             schema files {bytes_ratio:.2}× ({} → {}): {}.",
            thousands(small.case.tables),
            thousands(big.case.tables),
            mib(Some(rs)),
            mib(Some(rb)),
            thousands(small.case.objects),
            thousands(big.case.objects),
            size(small.case.schema_bytes),
            size(big.case.schema_bytes),
            verdict(rss_ratio <= obj_ratio.min(bytes_ratio) * 1.0001)
        );
    }
    let _ = writeln!(o);

    // Details.
    let _ = writeln!(o, "### Details\n");
    let _ = writeln!(
        o,
        "| schema | declared top-level objects | schema/ + lock | timed rounds | verify min / median (s), catalogs read | verify CPU (median), catalogs read | `codegen sql` (s) / peak RSS | migra peak RSS | migra queries | pg_dump peak RSS | pg_dump queries | pg_dump output | database built in | project written in |"
    );
    let _ = writeln!(
        o,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for m in &measured {
        let q = |r: &ToolResult| {
            r.queries
                .as_ref()
                .map_or_else(|| "–".to_owned(), |q| q.total().to_string())
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} / {} | {} | {} / {} | {} | {} | {} | {} | {} | {:.0} s | {} |",
            m.case.label,
            thousands(m.case.objects),
            size(m.case.schema_bytes),
            m.rounds,
            secs(m.verify_read.min_wall()),
            secs(m.verify_read.median_wall()),
            secs(m.verify_read.median_cpu()),
            secs(Some(m.load.wall)),
            mib(m.load.max_rss_kib),
            mib(m.migra.max_rss()),
            q(&m.migra),
            mib(m.pg_dump.max_rss()),
            q(&m.pg_dump),
            size(u64::try_from(m.pg_dump.output_bytes).unwrap_or(0)),
            m.case.db_build.as_secs_f64(),
            m.case.project_build.map_or_else(
                || "– (copied)".to_owned(),
                |d| format!("{:.0} s", d.as_secs_f64())
            ),
        );
    }
    let _ = writeln!(o);
    for m in measured.iter().filter(|m| m.rounds < 3) {
        let _ = writeln!(
            o,
            "{}: {} timed round{} only (`{}`): its figures are {}.\n",
            m.case.label,
            m.rounds,
            if m.rounds == 1 { "" } else { "s" },
            if m.case.synthetic && m.case.tables >= BIG {
                format!("--big-runs {}", m.rounds)
            } else {
                format!("--runs {}", m.rounds)
            },
            if m.rounds == 1 {
                "one run each, not medians".to_owned()
            } else {
                format!("medians of only {} runs", m.rounds)
            }
        );
    }
    let _ = writeln!(
        o,
        "Peak RSS is the largest of the timed runs. \"Queries\" are counted by a TCP proxy \
         between the process and the server that reads the frontend protocol: every Query \
         message (simple protocol; one message may hold several statements, such as the \
         `BEGIN …; SET LOCAL …` that opens the snapshot) and every Execute message (extended \
         protocol) counts once; the proxy answers \"no\" to TLS requests so that it can read \
         them (a client with `sslmode=prefer` may use TLS in the timed runs instead; the \
         statements it sends are the same). What verify sent, per connection:\n"
    );
    for m in &measured {
        for (variant, q) in [
            ("catalogs read", m.verify.queries.as_ref()),
            ("unchanged database", m.queries_cached.as_ref()),
            ("one table changed", m.queries_changed.as_ref()),
        ] {
            if let Some(q) = q {
                let _ = writeln!(
                    o,
                    "- {}, {variant}: {} statements, {} of them session or transaction control; \
                     {}.",
                    m.case.label,
                    q.total(),
                    q.session(),
                    q.breakdown()
                );
            }
        }
    }
    for m in &measured {
        let _ = writeln!(
            o,
            "- {}, one table changed: the column was added to `{}`.",
            m.case.label, m.changed_table
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "The count does not grow with the schema: the introspection's catalog queries are \
         fixed (17, `Introspection::queries`, and the fingerprint of the catalogs before \
         them), and the migration history is read with a fixed number of statements. On an \
         unchanged database the fingerprint replaces the catalog queries.\n"
    );
    let _ = writeln!(
        o,
        "`codegen sql` (one run per schema, after the rounds) loads `schema/` and applies the \
         lock exactly as verify does, then renders and prints the schema as SQL, without a \
         database: it shows how much of verify's time the declared side takes (it also renders \
         the SQL, so it may take longer than verify itself). \"Project written in\" is the \
         benchmark's own writing of a synthetic project, which loads the written `schema/` once \
         too.\n"
    );
    for m in &measured {
        if let Some(v) = m.verify_cold.median_wall() {
            let _ = writeln!(
                o,
                "- {}: `codegen sql` {:.3} s against verify's {:.3} s with an empty cache \
                 ({:.0} %).",
                m.case.label,
                m.load.wall.as_secs_f64(),
                v.as_secs_f64(),
                100.0 * m.load.wall.as_secs_f64() / v.as_secs_f64().max(1e-9)
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "The databases and projects:\n");
    for m in &measured {
        let _ = writeln!(
            o,
            "- {}: {}; `VACUUM ANALYZE`d. Verify reported: \"{}\".",
            m.case.label, m.case.recipe, m.verify_summary
        );
    }
    let _ = writeln!(
        o,
        "\nFor the synthetic schemas the project is written by the bench: `schema/*.toml` from \
         the database's introspection through `codegen::parse::write_schema` (what `codegen \
         import --from-db` writes), `canonical.lock.json` by `CanonicalLock::build` from the same \
         introspection (what `codegen generate` builds from a scratch database loaded with those \
         files, without building that second database), `migrations/0001_baseline.up.sql` by \
         `project::render_baseline`, then `codegen migrate stamp 1`, so verify also checks a \
         recorded history. migra's other side is a copy of the database (`CREATE DATABASE … \
         TEMPLATE … STRATEGY = FILE_COPY`), so it compares two identical schemas as a drift \
         check against a reference database would. All databases are dropped at the end."
    );
    // Each case's database and project directory go with it.
    drop(measured);
    Ok(o)
}
