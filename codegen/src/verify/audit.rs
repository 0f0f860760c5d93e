//! The DDL audit trail: `codegen audit install` adds event triggers that record every DDL
//! statement (role, time, statement text, the objects it touched) in `codegen_audit.ddl_log`,
//! and `verify` shows, next to each difference, the recorded statements that touched its object.
//!
//! Everything lives in the schema `codegen_audit`, which verify leaves out of the comparison
//! (and its two event triggers with it). The trigger functions are `SECURITY DEFINER`, so a role
//! that may change the schema but not write the log still gets its statements recorded; they
//! never fail the statement they record.

use super::Difference;
use serde::Serialize;
use tokio_postgres::Client;

/// The schema of the audit trail.
pub const AUDIT_SCHEMA: &str = "codegen_audit";

/// How many of the latest log rows verify reads.
const READ_LIMIT: i64 = 10_000;

/// How many entries are shown per object.
const SHOWN_PER_OBJECT: usize = 3;

/// The installation script (idempotent: installing again replaces the functions and triggers
/// and keeps the log).
pub const INSTALL_SQL: &str = r#"
SET LOCAL codegen_audit.installing = 'on';
CREATE SCHEMA IF NOT EXISTS codegen_audit;
COMMENT ON SCHEMA codegen_audit IS 'DDL audit trail of codegen (codegen audit install); codegen verify shows it next to each difference';
REVOKE ALL ON SCHEMA codegen_audit FROM PUBLIC;
CREATE TABLE IF NOT EXISTS codegen_audit.ddl_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    role text NOT NULL DEFAULT pg_catalog.session_user(),
    command_tag text NOT NULL,
    object_type text,
    object_identity text,
    statement text
);
CREATE OR REPLACE FUNCTION codegen_audit.log_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() LOOP
        IF r.schema_name IS DISTINCT FROM 'codegen_audit'
           AND current_setting('codegen_audit.installing', true) IS DISTINCT FROM 'on' THEN
            INSERT INTO codegen_audit.ddl_log (role, command_tag, object_type, object_identity, statement)
            VALUES (session_user, r.command_tag, r.object_type, r.object_identity, current_query());
        END IF;
    END LOOP;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'codegen_audit: not recorded: %', SQLERRM;
END
$$;
CREATE OR REPLACE FUNCTION codegen_audit.log_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_catalog.pg_event_trigger_dropped_objects() LOOP
        IF r.schema_name IS DISTINCT FROM 'codegen_audit' AND (r.original OR r.object_type = 'table column')
           AND current_setting('codegen_audit.installing', true) IS DISTINCT FROM 'on' THEN
            INSERT INTO codegen_audit.ddl_log (role, command_tag, object_type, object_identity, statement)
            VALUES (session_user, tg_tag, r.object_type, r.object_identity, current_query());
        END IF;
    END LOOP;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'codegen_audit: not recorded: %', SQLERRM;
END
$$;
REVOKE ALL ON FUNCTION codegen_audit.log_ddl(), codegen_audit.log_drop() FROM PUBLIC;
DROP EVENT TRIGGER IF EXISTS codegen_audit_ddl;
DROP EVENT TRIGGER IF EXISTS codegen_audit_drop;
CREATE EVENT TRIGGER codegen_audit_ddl ON ddl_command_end EXECUTE FUNCTION codegen_audit.log_ddl();
CREATE EVENT TRIGGER codegen_audit_drop ON sql_drop EXECUTE FUNCTION codegen_audit.log_drop();
"#;

/// Removes the audit trail, log included.
pub const UNINSTALL_SQL: &str = r#"
DROP EVENT TRIGGER IF EXISTS codegen_audit_ddl;
DROP EVENT TRIGGER IF EXISTS codegen_audit_drop;
DROP SCHEMA IF EXISTS codegen_audit CASCADE;
"#;

/// One recorded statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When (`YYYY-MM-DD HH:MM:SS+00`, UTC).
    pub at: String,
    /// The session role that ran it.
    pub role: String,
    /// `ALTER TABLE`, `CREATE INDEX`, `DROP POLICY`…
    pub command: String,
    /// `table`, `index`, `table column`, `policy`…
    pub object_type: Option<String>,
    /// PostgreSQL's identity of the object (`public.users`, `jobs_owner_all on public.jobs`).
    pub object: Option<String>,
    /// The statement as the client sent it.
    pub statement: String,
}

impl AuditEntry {
    /// `ALTER TABLE by role postgres at 2026-…: ALTER TABLE users ADD COLUMN …`, one line.
    pub fn describe(&self) -> String {
        let statement = self
            .statement
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let statement = if statement.chars().count() > 160 {
            let cut: String = statement.chars().take(157).collect();
            format!("{cut}...")
        } else {
            statement
        };
        format!(
            "{} by role {} at {}: {statement}",
            self.command, self.role, self.at
        )
    }
}

/// Whether the audit trail is installed in the database `client` is connected to.
pub(crate) async fn is_installed(client: &Client) -> Result<bool, tokio_postgres::Error> {
    // language=PostgreSQL
    Ok(client
        .query_one(
            "SELECT pg_catalog.to_regclass('codegen_audit.ddl_log') IS NOT NULL",
            &[],
        )
        .await?
        .get(0))
}

/// Reads the latest audit entries, oldest first.
pub(crate) async fn read(client: &Client) -> Result<Vec<AuditEntry>, tokio_postgres::Error> {
    // language=PostgreSQL
    let rows = client
        .query(
            "SELECT pg_catalog.to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00', \
                    role, command_tag, object_type, object_identity, coalesce(statement, '') \
             FROM (SELECT * FROM codegen_audit.ddl_log ORDER BY id DESC LIMIT $1) l ORDER BY id",
            &[&READ_LIMIT],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            at: r.get(0),
            role: r.get(1),
            command: r.get(2),
            object_type: r.get(3),
            object: r.get(4),
            statement: r.get(5),
        })
        .collect())
}

/// Whether the entry touched the object of `d`. PostgreSQL names the object of a statement by
/// its identity: `public.users` (a table, also for `ALTER TABLE … ADD COLUMN`),
/// `public.users.avatar_url` (a dropped column), `public.users_email_idx` (an index),
/// `users_pkey on public.users` (a constraint, policy or trigger). A statement on the table a
/// child belongs to counts when its text names the child.
fn touches(d: &Difference, e: &AuditEntry) -> bool {
    let Some(object) = &e.object else {
        return false;
    };
    let name = &d.object.name;
    if object == name {
        return true;
    }
    // Children of a table or view are `schema.owner.child`.
    if let [schema, owner, child] = split_dots(name).as_slice() {
        if *object == format!("{schema}.{child}")
            || *object == format!("{child} on {schema}.{owner}")
        {
            return true;
        }
        let bare = child.trim_matches('"').to_lowercase();
        return *object == format!("{schema}.{owner}")
            && e.statement.to_lowercase().contains(&bare);
    }
    false
}

/// Splits a dotted name on the dots outside double quotes.
fn split_dots(name: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in name.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                parts.push(&name[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&name[start..]);
    parts
}

/// The latest entries (at most a few, oldest first) that touched the object of `d`.
pub(crate) fn entries_for(d: &Difference, log: &[AuditEntry]) -> Vec<AuditEntry> {
    let mut found: Vec<AuditEntry> = Vec::new();
    // One statement may be recorded twice (a dropped column: the column and its table).
    for e in log.iter().rev().filter(|e| touches(d, e)) {
        if !found
            .iter()
            .any(|f| f.at == e.at && f.role == e.role && f.statement == e.statement)
        {
            found.push(e.clone());
        }
        if found.len() == SHOWN_PER_OBJECT {
            break;
        }
    }
    found.reverse();
    found
}

/// Installs (or reinstalls) the audit trail in the database at `url`. Needs a role that may
/// create event triggers (a superuser, or `postgres` on Supabase).
pub async fn install(url: &str, connect_timeout: std::time::Duration) -> Result<(), String> {
    run_script(url, connect_timeout, INSTALL_SQL).await
}

/// Removes the audit trail and its log from the database at `url`.
pub async fn uninstall(url: &str, connect_timeout: std::time::Duration) -> Result<(), String> {
    run_script(url, connect_timeout, UNINSTALL_SQL).await
}

async fn run_script(
    url: &str,
    connect_timeout: std::time::Duration,
    sql: &str,
) -> Result<(), String> {
    let shown = crate::migrate::redact(url);
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("{shown} is not a PostgreSQL URL: {e}"))?;
    config
        .application_name("codegen audit")
        .connect_timeout(connect_timeout);
    let (client, connection) =
        tokio::time::timeout(connect_timeout, config.connect(tokio_postgres::NoTls))
            .await
            .map_err(|_| {
                format!(
                    "{shown}: no answer within {} s",
                    connect_timeout.as_secs_f64()
                )
            })?
            .map_err(|e| crate::migrate::redact_text(&format!("{shown}: cannot connect: {e}")))?;
    let task = tokio::spawn(connection);
    // One transaction: all of it or nothing.
    let result = client
        .batch_execute(&format!("BEGIN;\n{sql}\nCOMMIT;"))
        .await
        .map_err(|e| {
            let message = e
                .as_db_error()
                .map(|d| d.message().to_owned())
                .unwrap_or_else(|| e.to_string());
            format!("{shown}: {message}")
        });
    drop(client);
    let _ = task.await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Change, ObjectRef};

    fn entry(object: &str, statement: &str) -> AuditEntry {
        AuditEntry {
            at: "2026-01-01 00:00:00+00".into(),
            role: "postgres".into(),
            command: "ALTER TABLE".into(),
            object_type: Some("table".into()),
            object: Some(object.into()),
            statement: statement.into(),
        }
    }

    #[test]
    fn entries_match_the_object_or_its_table() {
        let d = Difference {
            object: ObjectRef {
                kind: "column",
                name: "public.users.avatar_url".into(),
            },
            change: Change::Unexpected,
            detail: None,
            origins: Vec::new(),
            location: None,
            audit: Vec::new(),
        };
        let log = vec![
            entry("public.jobs", "ALTER TABLE jobs ADD COLUMN x int"),
            entry(
                "public.users",
                "ALTER TABLE users ADD COLUMN avatar_url text",
            ),
            entry("public.users", "ALTER TABLE users ADD COLUMN other text"),
            entry("users_select_own on public.users", "ALTER POLICY …"),
        ];
        let found = entries_for(&d, &log);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].describe(),
            "ALTER TABLE by role postgres at 2026-01-01 00:00:00+00: ALTER TABLE users ADD COLUMN avatar_url text"
        );
        assert_eq!(split_dots("a.\"b.c\".d"), vec!["a", "\"b.c\"", "d"]);
    }
}
