//! PostgreSQL harness: finds or starts a PostgreSQL server and hands out uniquely named throwaway
//! databases that are dropped again when their guard goes out of scope.
//!
//! It serves the tests of every crate in the workspace and the `codegen` library at runtime
//! (scratch databases for `codegen import`, `codegen check`, …), so it is an ordinary library:
//! typed errors ([`Error`]), no panics. The server comes from, in order: an explicit URL
//! (`--dev-url`, or `DATABASE_URL` for [`Server::shared`]), the local server on 127.0.0.1:5432, or
//! a throwaway cluster (`initdb` into a temporary directory) that never outlives the process.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pgkit::Error> {
//! let server = pgkit::Server::shared().await?;
//! let db = server.create_database("jp_demo").await?;
//! db.apply_bootstrap().await?;
//! db.execute_script("CREATE TABLE notes (owner uuid DEFAULT auth.uid())").await?;
//! let client = db.connect().await?; // a tokio_postgres::Client
//! # Ok(()) }
//! ```

mod bootstrap;
mod cluster;
mod error;
mod server;
mod tempdb;
mod util;

pub use bootstrap::supabase_bootstrap_sql;
pub use error::Error;
pub use server::{DiscoverOptions, Server};
pub use tempdb::{CopyStrategy, KeptDb, TempDb, on_own_thread};

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
