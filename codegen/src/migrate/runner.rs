//! The four commands over one direct connection (`PgConnection`, no pool).
//!
//! sqlx does the work: [`Migrator::new`] reads the directory (versions, descriptions, SHA-384
//! checksums, `-- no-transaction`), and the [`Migrate`] methods of the connection take the
//! advisory lock, create the history table, and apply or revert one migration (its script and
//! its history row in one transaction). The loops over them are `Migrator::run`'s and
//! `Migrator::undo`'s, written out here to add a target to `up`, to report what ran, and because
//! the futures of those two methods are not `Send` on a `&mut PgConnection` (their `Acquire`
//! bound defeats rustc's proof), which would make `up` and `down` unusable in `tokio::spawn`.
//!
//! `up`, `down` and `stamp` hold sqlx's lock from before they read the history until they are
//! done, so a second run waits, then finds nothing to do. When a step fails the connection is
//! closed, and PostgreSQL releases the session's lock with it. `status` only reads, and takes no
//! lock.

use super::{
    APPLICATION_NAME, Applied, CONNECT_TIMEOUT, Entry, MigrateError, Reverted, Stamped, State,
    Status, redact, redact_text,
};
use sqlx::migrate::{Migrate, Migration, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// One row of `_sqlx_migrations`.
#[derive(Debug, Clone)]
struct Row {
    version: i64,
    description: String,
    installed_on: String,
    success: bool,
    checksum: Vec<u8>,
}

/// Applies the pending migrations of `dir` in order, up to and including `target` (all of them
/// when `None`). Returns those it applied, empty when the database was up to date.
pub async fn up(url: &str, dir: &Path, target: Option<i64>) -> Result<Vec<Applied>, MigrateError> {
    let migrations = resolve(dir).await?;
    if let Some(t) = target {
        find_up(&migrations, t)?;
    }
    let mut conn = connect(url).await?;
    let result = up_locked(&mut conn, migrations, target).await;
    finish(conn, result).await
}

async fn up_locked(
    conn: &mut PgConnection,
    migrations: Vec<Migration>,
    target: Option<i64>,
) -> Result<Vec<Applied>, MigrateError> {
    // What `Migrator::run` does (sqlx-core migrator.rs), with a target and a report.
    lock(conn).await?;
    conn.ensure_migrations_table().await.map_err(from_sqlx)?;
    let before = history(conn).await?;
    check_history(&migrations, &before)?;
    let recorded: BTreeSet<i64> = before.iter().map(|r| r.version).collect();
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| {
        m.migration_type.is_up_migration()
            && !recorded.contains(&m.version)
            && target.is_none_or(|t| m.version <= t)
    }) {
        // sqlx's `apply`: the script and its history row in one transaction (unless
        // `-- no-transaction`), then the execution time.
        let took = conn.apply(m).await.map_err(|e| from_run(e, m))?;
        applied.push(Applied {
            version: m.version,
            description: m.description.to_string(),
            execution_time: took,
        });
    }
    unlock(conn).await?;
    Ok(applied)
}

/// Reverts applied migrations with their down scripts, newest first: those above `target`, or
/// the last applied one when `None`. Returns those it reverted, empty when nothing was applied.
pub async fn down(
    url: &str,
    dir: &Path,
    target: Option<i64>,
) -> Result<Vec<Reverted>, MigrateError> {
    let migrations = resolve(dir).await?;
    if let Some(t) = target.filter(|t| *t != 0) {
        find_up(&migrations, t)?;
    }
    let mut conn = connect(url).await?;
    let result = down_locked(&mut conn, migrations, target).await;
    finish(conn, result).await
}

async fn down_locked(
    conn: &mut PgConnection,
    migrations: Vec<Migration>,
    target: Option<i64>,
) -> Result<Vec<Reverted>, MigrateError> {
    lock(conn).await?;
    conn.ensure_migrations_table().await.map_err(from_sqlx)?;
    let before = history(conn).await?;
    check_history(&migrations, &before)?;
    let applied: Vec<i64> = before.iter().map(|r| r.version).collect();
    let target = match target {
        Some(t) => t,
        // The one before the last applied, or 0 (before everything).
        None => applied.iter().rev().nth(1).copied().unwrap_or(0),
    };
    let mut to_revert = Vec::new();
    for version in applied.iter().rev().filter(|v| **v > target) {
        let description = description_of(&migrations, *version);
        if !migrations
            .iter()
            .any(|m| m.version == *version && m.migration_type.is_down_migration())
        {
            return Err(MigrateError::NoDownMigration {
                version: *version,
                description,
            });
        }
        to_revert.push(Reverted {
            version: *version,
            description,
        });
    }
    // What `Migrator::undo` does (sqlx-core migrator.rs): newest first, sqlx's `revert` (the
    // down script and the deletion of the history row in one transaction).
    for r in &to_revert {
        let m = migrations
            .iter()
            .find(|m| m.version == r.version && m.migration_type.is_down_migration());
        if let Some(m) = m {
            conn.revert(m).await.map_err(|e| from_run(e, m))?;
        }
    }
    unlock(conn).await?;
    Ok(to_revert)
}

/// Every migration of `dir` and every row of the history table, with its state. Read-only: a
/// database without the history table has everything pending.
pub async fn status(url: &str, dir: &Path) -> Result<Status, MigrateError> {
    let migrations = resolve(dir).await?;
    let mut conn = connect(url).await?;
    let result = read_status(&mut conn, &migrations).await;
    finish(conn, result).await
}

async fn read_status(
    conn: &mut PgConnection,
    migrations: &[Migration],
) -> Result<Status, MigrateError> {
    // language=PostgreSQL
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|source| MigrateError::Database {
            context: "looking for the history table",
            source,
        })?;
    let rows = if exists {
        history(conn).await?
    } else {
        Vec::new()
    };
    let mut by_version: BTreeMap<i64, (Option<&Migration>, Option<Row>)> = BTreeMap::new();
    for m in migrations
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        by_version.entry(m.version).or_default().0 = Some(m);
    }
    for r in rows {
        let version = r.version;
        by_version.entry(version).or_default().1 = Some(r);
    }
    let entries = by_version
        .into_iter()
        .map(|(version, (file, row))| {
            let state = match (&file, &row) {
                (_, Some(r)) if !r.success => State::Failed,
                (None, Some(_)) => State::Unknown,
                (Some(m), Some(r)) if *m.checksum != *r.checksum => State::ChecksumMismatch,
                (Some(_), Some(_)) => State::Applied,
                _ => State::Pending,
            };
            let description = match (&file, &row) {
                (Some(m), _) => m.description.to_string(),
                (None, Some(r)) => r.description.clone(),
                (None, None) => String::new(),
            };
            Entry {
                version,
                description,
                state,
                applied_at: row.map(|r| r.installed_on),
            }
        })
        .collect();
    Ok(Status {
        migrations: entries,
    })
}

/// Records every up migration of `dir` up to and including `version` as applied, without
/// running it: the rows sqlx's `apply` would write (success, the file's checksum), with an
/// execution time of 0. Creates the history table as sqlx does when it is absent. Versions
/// already recorded with the same checksum are left alone (`already`); one recorded with another
/// checksum, or as failed, stops everything before anything is written.
pub async fn stamp(url: &str, dir: &Path, version: i64) -> Result<Vec<Stamped>, MigrateError> {
    let migrations = resolve(dir).await?;
    find_up(&migrations, version)?;
    let mut conn = connect(url).await?;
    let result = stamp_locked(&mut conn, &migrations, version).await;
    finish(conn, result).await
}

async fn stamp_locked(
    conn: &mut PgConnection,
    migrations: &[Migration],
    version: i64,
) -> Result<Vec<Stamped>, MigrateError> {
    lock(conn).await?;
    conn.ensure_migrations_table().await.map_err(from_sqlx)?;
    let rows: BTreeMap<i64, Row> = history(conn)
        .await?
        .into_iter()
        .map(|r| (r.version, r))
        .collect();
    let mut stamped = Vec::new();
    let mut to_write = Vec::new();
    for m in migrations
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && m.version <= version)
    {
        let description = m.description.to_string();
        match rows.get(&m.version) {
            Some(r) if !r.success => return Err(MigrateError::Dirty(m.version)),
            Some(r) if *r.checksum != *m.checksum => {
                return Err(MigrateError::StampConflict {
                    version: m.version,
                    description,
                });
            }
            Some(_) => stamped.push(Stamped {
                version: m.version,
                description,
                already: true,
            }),
            None => {
                to_write.push(m);
                stamped.push(Stamped {
                    version: m.version,
                    description,
                    already: false,
                });
            }
        }
    }
    if !to_write.is_empty() {
        let write = |source| MigrateError::Database {
            context: "recording the stamped migrations",
            source,
        };
        let mut tx = conn.begin().await.map_err(write)?;
        for m in to_write {
            // The columns and values of sqlx's own `apply` (sqlx-postgres migrate.rs).
            // language=PostgreSQL
            sqlx::query(
                "INSERT INTO _sqlx_migrations \
                 (version, description, success, checksum, execution_time) \
                 VALUES ($1, $2, TRUE, $3, 0)",
            )
            .bind(m.version)
            .bind(&*m.description)
            .bind(&*m.checksum)
            .execute(&mut *tx)
            .await
            .map_err(write)?;
        }
        tx.commit().await.map_err(write)?;
    }
    unlock(conn).await?;
    Ok(stamped)
}

/// The migrations of `dir` as sqlx reads them (ups and downs, by version).
async fn resolve(dir: &Path) -> Result<Vec<Migration>, MigrateError> {
    if !dir.is_dir() {
        return Err(MigrateError::NoDirectory(dir.to_path_buf()));
    }
    let migrator = Migrator::new(dir)
        .await
        .map_err(|e| MigrateError::Resolve {
            path: dir.to_path_buf(),
            message: match e {
                sqlx::migrate::MigrateError::Source(source) => source.to_string(),
                other => other.to_string(),
            },
        })?;
    let migrations: Vec<Migration> = migrator.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    for m in &migrations {
        if !seen.insert((m.version, m.migration_type.is_down_migration())) {
            return Err(MigrateError::DuplicateVersion {
                path: dir.to_path_buf(),
                version: m.version,
            });
        }
    }
    Ok(migrations)
}

/// The up migration with `version`.
fn find_up(migrations: &[Migration], version: i64) -> Result<&Migration, MigrateError> {
    migrations
        .iter()
        .find(|m| m.version == version && m.migration_type.is_up_migration())
        .ok_or(MigrateError::NoSuchVersion(version))
}

fn description_of(migrations: &[Migration], version: i64) -> String {
    migrations
        .iter()
        .find(|m| m.version == version)
        .map(|m| m.description.to_string())
        .unwrap_or_default()
}

/// The first problem of the history against the directory: a failed run, a version without a
/// file, an edited file.
fn check_history(migrations: &[Migration], rows: &[Row]) -> Result<(), MigrateError> {
    for r in rows {
        if !r.success {
            return Err(MigrateError::Dirty(r.version));
        }
        let file = migrations
            .iter()
            .find(|m| m.version == r.version && m.migration_type.is_up_migration());
        match file {
            None => return Err(MigrateError::UnknownApplied(r.version)),
            Some(m) if *m.checksum != *r.checksum => {
                return Err(MigrateError::ChecksumMismatch(r.version));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Connects with a timeout; the session is named [`APPLICATION_NAME`] unless the URL names it.
async fn connect(url: &str) -> Result<PgConnection, MigrateError> {
    let shown = redact(url);
    let mut options = PgConnectOptions::from_str(url).map_err(|e| MigrateError::Url {
        url: shown.clone(),
        message: redact_text(&e.to_string()),
    })?;
    if !url.contains("application_name=") {
        options = options.application_name(APPLICATION_NAME);
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Err(_) => Err(MigrateError::Timeout { url: shown }),
        Ok(Err(source)) => Err(MigrateError::Connect { url: shown, source }),
        Ok(Ok(conn)) => Ok(conn),
    }
}

/// Closes the connection (which also releases the advisory lock when a step failed while
/// holding it) and passes the result on.
async fn finish<T>(conn: PgConnection, result: Result<T, MigrateError>) -> Result<T, MigrateError> {
    // A connection the server has terminated cannot be closed politely; nothing to do then.
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.close()).await;
    result
}

async fn lock(conn: &mut PgConnection) -> Result<(), MigrateError> {
    conn.lock().await.map_err(from_sqlx)
}

async fn unlock(conn: &mut PgConnection) -> Result<(), MigrateError> {
    conn.unlock().await.map_err(from_sqlx)
}

/// The history table, by version.
async fn history(conn: &mut PgConnection) -> Result<Vec<Row>, MigrateError> {
    // language=PostgreSQL
    let rows: Vec<(i64, String, String, bool, Vec<u8>)> = sqlx::query_as(
        "SELECT version, description, \
         to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
         success, checksum \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|source| MigrateError::Database {
        context: "reading the history table _sqlx_migrations",
        source,
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(version, description, installed_on, success, checksum)| Row {
                version,
                description,
                installed_on,
                success,
                checksum,
            },
        )
        .collect())
}

/// An error of sqlx's migrator outside a migration's own SQL.
fn from_sqlx(e: sqlx::migrate::MigrateError) -> MigrateError {
    use sqlx::migrate::MigrateError as E;
    match e {
        E::VersionMissing(v) => MigrateError::UnknownApplied(v),
        E::VersionMismatch(v) => MigrateError::ChecksumMismatch(v),
        E::Dirty(v) => MigrateError::Dirty(v),
        E::Execute(source) => MigrateError::Database {
            context: "running the migrations",
            source,
        },
        other => MigrateError::Sqlx(other),
    }
}

/// An error of sqlx's `apply` or `revert` of `m`: its SQL failing names it.
fn from_run(e: sqlx::migrate::MigrateError, m: &Migration) -> MigrateError {
    match e {
        sqlx::migrate::MigrateError::ExecuteMigration(source, version) => MigrateError::Failed {
            version,
            description: m.description.to_string(),
            no_tx: m.no_tx,
            source,
        },
        other => from_sqlx(other),
    }
}
