//! `db.rs`: the generated crate's runtime support: `Db` connects the way ADR-2
//! prescribes and runs transactions (plain, and as an end user under row-level security);
//! `Page` is what the repositories' keyset-paginated lists return.
//!
//! Rendered rather than hand-written so that `generated/src/` holds only what
//! `codegen generate` writes (`codegen check` compares every file there, and `jobpilot-macros`
//! expands to the same modules). Almost all of it is the same for every schema; what depends on
//! the schema is the list of its enum and domain types, whose PostgreSQL type ids each new
//! connection looks up once (see [`warm_up_sql`]).

use super::RustRenderError;
use super::items::CrateItems;
use super::scope::{Scope, inner_doc};
use super::type_map::{Module, TypePath};
use crate::model::quote_ident;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeSet;

/// `db.rs`.
pub fn render(items: &CrateItems<'_>) -> Result<TokenStream, RustRenderError> {
    let docs = inner_doc(
        "Connecting the way ADR-2 prescribes ([`Db`]): the direct connection (a URL on the \
         pooler's port 6543 is refused unless allowed), no prepared-statement cache, `jit = \
         off`, an application name, timeouts. Transactions that commit on `Ok` and roll back on \
         `Err` or panic ([`Db::transaction`]), the same as an end user under row-level security \
         ([`Db::as_user`]), and the page type of keyset-paginated lists ([`Page`]).",
    );
    let enum_paths: Vec<TypePath> = items
        .enums
        .iter()
        .map(|e| TypePath::Generated(e.path.clone()))
        .collect();
    let scope = Scope::new(Module::Db, None, BTreeSet::new(), &enum_paths);
    let uses = scope.uses()?;
    let mut binds = TokenStream::new();
    for path in &enum_paths {
        let ty = scope.path(path)?;
        binds.extend(quote!(.bind(None::<#ty>).bind(None::<Vec<#ty>>)));
    }
    let warm_up = warm_up_sql(items);
    let (std_uses, body) = template(&warm_up, &binds);
    Ok(quote! { #docs #std_uses #uses #body })
}

/// The statement each new connection runs once, before `DEALLOCATE ALL`: it binds a NULL of
/// every enum (and an array of it) and selects a NULL of every domain, so that sqlx looks up
/// and caches their type ids now. sqlx 0.8 runs those lookups as named prepared statements
/// (its own queries are "persistent"); doing them all at connect time and deallocating them
/// there means no named statement exists afterwards (ADR-2, `statement_cache_size=0`).
pub fn warm_up_sql(items: &CrateItems<'_>) -> String {
    let mut columns: Vec<String> = (1..=items.enums.len() * 2)
        .map(|i| format!("${i}"))
        .collect();
    for name in items.schema.domains.keys() {
        columns.push(format!(
            "NULL::{}.{}",
            quote_ident(name.schema.as_str()),
            quote_ident(name.name.as_str())
        ));
    }
    if columns.is_empty() {
        String::new()
    } else {
        format!("SELECT {}", columns.join(", "))
    }
}

/// The schema-independent part, with the warm-up statement and its binds filled in: its
/// `use` items, and the rest.
fn template(warm_up: &str, binds: &TokenStream) -> (TokenStream, TokenStream) {
    let warm_up_call = if warm_up.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            sqlx::query(#warm_up)
                #binds
                .persistent(false)
                .execute(&mut *conn)
                .await?;
        }
    };
    let uses = quote! {
        use std::any::Any;
        use std::future::Future;
        use std::panic::AssertUnwindSafe;
        use std::pin::Pin;
        use std::task::{Context, Poll};
        use std::time::Duration;

        use serde::{Deserialize, Serialize};
        use sqlx::pool::PoolConnection;
        use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
        use sqlx::{Executor, PgConnection, Postgres, Transaction};
    };
    let items = quote! {
        /// Why a [`Db`] could not be set up. No variant holds the connection URL, so the
        /// password never reaches a message or a log.
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum DbError {
            /// The connection URL does not parse.
            InvalidUrl {
                /// What is wrong with it (sqlx's message, which does not repeat the URL).
                reason: String,
            },
            /// The URL points at the transaction pooler (port 6543), which ADR-2 rules out
            /// unless [`DbOptions::allow_pooler`] says otherwise.
            Pooler {
                /// The host the URL names.
                host: String,
            },
            /// The first connection failed.
            Connect(sqlx::Error),
        }

        /// Why the pooler port is refused: the rest of [`DbError::Pooler`]'s message.
        const POOLER_REFUSED: &str = concat!(
            "is the connection pooler (PgBouncer/Supavisor in transaction mode), which hands ",
            "every transaction to another server session: session settings such as jit = off ",
            "and the statement timeout do not hold there, and prepared statements collide. ",
            "ADR-2 prescribes the direct connection on port 5432: use that URL, or call ",
            "DbOptions::allow_pooler(true) to connect anyway",
        );

        impl std::fmt::Display for DbError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    DbError::InvalidUrl { reason } => {
                        write!(f, "invalid database URL: {reason}")
                    }
                    DbError::Pooler { host } => {
                        write!(f, "{host}:{} {POOLER_REFUSED}", DbOptions::POOLER_PORT)
                    }
                    DbError::Connect(e) => write!(f, "cannot connect to the database: {e}"),
                }
            }
        }

        impl std::error::Error for DbError {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                match self {
                    DbError::Connect(e) => Some(e),
                    _ => None,
                }
            }
        }

        /// How to connect: a URL's settings plus ADR-2's, which every connection gets: no
        /// prepared-statement cache, `jit = off`, an `application_name` and a
        /// `statement_timeout` (as startup options, so they hold for the whole session). Its
        /// `Debug` shows where it connects, never the password.
        #[derive(Clone)]
        pub struct DbOptions {
            connect: PgConnectOptions,
            allow_pooler: bool,
            application_name: String,
            max_connections: u32,
            acquire_timeout: Duration,
            statement_timeout: Option<Duration>,
        }

        impl std::fmt::Debug for DbOptions {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("DbOptions")
                    .field("host", &self.connect.get_host())
                    .field("port", &self.connect.get_port())
                    .field("database", &self.connect.get_database())
                    .field("username", &self.connect.get_username())
                    .field("allow_pooler", &self.allow_pooler)
                    .field("application_name", &self.application_name)
                    .field("max_connections", &self.max_connections)
                    .field("acquire_timeout", &self.acquire_timeout)
                    .field("statement_timeout", &self.statement_timeout)
                    .finish_non_exhaustive()
            }
        }

        impl DbOptions {
            /// Supabase's connection pooler port (transaction mode); ADR-2 wants the direct
            /// connection on 5432.
            pub const POOLER_PORT: u16 = 6543;

            /// The `application_name` connections report (`pg_stat_activity`) unless told
            /// otherwise.
            pub const DEFAULT_APPLICATION_NAME: &'static str = "jobpilot";

            /// Options from a `postgres://` URL. Fails only when the URL does not parse; the
            /// pooler port is refused by [`DbOptions::connect`].
            pub fn from_url(url: &str) -> Result<DbOptions, DbError> {
                url.parse::<PgConnectOptions>()
                    .map(DbOptions::new)
                    .map_err(|e| DbError::InvalidUrl { reason: e.to_string() })
            }

            /// Options from sqlx's connect options, with the defaults: application name
            /// `jobpilot`, 10 connections, 10 s to connect or acquire one, statements cancelled
            /// after 30 s.
            pub fn new(connect: PgConnectOptions) -> DbOptions {
                DbOptions {
                    connect,
                    allow_pooler: false,
                    application_name: DbOptions::DEFAULT_APPLICATION_NAME.to_owned(),
                    max_connections: 10,
                    acquire_timeout: Duration::from_secs(10),
                    statement_timeout: Some(Duration::from_secs(30)),
                }
            }

            /// Connect through the pooler port 6543 after all (ADR-2 says not to: see
            /// [`DbError::Pooler`]).
            pub fn allow_pooler(mut self, allow: bool) -> DbOptions {
                self.allow_pooler = allow;
                self
            }

            /// The `application_name` connections report.
            pub fn application_name(mut self, name: &str) -> DbOptions {
                name.clone_into(&mut self.application_name);
                self
            }

            /// The password, when the URL has none (it is not shown by `Debug`).
            pub fn password(mut self, password: &str) -> DbOptions {
                self.connect = self.connect.password(password);
                self
            }

            /// The most connections the pool opens.
            pub fn max_connections(mut self, max: u32) -> DbOptions {
                self.max_connections = max;
                self
            }

            /// How long to wait for a connection: opening one, or getting one from the pool.
            pub fn acquire_timeout(mut self, timeout: Duration) -> DbOptions {
                self.acquire_timeout = timeout;
                self
            }

            /// The server cancels a statement that runs longer (`statement_timeout`); `None`
            /// leaves the server's setting.
            pub fn statement_timeout(mut self, timeout: Option<Duration>) -> DbOptions {
                self.statement_timeout = timeout;
                self
            }

            /// The options each connection is opened with: the URL's, plus no statement cache,
            /// `jit = off`, the application name and the statement timeout.
            pub fn connect_options(&self) -> PgConnectOptions {
                let mut settings = vec![("jit", "off".to_owned())];
                if let Some(timeout) = self.statement_timeout {
                    settings.push(("statement_timeout", timeout.as_millis().to_string()));
                }
                self.connect
                    .clone()
                    .statement_cache_capacity(0)
                    .application_name(&self.application_name)
                    .options(settings)
            }

            /// Refuses the pooler port unless allowed.
            fn check_port(&self) -> Result<(), DbError> {
                if self.connect.get_port() == DbOptions::POOLER_PORT && !self.allow_pooler {
                    return Err(DbError::Pooler {
                        host: self.connect.get_host().to_owned(),
                    });
                }
                Ok(())
            }

            fn pool_options(&self) -> PgPoolOptions {
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .after_connect(|conn, _| Box::pin(async move { prepare_connection(conn).await }))
            }

            /// Opens the pool and one connection (so that a wrong URL or password fails here).
            pub async fn connect(self) -> Result<Db, DbError> {
                self.check_port()?;
                let pool = self
                    .pool_options()
                    .connect_with(self.connect_options())
                    .await
                    .map_err(DbError::Connect)?;
                Ok(Db { pool, options: self })
            }

            /// The pool without connecting yet: the first query connects.
            pub fn connect_lazy(self) -> Result<Db, DbError> {
                self.check_port()?;
                let pool = self.pool_options().connect_lazy_with(self.connect_options());
                Ok(Db { pool, options: self })
            }
        }

        /// Runs once on every new connection: looks up the schema's enum and domain types
        /// (sqlx caches their ids per connection, but prepares its lookups as named
        /// statements) and then deallocates every prepared statement, so that the connection
        /// holds none. The repositories send only unnamed statements.
        async fn prepare_connection(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
            #warm_up_call
            conn.execute("DEALLOCATE ALL").await?;
            Ok(())
        }

        /// A pool of connections made the way ADR-2 prescribes (see [`DbOptions`]). Clone it
        /// freely: clones share the pool.
        #[derive(Clone)]
        pub struct Db {
            pool: PgPool,
            options: DbOptions,
        }

        impl std::fmt::Debug for Db {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Db")
                    .field("options", &self.options)
                    .field("size", &self.pool.size())
                    .finish()
            }
        }

        impl Db {
            /// Connects to `url` with the default [`DbOptions`]. A URL on the pooler port 6543
            /// is refused ([`DbError::Pooler`]).
            pub async fn connect(url: &str) -> Result<Db, DbError> {
                DbOptions::from_url(url)?.connect().await
            }

            /// Options from `url`, to adjust before [`DbOptions::connect`].
            pub fn options(url: &str) -> Result<DbOptions, DbError> {
                DbOptions::from_url(url)
            }

            /// The underlying sqlx pool.
            pub fn pool(&self) -> &PgPool {
                &self.pool
            }

            /// A connection of the pool (back to the pool when dropped).
            pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
                self.pool.acquire().await
            }

            /// Starts a transaction; dropped without `commit`, it rolls back.
            pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
                self.pool.begin().await
            }

            /// Closes the pool (waits for connections in use to come back).
            pub async fn close(&self) {
                self.pool.close().await;
            }

            /// Runs `f` in a transaction: commits when its future returns `Ok`, rolls back when
            /// it returns `Err` or panics (the panic then continues). `f` gets the transaction
            /// and returns a boxed future, which may borrow from the caller's scope:
            ///
            /// ```ignore
            /// db.transaction(|tx| Box::pin(async move {
            ///     let user = UserRepo::insert(tx, &new_user).await?;
            ///     JobRepo::insert(tx, &new_job(user.id)).await?;
            ///     Ok::<_, sqlx::Error>(user)
            /// })).await?;
            /// ```
            ///
            /// (A boxed `Send` future rather than an async closure: the compiler cannot yet prove
            /// an async closure's future `Send`, which spawned tasks and web handlers need.)
            pub async fn transaction<'a, T, E, F>(&self, f: F) -> Result<T, E>
            where
                F: for<'t> FnOnce(
                    &'t mut Transaction<'a, Postgres>,
                ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>,
                E: From<sqlx::Error>,
            {
                // `Transaction<'static, _>` is a `Transaction<'a, _>`: the closure's argument
                // type then bounds `'t` by `'a`, which lets its future borrow for `'a`.
                let mut tx: Transaction<'a, Postgres> = self.pool.begin().await?;
                let outcome = CatchUnwind(f(&mut tx)).await;
                match outcome {
                    Ok(Ok(value)) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Ok(Err(e)) => {
                        // The caller's error is what matters; a failed rollback also ends the
                        // transaction (the connection is closed).
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                    Err(panic) => {
                        let _ = tx.rollback().await;
                        std::panic::resume_unwind(panic)
                    }
                }
            }

            /// Runs `f` in a transaction as the end user `user_id`, the way Supabase's API does,
            /// so that row-level security applies: the role is `authenticated` and
            /// `request.jwt.claims` holds `claims` (a JSON object, or `null` for none) with
            /// `sub` set to `user_id` and `role` to `authenticated` (`auth.uid()` reads `sub`).
            /// Both are set for this transaction only (`set_config(…, true)`), so nothing
            /// survives it on the connection. Commits and rolls back like
            /// [`Db::transaction`]. Claims that are not an object are an encode error.
            pub async fn as_user<'a, T, E, F>(
                &self,
                user_id: impl Into<uuid::Uuid>,
                claims: serde_json::Value,
                f: F,
            ) -> Result<T, E>
            where
                F: for<'t> FnOnce(
                    &'t mut Transaction<'a, Postgres>,
                ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>,
                F: Send + 'a,
                E: From<sqlx::Error>,
            {
                let claims = user_claims(user_id.into(), claims)?;
                self.transaction(move |tx| {
                    Box::pin(async move {
                        sqlx::query(SET_USER)
                            .bind(claims)
                            .persistent(false)
                            .execute(&mut **tx)
                            .await?;
                        f(tx).await
                    })
                })
                .await
            }
        }

        /// What `as_user` runs first: the role and the claims, for the transaction only (the
        /// `true`), as PostgREST does.
        const SET_USER: &str = concat!(
            "SELECT set_config('role', 'authenticated', true), ",
            "set_config('request.jwt.claims', $1, true)",
        );

        /// The claims `as_user` sets: `claims` with `sub` and `role` filled in, as JSON text.
        fn user_claims(user_id: uuid::Uuid, claims: serde_json::Value) -> Result<String, sqlx::Error> {
            let mut object = match claims {
                serde_json::Value::Object(object) => object,
                serde_json::Value::Null => serde_json::Map::new(),
                _ => return Err(sqlx::Error::Encode("the JWT claims must be a JSON object".into())),
            };
            object.insert("sub".to_owned(), serde_json::Value::String(user_id.to_string()));
            object.insert("role".to_owned(), serde_json::Value::String("authenticated".to_owned()));
            Ok(serde_json::Value::Object(object).to_string())
        }

        /// A future that turns a panic while polling `F` into an `Err` holding the panic, so
        /// that the transaction can be rolled back before the panic goes on.
        struct CatchUnwind<F>(F);

        impl<F: Future + Unpin> Future for CatchUnwind<F> {
            type Output = Result<F::Output, Box<dyn Any + Send>>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let inner = Pin::new(&mut self.0);
                match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
                    Err(panic) => Poll::Ready(Err(panic)),
                }
            }
        }

        /// One page of a keyset-paginated list: up to `limit` items in key order, and the key
        /// to pass as `after` for the next page (`None` on the last page).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Page<T, K> {
            /// The rows.
            pub items: Vec<T>,
            /// The cursor of the next page; `None` when there is none.
            pub next: Option<K>,
        }

        impl<T, K> Page<T, K> {
            /// A page from `rows` fetched with `LIMIT limit + 1` (`limit` at least 1): the
            /// extra row, if any, is dropped and says that a next page exists, whose cursor is
            /// `key` of the last row kept.
            pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Page<T, K> {
                let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
                let more = rows.len() > limit;
                rows.truncate(limit);
                let next = if more { rows.last().map(key) } else { None };
                Page { items: rows, next }
            }
        }
    };
    (uses, items)
}
