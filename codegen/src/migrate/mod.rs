//! `codegen migrate up | down | status | stamp`: applying `migrations/` to a database and
//! inspecting what was applied, through sqlx's migrator (DESIGN.md, "The CLI").
//!
//! Nothing here invents its own bookkeeping: the history is sqlx's `_sqlx_migrations` table
//! (version, description, installed_on, success, SHA-384 checksum of the up script,
//! execution_time), the files are sqlx reversible migrations (`NNNN_name.up.sql` and
//! `NNNN_name.down.sql`, `-- no-transaction` as the first line to run one outside a
//! transaction), and concurrent runs are serialised by sqlx's advisory lock (a session lock whose
//! key is derived from the database name). `stamp` writes rows exactly as sqlx's own `apply`
//! does, without running the script, for a database that already has the schema.
//!
//! Every message names a database by its URL with the password replaced ([`redact`]).

pub mod drift;
pub mod new;
pub mod runner;
pub mod state;

pub use runner::{down, stamp, status, up};

use std::path::{Path, PathBuf};
use std::time::Duration;

/// sqlx's history table.
pub const HISTORY_TABLE: &str = "_sqlx_migrations";

/// How long connecting may take before the command gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `application_name` of our sessions (visible in `pg_stat_activity`), unless the URL sets
/// one.
pub const APPLICATION_NAME: &str = "codegen migrate";

/// A migration `up` applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The version (the number before the first `_` of the file name).
    pub version: i64,
    /// The description (the rest of the name, `_` as spaces).
    pub description: String,
    /// How long it took (as sqlx measures it: the transaction, with its commit).
    pub execution_time: Duration,
}

/// A migration `down` reverted (its down script ran, its history row is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    /// The version.
    pub version: i64,
    /// The description.
    pub description: String,
}

/// A migration `stamp` recorded as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// The version.
    pub version: i64,
    /// The description.
    pub description: String,
    /// It was already recorded, with the same checksum: nothing was written for it.
    pub already: bool,
}

/// The state of one migration in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Recorded as applied, with the checksum of the file as it is now.
    Applied,
    /// In the directory, not recorded.
    Pending,
    /// Recorded as applied, but no file in the directory has its version.
    Unknown,
    /// Recorded as applied, but the file changed since (its checksum differs).
    ChecksumMismatch,
    /// Recorded with `success = false`: a run failed partway.
    Failed,
}

impl State {
    /// Whether the state is a problem (`status` exits 1).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            State::Unknown | State::ChecksumMismatch | State::Failed
        )
    }

    /// The name used in the text and JSON outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Unknown => "unknown",
            State::ChecksumMismatch => "checksum_mismatch",
            State::Failed => "failed",
        }
    }
}

/// One line of `status`: a migration of the directory, a row of the history table, or both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The version.
    pub version: i64,
    /// The description: the file's, else the history row's.
    pub description: String,
    /// Applied, pending, or a problem.
    pub state: State,
    /// When it was recorded (RFC 3339, UTC), for recorded ones.
    pub applied_at: Option<String>,
}

impl Entry {
    /// What is wrong and what to do about it, for the problem states.
    pub fn problem(&self) -> Option<String> {
        let v = format_version(self.version);
        let d = &self.description;
        match self.state {
            State::Applied | State::Pending => None,
            State::Unknown => Some(format!(
                "migration {v} ({d}) is recorded as applied in {HISTORY_TABLE} but migrations/ \
                 has no file for it; restore the file (it may come from another branch)"
            )),
            State::ChecksumMismatch => Some(format!(
                "migration {v} ({d}) was edited after it was applied (its checksum differs from \
                 the recorded one); restore the file and put the change in a new migration"
            )),
            State::Failed => Some(format!(
                "migration {v} ({d}) is recorded as failed (success = false); repair the database \
                 by hand, then delete its row from {HISTORY_TABLE}"
            )),
        }
    }
}

/// What `status` found: every migration of the directory and every history row, by version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// By version, ascending.
    pub migrations: Vec<Entry>,
}

impl Status {
    /// The entries in a problem state.
    pub fn problems(&self) -> impl Iterator<Item = &Entry> {
        self.migrations.iter().filter(|e| e.state.is_problem())
    }

    /// Whether any entry is a problem.
    pub fn has_problems(&self) -> bool {
        self.problems().next().is_some()
    }

    /// The entries in `state`.
    pub fn count(&self, state: State) -> usize {
        self.migrations.iter().filter(|e| e.state == state).count()
    }

    /// The JSON output: `{"migrations":[{"version","description","state","applied_at"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "migrations": self.migrations })
    }

    /// The text output: one line per migration.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.migrations {
            let line = format!(
                "{:<6} {:<17} {:<20} {}",
                format_version(e.version),
                e.state.as_str(),
                e.applied_at.as_deref().unwrap_or("-"),
                e.description
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A version as file names write it (at least four digits).
pub fn format_version(version: i64) -> String {
    format!("{version:04}")
}

/// Why a migrate command failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// No database given.
    #[error(
        "no database: pass --database-url, or set DATABASE_URL (in the environment or in {})",
        .0.display()
    )]
    NoDatabaseUrl(PathBuf),
    /// The URL does not parse.
    #[error("{url} is not a PostgreSQL URL: {message}")]
    Url {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The server did not answer in time.
    #[error(
        "cannot connect to {url}: no answer within {} s; is the server running and reachable?",
        CONNECT_TIMEOUT.as_secs()
    )]
    Timeout {
        /// The URL, redacted.
        url: String,
    },
    /// Connecting failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL, redacted.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The migrations directory does not exist.
    #[error("{} does not exist (it holds the NNNN_name.up.sql migrations)", .0.display())]
    NoDirectory(PathBuf),
    /// The migrations directory cannot be read, or a file name does not parse.
    #[error("{}: {message}", path.display())]
    Resolve {
        /// The directory.
        path: PathBuf,
        /// sqlx's message.
        message: String,
    },
    /// Two up migrations share a version.
    #[error("two migrations in {} have version {}; renumber one", path.display(), format_version(*version))]
    DuplicateVersion {
        /// The directory.
        path: PathBuf,
        /// The version.
        version: i64,
    },
    /// A version on the command line names no migration.
    #[error("no migration has version {}; see `codegen migrate status`", format_version(*.0))]
    NoSuchVersion(i64),
    /// A migration to revert has no down script.
    #[error(
        "migration {} ({description}) has no down script ({}_*.down.sql); nothing was reverted",
        format_version(*version), format_version(*version)
    )]
    NoDownMigration {
        /// The version.
        version: i64,
        /// The description.
        description: String,
    },
    /// The history has a version the directory does not.
    #[error(
        "migration {} is recorded as applied in {HISTORY_TABLE} but migrations/ has no file for \
         it; restore the file (see `codegen migrate status`)",
        format_version(*.0)
    )]
    UnknownApplied(i64),
    /// An applied migration's file changed.
    #[error(
        "migration {} was edited after it was applied (its checksum differs from the recorded \
         one); restore the file and put the change in a new migration",
        format_version(*.0)
    )]
    ChecksumMismatch(i64),
    /// The history records a failed run.
    #[error(
        "migration {} is recorded as failed (success = false); repair the database by hand, \
         then delete its row from {HISTORY_TABLE}",
        format_version(*.0)
    )]
    Dirty(i64),
    /// `stamp` found the version recorded with another checksum.
    #[error(
        "migration {} ({description}) is already recorded with a different checksum: the \
         database saw another version of the file; nothing was stamped",
        format_version(*version)
    )]
    StampConflict {
        /// The version.
        version: i64,
        /// The description.
        description: String,
    },
    /// A migration's SQL failed.
    #[error(
        "migration {} ({description}) failed{}: {source}",
        format_version(*version),
        if *no_tx {
            " outside a transaction (-- no-transaction): statements before the failing one may \
             have taken effect, check the database before running it again"
        } else {
            "; its transaction was rolled back, nothing of it was applied"
        }
    )]
    Failed {
        /// The version.
        version: i64,
        /// The description.
        description: String,
        /// It ran outside a transaction.
        no_tx: bool,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
    /// Any other database error.
    #[error("{context}: {source}")]
    Database {
        /// What was being done.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Any other error of sqlx's migrator.
    #[error(transparent)]
    Sqlx(sqlx::migrate::MigrateError),
}

impl MigrateError {
    /// Whether the error is a problem of the migrations or of the database's history (exit 1)
    /// rather than the command being unable to run (exit 2).
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            MigrateError::DuplicateVersion { .. }
                | MigrateError::NoDownMigration { .. }
                | MigrateError::UnknownApplied(_)
                | MigrateError::ChecksumMismatch(_)
                | MigrateError::Dirty(_)
                | MigrateError::StampConflict { .. }
                | MigrateError::Failed { .. }
        )
    }
}

/// The database URL: the flag, else `DATABASE_URL` from the environment (`env`), else a
/// `DATABASE_URL=` line of `<root>/.env`.
pub fn database_url(
    flag: Option<&str>,
    env: Option<&str>,
    root: &Path,
) -> Result<String, MigrateError> {
    let given = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(url) = given(flag).or_else(|| given(env)) {
        return Ok(url);
    }
    let env_file = root.join(".env");
    std::fs::read_to_string(&env_file)
        .ok()
        .and_then(|text| dotenv_value(&text, "DATABASE_URL"))
        .filter(|v| !v.is_empty())
        .ok_or(MigrateError::NoDatabaseUrl(env_file))
}

/// The value of `key` in `.env` text (`KEY=value` lines, optionally `export `-prefixed and
/// quoted, `#` comments); the last assignment wins.
pub fn dotenv_value(text: &str, key: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            found = Some(v.to_owned());
        }
    }
    found
}

/// A URL with its password replaced by `***`: the password of the user-info part
/// (`postgres://user:secret@host/db`) and a `password=` query parameter.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    // The user info ends at the last `@` before the query: a password may hold `/` or `@`.
    let before_query = rest.find(['?', '#']).unwrap_or(rest.len());
    let mut out = String::from(&url[..start]);
    let mut tail = rest;
    if let Some(at) = rest[..before_query].rfind('@') {
        let userinfo = &rest[..at];
        if let Some(colon) = userinfo.find(':') {
            out.push_str(&userinfo[..colon]);
            out.push_str(":***");
            tail = &rest[at..];
        }
    }
    // The query's `password=` parameters.
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..=q]);
            let query = &tail[q + 1..];
            let parts: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            out.push_str(&parts.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

/// Redacts every URL inside a message (words containing `://`).
pub fn redact_text(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn redact_hides_passwords() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db.example.co:5432/postgres",
                "postgres://app:***@db.example.co:5432/postgres",
            ),
            ("postgres://app@host/db", "postgres://app@host/db"),
            ("postgres://host/db", "postgres://host/db"),
            (
                "postgresql://u:p/w@x@h:6543/db?sslmode=require",
                "postgresql://u:***@h:6543/db?sslmode=require",
            ),
            (
                "postgres://u@h/db?sslmode=require&password=pw&x=1",
                "postgres://u@h/db?sslmode=require&password=***&x=1",
            ),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact(url), shown);
        }
        assert!(!redact_text("cannot reach postgresql://u:pw@h/db now").contains("pw"));
    }

    #[test]
    fn urls_come_from_the_flag_the_environment_or_dotenv() {
        let dir = std::env::temp_dir().join(format!(
            "jp_migrate_env_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(
            database_url(None, None, &dir),
            Err(MigrateError::NoDatabaseUrl(_))
        ));
        std::fs::write(
            dir.join(".env"),
            "# db\nOTHER=1\nexport DATABASE_URL=\"postgres://a@h/x\"\n",
        )
        .unwrap();
        assert_eq!(database_url(None, None, &dir).unwrap(), "postgres://a@h/x");
        assert_eq!(
            database_url(None, Some("postgres://b@h/y"), &dir).unwrap(),
            "postgres://b@h/y"
        );
        assert_eq!(
            database_url(Some("postgres://c@h/z"), Some("postgres://b@h/y"), &dir).unwrap(),
            "postgres://c@h/z"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
