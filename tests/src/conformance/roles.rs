//! The roles the peer suites grant to: created before a run when missing, and only those this run
//! created are dropped afterwards (roles are cluster-wide, and other tests may use the rest).

use codegen::model::quote_ident;
use tokio_postgres::error::SqlState;

/// Opens a connection to the server's maintenance database.
pub async fn admin_client(
    server: &pgkit::Server,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = server.admin_config().connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        // An error surfaces on the client's next request.
        let _ = connection.await;
    });
    Ok(client)
}

/// Creates every role of `names` that does not exist yet (`NOLOGIN`), returning those it
/// created. A role another process creates at the same moment counts as existing.
pub async fn ensure_roles<'a>(
    server: &pgkit::Server,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let client = admin_client(server).await?;
    let mut created = Vec::new();
    for name in names {
        // language=PostgreSQL
        let exists = client
            .query_opt(
                "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[name],
            )
            .await?
            .is_some();
        if exists {
            continue;
        }
        // language=PostgreSQL
        let sql = format!("CREATE ROLE {} NOLOGIN", quote_ident(name));
        match client.batch_execute(&sql).await {
            Ok(()) => created.push(name.clone()),
            Err(e)
                if e.code() == Some(&SqlState::DUPLICATE_OBJECT)
                    || e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(created)
}

/// Drops the roles in `created`. Returns one message per role that could not be dropped (a
/// database that still grants to it, say); they are reported, not fatal.
pub async fn drop_roles(server: &pgkit::Server, created: &[String]) -> Vec<String> {
    let client = match admin_client(server).await {
        Ok(c) => c,
        Err(e) => return vec![format!("cannot connect to drop roles: {e}")],
    };
    let mut problems = Vec::new();
    for name in created {
        // language=PostgreSQL
        let sql = format!("DROP ROLE IF EXISTS {}", quote_ident(name));
        if let Err(e) = client.batch_execute(&sql).await {
            let message = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            problems.push(format!("role {name}: {message}"));
        }
    }
    problems
}
