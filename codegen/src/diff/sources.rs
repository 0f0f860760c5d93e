//! The sources `codegen diff FROM TO` compares: a database URL, a `.sql` file or a directory of
//! them, a schema directory, a migrations directory. Each becomes a [`Schema`] by the one path
//! DESIGN.md draws: SQL through a scratch database and introspection, schema files through the
//! parser and the canonical-forms lock, a live database through introspection in a read-only
//! transaction.

use crate::introspect::{Filter, Introspection, Sessions};
use crate::model::Schema;
use crate::project::{Paths, ProjectError};
use crate::source::{LoadOptions, SourceError, SqlSource, load_sql_files_on};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long connecting to a database may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffSource {
    /// A live database (`postgres://…`), read in a read-only transaction.
    Database(String),
    /// SQL files applied in order to a scratch database.
    SqlFiles(Vec<PathBuf>),
    /// A schema directory (`*.toml`).
    SchemaDir(PathBuf),
    /// A migrations directory (`NNNN_name.up.sql`…), replayed.
    Migrations(PathBuf),
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceLoadError {
    /// Not a URL, file or directory we know.
    #[error(
        "{0}: not a database URL, a .sql file, or a directory of schema files, SQL files or migrations"
    )]
    Unknown(String),
    /// A directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached or read (the message names it with its password
    /// hidden).
    #[error("{0}")]
    Database(String),
    /// SQL that does not apply, or a scratch database problem.
    #[error(transparent)]
    Sql(#[from] SourceError),
    /// Schema files with errors, or a lock problem.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// Replaying migrations failed.
    #[error(transparent)]
    Migrations(#[from] crate::migrate::state::StateError),
    /// The source holds objects the model cannot represent.
    #[error("{}: objects the model cannot represent:\n  {}", .source_name, .objects.join("\n  "))]
    Unsupported {
        /// The source.
        source_name: String,
        /// The objects.
        objects: Vec<String>,
    },
}

fn is_migration_name(name: &str) -> bool {
    name.split_once('_').is_some_and(|(v, rest)| {
        !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) && rest.ends_with(".sql")
    })
}

impl DiffSource {
    /// Recognises an argument: a URL, a file, or a directory by what it holds (schema files
    /// first, then migrations, then plain SQL files).
    pub fn parse(arg: &str) -> Result<DiffSource, SourceLoadError> {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            return Ok(DiffSource::Database(arg.to_owned()));
        }
        let path = PathBuf::from(arg);
        if path.is_file() {
            return Ok(DiffSource::SqlFiles(vec![path]));
        }
        if !path.is_dir() {
            return Err(SourceLoadError::Unknown(arg.to_owned()));
        }
        let entries = std::fs::read_dir(&path).map_err(|source| SourceLoadError::Io {
            path: path.clone(),
            source,
        })?;
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        let name_of = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        if names.iter().any(|p| name_of(p).ends_with(".toml")) {
            return Ok(DiffSource::SchemaDir(path));
        }
        let sql: Vec<PathBuf> = names
            .into_iter()
            .filter(|p| name_of(p).ends_with(".sql"))
            .collect();
        if sql.is_empty() {
            return Err(SourceLoadError::Unknown(arg.to_owned()));
        }
        if sql.iter().all(|p| is_migration_name(&name_of(p))) {
            return Ok(DiffSource::Migrations(path));
        }
        Ok(DiffSource::SqlFiles(sql))
    }

    /// The source as a schema. `server` is for scratch databases (never the database being
    /// read).
    pub async fn load(
        &self,
        server: &Arc<pgkit::Server>,
        filter: &Filter,
    ) -> Result<Schema, SourceLoadError> {
        match self {
            DiffSource::Database(url) => {
                let found = read_database(url, filter).await?;
                unsupported(&redact(url), &found)?;
                Ok(found.schema)
            }
            DiffSource::SqlFiles(files) => {
                let sources = files
                    .iter()
                    .map(|f| SqlSource::read(f))
                    .collect::<Result<Vec<_>, _>>()?;
                let options = LoadOptions {
                    filter: filter.clone(),
                    ..LoadOptions::default()
                };
                Ok(load_sql_files_on(server, &sources, &options).await?.schema)
            }
            DiffSource::SchemaDir(dir) => {
                let root = dir.parent().map(Path::to_path_buf).unwrap_or_default();
                let mut paths = Paths::at(root);
                paths.schema = dir.clone();
                Ok(crate::migrate::new::declared_schema(&paths, server).await?)
            }
            DiffSource::Migrations(dir) => {
                Ok(crate::migrate::state::state(server, dir).await?.schema)
            }
        }
    }
}

fn unsupported(name: &str, found: &Introspection) -> Result<(), SourceLoadError> {
    if found.unsupported.is_empty() {
        Ok(())
    } else {
        Err(SourceLoadError::Unsupported {
            source_name: name.to_owned(),
            objects: found.unsupported.iter().map(ToString::to_string).collect(),
        })
    }
}

/// Reads a live database: connects (with a timeout), introspects in a read-only transaction.
/// Errors name the database with its password hidden.
pub async fn read_database(url: &str, filter: &Filter) -> Result<Introspection, SourceLoadError> {
    let shown = redact(url);
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| SourceLoadError::Database(format!("{shown} is not a PostgreSQL URL: {e}")))?;
    let sessions = Sessions::connect(&config, CONNECT_TIMEOUT)
        .await
        .map_err(|e| SourceLoadError::Database(format!("{shown}: {e}")))?;
    let result = sessions
        .introspect(filter)
        .await
        .map_err(|e| SourceLoadError::Database(format!("{shown}: {e}")));
    sessions.close().await;
    result
}

/// A URL with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    crate::migrate::redact(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_kind_of_source() {
        let dir = std::env::temp_dir().join(format!("jp_diff_sources_{}", std::process::id()));
        let schema = dir.join("schema");
        let migrations = dir.join("migrations");
        let sql = dir.join("sql");
        for d in [&schema, &migrations, &sql] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(schema.join("a.toml"), "").unwrap();
        std::fs::write(migrations.join("0001_a.up.sql"), "").unwrap();
        std::fs::write(migrations.join("0001_a.down.sql"), "").unwrap();
        std::fs::write(sql.join("b.sql"), "").unwrap();
        std::fs::write(sql.join("a.sql"), "").unwrap();
        let p = |d: &Path| DiffSource::parse(d.to_str().unwrap()).unwrap();
        assert_eq!(p(&schema), DiffSource::SchemaDir(schema.clone()));
        assert_eq!(p(&migrations), DiffSource::Migrations(migrations.clone()));
        assert_eq!(
            p(&sql),
            DiffSource::SqlFiles(vec![sql.join("a.sql"), sql.join("b.sql")])
        );
        assert_eq!(
            p(&sql.join("a.sql")),
            DiffSource::SqlFiles(vec![sql.join("a.sql")])
        );
        assert_eq!(
            DiffSource::parse("postgres://u:p@h/db").unwrap(),
            DiffSource::Database("postgres://u:p@h/db".into())
        );
        assert!(DiffSource::parse(dir.join("nope").to_str().unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
