//! The Supabase emulation: roles, schemas, `auth.*`/`storage.*` objects an application schema
//! touches, shipped with the crate (`sql/supabase_bootstrap.sql`, a copy of
//! `shared/fixtures/supabase/bootstrap.sql`) because the CLI needs it at runtime.

use std::sync::LazyLock;

use crate::tempdb::TempDb;
use crate::util::connect;
use crate::{Error, Result};

/// The bootstrap script as shipped (a psql script).
const BOOTSTRAP_PSQL: &str = include_str!("../sql/supabase_bootstrap.sql");

/// Advisory-lock key serialising bootstraps on one server ("pgkit" in ASCII). Roles are
/// cluster-wide and the script creates them check-then-create, so two concurrent bootstraps
/// would race; advisory locks are per database, so the lock is taken in the maintenance database
/// every pgkit user of the server shares.
const BOOTSTRAP_LOCK: i64 = 0x0070_676b_6974;

/// The script without psql meta-command lines (`\set ON_ERROR_STOP on`, …).
static BOOTSTRAP_SQL: LazyLock<String> = LazyLock::new(|| {
    BOOTSTRAP_PSQL
        .lines()
        .filter(|line| !line.trim_start().starts_with('\\'))
        .map(|line| format!("{line}\n"))
        .collect()
});

/// `bootstrap.sql` without psql meta-commands: plain SQL for the simple-query protocol.
pub fn supabase_bootstrap_sql() -> &'static str {
    &BOOTSTRAP_SQL
}

impl TempDb {
    /// Applies the Supabase bootstrap ([`supabase_bootstrap_sql`]) to this (fresh) database.
    ///
    /// Concurrent callers on one server are serialised by an advisory lock in the maintenance
    /// database, because the roles it creates are cluster-wide.
    pub async fn apply_bootstrap(&self) -> Result<()> {
        let admin = connect(&self.server().admin_config()).await?;
        // language=PostgreSQL
        let lock = format!("SELECT pg_catalog.pg_advisory_lock({BOOTSTRAP_LOCK})");
        admin
            .batch_execute(&lock)
            .await
            .map_err(|e| Error::query("waiting for the bootstrap lock", e))?;
        let applied = async {
            let client = self.connect().await?;
            client
                .batch_execute(supabase_bootstrap_sql())
                .await
                .map_err(|e| {
                    Error::query(
                        format!("applying the Supabase bootstrap to {}", self.name()),
                        e,
                    )
                })
        }
        .await;
        // language=PostgreSQL
        let unlock = format!("SELECT pg_catalog.pg_advisory_unlock({BOOTSTRAP_LOCK})");
        // Closing the session releases the lock too, so a failed unlock is not an error.
        let _ = admin.batch_execute(&unlock).await;
        applied
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Server;

    #[test]
    fn shipped_copy_matches_shared_fixture() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/supabase/bootstrap.sql");
        match std::fs::read_to_string(&shared) {
            Ok(text) => assert!(
                text == BOOTSTRAP_PSQL,
                "pgkit/sql/supabase_bootstrap.sql differs from {}: copy it again",
                shared.display()
            ),
            Err(e) => eprintln!("skipped: {} not readable ({e})", shared.display()),
        }
    }

    #[test]
    fn meta_commands_are_stripped() {
        let sql = supabase_bootstrap_sql();
        assert!(BOOTSTRAP_PSQL.contains("\\set ON_ERROR_STOP on"));
        assert!(!sql.lines().any(|l| l.trim_start().starts_with('\\')));
        assert!(sql.contains("CREATE FUNCTION auth.uid()"));
    }

    #[tokio::test]
    async fn bootstrap_twice_concurrently() {
        let server = Server::shared().await.unwrap();
        let a = server.create_database("pgkit_boot").await.unwrap();
        let b = server.create_database("pgkit_boot").await.unwrap();
        let (ra, rb) = tokio::join!(a.apply_bootstrap(), b.apply_bootstrap());
        ra.unwrap();
        rb.unwrap();
        for db in [&a, &b] {
            let client = db.connect().await.unwrap();
            // language=PostgreSQL
            let sql = "SELECT count(*) FROM pg_catalog.pg_roles \
                       WHERE rolname IN ('anon', 'authenticated', 'service_role')";
            assert_eq!(
                client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0),
                3
            );
            client.batch_execute("SET request.jwt.claims = '{\"sub\": \"00000000-0000-0000-0000-000000000001\"}'").await.unwrap();
            let row = client
                .query_one("SELECT auth.uid()::text", &[])
                .await
                .unwrap();
            assert_eq!(
                row.get::<_, String>(0),
                "00000000-0000-0000-0000-000000000001"
            );
        }
    }
}
