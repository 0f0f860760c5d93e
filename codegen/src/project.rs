//! A project's derived files and the commands over them: `codegen generate` writes them,
//! `codegen check` renders them again in memory and compares (STYLE.md §2.6).
//!
//! Derived from `schema/` today: the language's JSON Schema (`schema/schema.json`, for editors),
//! the canonical-forms lock (`schema/canonical.lock.json`, built
//! by loading the declared schema into a scratch database, see [`crate::canonical`]), the
//! baseline migration (`migrations/0001_baseline.up.sql`, the complete DDL a fresh database
//! gets, rendered from the declared schema in PostgreSQL's canonical text) and the sources of
//! the generated crate (`generated/src/*.rs`, rendered from the declared schema alone, see
//! [`crate::render::rust`]; `generated/Cargo.toml` is written by hand). The baseline is
//! derived only while it is the only migration: once later migrations exist it is history, and
//! keeping the migrations in step with `schema/` is the differ's job (`codegen migrate new`).
//! The documentation (`docs/schema.md` and `docs/schema.svg`, see [`crate::docs`]) is derived
//! from the declared schema too; `codegen docs` writes it alone, without a database.
//!
//! `check` needs no database (the lock stands in for one); `generate` needs a scratch database
//! to build the lock.

use crate::canonical::{CanonicalError, CanonicalLock, LOCK_FILE};
use crate::diagnostics::Diagnostics;
use crate::model::Schema;
use crate::output::{FileSet, OutputError, StaleFile};
use crate::parse::Loaded;
use crate::source::{LoadOptions, SourceError, SqlSource, load_sql_files_on};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The JSON Schema of the schema language, kept beside the schema files.
pub const JSON_SCHEMA_FILE: &str = "schema.json";

/// The baseline migration's file name.
pub const BASELINE_UP: &str = "0001_baseline.up.sql";

/// Where a project keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The project root (the workspace).
    pub root: PathBuf,
    /// The schema directory (`schema/`).
    pub schema: PathBuf,
    /// The migrations directory (`migrations/`).
    pub migrations: PathBuf,
    /// The generated crate (`generated/`); `codegen generate` writes its `src/`.
    pub generated: PathBuf,
}

impl Paths {
    /// The standard layout under `root`.
    pub fn at(root: impl Into<PathBuf>) -> Paths {
        let root = root.into();
        Paths {
            schema: root.join("schema"),
            migrations: root.join("migrations"),
            generated: root.join("generated"),
            root,
        }
    }

    /// The lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.schema.join(LOCK_FILE)
    }

    /// The documentation directory (`docs/`), written by `codegen docs` and `codegen generate`.
    pub fn docs(&self) -> PathBuf {
        self.root.join(crate::docs::DIR)
    }
}

/// Why a project command failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The schema files have errors (rendered with their positions).
    #[error("the schema has {} error(s)", .0.error_count())]
    Schema(Diagnostics),
    /// The lock is missing, stale or unreadable, or PostgreSQL did not keep the declared schema.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// The lock file does not exist yet.
    #[error("{} does not exist; run `codegen generate` (it needs PostgreSQL, see the README)", .0.display())]
    NoLock(PathBuf),
    /// Loading SQL into the scratch database failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A file could not be read or written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The schema cannot be rendered as Rust (an unmappable column type, a name clash).
    #[error("generated crate: {0}")]
    Rust(#[from] crate::render::rust::RustRenderError),
    /// The documentation could not be rendered.
    #[error(transparent)]
    Docs(#[from] crate::docs::DocsError),
    /// A directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Loads and validates `schema/`.
pub fn load_schema(paths: &Paths) -> Result<Loaded, ProjectError> {
    crate::parse::load_dir(&paths.schema).map_err(ProjectError::Schema)
}

/// Reads the lock file.
pub fn read_lock(paths: &Paths) -> Result<CanonicalLock, ProjectError> {
    let path = paths.lock_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(CanonicalLock::from_json(&text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ProjectError::NoLock(path)),
        Err(source) => Err(ProjectError::Io { path, source }),
    }
}

/// The declared schema in PostgreSQL's canonical form (the lock applied), without the parts
/// that exist only in declarations.
pub fn canonical_schema(loaded: &Loaded, lock: &CanonicalLock) -> Result<Schema, ProjectError> {
    into_canonical_schema(loaded.schema.clone(), lock)
}

/// [`canonical_schema`] of a loaded schema that is not needed any more (no copy).
pub fn into_canonical_schema(
    mut schema: Schema,
    lock: &CanonicalLock,
) -> Result<Schema, ProjectError> {
    lock.apply(&mut schema)?;
    Ok(schema)
}

/// Builds the lock: the declared schema rendered, applied to a fresh scratch database (with the
/// Supabase bootstrap) and read back. Fails when PostgreSQL does not keep the declared schema
/// as declared (something the model or the renderer cannot express).
pub async fn build_lock(
    loaded: &Loaded,
    server: &Arc<pgkit::Server>,
) -> Result<CanonicalLock, ProjectError> {
    let declared = loaded.schema.database_view();
    let source = SqlSource {
        path: PathBuf::from("<schema/ rendered as SQL>"),
        text: crate::render::render_schema(&declared),
    };
    // The same scratch-database path as `codegen import`: bootstrap, apply, introspect.
    let found = load_sql_files_on(server, &[source], &LoadOptions::default()).await?;
    Ok(CanonicalLock::build(
        &declared,
        &found.schema,
        &found.server_version,
    )?)
}

/// The SHA-256 of the schema files' text, in load order: the fingerprint in generated headers.
pub fn fingerprint(loaded: &Loaded) -> String {
    let mut hasher = Sha256::new();
    for (_, file) in loaded.sources.iter() {
        let name = Path::new(&file.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the baseline is still derived from `schema/`: true while no migration other than
/// the baseline exists.
pub fn baseline_is_derived(paths: &Paths) -> Result<bool, ProjectError> {
    let entries = match std::fs::read_dir(&paths.migrations) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(source) => {
            return Err(ProjectError::Io {
                path: paths.migrations.clone(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sql") && !name.starts_with("0001_") {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The baseline migration's text for a canonical schema.
pub fn render_baseline(canonical: &Schema) -> String {
    let mut out = String::from(
        "-- The baseline: the whole schema of schema/ as PostgreSQL DDL.\n\
         -- Generated by `codegen generate`; do not edit (change schema/ and run it again).\n\n",
    );
    out.push_str(&crate::render::render_schema(&canonical.database_view()));
    out
}

/// Every derived file, relative to the project root.
pub fn derived_files(
    paths: &Paths,
    loaded: &Loaded,
    lock: &CanonicalLock,
) -> Result<FileSet, ProjectError> {
    let mut files = FileSet::new();
    files.insert(relative(paths, &paths.lock_file()), lock.to_json());
    // The language's JSON Schema beside the files, for `#:schema ./schema.json` in editors.
    let json = serde_json::to_string_pretty(&crate::parse::json_schema()).unwrap_or_default();
    files.insert(
        relative(paths, &paths.schema.join(JSON_SCHEMA_FILE)),
        format!("{json}\n"),
    );
    if baseline_is_derived(paths)? {
        let canonical = canonical_schema(loaded, lock)?;
        files.insert(
            relative(paths, &paths.migrations.join(BASELINE_UP)),
            render_baseline(&canonical),
        );
    }
    // The Rust needs only the declared structure (types, keys, defaults' presence), not
    // PostgreSQL's canonical text: this half of `check` stays database-free.
    let options = crate::render::rust::RustOptions {
        fingerprint: fingerprint(loaded),
    };
    for (name, text) in crate::render::rust::render_files(&loaded.schema, &options)? {
        files.insert(
            relative(paths, &paths.generated.join("src").join(name)),
            text,
        );
    }
    // The documentation shows the schema as written (defaults and policies in the declared
    // text, which reads better than PostgreSQL's canonical form): database-free too.
    insert_docs(paths, &mut files, &docs_files(loaded)?);
    Ok(files)
}

/// The documentation of the declared schema.
pub fn docs_files(loaded: &Loaded) -> Result<crate::docs::Docs, ProjectError> {
    Ok(crate::docs::render(
        &loaded.schema,
        crate::docs::DocsSource::SchemaDir,
    )?)
}

fn insert_docs(paths: &Paths, files: &mut FileSet, docs: &crate::docs::Docs) {
    for (name, text) in docs.files() {
        files.insert(relative(paths, &paths.docs().join(name)), text.to_owned());
    }
}

/// The command that rewrites a derived file (for `check`'s messages): `docs/` has its own,
/// database-free one; everything else comes from `codegen generate`.
pub fn fix_command(path: &Path) -> &'static str {
    if path.starts_with(crate::docs::DIR) {
        "`cargo run -p codegen -- docs` (or `codegen generate`)"
    } else {
        "`codegen generate`"
    }
}

/// `codegen docs` for `schema/`: loads and validates it, renders the documentation and writes
/// the files that changed into `out` (default `docs/`). Returns the paths written and the
/// schema's warnings. Needs no database.
pub fn write_docs(
    paths: &Paths,
    out: Option<&Path>,
) -> Result<(Vec<PathBuf>, Diagnostics), ProjectError> {
    let loaded = load_schema(paths)?;
    let docs = docs_files(&loaded)?;
    let written = write_docs_to(&docs, out.unwrap_or(&paths.docs()))?
        .iter()
        .map(|p| relative(paths, p))
        .collect();
    Ok((written, loaded.warnings))
}

/// Writes rendered documentation into `dir`; returns the paths (under `dir`) that changed.
pub fn write_docs_to(docs: &crate::docs::Docs, dir: &Path) -> Result<Vec<PathBuf>, ProjectError> {
    let mut files = FileSet::new();
    for (name, text) in docs.files() {
        files.insert(name, text.to_owned());
    }
    Ok(files
        .write_all(dir)?
        .into_iter()
        .map(|p| dir.join(p))
        .collect())
}

fn relative(paths: &Paths, path: &Path) -> PathBuf {
    path.strip_prefix(&paths.root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// What `codegen generate` did.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Files written (changed or new), relative to the root.
    pub written: Vec<PathBuf>,
    /// Files of `generated/src/` that the schema no longer produces, deleted.
    pub removed: Vec<PathBuf>,
    /// Schema warnings.
    pub warnings: Diagnostics,
}

/// `codegen generate`: loads `schema/`, rebuilds the lock on a scratch database and writes every
/// derived file that changed.
pub async fn generate(
    paths: &Paths,
    server: &Arc<pgkit::Server>,
) -> Result<Generated, ProjectError> {
    let loaded = load_schema(paths)?;
    let lock = build_lock(&loaded, server).await?;
    let files = derived_files(paths, &loaded, &lock)?;
    let stale: Vec<PathBuf> = files
        .check_against(&paths.root)
        .into_iter()
        .map(|s| s.path)
        .collect();
    files.write_all(&paths.root)?;
    let removed = extra_files(paths, &files)?;
    for path in &removed {
        let full = paths.root.join(path);
        std::fs::remove_file(&full).map_err(|source| ProjectError::Io { path: full, source })?;
    }
    Ok(Generated {
        written: stale,
        removed,
        warnings: loaded.warnings,
    })
}

/// The `*.rs` files of `generated/src/` that `generate` does not produce (it owns that
/// directory): left over from a table that was dropped, or added by hand.
pub fn extra_files(paths: &Paths, files: &FileSet) -> Result<Vec<PathBuf>, ProjectError> {
    let dir = paths.generated.join("src");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ProjectError::Io { path: dir, source }),
    };
    let produced: Vec<&Path> = files.iter().map(|(p, _)| p).collect();
    let mut extra: Vec<PathBuf> = entries
        .flatten()
        .map(|e| relative(paths, &e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs") && !produced.contains(&p.as_path()))
        .collect();
    extra.sort();
    Ok(extra)
}

/// What `codegen check` found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Derived files that `codegen generate` would change.
    pub stale: Vec<StaleFile>,
    /// Files in `generated/src/` that `codegen generate` does not produce (a warning: it would
    /// delete them).
    pub extra: Vec<PathBuf>,
    /// Schema warnings.
    pub warnings: Diagnostics,
    /// Objects in the schema, for the summary line.
    pub objects: usize,
}

/// `codegen check`: the schema loads and validates, the lock matches it, and every derived file
/// is what `generate` would write. Needs no database.
pub fn check(paths: &Paths) -> Result<CheckReport, ProjectError> {
    let loaded = load_schema(paths)?;
    let lock = read_lock(paths)?;
    let files = derived_files(paths, &loaded, &lock)?;
    Ok(CheckReport {
        stale: files.check_against(&paths.root),
        extra: extra_files(paths, &files)?,
        objects: loaded.schema.object_count(),
        warnings: loaded.warnings,
    })
}
