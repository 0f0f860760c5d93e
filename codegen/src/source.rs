//! How SQL files reach the IR: they run in a scratch database and the catalog is read back.
//!
//! PostgreSQL reads the SQL, not us (DESIGN.md, "SQL is read by PostgreSQL"): a `.sql` file is
//! split into statements by [`crate::sqlscript`] (a lexer that only finds where statements start
//! and end), each statement runs on its own with the simple-query protocol ([`apply_script`]), and
//! [`load_sql_files`] reads the result back through [`crate::introspect`]. Running statements one
//! at a time is what lets a failure name the file, the line and column (PostgreSQL's error
//! position mapped into the file) and the statement itself ([`StatementError`]).
//!
//! The scratch database comes from pgkit, like the test harness's: the `--dev-url` server when
//! one is given, else the local server on 127.0.0.1:5432, else a throwaway cluster — never the
//! database being verified. It is dropped when loading ends, whatever the outcome.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres::Client;
use tokio_postgres::error::{DbError, ErrorPosition, SqlState};

use crate::introspect::{Filter, IntrospectError, Introspection, introspect_parallel};
use crate::model::Unsupported;
use crate::sqlscript::{self, SplitError, Statement};

/// Prefix of the scratch databases [`load_sql_files`] creates.
const SCRATCH_PREFIX: &str = "jp_import";

/// At most this many lines of a failing statement are kept in [`StatementError::statement`].
const MAX_STATEMENT_LINES: usize = 20;

/// At most this many characters of a failing statement are kept in
/// [`StatementError::statement`].
const MAX_STATEMENT_CHARS: usize = 2000;

/// A SQL script and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSource {
    /// The file it was read from, or a label (`<rendered S2>`) for text that has no file; used in
    /// error messages only.
    pub path: PathBuf,
    /// The script.
    pub text: String,
}

impl SqlSource {
    /// Reads the UTF-8 text file at `path`.
    pub fn read(path: &Path) -> Result<SqlSource, SourceError> {
        let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SqlSource {
                path: path.to_path_buf(),
                text,
            }),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]);
                let (line, column) = sqlscript::line_col(&prefix, prefix.len());
                Err(SourceError::NotUtf8 {
                    path: path.to_path_buf(),
                    line,
                    column,
                })
            }
        }
    }
}

/// A statement of a script that PostgreSQL rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// The script's file (or label).
    pub path: PathBuf,
    /// 1-based line in the file of the error: PostgreSQL's error position when it gave one, else
    /// the start of the statement.
    pub line: usize,
    /// 1-based column (in characters) in the file, like [`StatementError::line`].
    pub column: usize,
    /// PostgreSQL's message (`relation "x" does not exist`).
    pub message: String,
    /// PostgreSQL's `DETAIL`.
    pub detail: Option<String>,
    /// PostgreSQL's `HINT`.
    pub hint: Option<String>,
    /// PostgreSQL's `CONTEXT` (where inside a function body or a `DO` block the error happened),
    /// with the internal query when the error position lies in one.
    pub context: Option<String>,
    /// The SQLSTATE code (`42P01`).
    pub code: String,
    /// The statement's text; cut after a few lines or characters (marked with `…`) for display.
    pub statement: String,
    /// 1-based line in the file where the statement starts.
    pub statement_line: usize,
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )?;
        if let Some(detail) = &self.detail {
            write!(f, "\n  detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        if let Some(context) = &self.context {
            write!(f, "\n  context: {}", context.replace('\n', "\n    "))?;
        }
        write!(
            f,
            "\n  in the statement at {}:{}:",
            self.path.display(),
            self.statement_line
        )?;
        for line in self.statement.lines() {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StatementError {}

/// Why SQL could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file could not be read.
    #[error("cannot read SQL file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not UTF-8 text.
    #[error(
        "{}:{line}:{column}: the SQL file is not valid UTF-8 text (convert it to UTF-8)",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in characters) of the first invalid byte.
        column: usize,
    },
    /// A script could not be split into statements.
    #[error("{}:{}:{}: {}", path.display(), source.line, source.column, source.message)]
    Split {
        /// The file.
        path: PathBuf,
        /// The splitter's error, with the line and column in the file.
        #[source]
        source: SplitError,
    },
    /// PostgreSQL rejected a statement (boxed: it is much larger than the other variants).
    #[error("{0}")]
    Statement(Box<StatementError>),
    /// Running a statement failed for a reason other than PostgreSQL rejecting it (the connection
    /// broke, …).
    #[error("{context}: {}", chain(source))]
    Postgres {
        /// What was being done, and where in which file.
        context: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A file left a transaction open (`BEGIN` without `COMMIT`): what it did inside would be
    /// rolled back, as `psql -f` would.
    #[error(
        "{}: the script ends inside a transaction block (a BEGIN without COMMIT); add the COMMIT",
        path.display()
    )]
    UnfinishedTransaction {
        /// The file.
        path: PathBuf,
    },
    /// The scratch database could not be had (no server, `--dev-url` unreachable, …).
    #[error("scratch database: {0}")]
    Scratch(#[from] pgkit::Error),
    /// Reading the scratch database back failed.
    #[error("reading back the scratch database: {0}")]
    Introspect(#[from] IntrospectError),
    /// The SQL creates objects the model cannot represent.
    #[error("{}", unsupported_message(.0))]
    Unsupported(Vec<Unsupported>),
}

/// The message of [`SourceError::Unsupported`]: one object a line.
fn unsupported_message(items: &[Unsupported]) -> String {
    let mut text = format!(
        "the SQL creates {} object{} the schema model cannot represent:",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    for item in items {
        text.push_str("\n  ");
        text.push_str(&item.to_string());
    }
    text
}

/// The driver error and its causes on one line (tokio-postgres' own `Display` says only
/// "db error"; the rest is in the source chain).
fn chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Runs `source` on `client`, one statement at a time, in file order, and returns how many
/// statements ran.
///
/// The first statement PostgreSQL rejects stops the script with a [`SourceError::Statement`]
/// that points into the file: at PostgreSQL's error position when it reports one, else at the
/// statement's start. Statements before it have run (and stay, unless the script opened a
/// transaction). Session state (`SET`, an open transaction) carries over from one statement to
/// the next, as with `psql -f`.
pub async fn apply_script(client: &Client, source: &SqlSource) -> Result<usize, SourceError> {
    let statements = sqlscript::split(&source.text).map_err(|e| SourceError::Split {
        path: source.path.clone(),
        source: e,
    })?;
    for statement in &statements {
        if let Err(e) = client.batch_execute(&statement.text).await {
            return Err(statement_failure(source, statement, e));
        }
    }
    Ok(statements.len())
}

/// The error for `statement` of `source` failing with `error`.
fn statement_failure(
    source: &SqlSource,
    statement: &Statement,
    error: tokio_postgres::Error,
) -> SourceError {
    let Some(db) = error.as_db_error() else {
        return SourceError::Postgres {
            context: format!(
                "{}:{}:{}: running the statement failed",
                source.path.display(),
                statement.line,
                statement.column
            ),
            source: error,
        };
    };
    SourceError::Statement(Box::new(statement_error(source, statement, db)))
}

/// A [`StatementError`] for `statement` of `source`, rejected with `db`.
fn statement_error(source: &SqlSource, statement: &Statement, db: &DbError) -> StatementError {
    let (line, column) = match db.position() {
        Some(ErrorPosition::Original(position)) => {
            let offset = statement.offset + byte_offset(&statement.text, *position);
            sqlscript::line_col(&source.text, offset)
        }
        _ => (statement.line, statement.column),
    };
    let internal = match db.position() {
        Some(ErrorPosition::Internal { position, query }) => Some(format!(
            "internal query (error at character {position}): {query}"
        )),
        _ => None,
    };
    let context = match (db.where_(), internal) {
        (Some(w), Some(i)) => Some(format!("{w}\n{i}")),
        (Some(w), None) => Some(w.to_owned()),
        (None, i) => i,
    };
    StatementError {
        path: source.path.clone(),
        line,
        column,
        message: db.message().to_owned(),
        detail: db.detail().map(str::to_owned),
        hint: db.hint().map(str::to_owned),
        context,
        code: db.code().code().to_owned(),
        statement: excerpt(&statement.text),
        statement_line: statement.line,
    }
}

/// Byte offset in `text` of PostgreSQL's 1-based *character* position (clamped to the end: a
/// syntax error "at end of input" points just past the last character).
fn byte_offset(text: &str, position: u32) -> usize {
    let index = usize::try_from(position).map_or(usize::MAX, |p| p.saturating_sub(1));
    text.char_indices()
        .nth(index)
        .map_or(text.len(), |(offset, _)| offset)
}

/// `text` cut after [`MAX_STATEMENT_LINES`] lines or [`MAX_STATEMENT_CHARS`] characters,
/// whichever comes first, with `…` where it was cut.
fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == MAX_STATEMENT_LINES {
            out.push_str("\n…");
            return out;
        }
        if i > 0 {
            out.push('\n');
        }
        let room = MAX_STATEMENT_CHARS.saturating_sub(out.chars().count());
        if line.chars().count() > room {
            out.extend(line.chars().take(room));
            out.push('…');
            return out;
        }
        out.push_str(line);
    }
    out
}

/// How [`load_sql_files`] gets and prepares its scratch database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// The server for the scratch database (the CLI's `--dev-url`); `None` uses the local server
    /// on 127.0.0.1:5432, else a throwaway cluster. Never the database being verified.
    pub dev_url: Option<String>,
    /// Apply the Supabase bootstrap (roles `anon`, `authenticated`, `service_role`, schemas
    /// `auth`, `storage`, … and `auth.uid()`) before the files, as a Supabase project has them.
    pub bootstrap: bool,
    /// Which schemas are read back.
    pub filter: Filter,
}

impl Default for LoadOptions {
    /// The local server, with the Supabase bootstrap, every application schema.
    fn default() -> Self {
        LoadOptions {
            dev_url: None,
            bootstrap: true,
            filter: Filter::default(),
        }
    }
}

/// Applies `files`, in order, to a fresh scratch database and reads it back.
///
/// The server is found as [`LoadOptions::dev_url`] says (see [`load_sql_files_on`] to pass one).
/// Fails with [`SourceError::Unsupported`] when the files create objects the model cannot
/// represent.
pub async fn load_sql_files(
    files: &[SqlSource],
    options: &LoadOptions,
) -> Result<Introspection, SourceError> {
    let discover = pgkit::DiscoverOptions {
        url: options.dev_url.clone(),
        force_throwaway: false,
    };
    let server = Arc::new(pgkit::Server::discover(&discover).await?);
    load_sql_files_on(&server, files, options).await
}

/// [`load_sql_files`] on a given server ([`LoadOptions::dev_url`] is not used): creates a
/// uniquely named database, applies the bootstrap when asked and each file in order, introspects,
/// and drops the database again on every path.
pub async fn load_sql_files_on(
    server: &Arc<pgkit::Server>,
    files: &[SqlSource],
    options: &LoadOptions,
) -> Result<Introspection, SourceError> {
    // Declared before `client`, so dropped after it: the guard drops the database on return,
    // whatever the outcome.
    let db = server.create_database(SCRATCH_PREFIX).await?;
    if options.bootstrap {
        db.apply_bootstrap().await?;
    }
    let client = db.connect().await?;
    for file in files {
        apply_script(&client, file).await?;
        if in_transaction(&client, &file.path).await? {
            return Err(SourceError::UnfinishedTransaction {
                path: file.path.clone(),
            });
        }
    }
    // Read back on two sessions sharing one snapshot (`introspect_parallel`).
    let second = db.connect().await?;
    let found = introspect_parallel(&client, &second, &options.filter).await?;
    if !found.unsupported.is_empty() {
        return Err(SourceError::Unsupported(found.unsupported));
    }
    Ok(found)
}

/// Whether the session is inside a transaction block: `SAVEPOINT` works only inside one
/// (outside, PostgreSQL rejects it with `25P01` and nothing else happens).
async fn in_transaction(client: &Client, path: &Path) -> Result<bool, SourceError> {
    // language=PostgreSQL
    let probe = "SAVEPOINT jp_open_transaction_probe";
    match client.batch_execute(probe).await {
        Ok(()) => {
            // language=PostgreSQL
            let release = "RELEASE SAVEPOINT jp_open_transaction_probe";
            client
                .batch_execute(release)
                .await
                .map_err(|source| SourceError::Postgres {
                    context: format!("{}: checking for an unfinished transaction", path.display()),
                    source,
                })?;
            Ok(true)
        }
        Err(e) if e.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION) => Ok(false),
        Err(source) => Err(SourceError::Postgres {
            context: format!("{}: checking for an unfinished transaction", path.display()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QualifiedName;

    fn source(path: &str, text: &str) -> SqlSource {
        SqlSource {
            path: PathBuf::from(path),
            text: text.to_owned(),
        }
    }

    async fn scratch() -> (pgkit::TempDb, Client) {
        let server = pgkit::Server::shared().await.unwrap();
        let db = server.create_database("jp_source_test").await.unwrap();
        let client = db.connect().await.unwrap();
        (db, client)
    }

    /// A file in the temporary directory, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, bytes: &[u8]) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("jp_source_{}_{name}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    async fn statement_error(text: &str) -> StatementError {
        let (_db, client) = scratch().await;
        match apply_script(&client, &source("schema.sql", text)).await {
            Err(SourceError::Statement(e)) => *e,
            other => panic!("expected a statement error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn good_files_apply_and_introspect() {
        let files = [
            source(
                "a.sql",
                "-- language=PostgreSQL\nCREATE TABLE public.notes (\n  id int PRIMARY KEY,\n  \
                 title varchar(200) NOT NULL DEFAULT 'untitled',\n  owner uuid DEFAULT auth.uid()\n);\n",
            ),
            source(
                "b.sql",
                "BEGIN;\nCREATE INDEX notes_title ON public.notes (title);\nCOMMIT;\n",
            ),
        ];
        let found = load_sql_files(&files, &LoadOptions::default())
            .await
            .unwrap();
        let notes = &found.schema.tables[&QualifiedName::public("notes")];
        let names: Vec<&str> = notes.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "title", "owner"]);
        let title = &notes.columns[1];
        assert_eq!(
            title.default.as_ref().map(|d| d.as_str()),
            Some("'untitled'::character varying")
        );
        assert_eq!(notes.indexes.len(), 1);
        assert!(found.unsupported.is_empty());
    }

    #[tokio::test]
    async fn apply_script_counts_statements() {
        let (_db, client) = scratch().await;
        let script = source(
            "count.sql",
            "\\set ON_ERROR_STOP on\nCREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n\n",
        );
        assert_eq!(apply_script(&client, &script).await.unwrap(), 2);
        assert_eq!(
            apply_script(&client, &source("empty.sql", ""))
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn bad_statement_points_at_its_line_and_column() {
        let e = statement_error(
            "CREATE TABLE a (id int);\n-- the next one is wrong\nSELECT 'ééé', nope FROM a;\nSELECT 1;\n",
        )
        .await;
        assert_eq!((e.line, e.column), (3, 15), "{e}");
        assert_eq!(e.statement_line, 3);
        assert_eq!(e.statement, "SELECT 'ééé', nope FROM a");
        assert_eq!(e.message, r#"column "nope" does not exist"#);
        assert_eq!(e.code, "42703");
        let shown = SourceError::Statement(Box::new(e)).to_string();
        assert!(
            shown.starts_with("schema.sql:3:15: column \"nope\" does not exist"),
            "{shown}"
        );
        assert!(shown.contains("SELECT 'ééé', nope FROM a"), "{shown}");
    }

    #[tokio::test]
    async fn error_without_position_points_at_statement_start() {
        let e = statement_error("CREATE TABLE a (id int);\n\n  DROP TABLE missing;\n").await;
        assert_eq!((e.line, e.column), (3, 3), "{e}");
        assert_eq!(e.message, r#"table "missing" does not exist"#);
        assert!(e.to_string().contains("schema.sql:3:3:"), "{e}");
    }

    #[tokio::test]
    async fn position_inside_a_multi_line_statement() {
        let e = statement_error("CREATE TABLE a (\n  id int,\n  x nosuchtype\n);\n").await;
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert_eq!(e.statement_line, 1);
        assert_eq!(
            e.statement,
            "CREATE TABLE a (\n  id int,\n  x nosuchtype\n)"
        );
    }

    #[tokio::test]
    async fn syntax_error_at_end_of_input_points_past_the_statement() {
        let e = statement_error("SELECT 1;\nSELECT (1").await;
        assert_eq!((e.line, e.column), (2, 10), "{e}");
    }

    #[tokio::test]
    async fn detail_and_hint_are_kept() {
        let e = statement_error(
            "CREATE TABLE p (id int PRIMARY KEY);\nINSERT INTO p VALUES (1);\nINSERT INTO p VALUES (1);\n",
        )
        .await;
        assert_eq!(e.line, 3);
        assert_eq!(e.detail.as_deref(), Some("Key (id)=(1) already exists."));
        assert!(
            e.to_string()
                .contains("\n  detail: Key (id)=(1) already exists."),
            "{e}"
        );
    }

    #[tokio::test]
    async fn split_errors_name_the_file() {
        let (_db, client) = scratch().await;
        let e = apply_script(&client, &source("bad.sql", "SELECT 1;\nSELECT 'open"))
            .await
            .unwrap_err();
        assert!(matches!(e, SourceError::Split { .. }), "{e:?}");
        assert!(e.to_string().starts_with("bad.sql:2:"), "{e}");
    }

    #[tokio::test]
    async fn load_reports_the_failing_file() {
        let files = [
            source("one.sql", "CREATE TABLE public.a (id int);\n"),
            source(
                "two.sql",
                "CREATE TABLE public.b (\n  a_id nosuchtype\n);\n",
            ),
        ];
        let e = load_sql_files(&files, &LoadOptions::default())
            .await
            .unwrap_err();
        let SourceError::Statement(s) = &e else {
            panic!("expected a statement error, got {e:?}");
        };
        assert_eq!(s.path, PathBuf::from("two.sql"));
        assert_eq!((s.line, s.column), (2, 8), "{e}");
    }

    #[tokio::test]
    async fn load_refuses_an_unfinished_transaction() {
        let files = [
            source("open.sql", "BEGIN;\nSELECT 1;\n"),
            source("next.sql", "CREATE TABLE public.a (id int);\n"),
        ];
        let e = load_sql_files(&files, &LoadOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, SourceError::UnfinishedTransaction { path } if path == Path::new("open.sql")),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn load_refuses_unsupported_objects() {
        let files = [source(
            "rule.sql",
            "CREATE TABLE public.a (id int);\n\
             CREATE RULE a_noop AS ON INSERT TO public.a DO INSTEAD NOTHING;\n",
        )];
        let e = load_sql_files(&files, &LoadOptions::default())
            .await
            .unwrap_err();
        let SourceError::Unsupported(items) = &e else {
            panic!("expected unsupported objects, got {e:?}");
        };
        assert!(!items.is_empty());
        assert!(e.to_string().contains("cannot represent"), "{e}");
    }

    #[tokio::test]
    async fn errors_inside_a_body_keep_the_context() {
        let e = statement_error("DO $$\nBEGIN\n  RAISE EXCEPTION 'boom %', 1;\nEND\n$$;\n").await;
        assert_eq!((e.line, e.column), (1, 1), "{e}");
        assert_eq!(e.message, "boom 1");
        let context = e.context.as_deref().unwrap_or_default();
        assert!(
            context.contains("PL/pgSQL function inline_code_block"),
            "{e}"
        );
        assert!(e.to_string().contains("\n  context: PL/pgSQL"), "{e}");
    }

    #[test]
    fn read_reads_a_file() {
        let file = TempFile::new("ok.sql", b"SELECT 1;\n");
        let read = SqlSource::read(&file.0).unwrap();
        assert_eq!(read.text, "SELECT 1;\n");
        assert_eq!(read.path, file.0);
    }

    #[test]
    fn unreadable_path_names_the_file() {
        let path = Path::new("/nonexistent/jp/schema.sql");
        let e = SqlSource::read(path).unwrap_err();
        assert!(matches!(e, SourceError::Read { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(
            shown.starts_with("cannot read SQL file /nonexistent/jp/schema.sql: "),
            "{shown}"
        );
    }

    #[test]
    fn non_utf8_file_names_the_place() {
        let file = TempFile::new("latin1.sql", b"SELECT 1;\nSELECT 'caf\xe9';\n");
        let e = SqlSource::read(&file.0).unwrap_err();
        assert!(
            matches!(
                e,
                SourceError::NotUtf8 {
                    line: 2,
                    column: 12,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("latin1.sql:2:12: "), "{e}");
    }

    #[test]
    fn byte_offsets_of_character_positions() {
        assert_eq!(byte_offset("SELECT 'é', x", 1), 0);
        assert_eq!(byte_offset("SELECT 'é', x", 13), 13);
        assert_eq!(byte_offset("abc", 4), 3);
        assert_eq!(byte_offset("abc", 99), 3);
        assert_eq!(byte_offset("abc", 0), 0);
    }

    #[test]
    fn long_statements_are_cut() {
        let long: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let cut = excerpt(long.trim_end());
        assert_eq!(cut.lines().count(), MAX_STATEMENT_LINES + 1);
        assert!(cut.ends_with("line 20\n…"), "{cut}");
        let wide = "x".repeat(MAX_STATEMENT_CHARS + 10);
        assert_eq!(excerpt(&wide).chars().count(), MAX_STATEMENT_CHARS + 1);
        assert_eq!(excerpt("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn statement_error_display() {
        let e = StatementError {
            path: PathBuf::from("supabase/migrations/00001_initial_schema.sql"),
            line: 12,
            column: 27,
            message: r#"relation "public.profile" does not exist"#.to_owned(),
            detail: Some("Some detail.".to_owned()),
            hint: Some("Did you mean \"public.profiles\"?".to_owned()),
            context: None,
            code: "42P01".to_owned(),
            statement: "CREATE TABLE public.jobs (\n  owner uuid REFERENCES public.profile\n)"
                .to_owned(),
            statement_line: 11,
        };
        insta::assert_snapshot!(SourceError::Statement(Box::new(e)).to_string(), @r#"
        supabase/migrations/00001_initial_schema.sql:12:27: relation "public.profile" does not exist
          detail: Some detail.
          hint: Did you mean "public.profiles"?
          in the statement at supabase/migrations/00001_initial_schema.sql:11:
            CREATE TABLE public.jobs (
              owner uuid REFERENCES public.profile
            )
        "#);
    }
}
