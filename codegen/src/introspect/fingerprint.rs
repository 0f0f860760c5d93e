//! The identity of a database's catalog state, for the cache of introspections
//! ([`super::Sessions::introspect_cached`]).
//!
//! Introspection is a function of the catalog rows it reads (directly, or through PostgreSQL's
//! deparsing functions), of a few rows outside the catalogs (`storage.buckets`, the extensions'
//! control files), and of the server and session it runs on. The fingerprint covers all of them,
//! read in the introspection's own snapshot, by two queries on each of its sessions (the
//! catalogs split between them):
//!
//! - For each catalog of the current database (the list below: every catalog but the planner's
//!   statistics, the large objects' data and those PUBLIC cannot read), the number of visible
//!   rows and an XOR of a 64-bit hash of each row version's identity, `(ctid, xmin)` (and the
//!   catalog's number, so that rows of two catalogs do not cancel out). Every change of a
//!   catalog row (DDL, `GRANT`, `COMMENT`, a direct `UPDATE pg_catalog…`) writes a new row
//!   version with the changing transaction's id at a new place, so it changes the identity of
//!   the set. The in-place updates PostgreSQL makes without a new version (`VACUUM` and
//!   `ANALYZE` statistics such as `reltuples`, `relfrozenxid`) touch no column introspection
//!   reads, and do not change the fingerprint either.
//! - The rows of the catalogs that can belong to a table or view ([`OWNED`]) are counted per
//!   relation instead (every table, view, materialized view and foreign table outside
//!   PostgreSQL's own schemas), the rest of each of those catalogs as above. A row belongs to the
//!   relation it describes: its `pg_class` row and those of its indexes, TOAST table and identity
//!   sequences, their columns, defaults, constraints, triggers, policies and rules, its row type
//!   and that type's array, the dependency records of all of those and the comments on them.
//!   Every row is counted once, so the per-relation and per-catalog identities together change
//!   whenever the whole does, and the relations whose identity changed are the ones whose own
//!   rows were written or removed: what [`Fingerprint::changed_relations`] tells the cache,
//!   which reads only those (and what depends on them directly) again.
//! - Temporary relations and schemas count nowhere: introspection never reads them, and any
//!   session may make them at any time.
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

/// The fingerprint: `(part, value)` pairs, sorted by part, and the identity of each table's,
/// view's and foreign table's own catalog rows. Parts of catalogs shared between databases are
/// named `shared:…`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// Each part and its value. A catalog whose rows can belong to a relation ([`OWNED`]) has
    /// a part for its rows that belong to none (its remainder), when there are any.
    pub parts: Vec<(String, String)>,
    /// For each table, view, materialized view and foreign table outside PostgreSQL's own
    /// schemas: how many catalog rows belong to it (its `pg_class` row, its columns,
    /// defaults, constraints, indexes, triggers, policies, rules, row type, identity
    /// sequences, dependency records and comments) and the XOR of their identities.
    pub relations: BTreeMap<QualifiedName, (i64, i64)>,
}

impl Fingerprint {
    /// The tables and views whose own rows differ between `self` and `other` (in either, or
    /// only in one), when nothing else does; `None` when any other part differs.
    pub fn changed_relations(&self, other: &Fingerprint) -> Option<Vec<QualifiedName>> {
        if self.parts != other.parts {
            return None;
        }
        let mut changed: Vec<QualifiedName> = self
            .relations
            .iter()
            .filter(|(name, value)| other.relations.get(*name) != Some(*value))
            .map(|(name, _)| name.clone())
            .collect();
        changed.extend(
            other
                .relations
                .keys()
                .filter(|name| !self.relations.contains_key(*name))
                .cloned(),
        );
        changed.sort();
        Some(changed)
    }
}

/// The hash of the identity of row version `x` of catalog number `k` (its place in
/// [`CATALOGS`]): the catalog is part of it, so that rows of two catalogs written by one
/// transaction at the same place do not cancel out in an XOR.
fn row_hash(x: &str, k: usize) -> String {
    format!(
        "pg_catalog.hashtidextended({x}.ctid, {x}.xmin::pg_catalog.text::pg_catalog.int8 + {k}::pg_catalog.int8 * 4294967296)"
    )
}

/// The number of `table` in [`CATALOGS`].
fn catalog_number(table: &str) -> usize {
    CATALOGS.iter().position(|c| *c == table).unwrap_or(CATALOGS.len())
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
        "pg_catalog.count(*)::pg_catalog.text || ' ' || COALESCE(pg_catalog.bit_xor({}), 0)::pg_catalog.text \
         FROM pg_catalog.{table} x{filter}",
        row_hash("x", catalog_number(table))
    )
}

/// The catalogs whose rows can belong to a table or view, and how a row finds its owner: a
/// column of the row naming a `pg_class` row (whose owner is the relation itself, or the
/// table of an index, of a TOAST table and of an identity sequence), or the row type
/// (`pg_type`: a relation's row type and its array), or the object a row describes
/// (`pg_depend`: the dependent object; `pg_description`: the object commented on).
const OWNED: &[(&str, Owner)] = &[
    ("pg_class", Owner::Class),
    ("pg_attribute", Owner::Column("attrelid")),
    ("pg_attrdef", Owner::Column("adrelid")),
    ("pg_constraint", Owner::Column("conrelid")),
    ("pg_index", Owner::Column("indexrelid")),
    ("pg_trigger", Owner::Column("tgrelid")),
    ("pg_policy", Owner::Column("polrelid")),
    ("pg_rewrite", Owner::Column("ev_class")),
    ("pg_inherits", Owner::Column("inhrelid")),
    ("pg_partitioned_table", Owner::Column("partrelid")),
    ("pg_statistic_ext", Owner::Column("stxrelid")),
    ("pg_foreign_table", Owner::Column("ftrelid")),
    ("pg_sequence", Owner::Column("seqrelid")),
    ("pg_type", Owner::Type),
    ("pg_depend", Owner::Object("classid", "objid")),
    ("pg_description", Owner::Object("classoid", "objoid")),
];

/// How a row of an [`OWNED`] catalog finds the relation it belongs to.
#[derive(Debug, Clone, Copy)]
enum Owner {
    /// The `pg_class` row itself.
    Class,
    /// The `pg_class` row this column names.
    Column(&'static str),
    /// The `pg_type` row itself.
    Type,
    /// The object these columns (catalog, oid) name.
    Object(&'static str, &'static str),
}

/// The owner of each `pg_class` row (`cls`), of each `pg_type` row (`typ`) and of each object a
/// dependency record or comment can name (`obj`): the oid of a table, view, materialized view or
/// foreign table outside PostgreSQL's own schemas; 0 for none (the row counts in its catalog's
/// remainder); -1 for the relations of temporary schemas, which introspection never reads and
/// other sessions create and drop at any time.
// language=PostgreSQL
const OWNERS: &str = "cls AS MATERIALIZED (
    SELECT c.oid, c.ctid, c.xmin,
           CASE WHEN bn.nspname ~ '^pg_(toast_)?temp_' THEN -1
                WHEN b.relkind IN ('r', 'p', 'v', 'm', 'f')
                 AND bn.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND bn.nspname !~ '^pg_toast' THEN b.oid::pg_catalog.int8
                ELSE 0 END AS owner
    FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
    LEFT JOIN pg_catalog.pg_class t ON t.reltoastrelid = COALESCE(i.indrelid, c.oid)
    JOIN pg_catalog.pg_class b ON b.oid = COALESCE(
        t.oid,
        CASE WHEN c.relkind = 'S' THEN
            (SELECT d.refobjid FROM pg_catalog.pg_depend d
             WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
               AND d.objsubid = 0 AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
               AND d.deptype = 'i' LIMIT 1)
        END,
        i.indrelid,
        c.oid)
    JOIN pg_catalog.pg_namespace bn ON bn.oid = b.relnamespace
),
typ AS MATERIALIZED (
    SELECT t.oid, t.ctid, t.xmin, COALESCE(o.owner, 0) AS owner
    FROM pg_catalog.pg_type t
    LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typrelid = 0 AND e.typrelid <> 0
    LEFT JOIN cls o ON o.oid = COALESCE(NULLIF(t.typrelid, 0), e.typrelid)
)";

/// `obj`, for [`Owner::Object`]: the objects that belong to a relation, by catalog and oid.
// language=PostgreSQL
const OBJECTS: &str = "obj AS (
    SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid AS classid, o.oid AS objid, o.owner
    FROM cls o
  UNION ALL
    SELECT 'pg_catalog.pg_type'::pg_catalog.regclass::pg_catalog.oid, o.oid, o.owner FROM typ o
  UNION ALL
    SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid, x.oid, o.owner
    FROM pg_catalog.pg_attrdef x JOIN cls o ON o.oid = x.adrelid
  UNION ALL
    SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid, x.oid, o.owner
    FROM pg_catalog.pg_constraint x JOIN cls o ON o.oid = x.conrelid
  UNION ALL
    SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass::pg_catalog.oid, x.oid, o.owner
    FROM pg_catalog.pg_trigger x JOIN cls o ON o.oid = x.tgrelid
  UNION ALL
    SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass::pg_catalog.oid, x.oid, o.owner
    FROM pg_catalog.pg_policy x JOIN cls o ON o.oid = x.polrelid
  UNION ALL
    SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass::pg_catalog.oid, x.oid, o.owner
    FROM pg_catalog.pg_rewrite x JOIN cls o ON o.oid = x.ev_class
)";

/// The query of the rows of the [`OWNED`] catalogs `catalogs`: one row per relation that owns
/// some (`part` empty, the relation's schema and name, the count and XOR of their identities)
/// and one per catalog for the rows no relation owns (`part` the catalog's name).
fn owned_sql(catalogs: &[&str]) -> String {
    let mut selects = Vec::new();
    let mut objects = false;
    for (table, owner) in OWNED.iter().filter(|(t, _)| catalogs.contains(t)) {
        let k = catalog_number(table);
        let select = match owner {
            Owner::Class => format!("SELECT '{table}', o.owner, {} FROM cls o", row_hash("o", k)),
            Owner::Type => format!("SELECT '{table}', o.owner, {} FROM typ o", row_hash("o", k)),
            Owner::Column(column) => format!(
                "SELECT '{table}', COALESCE(o.owner, 0), {} FROM pg_catalog.{table} x \
                 LEFT JOIN cls o ON o.oid = x.{column}",
                row_hash("x", k)
            ),
            Owner::Object(class, object) => {
                objects = true;
                format!(
                    "SELECT '{table}', COALESCE(o.owner, 0), {} FROM pg_catalog.{table} x \
                     LEFT JOIN obj o ON o.classid = x.{class} AND o.objid = x.{object}",
                    row_hash("x", k)
                )
            }
        };
        selects.push(select);
    }
    let ctes = if objects {
        format!("{OWNERS},\n{OBJECTS}")
    } else {
        OWNERS.to_owned()
    };
    format!(
        "WITH {ctes},\nowned (catalog, owner, h) AS (\n{}\n),\n\
         grouped AS (\n    SELECT CASE WHEN r.owner = 0 THEN r.catalog END AS catalog, r.owner, \
         pg_catalog.count(*) AS row_count, pg_catalog.bit_xor(r.h) AS hash \
         FROM owned r WHERE r.owner >= 0 GROUP BY 1, 2\n)\n\
         SELECT COALESCE(g.catalog, '') AS part, n.nspname::pg_catalog.text AS schema, \
         c.relname::pg_catalog.text AS name, g.row_count, g.hash \
         FROM grouped g \
         LEFT JOIN pg_catalog.pg_class c ON g.owner > 0 AND c.oid = g.owner::pg_catalog.oid \
         LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
        selects.join("\n  UNION ALL\n")
    )
}

/// The catalogs read on the second session when there are two (the fingerprint is split so
/// that each server process scans about half of the rows: at 10,000 tables the largest are
/// `pg_attribute`, read on the first, and `pg_depend` and `pg_class`, on the second;
/// BENCHMARKS.md, "Verify").
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
    for table in CATALOGS.iter().filter(|t| !is_owned(t)) {
        // A session's temporary schemas are made the first time it needs one (and kept for
        // the next session of its number); introspection never reads them.
        let filter = if *table == "pg_namespace" {
            "x.nspname !~ '^pg_(toast_)?temp_'"
        } else {
            ""
        };
        parts.push((
            (*table).to_owned(),
            format!("SELECT '{table}', (SELECT {})", row_versions(table, filter)),
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
    parts()
        .into_iter()
        .filter(|(name, _)| keep(name))
        .map(|(_, select)| select)
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

/// Whether the rows of `table` can belong to a relation ([`OWNED`]).
fn is_owned(table: &str) -> bool {
    OWNED.iter().any(|(t, _)| *t == table)
}

/// The two queries of one lane: its parts, and the rows of its [`OWNED`] catalogs.
fn lane_sql(second: bool) -> (String, String) {
    let parts = sql(|p| SECOND_LANE.contains(&p) == second);
    let owned: Vec<&str> = OWNED
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| SECOND_LANE.contains(t) == second)
        .collect();
    (parts, owned_sql(&owned))
}

/// Reads the fingerprint of the catalog state `client` sees: in the snapshot of the
/// transaction it is in (introspection's), or of the statement alone outside one.
pub async fn read(client: &Client) -> Result<Fingerprint, IntrospectError> {
    let owned: Vec<&str> = OWNED.iter().map(|(t, _)| *t).collect();
    let (parts_sql, owned_sql) = (sql(|_| true), owned_sql(&owned));
    let (parts, rows) = tokio::try_join!(
        read_parts(client, &parts_sql),
        read_owned(client, &owned_sql)
    )?;
    Ok(assemble(vec![(parts, rows)]))
}

/// [`read`] on two sessions that share one snapshot, each reading about half of the rows (at
/// once); each part is read on one of them. Each half runs inside a savepoint (`SAVEPOINT
/// fingerprint`, pipelined with its queries and the release), so that a failure leaves both
/// transactions usable: the savepoint is rolled back and the error returned.
pub(crate) async fn read_guarded(
    first: &Client,
    second: Option<&Client>,
) -> Result<Fingerprint, IntrospectError> {
    let halves = match second {
        Some(second) => {
            let (a, b) = tokio::join!(
                guarded(first, lane_sql(false)),
                guarded(second, lane_sql(true))
            );
            vec![a?, b?]
        }
        None => {
            let owned: Vec<&str> = OWNED.iter().map(|(t, _)| *t).collect();
            vec![guarded(first, (sql(|_| true), owned_sql(&owned))).await?]
        }
    };
    Ok(assemble(halves))
}

/// The fingerprint from the rows of its queries: a relation's rows read on two sessions are
/// added up (counts) and combined (XOR).
fn assemble(halves: Vec<Half>) -> Fingerprint {
    let mut parts = Vec::new();
    let mut relations: BTreeMap<QualifiedName, (i64, i64)> = BTreeMap::new();
    for (p, rows) in halves {
        parts.extend(p);
        for row in rows {
            match row {
                OwnedRow::Remainder(catalog, count, hash) => {
                    parts.push((catalog, format!("{count} {hash}")));
                }
                OwnedRow::Relation(name, count, hash) => {
                    let entry = relations.entry(name).or_insert((0, 0));
                    entry.0 += count;
                    entry.1 ^= hash;
                }
            }
        }
    }
    parts.sort();
    Fingerprint { parts, relations }
}

/// `queries` (the parts, then the owned rows) inside a savepoint on `client`: on failure the
/// savepoint is rolled back, so the transaction goes on as it was.
async fn guarded(
    client: &Client,
    queries: (String, String),
) -> Result<Half, IntrospectError> {
    // Sent in this order at once (each request goes out when its future is first polled).
    // language=PostgreSQL
    let (open, parts, owned, release) = tokio::join!(
        client.batch_execute("SAVEPOINT fingerprint"),
        read_parts(client, &queries.0),
        read_owned(client, &queries.1),
        client.batch_execute("RELEASE SAVEPOINT fingerprint")
    );
    let transaction = |source: tokio_postgres::Error| IntrospectError::Transaction {
        message: pg_message(&source),
        source,
    };
    open.map_err(transaction)?;
    match (parts, owned) {
        (Ok(parts), Ok(owned)) => {
            release.map_err(transaction)?;
            Ok((parts, owned))
        }
        (Err(e), _) | (_, Err(e)) => {
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

/// What one session read: its parts, and its rows of the [`OWNED`] catalogs.
type Half = (Vec<(String, String)>, Vec<OwnedRow>);

/// A row of [`owned_sql`].
enum OwnedRow {
    /// The rows of a catalog that belong to no relation.
    Remainder(String, i64, i64),
    /// The rows that belong to a relation.
    Relation(QualifiedName, i64, i64),
}

/// The rows of `query` ([`owned_sql`]).
async fn read_owned(client: &Client, query: &str) -> Result<Vec<OwnedRow>, IntrospectError> {
    let rows = client
        .query_typed(query, &[])
        .await
        .map_err(|source| IntrospectError::Query {
            query: "fingerprint",
            message: pg_message(&source),
            source,
        })?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let part: String = row.try_get("part").map_err(|e| row_error(&e))?;
        let count: i64 = row.try_get("row_count").map_err(|e| row_error(&e))?;
        let hash: i64 = row.try_get("hash").map_err(|e| row_error(&e))?;
        if part.is_empty() {
            let r = super::rows::RowReader::new(&FINGERPRINT, row);
            found.push(OwnedRow::Relation(r.qualified("schema", "name")?, count, hash));
        } else {
            found.push(OwnedRow::Remainder(part, count, hash));
        }
    }
    Ok(found)
}

/// The fingerprint's queries, for the errors of [`super::rows::RowReader`].
const FINGERPRINT: super::Query = super::Query {
    name: "fingerprint",
    sql: "",
};

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
/// in between. One query, in its own statement.
pub async fn relation_fingerprints(
    client: &Client,
) -> Result<BTreeMap<QualifiedName, (i64, i64)>, IntrospectError> {
    let rows = super::query_alone(client, Q_TOUCHED.name, Q_TOUCHED.sql, &[]).await?;
    let mut found = BTreeMap::new();
    for row in &rows {
        let r = super::rows::RowReader::new(&Q_TOUCHED, row);
        found.insert(
            r.qualified("schema", "name")?,
            (r.get::<i64>("row_count")?, r.get::<i64>("hash")?),
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Every catalog is read once: as a part, or as owned rows.
        for catalog in CATALOGS {
            assert_eq!(
                usize::from(names.contains(catalog)) + usize::from(is_owned(catalog)),
                1,
                "{catalog}"
            );
        }
        for (table, _) in OWNED {
            assert!(CATALOGS.contains(table), "{table}");
        }
        let (_, first_owned) = lane_sql(false);
        let (_, second_owned) = lane_sql(true);
        for (table, _) in OWNED {
            let from = format!("'{table}'");
            assert_eq!(
                usize::from(first_owned.contains(&from)) + usize::from(second_owned.contains(&from)),
                1,
                "{table}"
            );
        }
        let branches = |q: &str| q.matches("\nUNION ALL\n").count() + 1;
        let first = sql(|p| !SECOND_LANE.contains(&p));
        let second = sql(|p| SECOND_LANE.contains(&p));
        assert_eq!(
            branches(&second),
            SECOND_LANE.iter().filter(|t| !is_owned(t)).count()
        );
        assert_eq!(branches(&first) + branches(&second), parts.len());
        assert_eq!(branches(&sql(|_| true)), parts.len());
    }
}
