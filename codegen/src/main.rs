//! The `codegen` command line: the only place that prints, reads `.env`, redacts URLs and picks
//! exit codes (0 success, 1 the check found problems, 2 the command could not run).

use clap::{Parser, Subcommand};
use codegen::diagnostics::{Diagnostics, RenderStyle};
use codegen::project::{self, Paths, ProjectError};
use codegen::source::{LoadOptions, SqlSource};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// JobPilot's schema toolkit: one declarative schema, everything else derived from it.
#[derive(Debug, Parser)]
#[command(name = "codegen", version, about)]
struct Cli {
    /// The project root (holds schema/ and migrations/).
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and validate schema/, and fail when a derived file (the canonical-forms lock, the
    /// baseline migration, generated/src) is stale, or when migrations/ (once it holds more than
    /// the baseline) does not produce schema/. Needs a database only for that last check.
    Check {
        /// Server for the scratch database that replays migrations/.
        #[arg(long, env = "CODEGEN_DEV_URL", value_name = "URL")]
        dev_url: Option<String>,
    },
    /// Rebuild the derived files from schema/ (needs PostgreSQL for a scratch database).
    Generate {
        /// Server for scratch databases (default: 127.0.0.1:5432, else a throwaway cluster).
        #[arg(long, env = "CODEGEN_DEV_URL", value_name = "URL")]
        dev_url: Option<String>,
    },
    /// Write schema files from SQL DDL or from a live database.
    Import {
        /// SQL files, applied in order to a scratch database and read back.
        #[arg(long = "from-sql", value_name = "FILE", num_args = 1.., conflicts_with = "from_db", required_unless_present = "from_db")]
        from_sql: Vec<PathBuf>,
        /// A live database to read (read-only).
        #[arg(long = "from-db", value_name = "URL")]
        from_db: Option<String>,
        /// Where to write the schema files (default: <root>/schema).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite existing schema files.
        #[arg(long)]
        force: bool,
        /// Server for the scratch database of --from-sql.
        #[arg(long, env = "CODEGEN_DEV_URL", value_name = "URL")]
        dev_url: Option<String>,
        /// Do not apply the Supabase bootstrap (roles, auth, storage) before the SQL.
        #[arg(long)]
        no_supabase: bool,
    },
    /// Apply and inspect migrations/ on a database (sqlx's migrator, its `_sqlx_migrations`
    /// history table and advisory lock).
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Compare any two sources (a database URL, a .sql file or a directory of them, a schema
    /// directory, a migrations directory): print the SQL that takes FROM to TO (nothing, exit 0,
    /// when they are the same), or the changes as a report or JSON.
    Diff {
        /// Where the database is now.
        #[arg(value_name = "FROM")]
        from: String,
        /// Where it should be.
        #[arg(value_name = "TO")]
        to: String,
        /// Output: the migration SQL, a report of the changes with their hazards, or JSON.
        #[arg(long, value_enum, default_value_t = DiffFormat::Sql)]
        format: DiffFormat,
        /// Plain forms instead of the online ones.
        #[arg(long)]
        no_online: bool,
        /// Server for scratch databases.
        #[arg(long, env = "CODEGEN_DEV_URL", value_name = "URL")]
        dev_url: Option<String>,
    },
    /// The drift check: compare a live database with schema/ and its migration history with
    /// migrations/, read-only. Exit 0 clean, 1 drift or history problems, 2 could not check.
    Verify {
        /// Output: text for people, JSON, or GitHub Actions annotations.
        #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
        format: VerifyFormat,
        /// Also print the SQL that puts the database back to schema/ (with its hazards; nothing
        /// is run). The report then goes to stderr, the SQL to stdout.
        #[arg(long)]
        fix: bool,
        /// Seconds to wait for the database to answer.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        connect_timeout: u64,
        /// Read schema/ and the database's catalogs afresh: take nothing from the local cache
        /// (~/.cache/jobpilot-codegen) and store nothing in it.
        #[arg(long)]
        no_cache: bool,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// The DDL audit trail `codegen verify` shows next to each difference: event triggers that
    /// record every DDL statement (role, time, statement) in `codegen_audit.ddl_log`.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write the documentation: docs/schema.md (every table, key, index, policy in plain words,
    /// trigger, enum and bucket, with a Mermaid ER diagram) and docs/schema.svg (the same
    /// diagram as an image). Needs no database unless --database-url is given.
    Docs {
        /// Document a live database (read-only) instead of schema/; then --out is required,
        /// since docs/ holds the documentation of schema/ that `codegen check` compares.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Where to write the two files (default: <root>/docs).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of the schema language (for editors).
    SchemaJson,
    /// Print schema/ as one SQL script (the DDL a fresh database gets).
    Sql,
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// The autogenerate step: diff schema/ against the state migrations/ produce, prove the
    /// plan (up and down) on a scratch database, write the next migration files and print the
    /// lint findings. Writes nothing when there is nothing to do.
    New {
        /// What the migration does (`add_avatar_url`).
        #[arg(value_name = "NAME")]
        name: String,
        /// Allow a kind of data loss: drop-table, drop-column, change-type, remove-enum-label,
        /// drop-other (repeat the flag for several).
        #[arg(long, value_name = "KIND")]
        allow: Vec<String>,
        /// Plain forms instead of the online ones (CREATE INDEX without CONCURRENTLY,
        /// constraints validated at once): one transaction, stronger locks.
        #[arg(long)]
        no_online: bool,
        /// Server for scratch databases (default: 127.0.0.1:5432, else a throwaway cluster).
        #[arg(long, env = "CODEGEN_DEV_URL", value_name = "URL")]
        dev_url: Option<String>,
    },
    /// Apply the pending migrations in order, each in a transaction unless its first line is
    /// `-- no-transaction`.
    Up {
        /// Stop after this version (default: apply all).
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        /// Skip the check that the database is in the state its applied migrations produce
        /// (it needs a scratch database to replay them).
        #[arg(long)]
        no_drift_check: bool,
        /// Server for the scratch database of the drift check.
        #[arg(long, env = "CODEGEN_DEV_URL", value_name = "URL")]
        dev_url: Option<String>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Revert applied migrations with their down scripts (default: the last applied one).
    Down {
        /// Revert every applied migration above this version (0: all of them).
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List every migration as applied or pending, and the problems: applied but unknown,
    /// edited after being applied, failed (exit 1 when there are any).
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
        format: StatusFormat,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Record every migration up to VERSION as applied without running it (for a database
    /// that already has that schema, such as the existing Supabase one).
    Stamp {
        /// The last version to record.
        #[arg(value_name = "VERSION")]
        version: i64,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Add (or refresh) the audit trail: schema codegen_audit, its log table and two event
    /// triggers (needs a role that may create event triggers).
    Install {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Remove the audit trail and its log.
    Uninstall {
        #[command(flatten)]
        db: DatabaseArg,
    },
}

/// The database of a `migrate` command.
#[derive(Debug, clap::Args)]
struct DatabaseArg {
    /// The database (default: DATABASE_URL, from the environment or <root>/.env).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    Sql,
    Report,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VerifyFormat {
    Text,
    Json,
    Github,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StatusFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    load_dotenv(Path::new(".env"));
    let cli = Cli::parse();
    let paths = Paths::at(&cli.root);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Check { dev_url } => {
            let code = check(&paths);
            if code != ExitCode::SUCCESS {
                return code;
            }
            runtime.block_on(check_migrations(&paths, dev_url))
        }
        Command::Generate { dev_url } => runtime.block_on(generate(&paths, dev_url)),
        Command::Import {
            from_sql,
            from_db,
            out,
            force,
            dev_url,
            no_supabase,
        } => {
            let out = out.unwrap_or_else(|| paths.schema.clone());
            let options = LoadOptions {
                dev_url,
                bootstrap: !no_supabase,
                ..LoadOptions::default()
            };
            runtime.block_on(import(&from_sql, from_db.as_deref(), &out, force, &options))
        }
        Command::SchemaJson => {
            let schema = codegen::parse::json_schema();
            match serde_json::to_string_pretty(&schema) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Sql => sql(&paths),
        Command::Docs { database_url, out } => {
            runtime.block_on(docs(&paths, database_url.as_deref(), out.as_deref()))
        }
        Command::Audit { command } => runtime.block_on(audit(&paths, command)),
        Command::Verify {
            format,
            fix,
            connect_timeout,
            no_cache,
            db,
        } => runtime.block_on(verify(&paths, format, fix, connect_timeout, no_cache, &db)),
        Command::Migrate { command } => runtime.block_on(migrate(&paths, command)),
        Command::Diff {
            from,
            to,
            format,
            no_online,
            dev_url,
        } => runtime.block_on(diff(&from, &to, format, no_online, dev_url)),
    }
}

/// Colour on a terminal unless `NO_COLOR` is set.
fn style() -> RenderStyle {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        RenderStyle::Color
    } else {
        RenderStyle::Plain
    }
}

fn print_diagnostics(d: &Diagnostics) {
    if !d.items.is_empty() {
        eprint!("{}", d.render(style(), 100));
    }
}

/// Prints a project error; schema errors with their positions. Returns the exit code.
fn report(e: &ProjectError) -> ExitCode {
    match e {
        ProjectError::Schema(d) => {
            print_diagnostics(d);
            ExitCode::from(1)
        }
        ProjectError::Canonical(codegen::canonical::CanonicalError::Stale(_))
        | ProjectError::Rust(_) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        other => {
            eprintln!("error: {}", redact_all(&other.to_string()));
            ExitCode::from(2)
        }
    }
}

fn check(paths: &Paths) -> ExitCode {
    match project::check(paths) {
        Ok(r) => {
            print_diagnostics(&r.warnings);
            for p in &r.extra {
                eprintln!(
                    "warning: {} is not produced by `codegen generate` (which would delete it); \
                     move hand-written code out of generated/src",
                    p.display()
                );
            }
            if r.stale.is_empty() {
                println!(
                    "ok: {} objects in {}, derived files up to date",
                    r.objects,
                    paths.schema.display()
                );
                ExitCode::SUCCESS
            } else {
                for s in &r.stale {
                    eprintln!("error: {s}; run {}", project::fix_command(&s.path));
                }
                ExitCode::from(1)
            }
        }
        Err(e) => report(&e),
    }
}

/// `check`'s last part: once migrations/ holds more than the derived baseline, it must produce
/// exactly schema/ (else a migration is missing).
async fn check_migrations(paths: &Paths, dev_url: Option<String>) -> ExitCode {
    match project::baseline_is_derived(paths) {
        Ok(true) => return ExitCode::SUCCESS,
        Ok(false) => {}
        Err(e) => return report(&e),
    }
    let server = match scratch_server(dev_url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: checking migrations/ against schema/ needs PostgreSQL for a scratch database: {}",
                redact_all(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    match codegen::migrate::drift::missing_migration(paths, &server).await {
        Ok(plan) if plan.is_empty() => {
            println!("ok: migrations/ produce schema/");
            ExitCode::SUCCESS
        }
        Ok(plan) => {
            eprintln!(
                "error: schema/ has changes that no migration makes:\n{}help: run `codegen migrate new NAME`",
                plan.report()
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

async fn scratch_server(dev_url: Option<String>) -> Result<Arc<pgkit::Server>, pgkit::Error> {
    let options = pgkit::DiscoverOptions {
        url: dev_url,
        force_throwaway: false,
    };
    Ok(Arc::new(pgkit::Server::discover(&options).await?))
}

async fn generate(paths: &Paths, dev_url: Option<String>) -> ExitCode {
    let server = match scratch_server(dev_url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: `codegen generate` needs PostgreSQL for a scratch database: {}\n\
                 help: start the local server, pass --dev-url, or install the PostgreSQL binaries \
                 (a throwaway cluster is started from them)",
                redact_all(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    match project::generate(paths, &server).await {
        Ok(g) => {
            print_diagnostics(&g.warnings);
            if g.written.is_empty() && g.removed.is_empty() {
                println!("up to date: nothing to write");
            }
            for p in &g.written {
                println!("wrote {}", p.display());
            }
            for p in &g.removed {
                println!("removed {} (no longer produced)", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => report(&e),
    }
}

fn sql(paths: &Paths) -> ExitCode {
    let result = project::load_schema(paths).and_then(|loaded| {
        let lock = project::read_lock(paths)?;
        project::canonical_schema(&loaded, &lock)
    });
    match result {
        Ok(schema) => {
            print!(
                "{}",
                codegen::render::render_schema(&schema.database_view())
            );
            ExitCode::SUCCESS
        }
        Err(e) => report(&e),
    }
}

/// `codegen docs [--database-url URL] [--out DIR]`.
async fn docs(paths: &Paths, database_url: Option<&str>, out: Option<&Path>) -> ExitCode {
    let written = match database_url {
        None => match project::write_docs(paths, out) {
            Ok((written, warnings)) => {
                print_diagnostics(&warnings);
                written
            }
            Err(e) => return report(&e),
        },
        Some(url) => {
            let Some(out) = out else {
                eprintln!(
                    "error: --database-url needs --out DIR: {} holds the documentation of schema/, \
                     which `codegen check` compares with schema/",
                    paths.docs().display()
                );
                return ExitCode::from(2);
            };
            let filter = codegen::introspect::Filter::default();
            let found = match codegen::diff::sources::read_database(url, &filter).await {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}", redact_all(&e.to_string()));
                    return ExitCode::from(2);
                }
            };
            for u in &found.unsupported {
                eprintln!("warning: not documented (the model cannot represent it): {u}");
            }
            let rendered =
                match codegen::docs::render(&found.schema, codegen::docs::DocsSource::Database) {
                    Ok(d) => d,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                };
            match project::write_docs_to(&rendered, out) {
                Ok(w) => w,
                Err(e) => return report(&e),
            }
        }
    };
    if written.is_empty() {
        println!("up to date: nothing to write");
    }
    for p in &written {
        println!("wrote {}", p.display());
    }
    ExitCode::SUCCESS
}

async fn import(
    from_sql: &[PathBuf],
    from_db: Option<&str>,
    out: &Path,
    force: bool,
    options: &LoadOptions,
) -> ExitCode {
    let found = if let Some(url) = from_db {
        match codegen::diff::sources::read_database(url, &options.filter).await {
            Ok(f) => f,
            Err(message) => {
                eprintln!("error: {}", redact_all(&message.to_string()));
                return ExitCode::from(2);
            }
        }
    } else {
        let mut sources = Vec::new();
        for f in from_sql {
            match SqlSource::read(f) {
                Ok(s) => sources.push(s),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        match codegen::source::load_sql_files(&sources, options).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {}", redact_all(&e.to_string()));
                return ExitCode::from(if matches!(e, codegen::source::SourceError::Scratch(_)) {
                    2
                } else {
                    1
                });
            }
        }
    };
    if !found.unsupported.is_empty() {
        eprintln!("error: the source has objects the schema model cannot represent:");
        for u in &found.unsupported {
            eprintln!("  {u}");
        }
        return ExitCode::from(1);
    }
    let files =
        codegen::parse::write_schema(&found.schema, &codegen::parse::WriteOptions::default());
    // The schema is every *.toml of the directory: importing beside existing files would
    // declare everything twice, so they are replaced as a whole or not at all.
    let existing: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    if !existing.is_empty() {
        if !force {
            eprintln!(
                "error: {} already holds schema files ({}); pass --force to replace them, or --out \
                 to write elsewhere",
                out.display(),
                existing.len()
            );
            return ExitCode::from(2);
        }
        for path in &existing {
            if let Err(e) = std::fs::remove_file(path) {
                eprintln!("error: cannot remove {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    for (name, text) in &files {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", path.display());
    }
    println!(
        "imported {} objects; run `codegen generate` next",
        found.schema.object_count()
    );
    ExitCode::SUCCESS
}

/// `codegen migrate up | down | status | stamp`.
async fn migrate(paths: &Paths, command: MigrateCommand) -> ExitCode {
    use codegen::migrate::{self as m, format_version};
    let db = match &command {
        MigrateCommand::Up { db, .. }
        | MigrateCommand::Down { db, .. }
        | MigrateCommand::Status { db, .. }
        | MigrateCommand::Stamp { db, .. } => db,
        MigrateCommand::New {
            name,
            allow,
            no_online,
            dev_url,
        } => return migrate_new(paths, name, allow, *no_online, dev_url.clone()).await,
    };
    let env = std::env::var("DATABASE_URL").ok();
    let url = match m::database_url(db.database_url.as_deref(), env.as_deref(), &paths.root) {
        Ok(url) => url,
        Err(e) => return migrate_error(&e),
    };
    let dir = &paths.migrations;
    let shown = m::redact(&url);
    match command {
        MigrateCommand::Up {
            to,
            no_drift_check,
            dev_url,
            ..
        } => {
            if !no_drift_check && let Some(code) = refuse_on_drift(&url, paths, dev_url).await {
                return code;
            }
            migrate_up(&url, dir, to, &shown).await
        }
        MigrateCommand::Down { to, .. } => match m::down(&url, dir, to).await {
            Ok(reverted) if reverted.is_empty() => {
                println!("nothing to revert on {shown}");
                ExitCode::SUCCESS
            }
            Ok(reverted) => {
                for r in &reverted {
                    println!("reverted {} {}", format_version(r.version), r.description);
                }
                println!("{} migration(s) reverted on {shown}", reverted.len());
                ExitCode::SUCCESS
            }
            Err(e) => migrate_error(&e),
        },
        MigrateCommand::Status { format, .. } => match m::status(&url, dir).await {
            Ok(status) => {
                match format {
                    StatusFormat::Json => match serde_json::to_string_pretty(&status.to_json()) {
                        Ok(text) => println!("{text}"),
                        Err(e) => {
                            eprintln!("error: {e}");
                            return ExitCode::from(2);
                        }
                    },
                    StatusFormat::Text => {
                        print!("{}", status.to_text());
                        println!(
                            "{shown}: {} applied, {} pending, {} problem(s)",
                            status.count(m::State::Applied),
                            status.count(m::State::Pending),
                            status.problems().count()
                        );
                        for p in status.problems().filter_map(m::Entry::problem) {
                            eprintln!("error: {p}");
                        }
                    }
                }
                if status.has_problems() {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => migrate_error(&e),
        },
        MigrateCommand::Stamp { version, .. } => match m::stamp(&url, dir, version).await {
            Ok(stamped) => {
                for s in &stamped {
                    let v = format_version(s.version);
                    if s.already {
                        println!("already recorded {v} {}: nothing to do", s.description);
                    } else {
                        println!(
                            "stamped {v} {} (recorded as applied, not run)",
                            s.description
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => migrate_error(&e),
        },
        MigrateCommand::New { .. } => ExitCode::from(2),
    }
}

/// Prints a migrate error; exit 1 for a problem of the migrations or the history, else 2.
fn migrate_error(e: &codegen::migrate::MigrateError) -> ExitCode {
    eprintln!("error: {}", codegen::migrate::redact_text(&e.to_string()));
    ExitCode::from(if e.is_problem() { 1 } else { 2 })
}

/// Applies the pending migrations and says what it did.
async fn migrate_up(url: &str, dir: &Path, to: Option<i64>, shown: &str) -> ExitCode {
    use codegen::migrate::{self as m, format_version};
    match m::up(url, dir, to).await {
        Ok(applied) if applied.is_empty() => {
            println!("up to date: no pending migration for {shown}");
            ExitCode::SUCCESS
        }
        Ok(applied) => {
            for a in &applied {
                println!(
                    "applied {} {} ({} ms)",
                    format_version(a.version),
                    a.description,
                    a.execution_time.as_millis()
                );
            }
            println!("{} migration(s) applied to {shown}", applied.len());
            ExitCode::SUCCESS
        }
        Err(e) => migrate_error(&e),
    }
}

/// `migrate up`'s first check: the database is in the state its applied migrations produce.
/// Returns the exit code when it is not (or when the check cannot be made).
async fn refuse_on_drift(url: &str, paths: &Paths, dev_url: Option<String>) -> Option<ExitCode> {
    let server = match scratch_server(dev_url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: the drift check before `migrate up` needs PostgreSQL for a scratch database: {}\n\
                 help: pass --dev-url, or --no-drift-check to skip it",
                redact_all(&e.to_string())
            );
            return Some(ExitCode::from(2));
        }
    };
    match codegen::migrate::drift::database_drift(url, paths, &server).await {
        Ok(plan) if plan.is_empty() => None,
        Ok(plan) => {
            eprintln!(
                "error: {} is not in the state its applied migrations produce; refusing to migrate it.\n\
                 What differs (the SQL that would put it back):\n{}\n\
                 help: find who changed it (`codegen verify`), or record the change in a migration; \
                 --no-drift-check skips this check",
                codegen::migrate::redact(url),
                plan.report()
            );
            Some(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("error: drift check: {}", redact_all(&e.to_string()));
            Some(ExitCode::from(2))
        }
    }
}

/// `codegen migrate new NAME`.
async fn migrate_new(
    paths: &Paths,
    name: &str,
    allow: &[String],
    no_online: bool,
    dev_url: Option<String>,
) -> ExitCode {
    use codegen::migrate::new::{NewError, NewOptions, new_migration};
    let mut allowed = Vec::new();
    for a in allow.iter().flat_map(|a| a.split(',')) {
        match codegen::diff::Loss::parse(a.trim()) {
            Some(l) => allowed.push(l),
            None => {
                let kinds: Vec<&str> = codegen::diff::Loss::ALL.iter().map(|l| l.flag()).collect();
                eprintln!(
                    "error: --allow {a}: not a kind of data loss (one of: {})",
                    kinds.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    let server = match scratch_server(dev_url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: `codegen migrate new` needs PostgreSQL for scratch databases: {}",
                redact_all(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    let options = NewOptions {
        allow: allowed,
        plain: no_online,
    };
    match new_migration(paths, name, &server, &options).await {
        Ok(out) => {
            for hint in &out.rename_hints {
                eprintln!("hint: {hint}");
            }
            if out.plan.is_empty() {
                println!("nothing to do: migrations/ already produce schema/ (no file written)");
                return ExitCode::SUCCESS;
            }
            print!("{}", out.plan.report());
            for p in &out.written {
                println!("wrote {}", p.display());
            }
            println!(
                "state of migrations/ {} in {} ms, diff {} ms, proofs (up and down) {} ms",
                if out.replayed {
                    "replayed"
                } else {
                    "from cache"
                },
                out.state_time.as_millis(),
                out.diff_time.as_millis(),
                out.proof_time.as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(NewError::Project(e)) => report(&e),
        Err(e @ NewError::Destructive(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e @ (NewError::Proof(_) | NewError::DownProof { .. })) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// `codegen diff FROM TO`.
async fn diff(
    from: &str,
    to: &str,
    format: DiffFormat,
    no_online: bool,
    dev_url: Option<String>,
) -> ExitCode {
    use codegen::diff::sources::DiffSource;
    let (from, to) = match (DiffSource::parse(from), DiffSource::parse(to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let server = match scratch_server(dev_url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: `codegen diff` needs PostgreSQL for scratch databases: {}",
                redact_all(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    let filter = codegen::introspect::Filter::default();
    let (a, b) = match tokio::join!(from.load(&server, &filter), to.load(&server, &filter)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let options = codegen::diff::DiffOptions {
        online: !no_online,
        ..codegen::diff::DiffOptions::default()
    };
    let plan = codegen::diff::diff(&a, &b, &options);
    match format {
        DiffFormat::Sql => print!("{}", plan.to_sql()),
        DiffFormat::Report => print!("{}", plan.report()),
        DiffFormat::Json => match serde_json::to_string_pretty(&plan) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    }
    if format != DiffFormat::Json {
        eprintln!("{}", plan.summary());
    }
    // Like diff(1): 0 the same, 1 different (2 could not compare).
    if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `codegen verify`.
async fn verify(
    paths: &Paths,
    format: VerifyFormat,
    fix: bool,
    connect_timeout: u64,
    no_cache: bool,
    db: &DatabaseArg,
) -> ExitCode {
    use codegen::verify::{self as v, VerifyError};
    let env = std::env::var("DATABASE_URL").ok();
    let url = match codegen::migrate::database_url(
        db.database_url.as_deref(),
        env.as_deref(),
        &paths.root,
    ) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            return ExitCode::from(v::EXIT_ERROR);
        }
    };
    let options = v::VerifyOptions {
        connect_timeout: std::time::Duration::from_secs(connect_timeout.max(1)),
        fix,
        cache: (!no_cache).then(codegen::cache::dir),
        ..v::VerifyOptions::default()
    };
    let report = match v::verify(&url, paths, &options).await {
        Ok(r) => r,
        Err(VerifyError::Project(ProjectError::Schema(d))) => {
            print_diagnostics(&d);
            eprintln!("error: schema/ does not load; nothing was checked");
            return ExitCode::from(v::EXIT_ERROR);
        }
        Err(e) => {
            eprintln!("error: {}\nnothing was checked", redact_all(&e.to_string()));
            return ExitCode::from(v::EXIT_ERROR);
        }
    };
    let text = match format {
        VerifyFormat::Text => {
            let to_terminal = if fix {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            v::render::text(
                &report,
                to_terminal && std::env::var_os("NO_COLOR").is_none(),
            )
        }
        VerifyFormat::Github => v::render::github(&report),
        VerifyFormat::Json => match serde_json::to_string_pretty(&v::render::json(&report)) {
            Ok(t) => format!("{t}\n"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(v::EXIT_ERROR);
            }
        },
    };
    match (&report.fix, format) {
        (Some(plan), VerifyFormat::Text | VerifyFormat::Github) => {
            eprint!("{text}");
            if plan.is_empty() {
                eprintln!("--fix: nothing to do");
            } else {
                println!(
                    "-- SQL that puts {} back to schema/ (review it; verify ran nothing)\n",
                    report.database
                );
                print!("{}", plan.to_sql());
                eprintln!("--fix: {}", plan.summary());
            }
        }
        _ => print!("{text}"),
    }
    ExitCode::from(report.exit_code())
}

/// `codegen audit install | uninstall`.
async fn audit(paths: &Paths, command: AuditCommand) -> ExitCode {
    use codegen::verify::audit;
    let (db, install) = match &command {
        AuditCommand::Install { db } => (db, true),
        AuditCommand::Uninstall { db } => (db, false),
    };
    let env = std::env::var("DATABASE_URL").ok();
    let url = match codegen::migrate::database_url(
        db.database_url.as_deref(),
        env.as_deref(),
        &paths.root,
    ) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("error: {}", redact_all(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let timeout = codegen::verify::DEFAULT_CONNECT_TIMEOUT;
    let result = if install {
        audit::install(&url, timeout).await
    } else {
        audit::uninstall(&url, timeout).await
    };
    let shown = codegen::migrate::redact(&url);
    match result {
        Ok(()) if install => {
            println!(
                "audit trail installed on {shown}: every DDL statement is recorded in {}.ddl_log",
                audit::AUDIT_SCHEMA
            );
            ExitCode::SUCCESS
        }
        Ok(()) => {
            println!("audit trail removed from {shown}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", redact_all(&e));
            ExitCode::from(2)
        }
    }
}

/// Redacts every URL inside a message.
fn redact_all(text: &str) -> String {
    codegen::migrate::redact_text(text)
}

/// Sets variables from `.env` that are not already set (`KEY=value` lines, `#` comments).
fn load_dotenv(path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let k = k.trim();
            let v = v.trim().trim_matches('"').trim_matches('\'');
            if std::env::var_os(k).is_none() {
                // SAFETY: called at the start of main, before any other thread exists.
                unsafe { std::env::set_var(k, v) };
            }
        }
    }
}
