//! Throwaway databases: [`Server::create_database`] makes a uniquely named empty database and
//! returns a [`TempDb`] guard that drops it (`WITH (FORCE)`) when it goes out of scope, also when
//! a test panics. Databases left behind by crashed processes are swept on a server's first use.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_postgres::{Client, Config};

use crate::server::Server;
use crate::util::{self, connect, url_of};
use crate::{Error, Result};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
const MAX_NAME_BYTES: usize = 63;

/// Settings of the sessions of a scratch database opened through [`TempDb::config`] (and so
/// [`TempDb::connect`]); a session opened from [`TempDb::url`] has the server's defaults.
const SCRATCH_OPTIONS: &str = "-c synchronous_commit=off";

/// Length of the random part of a name.
const RANDOM_LEN: usize = 8;

/// Prefix of the comment set on every database pgkit creates; the sweep drops only databases
/// that carry it (and match the naming scheme), never a look-alike someone made by hand.
const MARKER: &str = "pgkit temporary database";

/// How long a statement run in the background ([`run_in_background`]) runs before its caller
/// goes.
const SEND_GRACE: std::time::Duration = std::time::Duration::from_millis(20);

/// How often [`Server::claim_database_when_made`] looks again.
const CLAIM_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Per-process counter in database names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database that exists while this guard lives; dropped `WITH (FORCE)` on `Drop`.
pub struct TempDb {
    /// The server it lives on (kept alive: a throwaway cluster must outlive its databases).
    server: Arc<Server>,
    /// The database name.
    name: String,
}

impl std::fmt::Debug for TempDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempDb").field("url", &self.url()).finish()
    }
}

impl Server {
    /// A fresh empty database named `<prefix>_<pid>_<counter>_<random>` (lower case, at most
    /// 63 bytes: a long prefix is shortened, the unique part never is).
    pub async fn create_database(self: &Arc<Self>, prefix: &str) -> Result<TempDb> {
        self.create_marked(prefix, "TEMPLATE template0 ENCODING 'UTF8'")
            .await
    }
}

/// How [`Server::create_database_from`] copies its template: `WAL_LOG` (PostgreSQL 15's
/// default) copies block by block through the WAL, `FILE_COPY` (PostgreSQL 15 and later; the
/// only way before) copies the files between two checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStrategy {
    /// `STRATEGY = WAL_LOG`.
    WalLog,
    /// `STRATEGY = FILE_COPY`.
    FileCopy,
}

/// A database kept on the server on purpose (a template to clone), as listed by
/// [`Server::kept_databases`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptDb {
    /// The database name.
    pub name: String,
    /// Its comment (`COMMENT ON DATABASE`).
    pub comment: String,
}

/// SQLSTATE `invalid_catalog_name`: the database does not exist.
const NO_SUCH_DATABASE: &str = "3D000";

/// SQLSTATE `duplicate_database`.
const DUPLICATE_DATABASE: &str = "42P04";

/// SQLSTATE `object_in_use`: another session is connected to the database.
const OBJECT_IN_USE: &str = "55006";

/// SQLSTATE `lock_not_available`: `lock_timeout` ran out.
const LOCK_NOT_AVAILABLE: &str = "55P03";

fn sqlstate(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error().map(|d| d.code().code())
}

impl Server {
    /// Like [`Server::create_database`], but a copy of the database `template` (which nobody
    /// may be connected to), using `strategy`. `Ok(None)` when `template` does not exist. The
    /// copy carries the same marker as every database pgkit creates, so it is dropped with its
    /// guard or swept like any other.
    pub async fn create_database_from(
        self: &Arc<Self>,
        prefix: &str,
        template: &str,
        strategy: CopyStrategy,
    ) -> Result<Option<TempDb>> {
        // WAL_LOG is PostgreSQL 15's default; saying nothing also works on older servers
        // (which only copy files).
        let strategy = match strategy {
            CopyStrategy::WalLog => "",
            CopyStrategy::FileCopy => " STRATEGY = FILE_COPY",
        };
        let how = format!("TEMPLATE {}{strategy}", quote_ident(template));
        match self.create_marked(prefix, &how).await {
            Ok(db) => Ok(Some(db)),
            Err(e)
                if e.as_db_error()
                    .is_some_and(|d| d.code().code() == NO_SUCH_DATABASE) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The comment of database `name`; `Ok(None)` when there is no such database or it has no
    /// comment. Reads the catalog only (no connection to the database).
    pub async fn database_comment(&self, name: &str) -> Result<Option<String>> {
        let admin = connect(&self.admin_config()).await?;
        // language=PostgreSQL
        let sql = "SELECT shobj_description(oid, 'pg_database') \
                   FROM pg_catalog.pg_database WHERE datname = $1";
        let row = admin
            .query_opt(sql, &[&name])
            .await
            .map_err(|e| Error::query(format!("reading the comment of database {name}"), e))?;
        Ok(row.and_then(|r| r.get::<_, Option<String>>(0)))
    }

    /// The databases whose comment starts with `marker` (databases kept with
    /// [`TempDb::keep_as`]).
    pub async fn kept_databases(&self, marker: &str) -> Result<Vec<KeptDb>> {
        let admin = connect(&self.admin_config()).await?;
        // language=PostgreSQL
        let sql = "SELECT datname, shobj_description(oid, 'pg_database') \
                   FROM pg_catalog.pg_database \
                   WHERE starts_with(coalesce(shobj_description(oid, 'pg_database'), ''), $1)";
        let rows = admin
            .query(sql, &[&marker])
            .await
            .map_err(|e| Error::query("listing kept databases", e))?;
        Ok(rows
            .into_iter()
            .map(|r| KeptDb {
                name: r.get(0),
                comment: r.get::<_, Option<String>>(1).unwrap_or_default(),
            })
            .collect())
    }

    /// Drops the kept database `name` unless someone is connected to it or copying it
    /// (`Ok(false)` then, and when it is already gone).
    pub async fn drop_kept_database(&self, name: &str) -> Result<bool> {
        let admin = connect(&self.admin_config()).await?;
        // A session waits at most this long for the lock a concurrent copy holds.
        admin
            .batch_execute("SET lock_timeout = '2s'")
            .await
            .map_err(|e| Error::query("setting lock_timeout", e))?;
        // language=PostgreSQL
        let sql = format!("DROP DATABASE {}", quote_ident(name));
        match admin.batch_execute(&sql).await {
            Ok(()) => Ok(true),
            Err(e)
                if matches!(
                    sqlstate(&e),
                    Some(NO_SUCH_DATABASE | OBJECT_IN_USE | LOCK_NOT_AVAILABLE)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::query(format!("dropping database {name}"), e)),
        }
    }

    /// Starts `CREATE DATABASE name TEMPLATE template` (PostgreSQL's default strategy) on a
    /// thread of its own and returns once the statement is on its way to the server, or after
    /// `wait` at most; the server finishes it even when this process exits first. The copy is
    /// neither guarded nor marked: it stays until [`Server::claim_database`] takes it (or
    /// someone drops it). Best effort: when `name` is taken (another process made it first),
    /// the template is gone or the server cannot be reached, nothing is made.
    pub fn create_database_in_background(
        &self,
        name: &str,
        template: &str,
        wait: std::time::Duration,
    ) {
        run_in_background(self.admin_config(), copy_statement(name, template), wait);
    }

    /// [`Server::claim_database`], but while a copy of `template` named `name` is still being
    /// made ([`Server::create_database_in_background`], by this process or another), waits for
    /// it, `max_wait` at most: a copy under way since the last proof finishes sooner than a new
    /// one, and two copies at once would each take longer. A copy whose statement the server
    /// has not started yet (sent milliseconds ago) counts as absent.
    pub async fn claim_database_when_made(
        self: &Arc<Self>,
        name: &str,
        template: &str,
        prefix: &str,
        max_wait: std::time::Duration,
    ) -> Result<Option<TempDb>> {
        let started = std::time::Instant::now();
        // One connection for every look.
        let admin = connect(&self.admin_config()).await?;
        let copying = copy_statement(name, template);
        loop {
            if let Some(db) = self.claim_on(&admin, name, prefix).await? {
                return Ok(Some(db));
            }
            if !running(&admin, &copying).await? {
                // Not (or no longer) being made; it may have been finished between the two
                // looks.
                return self.claim_on(&admin, name, prefix).await;
            }
            if started.elapsed() >= max_wait {
                return Ok(None);
            }
            tokio::time::sleep(CLAIM_POLL).await;
        }
    }

    /// Takes database `name` (one made by [`Server::create_database_in_background`]): renamed to
    /// a fresh name of pgkit's scheme and marked, in one transaction, so that from then on it
    /// is a [`TempDb`] like any other (dropped with its guard, swept when its process is gone).
    /// `Ok(None)` when there is no such database: never made, still being made, or taken by
    /// another process first; also when someone is connected to it.
    pub async fn claim_database(
        self: &Arc<Self>,
        name: &str,
        prefix: &str,
    ) -> Result<Option<TempDb>> {
        let admin = connect(&self.admin_config()).await?;
        self.claim_on(&admin, name, prefix).await
    }

    /// [`Server::claim_database`] over the connection `admin`.
    async fn claim_on(
        self: &Arc<Self>,
        admin: &Client,
        name: &str,
        prefix: &str,
    ) -> Result<Option<TempDb>> {
        let new = unique_name(prefix);
        let sql = rename_statement(name, &new, &marker_comment());
        match admin.batch_execute(&sql).await {
            Ok(()) => Ok(Some(TempDb {
                server: Arc::clone(self),
                name: new,
            })),
            Err(e) if matches!(sqlstate(&e), Some(NO_SUCH_DATABASE | OBJECT_IN_USE)) => {
                let _ = admin.batch_execute("ROLLBACK").await;
                Ok(None)
            }
            Err(e) => {
                let _ = admin.batch_execute("ROLLBACK").await;
                Err(Error::query(format!("claiming database {name}"), e))
            }
        }
    }

    /// The names of the databases whose name starts with `prefix`.
    pub async fn database_names(&self, prefix: &str) -> Result<Vec<String>> {
        let admin = connect(&self.admin_config()).await?;
        // language=PostgreSQL
        let sql = "SELECT datname FROM pg_catalog.pg_database \
                   WHERE starts_with(datname, $1) ORDER BY datname";
        let rows = admin
            .query(sql, &[&prefix])
            .await
            .map_err(|e| Error::query("listing databases", e))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// `CREATE DATABASE <unique name> <how>`, then the pgkit marker.
    async fn create_marked(self: &Arc<Self>, prefix: &str, how: &str) -> Result<TempDb> {
        if self.is_local() {
            // Best effort: a failed sweep must not stop the caller.
            self.swept
                .get_or_init(|| async { sweep(&self.admin_config()).await.unwrap_or(()) })
                .await;
        }
        let name = unique_name(prefix);
        let admin = connect(&self.admin_config()).await?;
        let quoted = quote_ident(&name);
        // language=PostgreSQL
        let create = format!("CREATE DATABASE {quoted} {how}");
        admin
            .batch_execute(&create)
            .await
            .map_err(|e| Error::query(format!("creating database {name}"), e))?;
        let db = TempDb {
            server: Arc::clone(self),
            name,
        };
        let comment = marker_comment();
        // language=PostgreSQL
        let mark = format!(
            "COMMENT ON DATABASE {quoted} IS {}",
            quote_literal(&comment)
        );
        admin
            .batch_execute(&mark)
            .await
            .map_err(|e| Error::query(format!("marking database {}", db.name), e))?;
        Ok(db)
    }
}

impl TempDb {
    /// Keeps this database past the guard: renamed to `name` with `comment` (in one
    /// transaction), so it is neither dropped nor swept (the comment must not start with
    /// pgkit's marker). Every connection to it must be closed first (PostgreSQL waits a few
    /// seconds for closing ones). `Ok(false)` when a database `name` already exists: this one is
    /// dropped then, and the existing one is left as it is.
    pub async fn keep_as(mut self, name: &str, comment: &str) -> Result<bool> {
        let admin = connect(&self.server.admin_config()).await?;
        let sql = rename_statement(&self.name, name, comment);
        match admin.batch_execute(&sql).await {
            Ok(()) => {
                // Renamed: nothing for the guard to drop.
                self.name.clear();
                Ok(true)
            }
            Err(e) if sqlstate(&e) == Some(DUPLICATE_DATABASE) => {
                let _ = admin.batch_execute("ROLLBACK").await;
                Ok(false)
            }
            Err(e) => {
                let _ = admin.batch_execute("ROLLBACK").await;
                Err(Error::query(
                    format!("keeping database {} as {name}", self.name),
                    e,
                ))
            }
        }
    }

    /// Drops the database on a thread of its own and returns once the `DROP DATABASE` is on
    /// its way to the server, or after `wait` at most. PostgreSQL checkpoints the whole server
    /// to drop a database (seconds on a busy one); the server finishes the drop even when this
    /// process exits first, and a drop that never reached it leaves the database to the sweep
    /// of a later run (it carries the marker).
    pub fn drop_in_background(mut self, wait: std::time::Duration) {
        let admin = self.server.admin_config();
        // The guard has nothing left to drop.
        let name = std::mem::take(&mut self.name);
        run_in_background(admin, drop_statement(&name), wait);
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server it lives on.
    pub fn server(&self) -> &Arc<Server> {
        &self.server
    }

    /// Connect configuration for this database. Its sessions commit without waiting for the
    /// write-ahead log to reach the disk (`synchronous_commit = off`): a scratch database is
    /// thrown away, so a commit lost in a crash of the server costs nothing, and each commit
    /// waiting for a flush is most of the time of a short transaction (a concurrent index build
    /// commits three times).
    pub fn config(&self) -> Config {
        let mut config = self.server.admin_config();
        config.dbname(&self.name);
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {SCRATCH_OPTIONS}"),
            _ => SCRATCH_OPTIONS.to_owned(),
        };
        config.options(&options);
        config
    }

    /// `postgres://user@host:port/db`, usable by `psql` and `pg_dump` (a socket directory is
    /// percent-encoded in the host part). Never contains a password: a server that needs one
    /// gets it from `config().get_password()` (e.g. as `PGPASSWORD`).
    pub fn url(&self) -> String {
        url_of(&self.config())
    }

    /// A new connection to this database; its connection task runs on the current runtime.
    pub async fn connect(&self) -> Result<Client> {
        connect(&self.config()).await
    }

    /// Runs `sql` (any number of statements) with the simple-query protocol on a fresh
    /// connection.
    pub async fn execute_script(&self, sql: &str) -> Result<()> {
        let client = self.connect().await?;
        client
            .batch_execute(sql)
            .await
            .map_err(|e| Error::query(format!("running a script in database {}", self.name), e))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if self.name.is_empty() {
            // Kept (`keep_as`): nothing to drop.
            return;
        }
        // On a thread of its own, joined: the drop is synchronous, inside a runtime or not.
        let admin = self.server.admin_config();
        let name = std::mem::take(&mut self.name);
        // Errors cannot be reported from Drop; a leftover is swept by a later run.
        let _ = on_own_thread(async move {
            let _ = drop_database(&admin, &name).await;
        })
        .join();
    }
}

/// Runs `work` on a thread of its own with a runtime of its own: this works inside a runtime
/// (where blocking on a future is forbidden) and outside any. Join the handle to wait for it;
/// a thread or runtime that cannot be started runs nothing.
pub fn on_own_thread<F>(work: F) -> std::thread::JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            runtime.block_on(work);
        }
    })
}

/// Runs `sql` over a fresh connection to `admin` on a thread of its own and returns once the
/// statement is on its way to the server, or after `wait` at most (errors are ignored). The
/// server finishes a statement it has received even when this process exits first.
fn run_in_background(admin: Config, sql: String, wait: std::time::Duration) {
    let (sent, on_the_way) = std::sync::mpsc::channel::<()>();
    on_own_thread(async move {
        let Ok(client) = connect(&admin).await else {
            return;
        };
        let run = client.batch_execute(&sql);
        tokio::pin!(run);
        // A moment of running hands the statement to the connection, which writes it at
        // once; then the caller may go.
        let early = tokio::time::timeout(SEND_GRACE, &mut run).await;
        let _ = sent.send(());
        if early.is_err() {
            let _ = run.await;
        }
    });
    let _ = on_the_way.recv_timeout(wait);
}

/// The comment pgkit marks its databases with: the marker, this process and this host (what
/// the sweep reads).
fn marker_comment() -> String {
    format!(
        "{MARKER}; pid={}; host={}",
        std::process::id(),
        util::hostname().replace('\'', "")
    )
}

/// Renames database `from` to `to` and sets its comment, in one transaction.
fn rename_statement(from: &str, to: &str, comment: &str) -> String {
    // language=PostgreSQL
    format!(
        "BEGIN; ALTER DATABASE {} RENAME TO {}; COMMENT ON DATABASE {} IS {}; COMMIT",
        quote_ident(from),
        quote_ident(to),
        quote_ident(to),
        quote_literal(comment)
    )
}

/// Whether a session is running the statement `sql` (exactly that text) now, read over
/// `admin`.
async fn running(admin: &Client, sql: &str) -> Result<bool> {
    // language=PostgreSQL
    let probe = "SELECT EXISTS (SELECT FROM pg_catalog.pg_stat_activity \
                 WHERE state = 'active' AND query = $1)";
    let row = admin
        .query_one(probe, &[&sql])
        .await
        .map_err(|e| Error::query("reading pg_stat_activity", e))?;
    Ok(row.get(0))
}

/// `CREATE DATABASE name TEMPLATE template` (the server's default strategy).
fn copy_statement(name: &str, template: &str) -> String {
    // language=PostgreSQL
    format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(name),
        quote_ident(template)
    )
}

/// `DROP DATABASE IF EXISTS name WITH (FORCE)`.
fn drop_statement(name: &str) -> String {
    // language=PostgreSQL
    format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name))
}

/// [`drop_statement`] over a fresh connection to `admin`.
async fn drop_database(admin: &Config, name: &str) -> Result<()> {
    let client = connect(admin).await?;
    client
        .batch_execute(&drop_statement(name))
        .await
        .map_err(|e| Error::query(format!("dropping database {name}"), e))
}

/// Drops databases pgkit created in processes (on this host) that no longer exist.
async fn sweep(admin: &Config) -> Result<()> {
    let client = connect(admin).await?;
    // language=PostgreSQL
    let sql = "SELECT datname, shobj_description(oid, 'pg_database') \
               FROM pg_catalog.pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1";
    let rows = client
        .query(sql, &[&format!("{MARKER};%")])
        .await
        .map_err(|e| Error::query("listing leftover databases", e))?;
    let host = util::hostname().replace('\'', "");
    for row in rows {
        let name: String = row.get(0);
        let comment: Option<String> = row.get(1);
        let Some(pid) = parse_name(&name).map(|parts| parts.pid) else {
            continue;
        };
        let same_host = comment.is_some_and(|c| c.ends_with(&format!("; host={host}")));
        if same_host && pid != std::process::id() && !util::pid_alive(pid) {
            // Another sweeper may win the race; IF EXISTS makes that harmless.
            let _ = drop_database(admin, &name).await;
        }
    }
    Ok(())
}

/// The parts of a pgkit database name.
#[derive(Debug, PartialEq, Eq)]
struct NameParts<'a> {
    /// The (sanitised, possibly shortened) prefix.
    prefix: &'a str,
    /// Process id of the creator.
    pid: u32,
    /// Per-process counter.
    counter: u64,
}

/// `<prefix>_<pid>_<counter>_<random>` with a sanitised prefix, at most 63 bytes.
fn unique_name(prefix: &str) -> String {
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random: String = (0..RANDOM_LEN).map(|_| fastrand::lowercase()).collect();
    let suffix = format!("_{}_{counter}_{random}", std::process::id());
    let mut prefix: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !prefix.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        prefix.insert_str(0, "pgkit");
    }
    prefix.truncate(MAX_NAME_BYTES.saturating_sub(suffix.len()));
    prefix + &suffix
}

/// Reads a name made by [`unique_name`] back, `None` for any other name.
fn parse_name(name: &str) -> Option<NameParts<'_>> {
    let mut parts = name.rsplitn(4, '_');
    let random = parts.next()?;
    let counter = parts.next()?;
    let pid = parts.next()?;
    let prefix = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if random.len() != RANDOM_LEN
        || !random.bytes().all(|b| b.is_ascii_lowercase())
        || !digits(counter)
        || !digits(pid)
        || prefix.is_empty()
    {
        return None;
    }
    Some(NameParts {
        prefix,
        pid: pid.parse().ok()?,
        counter: counter.parse().ok()?,
    })
}

/// `"name"` with embedded quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled (standard_conforming_strings is on since 9.1).
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_short_and_parseable() {
        let long = "A_Very-Long Prefix that goes on and on and on and on and on and on and on";
        let mut seen = HashSet::new();
        for prefix in ["jp_test", long, "", "9lives", "ünïcode"] {
            for _ in 0..200 {
                let name = unique_name(prefix);
                assert!(name.len() <= MAX_NAME_BYTES, "{name}");
                assert_eq!(name, name.to_ascii_lowercase());
                assert!(
                    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "{name}"
                );
                assert!(!name.starts_with(|c: char| c.is_ascii_digit()), "{name}");
                let parts = parse_name(&name).unwrap();
                assert_eq!(parts.pid, std::process::id());
                assert!(seen.insert(name.clone()), "duplicate {name}");
            }
        }
        assert!(unique_name("jp_test").starts_with("jp_test_"));
    }

    #[test]
    fn foreign_names_do_not_parse() {
        for name in [
            "postgres",
            "jobpilot",
            "a_1_2",
            "a_1_2_ABCDEFGH",
            "a_x_2_abcdefgh",
            "_1_2_abcdefgh",
        ] {
            assert_eq!(parse_name(name), None, "{name}");
        }
        assert_eq!(
            parse_name("jp_x_12_3_abcdefgh"),
            Some(NameParts {
                prefix: "jp_x",
                pid: 12,
                counter: 3
            })
        );
    }

    async fn exists(server: &Server, name: &str) -> bool {
        let client = connect(&server.admin_config()).await.unwrap();
        // language=PostgreSQL
        let sql = "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = $1";
        client
            .query_one(sql, &[&name])
            .await
            .unwrap()
            .get::<_, i64>(0)
            == 1
    }

    #[tokio::test]
    async fn create_connect_and_drop() {
        let server = Server::shared().await.unwrap();
        let db = server.create_database("pgkit_test").await.unwrap();
        let name = db.name().to_owned();
        assert!(exists(&server, &name).await);
        db.execute_script("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
            .await
            .unwrap();
        let client = db.connect().await.unwrap();
        let row = client
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 2);
        // A scratch database's sessions do not wait for the WAL flush on commit.
        let setting: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(setting, "off");
        assert!(db.url().ends_with(&format!("/{name}")), "{}", db.url());
        // An open connection does not stop the drop (WITH FORCE).
        drop(db);
        assert!(!exists(&server, &name).await);
        assert!(client.simple_query("SELECT 1").await.is_err());
    }

    /// Whether `check` comes true within 10 s, asked every 20 ms.
    async fn eventually<F, Fut>(mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..500 {
            if check().await {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }

    /// A database kept as `name` (comment `pgkit test kept <name>`, returned) holding table `t`
    /// with one row, `id` = `value`.
    async fn kept_with_row(server: &Arc<Server>, name: &str, value: i32) -> String {
        let db = server.create_database("pgkit_keep").await.unwrap();
        db.execute_script(&format!(
            "CREATE TABLE t (id int); INSERT INTO t VALUES ({value})"
        ))
        .await
        .unwrap();
        let comment = format!("pgkit test kept {name}");
        assert!(db.keep_as(name, &comment).await.unwrap());
        comment
    }

    #[tokio::test]
    async fn kept_databases_are_cloned_listed_and_dropped() {
        let server = Server::shared().await.unwrap();
        let kept = format!("pgkit_kept_{}", fastrand::u64(..));
        assert_eq!(parse_name(&kept), None, "the sweeper must not take it");
        let comment = kept_with_row(&server, &kept, 7).await;
        assert!(exists(&server, &kept).await);
        assert_eq!(
            server.database_comment(&kept).await.unwrap().as_deref(),
            Some(comment.as_str())
        );
        // The name is taken: the second one is dropped, the first left alone.
        let other = server.create_database("pgkit_keep").await.unwrap();
        let other_name = other.name().to_owned();
        assert!(!other.keep_as(&kept, "another").await.unwrap());
        assert!(!exists(&server, &other_name).await);
        assert_eq!(
            server.database_comment(&kept).await.unwrap().as_deref(),
            Some(comment.as_str())
        );
        // Clones carry the rows and pgkit's marker; a missing template is `None`.
        for strategy in [CopyStrategy::WalLog, CopyStrategy::FileCopy] {
            let clone = server
                .create_database_from("pgkit_clone", &kept, strategy)
                .await
                .unwrap()
                .unwrap();
            let client = clone.connect().await.unwrap();
            let row = client.query_one("SELECT id FROM t", &[]).await.unwrap();
            assert_eq!(row.get::<_, i32>(0), 7);
            let marker = server.database_comment(clone.name()).await.unwrap();
            assert!(marker.unwrap().starts_with(MARKER));
        }
        let missing = server
            .create_database_from(
                "pgkit_clone",
                "pgkit_no_such_template",
                CopyStrategy::WalLog,
            )
            .await
            .unwrap();
        assert!(missing.is_none());
        let listed = server.kept_databases("pgkit test kept ").await.unwrap();
        assert!(
            listed
                .iter()
                .any(|k| k.name == kept && k.comment == comment)
        );
        // In use: not dropped.
        let busy = connect(&{
            let mut c = server.admin_config();
            c.dbname(&kept);
            c
        })
        .await
        .unwrap();
        assert!(!server.drop_kept_database(&kept).await.unwrap());
        drop(busy);
        assert!(eventually(|| async { server.drop_kept_database(&kept).await.unwrap() }).await);
        assert!(!exists(&server, &kept).await);
    }

    #[tokio::test]
    async fn spare_copies_are_made_in_the_background_and_claimed_once() {
        let server = Server::shared().await.unwrap();
        let template = format!("pgkit_spare_tpl_{}", fastrand::u64(..));
        kept_with_row(&server, &template, 9).await;
        let spare = format!("pgkit_spare_copy_{}", fastrand::u64(..));
        assert_eq!(parse_name(&spare), None, "the sweeper must not take it");
        let unclaimed = || async {
            server
                .claim_database(&spare, "pgkit_claimed")
                .await
                .unwrap()
                .is_none()
        };
        // Nothing to claim yet.
        assert!(unclaimed().await);
        server.create_database_in_background(&spare, &template, std::time::Duration::from_secs(5));
        assert!(
            eventually(|| exists(&server, &spare)).await,
            "the spare copy was never made"
        );
        assert_eq!(
            server
                .database_names("pgkit_spare_copy_")
                .await
                .unwrap()
                .iter()
                .filter(|n| **n == spare)
                .count(),
            1
        );
        // A second one under the same name: nothing happens (the name is taken).
        server.create_database_in_background(&spare, &template, std::time::Duration::from_secs(5));
        let claimed = server
            .claim_database(&spare, "pgkit_claimed")
            .await
            .unwrap()
            .expect("the spare is claimed");
        assert!(!exists(&server, &spare).await);
        assert!(parse_name(claimed.name()).is_some(), "{}", claimed.name());
        let marker = server.database_comment(claimed.name()).await.unwrap();
        assert!(marker.unwrap().starts_with(MARKER));
        let client = claimed.connect().await.unwrap();
        let row = client.query_one("SELECT id FROM t", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 9);
        // Claimed once: a second claim finds nothing.
        assert!(unclaimed().await);
        let name = claimed.name().to_owned();
        drop(client);
        drop(claimed);
        assert!(!exists(&server, &name).await);
        // Claimed while it is still being made: waited for (under another name: the second
        // copy above may still land under the first). A session connected to the template
        // holds the copy up (PostgreSQL waits up to 5 s for it to go) until the claim is
        // waiting.
        let waiting = format!("{spare}_w");
        let blocker = connect(&{
            let mut c = server.admin_config();
            c.dbname(&template);
            c
        })
        .await
        .unwrap();
        server.create_database_in_background(
            &waiting,
            &template,
            std::time::Duration::from_secs(5),
        );
        let copying = copy_statement(&waiting, &template);
        let admin = connect(&server.admin_config()).await.unwrap();
        assert!(
            eventually(|| async { running(&admin, &copying).await.unwrap() }).await,
            "the copy never started"
        );
        let long = std::time::Duration::from_secs(60);
        let release = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            drop(blocker);
        };
        let (waited, ()) = tokio::join!(
            server.claim_database_when_made(&waiting, &template, "pgkit_claimed", long),
            release
        );
        let waited = waited.unwrap().expect("claimed once made");
        let client = waited.connect().await.unwrap();
        let row = client.query_one("SELECT id FROM t", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 9);
        drop(client);
        drop(waited);
        let none = server
            .claim_database_when_made(&waiting, &template, "pgkit_claimed", long)
            .await
            .unwrap();
        assert!(none.is_none());
        admin
            .batch_execute(&drop_statement(&template))
            .await
            .unwrap();
        // The second background copy may have been made after all, once the first was
        // claimed: tidy it up too.
        admin.batch_execute(&drop_statement(&spare)).await.unwrap();
        admin
            .batch_execute(&drop_statement(&waiting))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn dropped_after_a_panic() {
        let server = Server::shared().await.unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let in_thread = Arc::clone(&server);
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let db = runtime
                .block_on(in_thread.create_database("pgkit_panic"))
                .unwrap();
            tx.send(db.name().to_owned()).unwrap();
            panic!("test body failed while {} existed", db.name());
        })
        .join();
        assert!(outcome.is_err());
        let name = rx.recv().unwrap();
        assert!(!exists(&server, &name).await, "{name} survived the panic");
    }

    #[test]
    fn dropped_outside_a_runtime() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(Server::shared()).unwrap();
        let db = runtime
            .block_on(server.create_database("pgkit_sync"))
            .unwrap();
        let name = db.name().to_owned();
        drop(db); // not inside block_on
        assert!(!runtime.block_on(exists(&server, &name)));
    }

    #[tokio::test]
    async fn sweep_drops_databases_of_dead_processes_only() {
        let server = Server::shared().await.unwrap();
        let admin = connect(&server.admin_config()).await.unwrap();
        // A pid far above pid_max (4194304) is never alive.
        let dead = format!("pgkit_sweep_{}_0_abcdefgh", 999_999_999u32);
        let alive = unique_name("pgkit_sweep");
        let unmarked = format!("pgkit_sweep_{}_1_abcdefgh", 999_999_999u32);
        let host = util::hostname().replace('\'', "");
        for (name, marked) in [(&dead, true), (&alive, true), (&unmarked, false)] {
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote_ident(name)))
                .await
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
                .await
                .unwrap();
            if marked {
                let comment = format!("{MARKER}; pid=0; host={host}");
                admin
                    .batch_execute(&format!(
                        "COMMENT ON DATABASE {} IS {}",
                        quote_ident(name),
                        quote_literal(&comment)
                    ))
                    .await
                    .unwrap();
            }
        }
        sweep(&server.admin_config()).await.unwrap();
        assert!(!exists(&server, &dead).await);
        assert!(exists(&server, &alive).await);
        assert!(exists(&server, &unmarked).await);
        for name in [&alive, &unmarked] {
            drop_database(&server.admin_config(), name).await.unwrap();
        }
    }
}
