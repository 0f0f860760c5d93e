//! The state the migrations produce: `migrations/*.up.sql` replayed, in version order, on a
//! scratch database (with the Supabase bootstrap) and read back through the one introspection
//! path. The SQL is never parsed by us.
//!
//! Replaying is the slow part of `migrate new` and `check` on a big schema, so the result is
//! kept in a cache keyed by everything it depends on: the text of every migration and of the
//! bootstrap, the server's version and the toolkit's version. A changed, added or removed file
//! changes the key, so a stale snapshot is never used; a snapshot whose content does not match
//! its own recorded key is ignored.

use crate::introspect::Filter;
use crate::model::Schema;
use crate::source::{LoadOptions, SourceError, SqlSource, load_sql_files_on};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bumped when the cached format or the model changes meaning.
const CACHE_FORMAT: &str = "migrations-state-v2";

/// One migration of `migrations/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFiles {
    /// The version (the number before the first `_`).
    pub version: i64,
    /// The description (between the version and the suffix).
    pub description: String,
    /// The up script (`NNNN_name.up.sql`, or `NNNN_name.sql` for a simple migration).
    pub up: PathBuf,
    /// The down script, when there is one.
    pub down: Option<PathBuf>,
}

/// Why the state could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The directory or a file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Two files claim the same version.
    #[error("two migrations have version {version}: {} and {}", first.display(), second.display())]
    DuplicateVersion {
        /// The version.
        version: i64,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Replaying failed (a migration does not apply, or creates what the model cannot hold).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// No scratch database.
    #[error(transparent)]
    Server(#[from] pgkit::Error),
    /// A query on the scratch server failed.
    #[error("PostgreSQL: {context}: {source}")]
    Postgres {
        /// What was being done.
        context: &'static str,
        /// The error.
        #[source]
        source: tokio_postgres::Error,
    },
}

/// The migrations in `dir`, in version order (none when the directory does not exist).
pub fn list(dir: &Path) -> Result<Vec<MigrationFiles>, StateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut found: std::collections::BTreeMap<i64, MigrationFiles> = Default::default();
    let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((version, rest)) = file.split_once('_') else {
            continue;
        };
        let Ok(version) = version.parse::<i64>() else {
            continue;
        };
        let (description, is_down) = if let Some(d) = rest.strip_suffix(".up.sql") {
            (d, false)
        } else if let Some(d) = rest.strip_suffix(".down.sql") {
            (d, true)
        } else if let Some(d) = rest.strip_suffix(".sql") {
            (d, false)
        } else {
            continue;
        };
        let entry = found.entry(version).or_insert_with(|| MigrationFiles {
            version,
            description: description.replace('_', " "),
            up: PathBuf::new(),
            down: None,
        });
        if is_down {
            entry.down = Some(path.clone());
        } else if entry.up.as_os_str().is_empty() {
            entry.up = path.clone();
        } else {
            return Err(StateError::DuplicateVersion {
                version,
                first: entry.up.clone(),
                second: path.clone(),
            });
        }
    }
    Ok(found
        .into_values()
        .filter(|m| !m.up.as_os_str().is_empty())
        .collect())
}

/// The migrations' state and how it was had.
#[derive(Debug, Clone)]
pub struct State {
    /// The schema the migrations produce.
    pub schema: Schema,
    /// True when the migrations were replayed (the cache was cold).
    pub replayed: bool,
    /// Time spent (replaying, or reading the cache).
    pub elapsed: Duration,
    /// How many migrations.
    pub migrations: usize,
}

async fn server_version(server: &pgkit::Server) -> Result<String, StateError> {
    let (client, connection) = server
        .admin_config()
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|source| StateError::Postgres {
            context: "connecting to read the server version",
            source,
        })?;
    let task = tokio::spawn(connection);
    // language=PostgreSQL
    let row = client
        .query_one("SELECT current_setting('server_version_num')", &[])
        .await
        .map_err(|source| StateError::Postgres {
            context: "reading the server version",
            source,
        })?;
    drop(client);
    let _ = task.await;
    Ok(row.get(0))
}

/// The cache key of replaying `files` on a server of `version`.
fn cache_key(files: &[SqlSource], version: &str) -> crate::cache::Key {
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let mut parts: Vec<&[u8]> = vec![
        version.as_bytes(),
        pgkit::supabase_bootstrap_sql().as_bytes(),
    ];
    for (name, f) in names.iter().zip(files) {
        parts.push(name.as_bytes());
        parts.push(f.text.as_bytes());
    }
    crate::cache::key(CACHE_FORMAT, parts)
}

/// Reads the up scripts of `dir`, in version order.
pub fn up_sources(dir: &Path) -> Result<Vec<SqlSource>, StateError> {
    list(dir)?
        .iter()
        .map(|m| SqlSource::read(&m.up).map_err(StateError::from))
        .collect()
}

/// The state `dir`'s migrations produce, from the cache when it holds this exact set of
/// migrations, else replayed (and then cached).
pub async fn state(server: &Arc<pgkit::Server>, dir: &Path) -> Result<State, StateError> {
    state_of(server, &up_sources(dir)?).await
}

/// The state `files` (up scripts, in order) produce, from the cache or replayed.
pub async fn state_of(
    server: &Arc<pgkit::Server>,
    files: &[SqlSource],
) -> Result<State, StateError> {
    let started = Instant::now();
    let key = cache_key(files, &server_version(server).await?);
    if let Some(schema) = crate::cache::read::<Schema>(&key) {
        return Ok(State {
            schema,
            replayed: false,
            elapsed: started.elapsed(),
            migrations: files.len(),
        });
    }
    let schema = replay(server, files).await?;
    crate::cache::write(&key, &schema);
    Ok(State {
        schema,
        replayed: true,
        elapsed: started.elapsed(),
        migrations: files.len(),
    })
}

/// Replays `files` on a fresh scratch database with the Supabase bootstrap and reads it back.
pub async fn replay(
    server: &Arc<pgkit::Server>,
    files: &[SqlSource],
) -> Result<Schema, StateError> {
    let options = LoadOptions {
        dev_url: None,
        bootstrap: true,
        filter: Filter::default(),
    };
    Ok(load_sql_files_on(server, files, &options).await?.schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_versions_in_order_with_their_down_files() {
        let dir = std::env::temp_dir().join(format!("jp_state_list_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "0010_b.up.sql",
            "0002_a_thing.up.sql",
            "0002_a_thing.down.sql",
            "0001_baseline.up.sql",
            "README.md",
            "x_0003.sql",
        ] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let got = list(&dir).unwrap();
        let versions: Vec<i64> = got.iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 2, 10]);
        assert_eq!(got[1].description, "a thing");
        assert!(got[1].down.is_some());
        assert!(got[0].down.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_changes_with_any_file() {
        let a = SqlSource {
            path: PathBuf::from("0001_a.up.sql"),
            text: "CREATE TABLE t ();".into(),
        };
        let mut b = a.clone();
        b.text.push(' ');
        assert_ne!(
            cache_key(std::slice::from_ref(&a), "150000"),
            cache_key(&[b], "150000")
        );
        assert_ne!(
            cache_key(std::slice::from_ref(&a), "150000"),
            cache_key(std::slice::from_ref(&a), "160000")
        );
        assert_ne!(
            cache_key(std::slice::from_ref(&a), "150000"),
            cache_key(&[], "150000")
        );
    }
}
