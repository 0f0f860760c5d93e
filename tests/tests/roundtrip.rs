//! The baseline round trip: JobPilot's original SQL and the baseline migration rendered from
//! `schema/` build the same database, and both equal the declared schema.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::canonical::{CanonicalLock, LOCK_FILE, structural_differences};
use jobpilot_tests::{database_from_files, fixture_sql, normalized_dump, repo_root};

async fn bucket_rows(db: &pgkit::TempDb) -> Vec<String> {
    let client = db.connect().await.unwrap();
    client
        .query(
            "SELECT row(id, name, public, file_size_limit, allowed_mime_types)::text \
             FROM storage.buckets ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

async fn storage_policies(db: &pgkit::TempDb) -> Vec<String> {
    let client = db.connect().await.unwrap();
    client
        .query(
            "SELECT row(policyname, permissive, roles, cmd, qual, with_check)::text \
             FROM pg_policies WHERE schemaname = 'storage' ORDER BY policyname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

#[tokio::test]
async fn fixture_and_baseline_build_the_same_database() {
    let baseline = repo_root().join("migrations/0001_baseline.up.sql");
    let (db_a, from_fixture) = database_from_files("jp_rt_fixture", &[fixture_sql()])
        .await
        .unwrap();
    let (db_b, from_baseline) = database_from_files("jp_rt_baseline", &[baseline])
        .await
        .unwrap();

    assert_eq!(
        structural_differences(&from_fixture, &from_baseline),
        Vec::<String>::new(),
        "fixture vs baseline"
    );

    // The declared schema, with its canonical forms, is the same database too.
    let loaded = codegen::parse::load_dir(&repo_root().join("schema")).unwrap();
    let lock_text = std::fs::read_to_string(repo_root().join("schema").join(LOCK_FILE)).unwrap();
    let mut declared = loaded.schema;
    CanonicalLock::from_json(&lock_text)
        .unwrap()
        .apply(&mut declared)
        .unwrap();
    assert_eq!(
        structural_differences(&declared.database_view(), &from_fixture),
        Vec::<String>::new(),
        "declared vs fixture"
    );

    // pg_dump agrees, up to column order.
    assert_eq!(
        normalized_dump(&db_a).unwrap(),
        normalized_dump(&db_b).unwrap()
    );

    // The parts pg_dump --schema-only does not show: bucket rows and the storage policies.
    let buckets = bucket_rows(&db_a).await;
    assert_eq!(buckets.len(), 1, "{buckets:?}");
    assert_eq!(buckets, bucket_rows(&db_b).await);
    let policies = storage_policies(&db_a).await;
    assert_eq!(policies.len(), 2, "{policies:?}");
    assert_eq!(policies, storage_policies(&db_b).await);
}
