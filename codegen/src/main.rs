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
    /// baseline migration) is stale. Needs no database.
    Check,
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
    /// Print the JSON Schema of the schema language (for editors).
    SchemaJson,
    /// Print schema/ as one SQL script (the DDL a fresh database gets).
    Sql,
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
        Command::Check => check(&paths),
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
                    eprintln!("error: {s}; run `codegen generate`");
                }
                ExitCode::from(1)
            }
        }
        Err(e) => report(&e),
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

async fn import(
    from_sql: &[PathBuf],
    from_db: Option<&str>,
    out: &Path,
    force: bool,
    options: &LoadOptions,
) -> ExitCode {
    let found = if let Some(url) = from_db {
        match read_database(url, &options.filter).await {
            Ok(f) => f,
            Err(message) => {
                eprintln!("error: {}", redact_all(&message));
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

/// Introspects a live database, read-only.
async fn read_database(
    url: &str,
    filter: &codegen::introspect::Filter,
) -> Result<codegen::introspect::Introspection, String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("{} is not a PostgreSQL URL: {e}", redact(url)))?;
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        config.connect(tokio_postgres::NoTls),
    )
    .await
    .map_err(|_| format!("{}: no answer within 15 s", redact(url)))?;
    let (client, connection) = connect.map_err(|e| format!("{}: {e}", redact(url)))?;
    let task = tokio::spawn(connection);
    let result = codegen::introspect::introspect(&client, filter)
        .await
        .map_err(|e| e.to_string());
    drop(client);
    let _ = task.await;
    result
}

/// A URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[scheme_end + 3 + at..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// Redacts every URL inside a message.
fn redact_all(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            if w.contains("://") {
                redact(w)
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
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

#[cfg(test)]
mod tests {
    use super::{redact, redact_all};

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example.co:5432/postgres"),
            "postgres://app:***@db.example.co:5432/postgres"
        );
        assert_eq!(redact("postgres://app@host/db"), "postgres://app@host/db");
        assert!(!redact_all("cannot reach postgresql://u:pw@h/db now").contains("pw"));
    }
}
