//! Database access: a small connection pool and transactions run as the request's JWT role.

use std::sync::Mutex;

use serde_json::{Map, Value};
use tokio_postgres::{Client, Config, NoTls, Transaction};

use crate::error::{ApiError, Error};

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

/// Connections to the test database; every request takes one and gives it back.
pub(crate) struct Pool {
    config: Config,
    idle: Mutex<Vec<Client>>,
}

/// A connection on loan from the pool; it goes back on drop unless it broke.
pub(crate) struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl Pool {
    pub(crate) fn new(url: &str) -> Result<Self, Error> {
        let config: Config = url
            .parse()
            .map_err(|e| Error::Config(format!("database_url is not a PostgreSQL URL: {e}")))?;
        Ok(Self {
            config,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Opens a connection (its driver runs as a background task).
    pub(crate) async fn connect(&self) -> Result<Client, Error> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| Error::db("connecting to the storage database", e))?;
        tokio::spawn(async move {
            // The connection ends with its client; an error here surfaces on the client.
            let _ = connection.await;
        });
        Ok(client)
    }

    pub(crate) async fn get(&self) -> Result<Conn<'_>, ApiError> {
        let reused = match self.idle.lock() {
            Ok(mut idle) => idle.pop(),
            Err(_) => None,
        };
        let client = match reused {
            Some(client) if !client.is_closed() => client,
            _ => self
                .connect()
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?,
        };
        Ok(Conn {
            pool: self,
            client: Some(client),
        })
    }
}

impl Conn<'_> {
    pub(crate) fn client(&mut self) -> Result<&mut Client, ApiError> {
        // `client` is only taken in Drop.
        self.client
            .as_mut()
            .ok_or_else(|| ApiError::internal("connection used after being returned to the pool"))
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && !client.is_closed()
            && let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(client);
        }
    }
}

/// Who a request runs as: the database role from the JWT's `role` claim and all its claims.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    /// `service_role`, `authenticated`, `anon`, … (a database role).
    pub role: String,
    /// The JWT claims (as `request.jwt.claims`).
    pub claims: Map<String, Value>,
}

impl Auth {
    /// The `sub` claim when it is a UUID (the owner of what the request creates).
    pub(crate) fn owner(&self) -> Option<String> {
        self.claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| uuid::Uuid::parse_str(s).is_ok())
            .map(str::to_owned)
    }

    /// The superuser connection itself (no `SET ROLE`): what Supabase Storage does "as super user".
    pub(crate) fn superuser() -> Self {
        Self {
            role: String::new(),
            claims: Map::new(),
        }
    }
}

/// `"name"` with embedded quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Starts a transaction as `auth`'s role with its claims set as PostgREST and Supabase Storage set
/// them (`request.jwt.claims`, `request.jwt.claim.sub`, `request.jwt.claim.role`), so row-level
/// security on `storage.objects` decides as it would on Supabase.
pub(crate) async fn begin<'c>(
    client: &'c mut Client,
    auth: &Auth,
) -> Result<Transaction<'c>, ApiError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    if !auth.role.is_empty() {
        let claims = Value::Object(auth.claims.clone()).to_string();
        let sub = auth
            .claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        // language=PostgreSQL
        let sql = "SELECT set_config('request.jwt.claims', $1, true), \
                   set_config('request.jwt.claim.sub', $2, true), \
                   set_config('request.jwt.claim.role', $3, true)";
        tx.execute(sql, &[&claims, &sub, &auth.role])
            .await
            .map_err(|e| ApiError::from_db(&e))?;
        tx.batch_execute(&format!("SET LOCAL ROLE {}", quote_ident(&auth.role)))
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) if db.code().code() == "22023" => {
                    ApiError::access_denied(format!("role \"{}\" does not exist", auth.role))
                }
                _ => ApiError::from_db(&e),
            })?;
    }
    Ok(tx)
}

/// Parses a `json_build_object(...)::text` column.
pub(crate) fn json_col(row: &tokio_postgres::Row, idx: usize) -> Result<Value, ApiError> {
    let text: String = row
        .try_get(idx)
        .map_err(|e| ApiError::internal(format!("reading a row: {e}")))?;
    serde_json::from_str(&text).map_err(|e| ApiError::internal(format!("reading a row: {e}")))
}
