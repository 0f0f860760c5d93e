//! Introspection tests against a real PostgreSQL (one database per test).

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::render::fixture::every_field_schema;
use crate::render::render_schema;

/// Two sessions sharing a snapshot read exactly what one session reads, on a schema that uses
/// every field of the model (so every catalog query returns rows on both lanes).
#[tokio::test]
async fn parallel_introspection_reads_what_one_session_reads() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("introspect_parallel").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let client = db.connect().await.unwrap();
    for st in crate::sqlscript::split(&render_schema(&every_field_schema())).unwrap() {
        client.batch_execute(&st.text).await.unwrap();
    }
    let second = db.connect().await.unwrap();
    let filter = Filter::default();
    let one = introspect(&client, &filter).await.unwrap();
    let two = introspect_parallel(&client, &second, &filter)
        .await
        .unwrap();
    assert!(!one.schema.tables.is_empty());
    assert_eq!(one, two);
    // Both sessions ended their transactions: each can start a new one.
    for c in [&client, &second] {
        c.batch_execute("BEGIN; ROLLBACK").await.unwrap();
    }
}

/// The second session reads the first one's snapshot, not its own: a table created and
/// committed by a third session after the snapshot was taken is seen by neither lane.
#[tokio::test]
async fn the_second_session_adopts_the_first_ones_snapshot() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("introspect_snapshot").await.unwrap();
    let client = db.connect().await.unwrap();
    let second = db.connect().await.unwrap();
    let writer = db.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE public.before (id int PRIMARY KEY)")
        .await
        .unwrap();
    // A snapshot taken by hand the way `introspect_parallel` takes it, adopted by the second
    // session after the writer committed: the adopted snapshot must not see the new table.
    client
        .batch_execute(&format!("{BEGIN_SNAPSHOT}; {SESSION_SETTINGS}"))
        .await
        .unwrap();
    let id: String = client
        .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
        .await
        .unwrap()
        .get(0);
    writer
        .batch_execute("CREATE TABLE public.after (id int PRIMARY KEY)")
        .await
        .unwrap();
    second
        .batch_execute(&format!(
            "{BEGIN_SNAPSHOT}; SET TRANSACTION SNAPSHOT {}; {SESSION_SETTINGS}",
            crate::render::sql::quote_literal(&id)
        ))
        .await
        .unwrap();
    let seen: i64 = second
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname IN ('before', 'after')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 1);
    second.batch_execute("ROLLBACK").await.unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
}

/// A role that may open only one connection: `Sessions` reads through the first session alone
/// (the second is refused) and reads the same schema as two sessions do.
#[tokio::test]
async fn sessions_fall_back_to_one_when_the_second_is_refused() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server
        .create_database("introspect_one_session")
        .await
        .unwrap();
    let admin = db.connect().await.unwrap();
    admin
        .batch_execute("CREATE TABLE public.t (id int PRIMARY KEY, name text)")
        .await
        .unwrap();
    let role = format!("jp_one_session_{}", fastrand::u32(..));
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN CONNECTION LIMIT 1; GRANT CONNECT ON DATABASE {} TO {role}",
            crate::model::quote_ident(db.name())
        ))
        .await
        .unwrap();
    let mut config = db.config();
    config.user(&role);
    let cache = std::env::temp_dir().join(format!(
        "jp_one_session_cache_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = async {
        let sessions = Sessions::connect(&config, std::time::Duration::from_secs(10)).await?;
        let count = sessions.count();
        let found = sessions.introspect(&Filter::default()).await;
        // Through the cache as well: the fingerprint is read on the one session (up to three
        // tries for the hit, as in the next test).
        let cached = async {
            let mut tries = 0;
            loop {
                tries += 1;
                let stored = sessions
                    .introspect_cached(&Filter::default(), &cache)
                    .await?;
                let taken = sessions
                    .introspect_cached(&Filter::default(), &cache)
                    .await?;
                if taken.from_cache || tries == 3 {
                    break Ok::<_, IntrospectError>((stored, taken));
                }
            }
        }
        .await;
        sessions.close().await;
        Ok::<_, Box<dyn std::error::Error>>((count, found?, cached?))
    }
    .await;
    let both = introspect(&admin, &Filter::default()).await.unwrap();
    // language=PostgreSQL
    let _ = admin
        .batch_execute(&format!(
            "REVOKE CONNECT ON DATABASE {} FROM {role}; DROP ROLE {role}",
            crate::model::quote_ident(db.name())
        ))
        .await;
    let _ = std::fs::remove_dir_all(&cache);
    let (count, one, (stored, taken)) = result.unwrap();
    assert_eq!(count, 1, "the role may open one connection");
    assert_eq!(one.schema, both.schema);
    assert!(taken.from_cache);
    assert_eq!(stored.schema, both.schema);
    assert_eq!(taken.schema, both.schema);
    assert_eq!(
        taken.queries, 2,
        "two fingerprint queries, on the one session"
    );
    let unlimited = Sessions::connect(&db.config(), std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(unlimited.count(), 2);
    unlimited.close().await;
    assert!(one.schema.tables.keys().any(|t| t.name.as_str() == "t"));
}

/// Through the cache, on two sessions: a run that finds no entry reads the catalogs and stores
/// what it read; the next takes it (one fingerprint query per session, no catalog query); a
/// change of the catalogs is a miss again. What comes from the cache equals a plain read.
/// (Up to three tries for the hit: roles created by concurrent tests change the fingerprint's
/// shared part in between.)
#[tokio::test]
async fn introspection_is_cached_by_the_catalogs_fingerprint() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("introspect_cached").await.unwrap();
    let admin = db.connect().await.unwrap();
    admin
        .batch_execute("CREATE TABLE public.t (id int PRIMARY KEY)")
        .await
        .unwrap();
    let cache = std::env::temp_dir().join(format!(
        "jp_introspect_cache_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let sessions = Sessions::connect(&db.config(), std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(sessions.count(), 2);
    let filter = Filter::default();
    let plain = sessions.introspect(&filter).await.unwrap();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let stored = sessions.introspect_cached(&filter, &cache).await.unwrap();
        let taken = sessions.introspect_cached(&filter, &cache).await.unwrap();
        let hit = taken.from_cache;
        runs.push((stored, taken));
        if hit {
            break;
        }
    }
    // A change to the table: the next run reads that table again into the earlier result
    // (up to three tries, each with a change of its own: a role created meanwhile means
    // reading everything).
    let mut tries = 0;
    let (changed, after) = loop {
        tries += 1;
        admin
            .batch_execute(&format!("ALTER TABLE public.t ADD COLUMN name_{tries} text"))
            .await
            .unwrap();
        let changed = sessions.introspect_cached(&filter, &cache).await.unwrap();
        let after = sessions.introspect(&filter).await.unwrap();
        if changed.reread.is_some() || tries == 3 {
            break (changed, after);
        }
    };
    sessions.close().await;
    let _ = std::fs::remove_dir_all(&cache);

    let (stored, taken) = &runs[0];
    assert!(!stored.from_cache);
    assert_eq!(stored.schema, plain.schema);
    assert_eq!(stored.queries, plain.queries + 4);
    let (_, taken_last) = runs.last().unwrap();
    assert!(taken_last.from_cache, "no hit in {} tries", runs.len());
    assert_eq!(taken_last.queries, 4, "two fingerprint queries per session");
    assert_eq!(taken.schema, plain.schema);
    assert_eq!(taken_last.schema, plain.schema);
    assert!(!changed.from_cache);
    assert_ne!(changed.schema, plain.schema);
    // Only the table that changed was read again, into the earlier result.
    assert_eq!(changed.reread, Some(1));
    assert_eq!(changed.schema, after.schema);
}

/// Every row of the catalogs whose rows can belong to a relation counts once: for a relation
/// or in its catalog's remainder.
#[tokio::test]
async fn the_fingerprint_counts_every_catalog_row_once() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("fingerprint_rows").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let client = db.connect().await.unwrap();
    for st in crate::sqlscript::split(&render_schema(&every_field_schema())).unwrap() {
        client.batch_execute(&st.text).await.unwrap();
    }
    let owned = [
        "pg_class",
        "pg_attribute",
        "pg_attrdef",
        "pg_constraint",
        "pg_index",
        "pg_trigger",
        "pg_policy",
        "pg_rewrite",
        "pg_inherits",
        "pg_partitioned_table",
        "pg_statistic_ext",
        "pg_foreign_table",
        "pg_sequence",
        "pg_type",
        "pg_depend",
        "pg_description",
    ];
    let total_sql = owned
        .iter()
        .map(|t| format!("(SELECT count(*) FROM pg_catalog.{t})"))
        .collect::<Vec<_>>()
        .join(" + ");
    let (fp, total) = {
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .await
            .unwrap();
        let fp = fingerprint::read(&client).await.unwrap();
        let total: i64 = client
            .query_one(&format!("SELECT {total_sql}"), &[])
            .await
            .unwrap()
            .get(0);
        client.batch_execute("ROLLBACK").await.unwrap();
        (fp, total)
    };
    let remainders: i64 = fp
        .parts
        .iter()
        .filter(|(part, _)| owned.contains(&part.as_str()))
        .map(|(_, value)| value.split(' ').next().unwrap().parse::<i64>().unwrap())
        .sum();
    let of_relations: i64 = fp.relations.values().map(|(count, _)| count).sum();
    assert!(of_relations > 0 && remainders > 0);
    assert_eq!(of_relations + remainders, total);
    let introspected = introspect(&client, &Filter::default()).await.unwrap();
    for name in introspected
        .schema
        .tables
        .keys()
        .chain(introspected.schema.views.keys())
    {
        assert!(fp.relations.contains_key(name), "{name}");
    }
}

/// A change to a table, a view or what belongs to them (columns, defaults, comments, indexes,
/// policies, grants, identity sequences, foreign keys) changes the fingerprint of the relations
/// whose rows it writes only; a temporary table changes nothing; any other change (a type)
/// changes the rest.
#[tokio::test]
async fn a_change_to_a_relation_changes_its_own_fingerprint_only() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("fingerprint_owned").await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE public.a (id int PRIMARY KEY, name text);
             CREATE TABLE public.b (id int PRIMARY KEY, a_id int REFERENCES public.a (id));
             CREATE VIEW public.v AS SELECT id, name FROM public.a;",
        )
        .await
        .unwrap();
    let other = db.connect().await.unwrap();
    let mut before = fingerprint::read(&client).await.unwrap();
    let steps: &[(&str, Option<&[&str]>)] = &[
        ("ALTER TABLE public.b ADD COLUMN note text DEFAULT 'x'", Some(&["public.b"])),
        ("COMMENT ON COLUMN public.b.note IS 'n'", Some(&["public.b"])),
        ("CREATE INDEX b_note ON public.b (note)", Some(&["public.b"])),
        ("COMMENT ON INDEX public.b_note IS 'i'", Some(&["public.b"])),
        (
            "ALTER TABLE public.b ENABLE ROW LEVEL SECURITY; \
             CREATE POLICY p ON public.b USING (id > 0)",
            Some(&["public.b"]),
        ),
        ("GRANT SELECT ON public.b TO PUBLIC", Some(&["public.b"])),
        ("ALTER TABLE public.b ALTER COLUMN note TYPE varchar(10)", Some(&["public.b"])),
        (
            "CREATE TABLE public.c (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text)",
            Some(&["public.c"]),
        ),
        ("ALTER TABLE public.c ALTER COLUMN id SET INCREMENT BY 2", Some(&["public.c"])),
        (
            "ALTER TABLE public.c ADD CONSTRAINT c_a FOREIGN KEY (id) REFERENCES public.a (id)",
            Some(&["public.a", "public.c"]),
        ),
        (
            "CREATE OR REPLACE VIEW public.v AS SELECT id, name, 1 AS one FROM public.a",
            Some(&["public.v"]),
        ),
        ("DROP TABLE public.c", Some(&["public.a", "public.c"])),
        ("ALTER TABLE public.a RENAME TO a2", Some(&["public.a", "public.a2"])),
        ("CREATE TYPE public.mood AS ENUM ('calm')", None),
        ("CREATE SEQUENCE public.s", None),
    ];
    for (sql, expected) in steps {
        client.batch_execute(sql).await.unwrap();
        let after = fingerprint::read(&client).await.unwrap();
        let changed = before.changed_relations(&after).map(|names| {
            names.iter().map(ToString::to_string).collect::<Vec<_>>()
        });
        let expected = expected.map(|e| e.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(changed, expected, "{sql}");
        before = after;
    }
    other
        .batch_execute(
            "CREATE TEMP TABLE scratch (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, t text);
             CREATE INDEX ON scratch (t); COMMENT ON TABLE scratch IS 'temporary'",
        )
        .await
        .unwrap();
    assert_eq!(fingerprint::read(&client).await.unwrap(), before);
}
