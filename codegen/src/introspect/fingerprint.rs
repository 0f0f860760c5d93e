//! The identity of a database's catalog state, for the cache of introspections
//! ([`super::Sessions::introspect_cached`]).
//!
//! Introspection is a function of the catalog rows it reads (directly, or through PostgreSQL's
//! deparsing functions), of a few rows outside the catalogs (`storage.buckets`, the extensions'
//! control files), and of the server and session it runs on. The fingerprint covers all of them,
//! read in the introspection's own snapshot, by one query on each of its sessions (the catalogs
//! split between them):
//!
//! - For each catalog of the current database (the list below: every catalog but the planner's
//!   statistics, the large objects' data and those PUBLIC cannot read), the number of visible
//!   rows and an XOR of a 64-bit hash of each row version's identity, `(ctid, xmin)`. Every
//!   change of a catalog row (DDL, `GRANT`, `COMMENT`, a direct `UPDATE pg_catalog…`) writes a
//!   new row version with the changing transaction's id at a new place, so it changes the
//!   identity of the set. The in-place updates PostgreSQL makes without a new version (`VACUUM`
//!   and `ANALYZE` statistics such as `reltuples`, `relfrozenxid`) touch no column introspection
//!   reads, and do not change the fingerprint either. Rows of temporary objects (temporary
//!   schemas, their relations, and what belongs to those) are left out: any session may make
//!   them at any time, and introspection never reads them (`not_temporary`).
//! - Of the catalogs shared by all databases, only what concerns this one: its own
//!   `pg_database` row, the role settings that apply to it, and the roles (by content, through
//!   `pg_roles`: `pg_authid` is not readable by every role), role memberships, tablespaces,
//!   parameter grants and subscriptions (their public columns).
//! - The comments of the installed extensions' control files (read from disk by
//!   `pg_available_extensions()`), and the `storage.buckets` rows by content.
//! - The server (`version()`, the time it started: a restart after an upgrade is a new state),
//!   the database (name and oid), the roles of the session, and the settings that change how
//!   values print (`DateStyle`, `TimeZone`, `extra_float_digits`…).
//!
//! Row versions are told apart by `(ctid, xmin)`. What the fingerprint cannot tell apart is two
//! states whose every visible row version has the same place and transaction id. A row version
//! never changes after it is written (but for the in-place statistics above), and `xmin` keeps
//! showing the writing transaction's id after `VACUUM FREEZE` (checked on PostgreSQL 15), so
//! that means the same rows, except after the transaction counter wraps around (2^32
//! transactions) and a new version of a row lands exactly where a version with the same id was,
//! with every other change undone the same way. A state that any DDL produces after the cached
//! one differs.
//!
//! The count of each catalog's rows is part of it as well; anything that goes wrong while
//! reading the fingerprint only means that nothing is taken from the cache.
//!
//! [`relation_fingerprints`] is the same identity of row versions, per table or view rather
//! than per catalog: what a proof compares to find the relations a plan changed.

use super::{IntrospectError, Q_TOUCHED, pg_message};
use crate::model::QualifiedName;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// The catalogs of the current database that count (PostgreSQL 15). Left out: `pg_statistic`,
/// `pg_statistic_ext_data` (the planner's statistics), `pg_largeobject`,
/// `pg_largeobject_metadata` (large objects are data, not schema), `pg_user_mapping` (not
/// readable by PUBLIC; user mappings are reported through `pg_foreign_server`), and the
/// catalogs shared between databases, which are covered separately (see the module's text).
const CATALOGS: &[&str] = &[
    "pg_aggregate",
    "pg_am",
    "pg_amop",
    "pg_amproc",
    "pg_attrdef",
    "pg_attribute",
    "pg_cast",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_conversion",
    "pg_default_acl",
    "pg_depend",
    "pg_description",
    "pg_enum",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_foreign_table",
    "pg_index",
    "pg_inherits",
    "pg_init_privs",
    "pg_language",
    "pg_namespace",
    "pg_opclass",
    "pg_operator",
    "pg_opfamily",
    "pg_partitioned_table",
    "pg_policy",
    "pg_proc",
    "pg_publication",
    "pg_publication_namespace",
    "pg_publication_rel",
    "pg_range",
    "pg_rewrite",
    "pg_seclabel",
    "pg_sequence",
    "pg_statistic_ext",
    "pg_transform",
    "pg_trigger",
    "pg_ts_config",
    "pg_ts_config_map",
    "pg_ts_dict",
    "pg_ts_parser",
    "pg_ts_template",
    "pg_type",
];

/// Shared catalogs whose rows count whole (small, and all of them can concern this database).
const SHARED_CATALOGS: &[&str] = &["pg_auth_members", "pg_tablespace", "pg_parameter_acl"];

/// Settings that change how PostgreSQL prints values and names.
const SETTINGS: &[&str] = &[
    "server_version_num",
    "server_encoding",
    "lc_collate",
    "lc_ctype",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "extra_float_digits",
    "bytea_output",
    "quote_all_identifiers",
    "standard_conforming_strings",
    "xmloption",
    "search_path",
];

/// The fingerprint: `(part, value)` pairs, sorted by part. Parts of catalogs shared between
/// databases are named `shared:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Each part and its value.
    pub parts: Vec<(String, String)>,
}

impl Fingerprint {
    /// The parts, as bytes for a cache key.
    pub(crate) fn key_parts(&self) -> impl Iterator<Item = &[u8]> {
        self.parts
            .iter()
            .flat_map(|(part, value)| [part.as_bytes(), value.as_bytes()])
    }
}

/// The identity of the visible row versions of one catalog (those `filter` keeps, when it is
/// not empty): `count hash`.
fn row_versions(table: &str, filter: &str) -> String {
    let filter = if filter.is_empty() {
        String::new()
    } else {
        format!(" WHERE {filter}")
    };
    format!(
        "pg_catalog.count(*)::pg_catalog.text || ' ' || COALESCE(pg_catalog.bit_xor(\
         pg_catalog.hashtidextended(x.ctid, x.xmin::pg_catalog.text::pg_catalog.int8)), 0)::pg_catalog.text \
         FROM pg_catalog.{table} x{filter}"
    )
}

/// The catalogs read on the second session when there are two (the fingerprint is split so
/// that each server process scans about half of the rows: at 10,000 tables the largest are
/// `pg_attribute`, `pg_depend` and `pg_class`; BENCHMARKS.md, "Verify").
const SECOND_LANE: &[&str] = &[
    "pg_depend",
    "pg_class",
    "pg_index",
    "pg_trigger",
    "pg_description",
    "pg_sequence",
    "pg_rewrite",
    "pg_init_privs",
];

/// Every part, by name: one `SELECT` of one `(part, value)` row each.
fn parts() -> Vec<(String, String)> {
    let settings = SETTINGS
        .iter()
        .map(|s| format!("'{s}=' || COALESCE(pg_catalog.current_setting('{s}', true), '')"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut parts = vec![
        (
            "server".to_owned(),
            format!(
                "SELECT 'server' AS part, pg_catalog.concat_ws(E'\\n', pg_catalog.version(), \
                 pg_catalog.pg_postmaster_start_time()::pg_catalog.text, \
                 pg_catalog.current_database(), \
                 (SELECT d.oid::pg_catalog.text FROM pg_catalog.pg_database d \
                  WHERE d.datname = pg_catalog.current_database()), \
                 current_user, session_user, {settings}) AS value"
            ),
        ),
        (
            "shared:pg_database".to_owned(),
            "SELECT 'shared:pg_database', (SELECT d.xmin::pg_catalog.text || ' ' || d.ctid::pg_catalog.text \
             FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())"
                .to_owned(),
        ),
        (
            "shared:pg_db_role_setting".to_owned(),
            format!(
                "SELECT 'shared:pg_db_role_setting', (SELECT {})",
                row_versions(
                    "pg_db_role_setting",
                    "x.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database d \
                     WHERE d.datname = pg_catalog.current_database()))"
                )
            ),
        ),
        (
            "shared:pg_roles".to_owned(),
            "SELECT 'shared:pg_roles', (SELECT pg_catalog.count(*)::pg_catalog.text || ' ' || \
             COALESCE(pg_catalog.bit_xor(pg_catalog.hashtextextended(r::pg_catalog.text, 0)), 0)::pg_catalog.text \
             FROM pg_catalog.pg_roles r)"
                .to_owned(),
        ),
        (
            "shared:pg_subscription".to_owned(),
            "SELECT 'shared:pg_subscription', (SELECT pg_catalog.count(*)::pg_catalog.text || ' ' || \
             COALESCE(pg_catalog.bit_xor(pg_catalog.hashtextextended(\
             s.oid::pg_catalog.text || ' ' || s.subdbid::pg_catalog.text || ' ' || s.subname::pg_catalog.text, 0)), 0)::pg_catalog.text \
             FROM pg_catalog.pg_subscription s)"
                .to_owned(),
        ),
        (
            "extension control files".to_owned(),
            "SELECT 'extension control files', (SELECT pg_catalog.string_agg(a.name::pg_catalog.text || '=' || \
             COALESCE(a.comment, ''), E'\\n' ORDER BY a.name) \
             FROM pg_catalog.pg_available_extensions() a \
             WHERE a.name IN (SELECT e.extname FROM pg_catalog.pg_extension e))"
                .to_owned(),
        ),
        // Read by text, so that the query also runs where the table does not exist.
        (
            "storage.buckets".to_owned(),
            "SELECT 'storage.buckets', CASE WHEN pg_catalog.to_regclass('storage.buckets') IS NULL THEN '' \
             ELSE pg_catalog.md5(pg_catalog.query_to_xml('SELECT pg_catalog.to_jsonb(b)::pg_catalog.text AS b \
             FROM storage.buckets b ORDER BY b.id', false, false, '')::pg_catalog.text) END"
                .to_owned(),
        ),
    ];
    for table in CATALOGS {
        parts.push((
            (*table).to_owned(),
            format!(
                "SELECT '{table}', (SELECT {})",
                row_versions(table, &not_temporary(table))
            ),
        ));
    }
    for table in SHARED_CATALOGS {
        parts.push((
            format!("shared:{table}"),
            format!(
                "SELECT 'shared:{table}', (SELECT {})",
                row_versions(table, "")
            ),
        ));
    }
    parts
}

/// The query of the parts for which `keep(part)` holds: one row per part.
fn sql(keep: impl Fn(&str) -> bool) -> String {
    let selects = parts()
        .into_iter()
        .filter(|(name, _)| keep(name))
        .map(|(_, select)| select)
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n");
    format!("WITH {TEMPORARY}\n{selects}")
}

/// The temporary schemas (`pg_temp_N`, `pg_toast_temp_N`), their relations, and every object
/// that belongs to one of those (by catalog and oid), for [`not_temporary`]. Unreferenced,
/// a `WITH` query is never run; when no session has a temporary table these sets are empty.
// language=PostgreSQL
const TEMPORARY: &str = "temp_ns AS (
    SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname ~ '^pg_(toast_)?temp_'
),
temp_rel AS (
    SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace IN (SELECT oid FROM temp_ns)
),
temp_obj (classid, objid) AS (
    SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, oid FROM temp_rel
  UNION ALL
    SELECT 'pg_catalog.pg_type'::pg_catalog.regclass::pg_catalog.oid, t.oid FROM pg_catalog.pg_type t
    WHERE t.typnamespace IN (SELECT oid FROM temp_ns)
  UNION ALL
    SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid, d.oid
    FROM pg_catalog.pg_attrdef d WHERE d.adrelid IN (SELECT oid FROM temp_rel)
  UNION ALL
    SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid, k.oid
    FROM pg_catalog.pg_constraint k WHERE k.connamespace IN (SELECT oid FROM temp_ns)
  UNION ALL
    SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass::pg_catalog.oid, g.oid
    FROM pg_catalog.pg_trigger g WHERE g.tgrelid IN (SELECT oid FROM temp_rel)
  UNION ALL
    SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass::pg_catalog.oid, p.oid
    FROM pg_catalog.pg_policy p WHERE p.polrelid IN (SELECT oid FROM temp_rel)
  UNION ALL
    SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass::pg_catalog.oid, r.oid
    FROM pg_catalog.pg_rewrite r WHERE r.ev_class IN (SELECT oid FROM temp_rel)
)";

/// The condition on the rows of `table` (alias `x`) that leaves out those of temporary objects
/// ([`TEMPORARY`]): sessions make and drop temporary tables at any time (an application's own
/// sessions on a staging database, say), introspection never reads them, and nothing that is
/// not temporary can depend on one without rows of its own changing (a permanent view on a
/// temporary table is refused; a foreign key to a permanent table adds triggers to that
/// table, which count). Empty for the catalogs that hold nothing temporary.
fn not_temporary(table: &str) -> String {
    let rows_of = |condition: &str| {
        // Evaluated once (an uncorrelated sub-select): with no temporary relation, which is
        // the usual case, no row is looked up.
        format!("(NOT EXISTS (SELECT FROM temp_rel) OR {condition})")
    };
    match table {
        "pg_namespace" => "x.oid NOT IN (SELECT oid FROM temp_ns)".to_owned(),
        "pg_class" => rows_of("x.relnamespace NOT IN (SELECT oid FROM temp_ns)"),
        "pg_type" => rows_of("x.typnamespace NOT IN (SELECT oid FROM temp_ns)"),
        "pg_constraint" => rows_of("x.connamespace NOT IN (SELECT oid FROM temp_ns)"),
        "pg_attribute" => rows_of("x.attrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_attrdef" => rows_of("x.adrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_index" => rows_of("x.indrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_trigger" => rows_of("x.tgrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_policy" => rows_of("x.polrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_rewrite" => rows_of("x.ev_class NOT IN (SELECT oid FROM temp_rel)"),
        "pg_inherits" => rows_of("x.inhrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_sequence" => rows_of("x.seqrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_statistic_ext" => rows_of("x.stxrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_partitioned_table" => rows_of("x.partrelid NOT IN (SELECT oid FROM temp_rel)"),
        "pg_depend" => rows_of("(x.classid, x.objid) NOT IN (SELECT classid, objid FROM temp_obj)"),
        "pg_description" | "pg_seclabel" => {
            rows_of("(x.classoid, x.objoid) NOT IN (SELECT classid, objid FROM temp_obj)")
        }
        _ => String::new(),
    }
}

/// Reads the fingerprint of the catalog state `client` sees: in the snapshot of the
/// transaction it is in (introspection's), or of the statement alone outside one.
pub async fn read(client: &Client) -> Result<Fingerprint, IntrospectError> {
    let mut parts = read_parts(client, &sql(|_| true)).await?;
    parts.sort();
    Ok(Fingerprint { parts })
}

/// [`read`] on two sessions that share one snapshot, each reading about half of the rows (at
/// once); each part is read on one of them. Each half runs inside a savepoint (`SAVEPOINT
/// fingerprint`, pipelined with it and the release), so that a failure leaves both
/// transactions usable: the savepoint is rolled back and the error returned.
pub(crate) async fn read_guarded(
    first: &Client,
    second: Option<&Client>,
) -> Result<Fingerprint, IntrospectError> {
    let (mut parts, other) = match second {
        Some(second) => {
            let (a, b) = tokio::join!(
                guarded(first, sql(|p| !SECOND_LANE.contains(&p))),
                guarded(second, sql(|p| SECOND_LANE.contains(&p)))
            );
            (a?, b?)
        }
        None => (guarded(first, sql(|_| true)).await?, Vec::new()),
    };
    parts.extend(other);
    parts.sort();
    Ok(Fingerprint { parts })
}

/// `query` inside a savepoint on `client`: on failure the savepoint is rolled back, so the
/// transaction goes on as it was.
async fn guarded(client: &Client, query: String) -> Result<Vec<(String, String)>, IntrospectError> {
    // Sent in this order at once (each request goes out when its future is first polled).
    // language=PostgreSQL
    let (open, rows, release) = tokio::join!(
        client.batch_execute("SAVEPOINT fingerprint"),
        read_parts(client, &query),
        client.batch_execute("RELEASE SAVEPOINT fingerprint")
    );
    let transaction = |source: tokio_postgres::Error| IntrospectError::Transaction {
        message: pg_message(&source),
        source,
    };
    open.map_err(transaction)?;
    match rows {
        Ok(rows) => {
            release.map_err(transaction)?;
            Ok(rows)
        }
        Err(e) => {
            // The release failed as well (the subtransaction was aborted).
            // language=PostgreSQL
            client
                .batch_execute("ROLLBACK TO SAVEPOINT fingerprint; RELEASE SAVEPOINT fingerprint")
                .await
                .map_err(transaction)?;
            Err(e)
        }
    }
}

/// The `(part, value)` rows of `query`.
async fn read_parts(
    client: &Client,
    query: &str,
) -> Result<Vec<(String, String)>, IntrospectError> {
    let rows = client
        .query_typed(query, &[])
        .await
        .map_err(|source| IntrospectError::Query {
            query: "fingerprint",
            message: pg_message(&source),
            source,
        })?;
    let mut parts = Vec::with_capacity(rows.len());
    for row in rows {
        let part: String = row.try_get(0).map_err(|e| row_error(&e))?;
        let value: Option<String> = row.try_get(1).map_err(|e| row_error(&e))?;
        parts.push((part, value.unwrap_or_default()));
    }
    Ok(parts)
}

fn row_error(e: &tokio_postgres::Error) -> IntrospectError {
    IntrospectError::Row {
        query: "fingerprint",
        object: "catalog fingerprint".into(),
        message: e.to_string(),
    }
}

/// For each table, view and foreign table: how many catalog rows describe it and the XOR of
/// the hashes of those rows' identities, `(ctid, xmin)`, as for the whole catalogs above
/// (`queries/touched.sql`). Two readings that agree for a relation mean nothing was done to it
/// in between. One query, in its own statement; with a `second` session, each session reads
/// about half of the catalogs (at once, each in a statement of its own: the two sessions must
/// not be in a transaction whose snapshot predates what is to be seen) and the halves are
/// combined.
pub async fn relation_fingerprints(
    client: &Client,
    second: Option<&Client>,
) -> Result<BTreeMap<QualifiedName, (i64, i64)>, IntrospectError> {
    let halves = match second {
        Some(second) => {
            let (a, b) = tokio::try_join!(
                touched(client, TOUCHED_FIRST),
                touched(second, TOUCHED_SECOND)
            )?;
            vec![a, b]
        }
        None => vec![touched(client, TOUCHED_ALL).await?],
    };
    let mut found: BTreeMap<QualifiedName, (i64, i64)> = BTreeMap::new();
    for (name, count, hash) in halves.into_iter().flatten() {
        let entry = found.entry(name).or_insert((0, 0));
        entry.0 += count;
        entry.1 ^= hash;
    }
    Ok(found)
}

/// The catalogs of `queries/touched.sql`, by its numbers: all of them, and the two halves of
/// about equal work (`pg_attribute` is the largest; measured on the 1,000-table benchmark).
const TOUCHED_ALL: &[i32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9];
const TOUCHED_FIRST: &[i32] = &[2, 3, 4, 7];
const TOUCHED_SECOND: &[i32] = &[1, 5, 6, 8, 9];

/// The rows of `queries/touched.sql` for the catalogs numbered `catalogs`.
async fn touched(
    client: &Client,
    catalogs: &[i32],
) -> Result<Vec<(QualifiedName, i64, i64)>, IntrospectError> {
    let catalogs = catalogs.to_vec();
    let rows = super::query_alone(
        client,
        Q_TOUCHED.name,
        Q_TOUCHED.sql,
        &[(&catalogs, tokio_postgres::types::Type::INT4_ARRAY)],
    )
    .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let r = super::rows::RowReader::new(&Q_TOUCHED, row);
        found.push((
            r.qualified("schema", "name")?,
            r.get::<i64>("row_count")?,
            r.get::<i64>("hash")?,
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two halves of the per-relation fingerprint read every catalog of it once.
    #[test]
    fn the_halves_of_the_relation_fingerprint_read_every_catalog_once() {
        let mut both: Vec<i32> = TOUCHED_FIRST
            .iter()
            .chain(TOUCHED_SECOND)
            .copied()
            .collect();
        both.sort_unstable();
        assert_eq!(both, TOUCHED_ALL);
        for k in TOUCHED_ALL {
            assert!(
                Q_TOUCHED.sql.contains(&format!(", {k}\n"))
                    || Q_TOUCHED.sql.contains(&format!(", {k} FROM")),
                "{k}"
            );
        }
    }

    /// Each part is named as the row it reads is labelled, names are unique, and the two
    /// lanes together read every part exactly once.
    #[test]
    fn the_two_lanes_read_every_part_once() {
        let parts = parts();
        for (name, select) in &parts {
            assert!(select.starts_with(&format!("SELECT '{name}'")), "{name}");
        }
        let mut names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), parts.len());
        for name in SECOND_LANE {
            assert!(
                CATALOGS.contains(name),
                "{name} is not a catalog of the list"
            );
        }
        let branches = |q: &str| q.matches("\nUNION ALL\n").count() + 1;
        let first = sql(|p| !SECOND_LANE.contains(&p));
        let second = sql(|p| SECOND_LANE.contains(&p));
        assert_eq!(branches(&second), SECOND_LANE.len());
        assert_eq!(branches(&first) + branches(&second), parts.len());
        assert_eq!(branches(&sql(|_| true)), parts.len());
    }
}
