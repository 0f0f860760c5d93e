//! Helpers shared by the end-to-end tests: where the repository's files are, how to load SQL into
//! a fresh database, and how to compare two databases with `pg_dump`.

pub mod benchmarks;
pub mod conformance;
pub mod synthetic;

use codegen::introspect::{Filter, introspect};
use codegen::model::Schema;
use codegen::source::{SqlSource, apply_script};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// `../shared` beside the project.
pub fn shared_dir() -> PathBuf {
    repo_root().join("..").join("shared")
}

/// JobPilot's original schema, as applied by hand to Supabase.
pub fn fixture_sql() -> PathBuf {
    shared_dir().join("fixtures/supabase/00001_initial_schema.sql")
}

/// Errors of the test helpers (tests unwrap them).
#[derive(Debug)]
pub struct HelperError(pub String);

impl<E: std::fmt::Display> From<E> for HelperError {
    fn from(e: E) -> Self {
        HelperError(e.to_string())
    }
}

/// A fresh database with the Supabase bootstrap and then each file applied, statement by
/// statement, plus its introspected schema (with the default Supabase filter).
pub async fn database_from_files(
    prefix: &str,
    files: &[PathBuf],
) -> Result<(pgkit::TempDb, Schema), HelperError> {
    let server = pgkit::Server::shared().await?;
    let db = server.create_database(prefix).await?;
    db.apply_bootstrap().await?;
    let client = db.connect().await?;
    for f in files {
        apply_script(&client, &SqlSource::read(f)?).await?;
    }
    let found = introspect(&client, &Filter::default()).await?;
    if !found.unsupported.is_empty() {
        return Err(HelperError(format!(
            "unsupported objects: {:?}",
            found.unsupported
        )));
    }
    Ok((db, found.schema))
}

/// Finds a `pg_dump` that matches the server: `pg_config --bindir`, then the newest
/// `/usr/lib/postgresql/*/bin`, then `PATH`.
pub fn pg_dump_binary() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let p = Path::new(&dir).join("pg_dump");
            if p.exists() {
                return p;
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(latest) = versions.last() {
        let p = latest.join("bin/pg_dump");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("pg_dump")
}

/// `pg_dump --schema-only` of a database, normalised for comparison "up to column order":
/// comments, blank lines and `SET`/`SELECT pg_catalog.set_config` lines dropped, and the lines
/// inside each parenthesised `CREATE TABLE` body sorted (with trailing commas removed).
pub fn normalized_dump(db: &pgkit::TempDb) -> Result<String, HelperError> {
    let out = Command::new(pg_dump_binary())
        .args(["--schema-only", "--no-owner", "--no-privileges", "--dbname"])
        .arg(db.url())
        .output()?;
    if !out.status.success() {
        return Err(HelperError(format!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(normalize_dump(&String::from_utf8_lossy(&out.stdout)))
}

/// The normalisation of [`normalized_dump`].
pub fn normalize_dump(dump: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut table_body: Option<Vec<String>> = None;
    for line in dump.lines() {
        let l = line.trim_end();
        // `\restrict KEY` / `\unrestrict KEY` (pg_dump 15.14+) carry a random key per dump.
        if l.is_empty()
            || l.starts_with("--")
            || l.starts_with("SET ")
            || l.starts_with("SELECT pg_catalog.set_config")
            || l.starts_with("\\restrict ")
            || l.starts_with("\\unrestrict ")
        {
            continue;
        }
        if let Some(body) = &mut table_body {
            if l.starts_with(')') {
                body.sort();
                out.append(body);
                out.push(l.to_owned());
                table_body = None;
            } else {
                body.push(l.trim_end_matches(',').to_owned());
            }
            continue;
        }
        out.push(l.to_owned());
        if l.starts_with("CREATE TABLE") && l.ends_with('(') {
            table_body = Some(Vec::new());
        }
    }
    out.join("\n")
}
