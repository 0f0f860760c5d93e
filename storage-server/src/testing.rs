//! [`start_with_temp_db`]: a server on a throwaway database and data directory, for tests.

use crate::error::Error;
use crate::server::{Config, StorageServer};

/// A server together with what it runs on; everything is dropped with it (the database is
/// dropped, the data directory deleted).
pub struct TestStorage {
    /// The server.
    pub server: StorageServer,
    /// The test database (the Supabase bootstrap applied, then the caller's setup SQL).
    pub db: pgkit::TempDb,
    /// Where object bytes are kept.
    pub data_dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStorage")
            .field("server", &self.server)
            .field("db", &self.db)
            .field("data_dir", &self.data_dir.path())
            .finish()
    }
}

impl std::ops::Deref for TestStorage {
    type Target = StorageServer;

    fn deref(&self) -> &StorageServer {
        &self.server
    }
}

impl TestStorage {
    /// A connection to the test database (as the superuser).
    pub async fn connect(&self) -> Result<tokio_postgres::Client, Error> {
        Ok(self.db.connect().await?)
    }

    /// Stops the server; the database and data directory go when `self` is dropped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a server on a fresh database of the shared PostgreSQL (pgkit) with the Supabase
/// bootstrap applied and then `setup_sql` (buckets, policies, …; may be empty), a temporary data
/// directory and a random JWT secret.
pub async fn start_with_temp_db(setup_sql: &str) -> Result<TestStorage, Error> {
    let pg = pgkit::Server::shared().await?;
    let db = pg.create_database("jp_storage").await?;
    db.apply_bootstrap().await?;
    if !setup_sql.trim().is_empty() {
        db.execute_script(setup_sql).await?;
    }
    let data_dir = tempfile::Builder::new()
        .prefix("jobpilot-storage-")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary data directory", e))?;
    let secret: String = (0..40).map(|_| fastrand::alphanumeric()).collect();
    let server = StorageServer::start(Config {
        database_url: db.url(),
        jwt_secret: secret,
        data_dir: data_dir.path().to_path_buf(),
    })
    .await?;
    Ok(TestStorage {
        server,
        db,
        data_dir,
    })
}
