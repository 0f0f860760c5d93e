//! Introspection: a live database's catalogs read back into the IR ([`Schema`]).
//!
//! This is the one path by which SQL reaches the model (DESIGN.md, "SQL is read by PostgreSQL"):
//! live databases, SQL files and replayed migrations (both applied to a scratch database first)
//! all come through [`introspect`]. It reads one consistent snapshot (a `REPEATABLE READ READ
//! ONLY` transaction) with `search_path` emptied, so every expression PostgreSQL prints back
//! (`pg_get_expr`, `pg_get_viewdef`, `format_type`…) is schema-qualified and deterministic, which
//! is what makes it the canonical form the rest of the toolkit compares.
//!
//! The work is a fixed number of catalog queries, one per object kind over every governed schema
//! (never one per table), in `queries/*.sql`; their rows are mapped by column name into the model
//! with `HashMap`s keyed by oid. What the model cannot represent is listed in
//! [`Introspection::unsupported`], never dropped silently; which schemas count and what Supabase
//! itself owns is decided by [`Filter`].

mod acl;
mod filter;
pub mod fingerprint;
mod load;
mod relations;
mod routines;
mod rows;
mod types;

pub use filter::{Filter, PLATFORM_EXTENSIONS, SUPABASE_SCHEMAS, is_system_schema};

use crate::model::{QualifiedName, Schema, Unsupported};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

/// What [`introspect`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    /// The governed part of the database, in the model's canonical form.
    pub schema: Schema,
    /// Objects found in governed schemas that the model cannot represent, sorted. Import refuses
    /// to go on while there are any.
    pub unsupported: Vec<Unsupported>,
    /// The server's `server_version` (recorded in the canonical-forms lock).
    pub server_version: String,
    /// How many catalog queries were run: a constant for a given database shape, whatever the
    /// number of objects (the transaction's `BEGIN`/`SET`/`ROLLBACK` are not counted). With the
    /// cache, the fingerprint counts as one query per session.
    pub queries: usize,
    /// Whether the result came from the cache of introspections (the catalogs' fingerprint was
    /// that of an earlier run: [`Sessions::introspect_cached`]).
    pub from_cache: bool,
}

/// What the cache of introspections keeps of an [`Introspection`].
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedIntrospection {
    schema: Schema,
    unsupported: Vec<Unsupported>,
    server_version: String,
}

/// The version of the cache entries of introspections.
const CACHE_FORMAT: &str = "introspection-v1";

/// Introspection failed.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// The snapshot transaction could not be started or ended.
    #[error("introspection transaction: {message}")]
    Transaction {
        /// PostgreSQL's message.
        message: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A catalog query failed.
    #[error("catalog query `{query}` failed: {message}")]
    Query {
        /// The query's name (its file under `introspect/queries/`).
        query: &'static str,
        /// PostgreSQL's message.
        message: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A catalog row held a value the model cannot take (an unknown action letter, a type that
    /// does not parse…).
    #[error("catalog query `{query}`, {object}: {message}")]
    Row {
        /// The query's name.
        query: &'static str,
        /// The object the row describes (`table public.users`).
        object: String,
        /// What is wrong.
        message: String,
    },
    /// Row-level security hides rows of a table that introspection reads from the session's
    /// role: what it read would be incomplete.
    #[error(
        "row-level security on {table} hides its rows from role {role}, so they cannot be read \
         whole; connect as the table's owner or a role with BYPASSRLS (on Supabase: postgres or \
         service_role)"
    )]
    RowsHidden {
        /// The table (`storage.buckets`).
        table: String,
        /// The session's role.
        role: String,
    },
    /// The server is older than the catalogs these queries read.
    #[error("PostgreSQL {version} is not supported: introspection needs PostgreSQL 15 or later")]
    UnsupportedServer {
        /// `server_version`.
        version: String,
    },
}

/// PostgreSQL's message for a driver error, with its detail and hint when there are any.
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = db.message().to_owned();
            if let Some(detail) = db.detail() {
                m.push_str(": ");
                m.push_str(detail);
            }
            if let Some(hint) = db.hint() {
                m.push_str(" (hint: ");
                m.push_str(hint);
                m.push(')');
            }
            m
        }
        None => e.to_string(),
    }
}

/// Reads the governed part of the database `client` is connected to.
///
/// Runs in its own `REPEATABLE READ READ ONLY` transaction, so `client` must not be inside a
/// transaction already; nothing is written. The number of queries is fixed (see
/// [`Introspection::queries`]); independent queries are pipelined on the one connection.
pub async fn introspect(
    client: &Client,
    filter: &Filter,
) -> Result<Introspection, IntrospectError> {
    introspect_sessions(client, None, filter, None, None).await
}

/// [`introspect`] on two sessions of the same database that share one snapshot: the first
/// exports its snapshot (`pg_export_snapshot`) and the second adopts it (`SET TRANSACTION
/// SNAPSHOT`), so both read exactly the same catalog state, and the catalog queries are split
/// between them so that two server processes work at once (PostgreSQL runs one query on one
/// core; pg_dump `--jobs` shares its snapshot the same way). Neither client may be inside a
/// transaction; nothing is written. The result is the same as [`introspect`]'s.
pub async fn introspect_parallel(
    client: &Client,
    second: &Client,
    filter: &Filter,
) -> Result<Introspection, IntrospectError> {
    introspect_sessions(client, Some(second), filter, None, None).await
}

/// [`introspect_parallel`] restricted to what a change to the tables and views `relations` can
/// reach: every object that is not a relation is read as usual, but of the tables, views and
/// foreign tables only those of `relations` that exist and, from the server's dependency
/// records, every relation with an object that depends on one of them directly
/// (`queries/reach.sql`),
/// with their columns, constraints, indexes, triggers, policies and grants. The proof of a plan
/// reads back only what the plan can have changed this way, on a big schema many times faster
/// than all of it.
pub async fn introspect_reach(
    client: &Client,
    second: &Client,
    filter: &Filter,
    relations: &[QualifiedName],
) -> Result<Introspection, IntrospectError> {
    let names: Vec<String> = relations.iter().map(ToString::to_string).collect();
    introspect_sessions(client, Some(second), filter, None, Some(&names)).await
}

/// The tables, views and foreign tables a change to `relations` can reach, by name: those of
/// `relations` that exist, and every relation that depends on one of them directly, as
/// [`introspect_reach`] reads them (`queries/reach.sql`). One query, in its own statement.
pub async fn reachable_relations(
    client: &Client,
    relations: &[QualifiedName],
) -> Result<Vec<QualifiedName>, IntrospectError> {
    let names: Vec<String> = relations.iter().map(ToString::to_string).collect();
    let sql = format!(
        "SELECT n.nspname::pg_catalog.text AS schema, c.relname::pg_catalog.text AS name \
         FROM ({}) AS x JOIN pg_catalog.pg_class c ON c.oid = x.oid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
        Q_REACH.sql
    );
    let rows = query_alone(client, Q_REACH.name, &sql, &[(&names, Type::TEXT_ARRAY)]).await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let r = rows::RowReader::new(&Q_REACH, row);
        found.push(r.qualified("schema", "name")?);
    }
    Ok(found)
}

/// Runs `sql` (the catalog query `name`, or a query around it) in a statement of its own.
pub(crate) async fn query_alone(
    client: &Client,
    name: &'static str,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Vec<Row>, IntrospectError> {
    client
        .query_typed(sql, params)
        .await
        .map_err(|source| IntrospectError::Query {
            query: name,
            message: pg_message(&source),
            source,
        })
}

/// Why [`Sessions::connect`] could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No answer within the time limit.
    #[error("no answer within {} s", .0.as_secs_f64())]
    Timeout(std::time::Duration),
    /// The server refused or the connection broke.
    #[error("{0}")]
    Connect(#[source] tokio_postgres::Error),
}

/// The sessions a live database is read through: a first one, and a second one when the server
/// gives it (the catalog queries are then split between them: [`introspect_parallel`]).
pub struct Sessions {
    first: Client,
    second: Option<Client>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sessions {
    /// Opens both sessions at once. Only the first one must succeed: a server that refuses the
    /// second (a connection limit, say) is read through the first alone.
    pub async fn connect(
        config: &tokio_postgres::Config,
        timeout: std::time::Duration,
    ) -> Result<Sessions, ConnectError> {
        let connect = || async {
            match tokio::time::timeout(timeout, config.connect(tokio_postgres::NoTls)).await {
                Ok(Ok((client, connection))) => {
                    let task = tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok((client, task))
                }
                Ok(Err(e)) => Err(ConnectError::Connect(e)),
                Err(_) => Err(ConnectError::Timeout(timeout)),
            }
        };
        // The server decides which of the two it accepts when it accepts only one (a
        // connection limit): whichever succeeded is the first session. Two backends starting
        // at once under a limit of one may both be refused (each counts the other): then one
        // more connection, alone.
        let (a, b) = tokio::join!(connect(), connect());
        let ((first, first_task), second) = match (a, b) {
            (Ok(a), Ok(b)) => (a, Some(b)),
            (Ok(a), Err(_)) | (Err(_), Ok(a)) => (a, None),
            (Err(ConnectError::Timeout(t)), Err(_)) => return Err(ConnectError::Timeout(t)),
            (Err(_), Err(_)) => (Self::connect_alone(&connect).await?, None),
        };
        let mut tasks = vec![first_task];
        let second = second.map(|(client, task)| {
            tasks.push(task);
            client
        });
        Ok(Sessions {
            first,
            second,
            tasks,
        })
    }

    /// One connection after both were refused: tried again (three times in all, a little
    /// later each time, while the refused backends exit) as long as the refusal is "too many
    /// connections" (SQLSTATE 53300); any other error at once.
    async fn connect_alone<F, Fut, T>(connect: &F) -> Result<T, ConnectError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ConnectError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match connect().await {
                Err(ConnectError::Connect(e))
                    if attempt < 3
                        && e.code()
                            == Some(&tokio_postgres::error::SqlState::TOO_MANY_CONNECTIONS) =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// The first session, for anything else to read.
    pub fn client(&self) -> &Client {
        &self.first
    }

    /// How many sessions the server gave: 2, or 1 when it refused the second.
    pub fn count(&self) -> usize {
        1 + usize::from(self.second.is_some())
    }

    /// Reads the governed part of the database on both sessions.
    pub async fn introspect(&self, filter: &Filter) -> Result<Introspection, IntrospectError> {
        introspect_sessions(&self.first, self.second.as_ref(), filter, None, None).await
    }

    /// [`Sessions::introspect`] through the cache of introspections in `cache_dir`
    /// ([`crate::cache`]): the catalog state's [`fingerprint`] is read first, in the snapshot
    /// the catalogs would be read in, and when an earlier run read the same state (with the same
    /// filter, toolkit and server) its result is taken instead of reading the catalogs again.
    /// Otherwise the catalogs are read and the result is stored under the fingerprint. A
    /// fingerprint that cannot be read only means reading the catalogs.
    pub async fn introspect_cached(
        &self,
        filter: &Filter,
        cache_dir: &std::path::Path,
    ) -> Result<Introspection, IntrospectError> {
        introspect_sessions(
            &self.first,
            self.second.as_ref(),
            filter,
            Some(cache_dir),
            None,
        )
        .await
    }

    /// Closes the sessions and waits until they are closed.
    pub async fn close(self) {
        drop(self.first);
        drop(self.second);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The snapshot transaction every session opens, and its settings:
/// - JIT compilation costs more than it saves on catalog queries (measured: BENCHMARKS.md).
/// - No parallel workers: the catalog queries are already split between two sessions, and a
///   worker is a new process whose catalog caches start empty, so each expression it deparses
///   (`pg_get_expr` opens the table) rebuilds that table's relation cache entry, on every query
///   (at 10,000 tables `columns` planned two workers and ran slower than without them).
/// - Room to sort in memory: `columns` sorts ~90,000 wide rows at 10,000 tables and spilled to
///   disk with the default 4 MB.
// language=PostgreSQL
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// language=PostgreSQL
const SESSION_SETTINGS: &str = "SET LOCAL search_path = ''; SET LOCAL jit = off; \
     SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL work_mem = '64MB'";

async fn introspect_sessions(
    client: &Client,
    second: Option<&Client>,
    filter: &Filter,
    cache_dir: Option<&std::path::Path>,
    reach: Option<&[String]>,
) -> Result<Introspection, IntrospectError> {
    let transaction = |source: tokio_postgres::Error| IntrospectError::Transaction {
        message: pg_message(&source),
        source,
    };
    client
        .batch_execute(&format!("{BEGIN_SNAPSHOT}; {SESSION_SETTINGS}"))
        .await
        .map_err(transaction)?;
    let mut second_open = false;
    let mut key = None;
    let result = async {
        // The second session adopts the first one's snapshot before anything is read: the
        // fingerprint is read on both, and then the catalogs.
        let second = match second {
            Some(other) => {
                // language=PostgreSQL
                let row = client
                    .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
                    .await
                    .map_err(transaction)?;
                let id: String = row.try_get(0).map_err(transaction)?;
                // The id comes from the server (hex digits and dashes); quoted all the same.
                let adopt = format!(
                    "{BEGIN_SNAPSHOT}; SET TRANSACTION SNAPSHOT {}; {SESSION_SETTINGS}",
                    crate::render::sql::quote_literal(&id)
                );
                second_open = true;
                other.batch_execute(&adopt).await.map_err(transaction)?;
                Some(other)
            }
            None => None,
        };
        // A fingerprint that cannot be read (its savepoints leave both transactions as they
        // were) only means reading the catalogs.
        // (A partial read is never cached.)
        if let Some(dir) = cache_dir.filter(|_| reach.is_none())
            && let Ok(fp) = fingerprint::read_guarded(client, second).await
        {
            let filter_text = format!("{filter:?}");
            let k = crate::cache::key(CACHE_FORMAT, fp.key_parts().chain([filter_text.as_bytes()]));
            if let Some(hit) = crate::cache::read_in::<CachedIntrospection>(dir, &k) {
                return Ok(Found::Cached(hit));
            }
            key = Some(k);
        }
        let runner = Runner {
            client,
            second,
            count: AtomicUsize::new(0),
        };
        let loaded = load::load(&runner, filter, reach).await?;
        Ok(Found::Read(loaded, runner.count.load(Ordering::Relaxed)))
    }
    .await;
    // Nothing was written: ROLLBACK ends the snapshot whether the reading worked or not (on the
    // second session too, even when its BEGIN failed half-way).
    // language=PostgreSQL
    let end = client.batch_execute("ROLLBACK").await;
    if second_open && let Some(other) = second {
        let _ = other.batch_execute("ROLLBACK").await;
    }
    let found = result?;
    end.map_err(transaction)?;
    // The fingerprint: one query per session.
    let fingerprint_queries = if cache_dir.is_some() {
        1 + usize::from(second.is_some())
    } else {
        0
    };
    Ok(match found {
        Found::Cached(hit) => Introspection {
            schema: hit.schema,
            unsupported: hit.unsupported,
            server_version: hit.server_version,
            queries: fingerprint_queries,
            from_cache: true,
        },
        Found::Read((schema, unsupported, server_version), queries) => {
            let entry = CachedIntrospection {
                schema,
                unsupported,
                server_version,
            };
            if let (Some(dir), Some(key)) = (cache_dir, &key) {
                crate::cache::write_in(dir, key, &entry);
            }
            Introspection {
                schema: entry.schema,
                unsupported: entry.unsupported,
                server_version: entry.server_version,
                queries: queries + fingerprint_queries,
                from_cache: false,
            }
        }
    })
}

/// What one introspection run found: an earlier result, or the catalogs read now (and how many
/// queries that took).
enum Found {
    Cached(CachedIntrospection),
    Read((Schema, Vec<Unsupported>, String), usize),
}

/// A catalog query: its name (for errors) and its SQL.
pub(crate) struct Query {
    /// The file name without `.sql`.
    pub name: &'static str,
    /// The SQL text.
    pub sql: &'static str,
}

/// Declares the catalog queries from `queries/<name>.sql`.
macro_rules! queries {
    ($($konst:ident = $name:literal;)*) => {
        $(
            pub(crate) const $konst: Query = Query {
                name: $name,
                sql: include_str!(concat!("queries/", $name, ".sql")),
            };
        )*
    };
}

queries! {
    Q_DATABASE = "database";
    Q_NAMESPACES = "namespaces";
    Q_EXTENSIONS = "extensions";
    Q_COLLATIONS = "collations";
    Q_TYPES = "types";
    Q_RELATIONS = "relations";
    Q_COLUMNS = "columns";
    Q_CONSTRAINTS = "constraints";
    Q_INDEXES = "indexes";
    Q_INDEX_KEYS = "index_keys";
    Q_TRIGGERS = "triggers";
    Q_POLICIES = "policies";
    Q_FUNCTIONS = "functions";
    Q_ACL = "acl";
    Q_DEFAULT_ACL = "default_acl";
    Q_OTHER = "other";
    Q_BUCKETS = "buckets";
    Q_REACH = "reach";
    Q_TOUCHED = "touched";
}

/// Which session a query runs on when there are two ([`introspect_parallel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    First,
    Second,
}

/// Runs catalog queries on the introspection transaction(s) and counts them.
pub(crate) struct Runner<'c> {
    client: &'c Client,
    /// The session sharing the snapshot, when there is one.
    second: Option<&'c Client>,
    count: AtomicUsize,
}

impl Runner<'_> {
    /// Runs `query` with `params` on the first session.
    pub(crate) async fn run(
        &self,
        query: &Query,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, IntrospectError> {
        self.run_on(Lane::First, query, params).await
    }

    /// Runs `query` with `params` (typed, so that the query needs no separate prepare round
    /// trip and leaves no prepared statement behind) on the session of `lane` (the first when
    /// there is only one).
    pub(crate) async fn run_on(
        &self,
        lane: Lane,
        query: &Query,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, IntrospectError> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let client = match (lane, self.second) {
            (Lane::Second, Some(second)) => second,
            _ => self.client,
        };
        client
            .query_typed(query.sql, params)
            .await
            .map_err(|source| IntrospectError::Query {
                query: query.name,
                message: pg_message(&source),
                source,
            })
    }
}

#[cfg(test)]
mod tests;
