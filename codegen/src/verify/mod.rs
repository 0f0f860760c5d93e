//! `codegen verify`: the live database against the declared schema and the migration history.
//!
//! The declared side is `schema/` in canonical form (the canonical-forms lock applied, no
//! database needed); the live side is one introspection snapshot of the target, read on a
//! connection that is read-only for the whole session (`default_transaction_read_only`), so
//! verify writes nothing. Both are reduced to their `database_view()`, objects of the ignore list
//! (`schema/verify.ignore`, see [`ignore`]) are taken out of both, and the grants Supabase's own
//! default privileges make are taken out of the live side. Then [`compare`] walks every object
//! kind and attribute of the IR, and the result is a [`Report`]: the differences grouped by
//! object, the objects the model cannot represent, the migration history, and on request the
//! SQL that puts the database back (through the one differ, [`crate::diff::diff`]).
//!
//! Expressions are compared in PostgreSQL's own rendering on both sides (the lock holds it for
//! the declared side), so `'draft'` and `'draft'::public.status` are the same default.
//!
//! When the database has the DDL audit trail ([`audit`], `codegen audit install`), each
//! difference carries the latest recorded statements on its object. Outputs are in [`render`].

pub mod audit;
mod compare;
pub mod ignore;
mod normalize;
pub mod render;

pub use compare::{NONE, compare};
pub use ignore::{IGNORE_FILE, IgnoreList};

use crate::diff::{DiffOptions, Plan, diff};
use crate::introspect::{ConnectError, Filter, Introspection, Sessions};
use crate::migrate::{State, Status};
use crate::model::Unsupported;
use crate::parse::Loaded;
use crate::project::{self, Paths, ProjectError};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long connecting to the target may take, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An object of a report: its kind and qualified name (`column public.users.avatar_url`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// `table`, `column`, `index`, `policy`, `function`, `bucket`…
    pub kind: &'static str,
    /// Qualified name; children of a table are `schema.table.child`.
    pub name: String,
}

impl ObjectRef {
    /// `kind name`.
    pub fn key(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// What differs about an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Declared, not in the database.
    Missing,
    /// In the database, not declared.
    Unexpected,
    /// In both, with a different value of one attribute (values as text; an absent value is
    /// [`NONE`]).
    Changed {
        /// The attribute (`type`, `nullable`, `default`, `grants to anon`…).
        attribute: String,
        /// The declared value.
        expected: String,
        /// The database's value.
        actual: String,
    },
}

/// Where a declared object is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The schema file, relative to the project root (`schema/10_users.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// One difference between the declared schema and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The object.
    pub object: ObjectRef,
    /// What differs.
    pub change: Change,
    /// For a missing or unexpected object, a one-line description of it.
    pub detail: Option<String>,
    /// Keys of [`crate::parse::Origins`] to find the declaration by, most precise first.
    pub origins: Vec<String>,
    /// Where it is declared (or the object it belongs to), when found.
    pub location: Option<Location>,
    /// The audit trail's latest statements on the object, oldest first (empty without
    /// `codegen audit install`).
    pub audit: Vec<audit::AuditEntry>,
}

/// The migration history part of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Every migration and history row.
    pub status: Status,
    /// Whether the database records any migration at all. A database the migrations never
    /// touched (no `_sqlx_migrations` rows) has everything pending; that is a note, not drift
    /// (`codegen migrate stamp` starts the history).
    pub tracked: bool,
}

impl History {
    /// Pending migrations, counted as drift once the history is tracked.
    pub fn pending(&self) -> usize {
        self.status.count(State::Pending)
    }

    /// Whether the history fails the check: a problem state, or pending migrations on a tracked
    /// database.
    pub fn fails(&self) -> bool {
        self.status.has_problems() || (self.tracked && self.pending() > 0)
    }
}

/// What `codegen verify` found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The database, password hidden.
    pub database: String,
    /// The differences, grouped by object (consecutive), in a stable order.
    pub differences: Vec<Difference>,
    /// Objects of the database the model cannot represent (not ignored).
    pub unsupported: Vec<Unsupported>,
    /// Objects left out by the ignore list (`kind name`), from either side.
    pub ignored: Vec<String>,
    /// Grants made by Supabase's default privileges, left out.
    pub platform_grants: usize,
    /// Whether the database has the audit trail (`codegen audit install`).
    pub audited: bool,
    /// The migration history; `None` when the project has no `migrations/` directory.
    pub history: Option<History>,
    /// With `--fix`: the plan that puts the database back to the declared schema.
    pub fix: Option<Plan>,
    /// Whether the database's side came from the cache of introspections: its catalogs were in
    /// the state an earlier run read ([`crate::introspect::Sessions::introspect_cached`]).
    pub live_cached: bool,
}

/// Exit code: nothing differs.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: drift, or problems in the migration history.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code: the check could not be made (or not completely).
pub const EXIT_ERROR: u8 = 2;

impl Report {
    /// The objects with differences, with their differences, in order.
    pub fn by_object(&self) -> Vec<(&ObjectRef, Vec<&Difference>)> {
        let mut groups: Vec<(&ObjectRef, Vec<&Difference>)> = Vec::new();
        for d in &self.differences {
            match groups.last_mut() {
                Some((o, list)) if *o == &d.object => list.push(d),
                _ => groups.push((&d.object, vec![d])),
            }
        }
        groups
    }

    /// 0 clean, 1 drift or history problems, 2 when something could not be checked (objects
    /// the model cannot represent).
    pub fn exit_code(&self) -> u8 {
        if !self.unsupported.is_empty() {
            EXIT_ERROR
        } else if !self.differences.is_empty() || self.history.as_ref().is_some_and(History::fails)
        {
            EXIT_DRIFT
        } else {
            EXIT_CLEAN
        }
    }

    /// The last line: `3 differences in 2 objects; migrations: 1 pending`.
    pub fn summary(&self) -> String {
        let n = self.differences.len();
        let objects = self.by_object().len();
        let mut s = if n == 0 {
            "no differences".to_owned()
        } else {
            format!(
                "{n} difference{} in {objects} object{}",
                plural(n),
                plural(objects)
            )
        };
        if !self.unsupported.is_empty() {
            let u = self.unsupported.len();
            s.push_str(&format!("; {u} object{} cannot be represented", plural(u)));
        }
        match &self.history {
            None => s.push_str("; migrations: no migrations/ directory"),
            Some(h) if !h.tracked => {
                s.push_str("; migrations: no history in the database");
            }
            Some(h) => {
                let mut parts = Vec::new();
                let pending = h.pending();
                if pending > 0 {
                    parts.push(format!("{pending} pending"));
                }
                for (state, word) in [
                    (State::Unknown, "unknown"),
                    (State::ChecksumMismatch, "checksum mismatch"),
                    (State::Failed, "failed"),
                ] {
                    let c = h.status.count(state);
                    if c > 0 {
                        parts.push(format!("{c} {word}"));
                    }
                }
                if parts.is_empty() {
                    parts.push(format!(
                        "up to date ({} applied)",
                        h.status.count(State::Applied)
                    ));
                }
                s.push_str(&format!("; migrations: {}", parts.join(", ")));
            }
        }
        if !self.ignored.is_empty() {
            s.push_str(&format!("; {} ignored", self.ignored.len()));
        }
        s
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// Plan the SQL that puts the database back (`--fix`).
    pub fix: bool,
    /// Which schemas are governed (default: a Supabase project).
    pub filter: Filter,
    /// Where the caches of the declared schema and of introspections are kept ([`crate::cache`];
    /// default [`crate::cache::dir`]); `None` reads everything afresh and stores nothing.
    pub cache: Option<std::path::PathBuf>,
}

impl Default for VerifyOptions {
    /// A Supabase project, without the audit trail's own schema.
    fn default() -> Self {
        VerifyOptions {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            fix: false,
            filter: Filter {
                exclude_schemas: vec![audit::AUDIT_SCHEMA.to_owned()],
                ..Filter::default()
            },
            cache: Some(crate::cache::dir()),
        }
    }
}

/// Why verify could not check (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The declared schema does not load, or its lock is missing or stale.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The ignore file.
    #[error("ignore list: {0}")]
    Ignore(#[from] ignore::IgnoreError),
    /// The database could not be reached or read (the message hides the password).
    #[error("{0}")]
    Database(String),
    /// The migration history could not be read.
    #[error("migration history: {0}")]
    History(String),
    /// The thread loading the declared schema stopped before it finished.
    #[error("loading schema/ stopped: {0}")]
    Interrupted(String),
}

/// The declared schema: `schema/` loaded, the lock applied. The schema is moved out of the
/// returned [`Loaded`] (not copied: a copy of a big schema is a good part of loading it), which
/// keeps what the report needs of it, the declarations' positions and the files' text.
fn declared(paths: &Paths) -> Result<(Loaded, crate::model::Schema), ProjectError> {
    let mut loaded = project::load_schema(paths)?;
    let lock = project::read_lock(paths)?;
    let schema = project::into_canonical_schema(std::mem::take(&mut loaded.schema), &lock)?;
    Ok((loaded, schema.into_database_view()))
}

/// The version of the declared-schema cache entries (see [`declared_cached`]).
const DECLARED_CACHE_FORMAT: &str = "verify-declared-v1";

/// The version of the cache entries of the declarations' places ([`Places`]).
const PLACES_CACHE_FORMAT: &str = "verify-places-v1";

/// Where the declarations are, to locate the differences in the report.
pub enum Positions {
    /// `schema/` was loaded by this run: its text and every declaration's position.
    Loaded(Box<Loaded>),
    /// The declared schema came from the cache; so do the places of its declarations
    /// ([`Places`], in `dir` under `key`), read only when there is a difference to locate.
    Cached {
        /// The cache directory.
        dir: PathBuf,
        /// The key of the places' entry.
        key: crate::cache::Key,
    },
}

impl Positions {
    /// Whether `schema/` was loaded by this run (rather than taken from the cache).
    pub fn is_loaded(&self) -> bool {
        matches!(self, Positions::Loaded(_))
    }
}

/// The places of the declarations of `schema/`: each object key's file (by name, in `schema/`)
/// and byte offset. Cached beside the declared schema, so that a run that finds differences
/// locates them without parsing `schema/` again (at 1,000 tables that is most of a run's time).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Places {
    /// The files' names.
    files: Vec<String>,
    /// Object key → (index in `files`, byte offset).
    origins: std::collections::HashMap<String, (usize, usize)>,
}

impl Places {
    /// The places of what `loaded` declares.
    fn of(loaded: &Loaded) -> Places {
        let files = loaded
            .sources
            .iter()
            .map(|(_, f)| {
                Path::new(&f.name)
                    .file_name()
                    .map_or_else(|| f.name.clone(), |n| n.to_string_lossy().into_owned())
            })
            .collect();
        let origins = loaded
            .origins
            .iter()
            .map(|(key, o)| (key.to_owned(), (o.file.0, o.span.start)))
            .collect();
        Places { files, origins }
    }
}

/// Locates differences: from a loaded `schema/`, or from cached [`Places`] and the files'
/// text, each read once when first needed.
enum Locator {
    Loaded(Box<Loaded>),
    Places(Places, std::collections::HashMap<usize, Option<String>>),
}

impl Locator {
    /// The file and line of the first of `keys` that was declared.
    fn locate(&mut self, paths: &Paths, keys: &[String]) -> Option<Location> {
        match self {
            Locator::Loaded(loaded) => locate(loaded, paths, keys),
            Locator::Places(places, texts) => {
                let &(file, offset) = keys.iter().find_map(|k| places.origins.get(k))?;
                let name = places.files.get(file)?;
                let path = paths.schema.join(name);
                let text = texts
                    .entry(file)
                    .or_insert_with(|| std::fs::read_to_string(&path).ok())
                    .as_deref()?;
                let (line, _) = crate::sqlscript::line_col(text, offset);
                Some(Location {
                    file: shown_path(&path, paths),
                    line,
                })
            }
        }
    }
}

/// [`declared`], from the local cache in `cache_dir` ([`crate::cache`]) when `schema/`'s
/// `*.toml` files and its lock are byte for byte those of an earlier run; the declarations'
/// places (for the report) are then in the cache too ([`Positions::Cached`]). A cache entry is
/// written only after a successful load, so a schema that does not load (or validate) never
/// comes from the cache. Without a `cache_dir`, simply [`declared`].
pub fn declared_cached(
    paths: &Paths,
    cache_dir: Option<&Path>,
) -> Result<(Positions, crate::model::Schema), ProjectError> {
    let Some(dir) = cache_dir else {
        let (loaded, schema) = declared(paths)?;
        return Ok((Positions::Loaded(Box::new(loaded)), schema));
    };
    let keys = declared_cache_keys(paths);
    if let Some((key, places)) = &keys
        && let Some(schema) = crate::cache::read_in(dir, key)
    {
        let positions = Positions::Cached {
            dir: dir.to_owned(),
            key: places.clone(),
        };
        return Ok((positions, schema));
    }
    let (loaded, schema) = declared(paths)?;
    if let Some((key, places)) = &keys {
        crate::cache::write_in(dir, places, &Places::of(&loaded));
        crate::cache::write_in(dir, key, &schema);
    }
    Ok((Positions::Loaded(Box::new(loaded)), schema))
}

/// The cache keys of the declared schema and of its places: the name and bytes of every
/// `*.toml` file of `schema/` (the files `load_dir` reads) and of the lock; `None` when one
/// cannot be read (the full load then reports why).
fn declared_cache_keys(paths: &Paths) -> Option<(crate::cache::Key, crate::cache::Key)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(&paths.schema).ok()? {
        let path = entry.ok()?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            let name = path.file_name()?.to_string_lossy().into_owned();
            files.push((name, std::fs::read(&path).ok()?));
        }
    }
    files.sort();
    let lock = std::fs::read(paths.lock_file()).ok()?;
    let mut parts: Vec<&[u8]> = vec![&lock];
    for (name, bytes) in &files {
        parts.push(name.as_bytes());
        parts.push(bytes);
    }
    Some((
        crate::cache::key(DECLARED_CACHE_FORMAT, parts.iter().copied()),
        crate::cache::key(PLACES_CACHE_FORMAT, parts),
    ))
}

/// Verifies the database at `url` against the project at `paths`.
pub async fn verify(
    url: &str,
    paths: &Paths,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    // The declared side (parsing schema/, applying the lock: CPU work) on a blocking thread
    // while the database is read (mostly waiting for the server).
    let project = paths.clone();
    let cache_dir = options.cache.clone();
    let declared_side = async {
        tokio::task::spawn_blocking(move || -> Result<_, VerifyError> {
            let (positions, declared) = declared_cached(&project, cache_dir.as_deref())?;
            let ignore = IgnoreList::read(&project.schema)?;
            Ok((positions, declared, ignore))
        })
        .await
        .map_err(|e| VerifyError::Interrupted(e.to_string()))?
    };
    let has_migrations = paths.migrations.is_dir();
    // All at once; the first failure (a broken schema file, an unreachable database) ends all.
    let ((positions, declared, ignore), live, history) =
        tokio::try_join!(declared_side, read_live(url, options), async {
            if has_migrations {
                read_history(url, &paths.migrations).await.map(Some)
            } else {
                Ok(None)
            }
        })?;
    Ok(build_report(
        positions, declared, live, history, &ignore, url, paths, options,
    ))
}

/// The report from what was read (the part of [`verify`] without I/O).
#[allow(clippy::too_many_arguments)]
fn build_report(
    positions: Positions,
    mut declared: crate::model::Schema,
    (live, log): (Introspection, Option<Vec<audit::AuditEntry>>),
    history: Option<History>,
    ignore: &IgnoreList,
    url: &str,
    paths: &Paths,
    options: &VerifyOptions,
) -> Report {
    let live_cached = live.from_cache;
    let mut live_schema = live.schema.into_database_view();
    let mut ignored = normalize::prune(&mut declared, ignore);
    ignored.extend(normalize::prune(&mut live_schema, ignore));
    let platform_grants = normalize::supabase_defaults(&declared, &mut live_schema);
    let mut differences = compare(&declared, &live_schema);
    // The declarations' places: from this run's load of schema/, else from the cache (read
    // only when there is a difference to locate), else schema/ loaded now (the same bytes
    // loaded before, so this does not fail but for a file changed meanwhile: the differences
    // are then reported without a position).
    let mut locator = match positions {
        Positions::Loaded(loaded) => Some(Locator::Loaded(loaded)),
        Positions::Cached { .. } if differences.is_empty() => None,
        Positions::Cached { dir, key } => match crate::cache::read_in::<Places>(&dir, &key) {
            Some(places) => Some(Locator::Places(places, Default::default())),
            None => project::load_schema(paths)
                .ok()
                .map(|loaded| Locator::Loaded(Box::new(loaded))),
        },
    };
    for d in &mut differences {
        d.location = locator
            .as_mut()
            .and_then(|locator| locator.locate(paths, &d.origins));
        if let Some(log) = &log {
            d.audit = audit::entries_for(d, log);
        }
    }
    let mut unsupported = Vec::new();
    for u in live.unsupported {
        if ignore.matches(&u.kind, &u.name) {
            ignored.insert(format!("{} {}", u.kind, u.name));
        } else {
            unsupported.push(u);
        }
    }
    let fix = options
        .fix
        .then(|| diff(&live_schema, &declared, &DiffOptions::default()));
    drop_elsewhere((declared, live_schema));
    Report {
        database: crate::migrate::redact(url),
        differences,
        unsupported,
        ignored: ignored.into_iter().collect(),
        platform_grants,
        audited: log.is_some(),
        history,
        fix,
        live_cached,
    }
}

/// Drops `value` on a thread of its own: freeing two schemas of 10,000 tables takes tens of
/// milliseconds that the report need not wait for (and a process that exits first skips it).
fn drop_elsewhere<T: Send + 'static>(value: T) {
    // Detached; when no thread can be started the closure, and the value with it, is dropped
    // here instead.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || drop(value));
}

/// The file and line of the first of `keys` that was declared.
fn locate(loaded: &Loaded, paths: &Paths, keys: &[String]) -> Option<Location> {
    let origin = keys.iter().find_map(|k| loaded.origins.get(k))?;
    let file = loaded.sources.get(origin.file)?;
    let (line, _) = file.line_col(origin.span.start);
    Some(Location {
        file: shown_path(Path::new(&file.name), paths),
        line,
    })
}

/// A schema file's path as the report shows it: relative to the project root.
fn shown_path(path: &Path, paths: &Paths) -> String {
    let relative = path.strip_prefix(&paths.root).unwrap_or(path);
    let shown = relative.display().to_string();
    shown.strip_prefix("./").unwrap_or(&shown).to_owned()
}

/// `-c default_transaction_read_only=on`, URL-encoded, for the `options` parameter.
const READ_ONLY_OPTION: &str = "-c default_transaction_read_only=on";

/// Reads the live database on a session that cannot write: the catalogs, and the audit trail
/// when it is installed (`None` when it is not).
async fn read_live(
    url: &str,
    options: &VerifyOptions,
) -> Result<(Introspection, Option<Vec<audit::AuditEntry>>), VerifyError> {
    let shown = crate::migrate::redact(url);
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| VerifyError::Database(format!("{shown} is not a PostgreSQL URL: {e}")))?;
    let session = match config.get_options() {
        Some(o) if !o.trim().is_empty() => format!("{o} {READ_ONLY_OPTION}"),
        _ => READ_ONLY_OPTION.to_owned(),
    };
    config
        .options(&session)
        .application_name("codegen verify")
        .connect_timeout(options.connect_timeout);
    let seconds = options.connect_timeout.as_secs_f64();
    let sessions = Sessions::connect(&config, options.connect_timeout)
        .await
        .map_err(|e| match e {
            ConnectError::Timeout(_) => VerifyError::Database(format!(
                "{shown}: no answer within {seconds} s (is the database reachable from here? \
                 --connect-timeout sets the limit)"
            )),
            ConnectError::Connect(e) => VerifyError::Database(crate::migrate::redact_text(
                &format!("{shown}: cannot connect: {e}"),
            )),
        })?;
    let client = sessions.client();
    let result = async {
        let found = match &options.cache {
            Some(dir) => sessions.introspect_cached(&options.filter, dir).await,
            None => sessions.introspect(&options.filter).await,
        }
        .map_err(|e| {
            VerifyError::Database(crate::migrate::redact_text(&format!(
                "{shown}: reading the catalogs failed: {e}"
            )))
        })?;
        let installed = audit::is_installed(client).await;
        let log = match installed {
            Ok(false) => None,
            Ok(true) => Some(audit::read(client).await),
            Err(e) => Some(Err(e)),
        }
        .transpose()
        .map_err(|e| {
            VerifyError::Database(crate::migrate::redact_text(&format!(
                "{shown}: reading the audit trail ({}.ddl_log) failed: {e}",
                audit::AUDIT_SCHEMA
            )))
        })?;
        Ok((found, log))
    }
    .await;
    sessions.close().await;
    result
}

/// The URL with the read-only session option, for sqlx (URLs only; a key-value connection
/// string, or one that sets `options` itself, is left as it is: the history is only read).
fn read_only_url(url: &str) -> String {
    if !url.contains("://") || url.contains("options=") {
        return url.to_owned();
    }
    let encoded = READ_ONLY_OPTION.replace(' ', "%20").replace('=', "%3D");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options={encoded}")
}

async fn read_history(url: &str, dir: &Path) -> Result<History, VerifyError> {
    let status = crate::migrate::status(&read_only_url(url), dir)
        .await
        .map_err(|e| VerifyError::History(crate::migrate::redact_text(&e.to_string())))?;
    let tracked = status.migrations.iter().any(|e| e.applied_at.is_some());
    Ok(History { status, tracked })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn read_only_urls() {
        assert_eq!(
            read_only_url("postgres://u@h/db"),
            "postgres://u@h/db?options=-c%20default_transaction_read_only%3Don"
        );
        assert_eq!(
            read_only_url("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&options=-c%20default_transaction_read_only%3Don"
        );
        assert_eq!(read_only_url("host=h dbname=db"), "host=h dbname=db");
    }
}
