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
        taken.queries, 1,
        "one fingerprint query, on the one session"
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
    admin
        .batch_execute("ALTER TABLE public.t ADD COLUMN name text")
        .await
        .unwrap();
    let changed = sessions.introspect_cached(&filter, &cache).await.unwrap();
    sessions.close().await;
    let _ = std::fs::remove_dir_all(&cache);

    let (stored, taken) = &runs[0];
    assert!(!stored.from_cache);
    assert_eq!(stored.schema, plain.schema);
    assert_eq!(stored.queries, plain.queries + 2);
    let (_, taken_last) = runs.last().unwrap();
    assert!(taken_last.from_cache, "no hit in {} tries", runs.len());
    assert_eq!(taken_last.queries, 2, "one fingerprint query per session");
    assert_eq!(taken.schema, plain.schema);
    assert_eq!(taken_last.schema, plain.schema);
    assert!(!changed.from_cache);
    assert_ne!(changed.schema, plain.schema);
}

/// The per-relation fingerprints read in two halves on two sessions are those read whole on
/// one, on a schema that uses every field of the model.
#[tokio::test]
async fn relation_fingerprints_read_in_halves_are_those_read_whole() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("touched_halves").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let client = db.connect().await.unwrap();
    for st in crate::sqlscript::split(&render_schema(&every_field_schema())).unwrap() {
        client.batch_execute(&st.text).await.unwrap();
    }
    let second = db.connect().await.unwrap();
    let whole = fingerprint::relation_fingerprints(&client, None)
        .await
        .unwrap();
    let halves = fingerprint::relation_fingerprints(&client, Some(&second))
        .await
        .unwrap();
    assert!(whole.len() > 3);
    assert_eq!(halves, whole);
}

/// Temporary tables of other sessions (with their indexes, identity sequences, defaults,
/// constraints, comments, row types and views) leave the catalog fingerprint as it was, so a
/// database whose application uses them is still taken from the cache; a permanent table
/// changes it.
#[tokio::test]
async fn temporary_objects_do_not_change_the_fingerprint() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("fingerprint_temp").await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE public.kept (id int PRIMARY KEY, name text)")
        .await
        .unwrap();
    let own = |mut fp: fingerprint::Fingerprint| {
        fp.parts.retain(|(part, _)| !part.starts_with("shared:"));
        fp
    };
    let before = own(fingerprint::read(&client).await.unwrap());
    let other = db.connect().await.unwrap();
    other
        .batch_execute(
            "CREATE TEMP TABLE scratch (
                 id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 body text DEFAULT 'x' CHECK (body <> ''),
                 n int UNIQUE
             );
             CREATE INDEX ON scratch (body);
             COMMENT ON TABLE scratch IS 'temporary';
             COMMENT ON COLUMN scratch.body IS 'text';
             CREATE TEMP VIEW scratch_view AS SELECT id, body FROM scratch;",
        )
        .await
        .unwrap();
    assert_eq!(own(fingerprint::read(&client).await.unwrap()), before);
    drop(other);
    client
        .batch_execute("CREATE TABLE public.added (id int)")
        .await
        .unwrap();
    assert_ne!(own(fingerprint::read(&client).await.unwrap()), before);
}
