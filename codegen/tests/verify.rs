//! `codegen verify` against a real PostgreSQL: a database built by the migrations (on the
//! Supabase bootstrap) verifies clean, and each kind of out-of-band change is reported with the
//! object and the expected and actual values.
//!
//! The baseline database is built once per test binary (bootstrap + `migrate up`) as a template;
//! each test gets its own copy (`CREATE DATABASE … TEMPLATE`), dropped when the test ends. The
//! template is a pgkit database too: what the process does not drop, pgkit's sweep does on the
//! next run.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::project::Paths;
use codegen::verify::{Change, Report, VerifyOptions, render, verify};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn paths() -> Paths {
    Paths::at(root())
}

static TEMPLATE: OnceCell<pgkit::TempDb> = OnceCell::const_new();

/// Bootstrap + `migrate up` of `migrations/`: JobPilot's database as the migrations build it.
async fn template() -> &'static pgkit::TempDb {
    TEMPLATE
        .get_or_init(|| async {
            let server = pgkit::Server::shared().await.unwrap();
            let db = server.create_database("jp_verify_tpl").await.unwrap();
            db.apply_bootstrap().await.unwrap();
            codegen::migrate::up(&db.url(), &paths().migrations, None)
                .await
                .unwrap();
            db
        })
        .await
}

async fn admin(server: &pgkit::Server) -> tokio_postgres::Client {
    let (client, connection) = server
        .admin_config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database of this test binary: dropped (`WITH (FORCE)`) when the guard goes, also when a
/// test panics. Named and marked the way pgkit names and marks its own, so that pgkit's sweep
/// drops it on a later run if this process dies first.
struct Db {
    name: String,
    url: String,
    config: tokio_postgres::Config,
    admin: tokio_postgres::Config,
}

impl Db {
    fn url(&self) -> String {
        self.url.clone()
    }

    async fn execute_script(&self, sql: &str) {
        let (client, connection) = self.config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = quote(&self.name);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let (client, connection) = admin.connect(tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_000_000);

/// A fresh copy of the template (`CREATE DATABASE … TEMPLATE`).
async fn copy() -> Db {
    copy_of(template().await).await
}

/// A fresh copy of `tpl`.
async fn copy_of(tpl: &pgkit::TempDb) -> Db {
    let admin_config = tpl.server().admin_config();
    let admin = admin(tpl.server()).await;
    let marker: String = admin
        .query_one(
            "SELECT pg_catalog.shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database WHERE datname = $1",
            &[&tpl.name()],
        )
        .await
        .unwrap()
        .get(0);
    let random: String = (0..8).map(|_| fastrand::lowercase()).collect();
    let name = format!(
        "jp_verify_{}_{}_{random}",
        std::process::id(),
        COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote(&name),
            quote(tpl.name())
        ))
        .await
        .unwrap();
    let mut config = tpl.config();
    config.dbname(&name);
    let db = Db {
        url: tpl.url().replace(tpl.name(), &name),
        name,
        config,
        admin: admin_config,
    };
    admin
        .batch_execute(&format!(
            "COMMENT ON DATABASE {} IS '{}'",
            quote(&db.name),
            marker.replace('\'', "''")
        ))
        .await
        .unwrap();
    db
}

async fn run(db: &Db) -> Report {
    run_url(&db.url(), &paths()).await
}

/// The caches of this test binary's runs (not the user's): one directory per process.
static CACHE: std::sync::LazyLock<CacheDir> = std::sync::LazyLock::new(|| CacheDir::new("run"));

async fn run_url(url: &str, paths: &Paths) -> Report {
    run_cached(url, paths, &CACHE).await
}

/// Verify with the caches in `cache`.
async fn run_cached(url: &str, paths: &Paths, cache: &CacheDir) -> Report {
    let options = VerifyOptions {
        cache: Some(cache.0.clone()),
        ..VerifyOptions::default()
    };
    verify(url, paths, &options).await.unwrap()
}

/// A directory for the caches of verify (declared schema, introspections), removed on drop.
struct CacheDir(PathBuf);

impl CacheDir {
    fn new(tag: &str) -> CacheDir {
        CacheDir(std::env::temp_dir().join(format!(
            "jp_verify_cache_{tag}_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        )))
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The parts of the catalog fingerprint of the database at `url` that belong to it alone (not
/// `shared:…`: other tests create roles and databases meanwhile).
async fn own_fingerprint(url: &str) -> Vec<(String, String)> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let fp = codegen::introspect::fingerprint::read(&client)
        .await
        .unwrap();
    fp.parts
        .into_iter()
        .filter(|(part, _)| !part.starts_with("shared:"))
        .collect()
}

/// Verifies the database at `url` with an empty cache (clean, read from the catalogs), applies
/// `sql`, and verifies again with that cache: the change must show in the catalogs'
/// fingerprint (in a part of this database's own), so that the second run reads the catalogs
/// again and does not take the first run's clean result from the cache.
async fn verify_before_and_after(
    url: &str,
    paths: &Paths,
    sql: &str,
    apply: impl AsyncFnOnce(),
) -> Report {
    let cache = CacheDir::new("drift");
    let before = run_cached(url, paths, &cache).await;
    assert_eq!(lines(&before), Vec::<String>::new(), "before: {sql}");
    assert!(!before.live_cached);
    let fingerprint = own_fingerprint(url).await;
    apply().await;
    assert_ne!(
        own_fingerprint(url).await,
        fingerprint,
        "the catalog fingerprint did not change after: {sql}"
    );
    let after = run_cached(url, paths, &cache).await;
    assert!(!after.live_cached, "after: {sql}");
    after
}

/// Each difference on one line: `object: unexpected`, `object: attribute: expected -> actual`.
fn lines(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .differences
        .iter()
        .map(|d| match &d.change {
            Change::Missing => format!("{}: missing", d.object),
            Change::Unexpected => format!("{}: unexpected", d.object),
            Change::Changed {
                attribute,
                expected,
                actual,
            } => format!("{}: {attribute}: {expected} -> {actual}", d.object),
        })
        .collect();
    out.sort();
    out
}

/// Applies `sql` to a fresh copy of the baseline database and checks that verify reports
/// exactly `expected` (in any order), with exit code 1.
async fn check_drift(sql: &str, expected: &[&str]) -> Report {
    let db = copy().await;
    let report = verify_before_and_after(&db.url(), &paths(), sql, async || {
        db.execute_script(sql).await
    })
    .await;
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(lines(&report), want, "after: {sql}");
    assert_eq!(report.exit_code(), 1, "{}", render::text(&report, false));
    assert!(report.unsupported.is_empty());
    report
}

macro_rules! drift {
    ($name:ident, $sql:expr, [$($line:expr),* $(,)?]) => {
        #[tokio::test]
        async fn $name() {
            check_drift($sql, &[$($line),*]).await;
        }
    };
}

// ------------------------------------------------------------------------------------ clean

#[tokio::test]
async fn the_database_the_migrations_build_verifies_clean() {
    let db = copy().await;
    let report = run(&db).await;
    assert_eq!(lines(&report), Vec::<String>::new());
    assert!(report.unsupported.is_empty());
    let history = report.history.as_ref().unwrap();
    assert!(history.tracked);
    assert!(!history.fails());
    assert_eq!(report.exit_code(), 0);
    assert!(
        report
            .summary()
            .starts_with("no differences; migrations: up to date (1 applied)"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn the_original_supabase_sql_on_the_bootstrap_verifies_clean() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("jp_verify_fixture").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let client = db.connect().await.unwrap();
    let fixture = root().join("../shared/fixtures/supabase/00001_initial_schema.sql");
    codegen::source::apply_script(
        &client,
        &codegen::source::SqlSource::read(&fixture).unwrap(),
    )
    .await
    .unwrap();
    drop(client);
    let report = run_url(&db.url(), &paths()).await;
    assert_eq!(lines(&report), Vec::<String>::new());
    assert!(report.unsupported.is_empty());
    // Never migrated: everything pending is a note, not drift.
    let history = report.history.as_ref().unwrap();
    assert!(!history.tracked);
    assert_eq!(report.exit_code(), 0, "{}", render::text(&report, false));
}

#[tokio::test]
async fn clean_stays_clean_over_migrate_and_verify_cycles() {
    let db = copy().await;
    for _ in 0..3 {
        let applied = codegen::migrate::up(&db.url(), &paths().migrations, None)
            .await
            .unwrap();
        assert!(applied.is_empty());
        let report = run(&db).await;
        assert_eq!(lines(&report), Vec::<String>::new());
        assert_eq!(report.exit_code(), 0);
    }
}

// ------------------------------------------------------------------------------------ columns

drift!(
    column_added,
    "ALTER TABLE users ADD COLUMN avatar_url text",
    ["column public.users.avatar_url: unexpected"]
);
drift!(
    column_dropped,
    "ALTER TABLE jobs DROP COLUMN location",
    ["column public.jobs.location: missing"]
);
drift!(
    column_renamed,
    "ALTER TABLE jobs RENAME COLUMN location TO city",
    [
        "column public.jobs.city: unexpected",
        "column public.jobs.location: missing"
    ]
);
drift!(
    column_retyped,
    "ALTER TABLE users ALTER COLUMN display_name TYPE text",
    ["column public.users.display_name: type: character varying(120) -> text"]
);
drift!(
    column_set_not_null,
    "ALTER TABLE jobs ALTER COLUMN location SET NOT NULL",
    ["column public.jobs.location: nullable: NULL -> NOT NULL"]
);
drift!(
    column_drop_not_null,
    "ALTER TABLE jobs ALTER COLUMN title DROP NOT NULL",
    ["column public.jobs.title: nullable: NOT NULL -> NULL"]
);
drift!(
    column_default_changed,
    "ALTER TABLE users ALTER COLUMN timezone SET DEFAULT 'Europe/Paris'",
    ["column public.users.timezone: default: 'UTC'::text -> 'Europe/Paris'::text"]
);
drift!(
    column_default_dropped,
    "ALTER TABLE users ALTER COLUMN timezone DROP DEFAULT",
    ["column public.users.timezone: default: 'UTC'::text -> (none)"]
);
drift!(
    column_default_added,
    "ALTER TABLE jobs ALTER COLUMN location SET DEFAULT 'remote'",
    ["column public.jobs.location: default: (none) -> 'remote'::text"]
);
drift!(
    column_made_identity,
    "ALTER TABLE jobs ALTER COLUMN years_experience_min SET NOT NULL, \
     ALTER COLUMN years_experience_min ADD GENERATED BY DEFAULT AS IDENTITY",
    [
        "column public.jobs.years_experience_min: identity: (none) -> GENERATED BY DEFAULT AS IDENTITY (START WITH 1 INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1)",
        "column public.jobs.years_experience_min: nullable: NULL -> NOT NULL"
    ]
);
drift!(
    generated_expression_dropped,
    "ALTER TABLE users ALTER COLUMN email_normalized DROP EXPRESSION",
    [
        "column public.users.email_normalized: generated: GENERATED ALWAYS AS (lower(email)) STORED -> (none)"
    ]
);
drift!(
    column_collation,
    "ALTER TABLE jobs ALTER COLUMN company TYPE text COLLATE \"C\"",
    ["column public.jobs.company: collation: (none) -> pg_catalog.\"C\""]
);
drift!(
    column_comment,
    "COMMENT ON COLUMN users.clerk_id IS 'changed'",
    [
        "column public.users.clerk_id: comment: 'Legacy Clerk user id, kept for the migration period' -> 'changed'"
    ]
);
drift!(
    column_grant,
    "GRANT UPDATE (display_name) ON users TO anon",
    ["column public.users.display_name: grants to anon: (none) -> UPDATE"]
);

#[tokio::test]
async fn column_order() {
    let report = check_drift(
        "ALTER TABLE users DROP COLUMN timezone; ALTER TABLE users ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'",
        &["table public.users: column order: id, clerk_id, email, email_normalized, display_name, timezone, is_active, created_at, updated_at -> id, clerk_id, email, email_normalized, display_name, is_active, created_at, updated_at, timezone"],
    )
    .await;
    assert_eq!(report.differences.len(), 1);
}

// ------------------------------------------------------------------------------------ tables

drift!(
    table_added,
    "CREATE TABLE public.notes (id int PRIMARY KEY, body text)",
    ["table public.notes: unexpected"]
);
drift!(
    table_dropped,
    "DROP TABLE matches",
    ["table public.matches: missing"]
);
drift!(
    table_renamed,
    "ALTER TABLE matches RENAME TO job_matches",
    [
        "table public.job_matches: unexpected",
        "table public.matches: missing"
    ]
);
drift!(
    table_comment,
    "COMMENT ON TABLE jobs IS NULL",
    ["table public.jobs: comment: 'Job postings a user is tracking' -> (none)"]
);
drift!(
    rls_disabled,
    "ALTER TABLE jobs DISABLE ROW LEVEL SECURITY",
    ["table public.jobs: row level security: enabled -> disabled"]
);
drift!(
    rls_forced,
    "ALTER TABLE jobs FORCE ROW LEVEL SECURITY",
    ["table public.jobs: force row level security: disabled -> enabled"]
);
drift!(
    table_grant_added,
    "GRANT SELECT ON jobs TO anon",
    ["table public.jobs: grants to anon: (none) -> SELECT"]
);
drift!(
    table_grant_revoked,
    "REVOKE DELETE ON jobs FROM authenticated",
    [
        "table public.jobs: grants to authenticated: SELECT, INSERT, UPDATE, DELETE -> SELECT, INSERT, UPDATE"
    ]
);
drift!(
    table_grant_option,
    "GRANT SELECT ON jobs TO authenticated WITH GRANT OPTION",
    [
        "table public.jobs: grants to authenticated: SELECT, INSERT, UPDATE, DELETE -> SELECT WITH GRANT OPTION, INSERT, UPDATE, DELETE"
    ]
);
drift!(
    replica_identity,
    "ALTER TABLE jobs REPLICA IDENTITY FULL",
    ["table public.jobs: replica identity: DEFAULT -> FULL"]
);
drift!(
    table_unlogged,
    "ALTER TABLE matches SET UNLOGGED",
    ["table public.matches: unlogged: no -> yes"]
);
drift!(
    table_storage_options,
    "ALTER TABLE jobs SET (fillfactor = 70)",
    ["table public.jobs: options: (none) -> fillfactor=70"]
);
drift!(
    partitioned_table_added,
    "CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at); \
     CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    [
        "table public.events: unexpected",
        "table public.events_2024: unexpected"
    ]
);

// ------------------------------------------------------------------------------------ constraints

drift!(
    check_added,
    "ALTER TABLE jobs ADD CONSTRAINT jobs_title_check CHECK (title <> '')",
    ["check constraint public.jobs.jobs_title_check: unexpected"]
);
drift!(
    check_dropped,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_salary_range_check",
    ["check constraint public.jobs.jobs_salary_range_check: missing"]
);
drift!(
    check_expression_changed,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_salary_range_check, \
     ADD CONSTRAINT jobs_salary_range_check CHECK (salary_min <= salary_max)",
    [
        "check constraint public.jobs.jobs_salary_range_check: expression: ((salary_min IS NULL) OR (salary_max IS NULL) OR (salary_min <= salary_max)) -> (salary_min <= salary_max)"
    ]
);
drift!(
    check_not_valid,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_salary_range_check, \
     ADD CONSTRAINT jobs_salary_range_check CHECK (salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max) NOT VALID",
    ["check constraint public.jobs.jobs_salary_range_check: validated: yes -> no"]
);
drift!(
    unique_dropped,
    "ALTER TABLE users DROP CONSTRAINT users_clerk_id_key",
    ["unique constraint public.users.users_clerk_id_key: missing"]
);
drift!(
    unique_columns_changed,
    "ALTER TABLE applications DROP CONSTRAINT applications_user_id_job_id_key, \
     ADD CONSTRAINT applications_user_id_job_id_key UNIQUE (job_id, user_id)",
    [
        "unique constraint public.applications.applications_user_id_job_id_key: columns: (user_id, job_id) -> (job_id, user_id)"
    ]
);
drift!(
    unique_deferrable,
    "ALTER TABLE applications DROP CONSTRAINT applications_user_id_job_id_key, \
     ADD CONSTRAINT applications_user_id_job_id_key UNIQUE (user_id, job_id) DEFERRABLE INITIALLY DEFERRED",
    [
        "unique constraint public.applications.applications_user_id_job_id_key: deferrable: NOT DEFERRABLE -> DEFERRABLE INITIALLY DEFERRED"
    ]
);
drift!(
    primary_key_dropped,
    "ALTER TABLE matches DROP CONSTRAINT matches_pkey",
    ["primary key public.matches.matches_pkey: missing"]
);
drift!(
    foreign_key_on_delete,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_user_id_fkey, \
     ADD CONSTRAINT jobs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT",
    ["foreign key public.jobs.jobs_user_id_fkey: on delete: CASCADE -> RESTRICT"]
);
drift!(
    foreign_key_on_update,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_user_id_fkey, \
     ADD CONSTRAINT jobs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE",
    ["foreign key public.jobs.jobs_user_id_fkey: on update: NO ACTION -> CASCADE"]
);
drift!(
    foreign_key_deferrable,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_user_id_fkey, \
     ADD CONSTRAINT jobs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE DEFERRABLE",
    [
        "foreign key public.jobs.jobs_user_id_fkey: deferrable: NOT DEFERRABLE -> DEFERRABLE INITIALLY IMMEDIATE"
    ]
);
drift!(
    foreign_key_not_valid,
    "ALTER TABLE jobs DROP CONSTRAINT jobs_user_id_fkey, \
     ADD CONSTRAINT jobs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID",
    ["foreign key public.jobs.jobs_user_id_fkey: validated: yes -> no"]
);
drift!(
    foreign_key_dropped,
    "ALTER TABLE documents DROP CONSTRAINT documents_storage_object_id_fkey",
    ["foreign key public.documents.documents_storage_object_id_fkey: missing"]
);
drift!(
    exclusion_added,
    "ALTER TABLE jobs ADD CONSTRAINT jobs_external_id_excl EXCLUDE USING btree (external_id WITH =)",
    ["exclusion constraint public.jobs.jobs_external_id_excl: unexpected"]
);

// ------------------------------------------------------------------------------------ indexes

drift!(
    index_added,
    "CREATE INDEX jobs_company_idx ON jobs (company)",
    ["index public.jobs.jobs_company_idx: unexpected"]
);
drift!(
    index_dropped,
    "DROP INDEX jobs_user_posted_idx",
    ["index public.jobs.jobs_user_posted_idx: missing"]
);
drift!(
    index_columns_changed,
    "DROP INDEX jobs_user_posted_idx; CREATE INDEX jobs_user_posted_idx ON jobs (posted_at, user_id)",
    ["index public.jobs.jobs_user_posted_idx: keys: (user_id, posted_at) -> (posted_at, user_id)"]
);
drift!(
    index_order_changed,
    "DROP INDEX jobs_user_posted_idx; CREATE INDEX jobs_user_posted_idx ON jobs (user_id, posted_at DESC)",
    [
        "index public.jobs.jobs_user_posted_idx: keys: (user_id, posted_at) -> (user_id, posted_at DESC)"
    ]
);
drift!(
    index_predicate_changed,
    "DROP INDEX agent_actions_pending_idx; \
     CREATE INDEX agent_actions_pending_idx ON agent_actions (created_at) WHERE status = 'running'",
    [
        "index public.agent_actions.agent_actions_pending_idx: predicate: (status = 'pending'::public.agent_action_status) -> (status = 'running'::public.agent_action_status)"
    ]
);
drift!(
    index_method_changed,
    "DROP INDEX jobs_raw_gin_idx; CREATE INDEX jobs_raw_gin_idx ON jobs USING btree (raw)",
    ["index public.jobs.jobs_raw_gin_idx: method: gin -> btree"]
);
drift!(
    index_opclass_changed,
    "DROP INDEX jobs_raw_gin_idx; CREATE INDEX jobs_raw_gin_idx ON jobs USING gin (raw jsonb_path_ops)",
    ["index public.jobs.jobs_raw_gin_idx: keys: (raw) -> (raw pg_catalog.jsonb_path_ops)"]
);
drift!(
    index_made_unique,
    "DROP INDEX jobs_external_id_idx; CREATE UNIQUE INDEX jobs_external_id_idx ON jobs (external_id)",
    ["index public.jobs.jobs_external_id_idx: unique: no -> yes"]
);

// ------------------------------------------------------------------------------------ enums

drift!(
    enum_label_added,
    "ALTER TYPE application_status ADD VALUE 'ghosted'",
    [
        "enum public.application_status: labels: 'saved', 'applied', 'interviewing', 'offer', 'rejected', 'withdrawn' -> 'saved', 'applied', 'interviewing', 'offer', 'rejected', 'withdrawn', 'ghosted'"
    ]
);
drift!(
    enum_label_order,
    "ALTER TYPE document_kind ADD VALUE 'letter' BEFORE 'resume'",
    [
        "enum public.document_kind: labels: 'resume', 'cover_letter', 'portfolio', 'other' -> 'letter', 'resume', 'cover_letter', 'portfolio', 'other'"
    ]
);
drift!(
    enum_label_renamed,
    "ALTER TYPE document_kind RENAME VALUE 'other' TO 'misc'",
    [
        "enum public.document_kind: labels: 'resume', 'cover_letter', 'portfolio', 'other' -> 'resume', 'cover_letter', 'portfolio', 'misc'"
    ]
);
drift!(
    enum_added,
    "CREATE TYPE public.mood AS ENUM ('happy', 'sad')",
    ["enum public.mood: unexpected"]
);

// ------------------------------------------------------------------------------------ policies

drift!(
    policy_using_changed,
    "ALTER POLICY jobs_owner_all ON jobs USING (true)",
    ["policy public.jobs.jobs_owner_all: using: (user_id = ( SELECT auth.uid() AS uid)) -> true"]
);
drift!(
    policy_with_check_changed,
    "ALTER POLICY jobs_owner_all ON jobs WITH CHECK (true)",
    [
        "policy public.jobs.jobs_owner_all: with check: (user_id = ( SELECT auth.uid() AS uid)) -> true"
    ]
);
drift!(
    policy_roles_changed,
    "ALTER POLICY jobs_owner_all ON jobs TO authenticated, anon",
    ["policy public.jobs.jobs_owner_all: roles: authenticated -> anon, authenticated"]
);
drift!(
    policy_command_changed,
    "DROP POLICY documents_owner_select ON documents; \
     CREATE POLICY documents_owner_select ON documents TO authenticated USING (user_id = (SELECT auth.uid()))",
    ["policy public.documents.documents_owner_select: command: SELECT -> ALL"]
);
drift!(
    policy_restrictive,
    "DROP POLICY documents_owner_select ON documents; \
     CREATE POLICY documents_owner_select ON documents AS RESTRICTIVE FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()))",
    ["policy public.documents.documents_owner_select: as: PERMISSIVE -> RESTRICTIVE"]
);
drift!(
    policy_dropped,
    "DROP POLICY documents_owner_delete ON documents",
    ["policy public.documents.documents_owner_delete: missing"]
);
drift!(
    policy_added,
    "CREATE POLICY jobs_public_read ON jobs FOR SELECT TO anon USING (true)",
    ["policy public.jobs.jobs_public_read: unexpected"]
);
drift!(
    storage_policy_dropped,
    "DROP POLICY documents_bucket_owner_read ON storage.objects",
    ["policy storage.objects.documents_bucket_owner_read: missing"]
);
drift!(
    storage_policy_roles_changed,
    "ALTER POLICY documents_bucket_owner_read ON storage.objects TO anon",
    ["policy storage.objects.documents_bucket_owner_read: roles: authenticated -> anon"]
);
drift!(
    storage_policy_added,
    "CREATE POLICY everyone_reads ON storage.objects FOR SELECT USING (true)",
    ["policy storage.objects.everyone_reads: unexpected"]
);

// ------------------------------------------------------------------------------------ triggers

drift!(
    trigger_dropped,
    "DROP TRIGGER jobs_set_updated_at ON jobs",
    ["trigger public.jobs.jobs_set_updated_at: missing"]
);
drift!(
    trigger_disabled,
    "ALTER TABLE jobs DISABLE TRIGGER jobs_set_updated_at",
    ["trigger public.jobs.jobs_set_updated_at: enabled: enabled -> disabled"]
);
drift!(
    trigger_events_changed,
    "DROP TRIGGER jobs_set_updated_at ON jobs; \
     CREATE TRIGGER jobs_set_updated_at BEFORE INSERT OR UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at()",
    ["trigger public.jobs.jobs_set_updated_at: events: UPDATE -> INSERT OR UPDATE"]
);
drift!(
    trigger_timing_changed,
    "DROP TRIGGER jobs_set_updated_at ON jobs; \
     CREATE TRIGGER jobs_set_updated_at AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at()",
    ["trigger public.jobs.jobs_set_updated_at: timing: BEFORE -> AFTER"]
);
drift!(
    trigger_on_auth_users_added,
    "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()",
    ["trigger auth.users.on_auth_user_created: unexpected"]
);

// ------------------------------------------------------------------------------------ functions

drift!(
    function_body_changed,
    "CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
    [
        "function public.set_updated_at(): body: \nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n -> BEGIN RETURN NEW; END"
    ]
);
drift!(
    function_security_definer,
    "ALTER FUNCTION set_updated_at() SECURITY DEFINER",
    ["function public.set_updated_at(): security: INVOKER -> DEFINER"]
);
drift!(
    function_setting,
    "ALTER FUNCTION set_updated_at() SET search_path = pg_catalog",
    ["function public.set_updated_at(): settings: (none) -> search_path=pg_catalog"]
);
drift!(
    function_volatility,
    "ALTER FUNCTION set_updated_at() STABLE",
    ["function public.set_updated_at(): volatility: VOLATILE -> STABLE"]
);
drift!(
    function_execute_revoked_from_public,
    "REVOKE EXECUTE ON FUNCTION set_updated_at() FROM PUBLIC",
    ["function public.set_updated_at(): execute by public: yes -> no"]
);
drift!(
    function_granted,
    "GRANT EXECUTE ON FUNCTION set_updated_at() TO anon",
    ["function public.set_updated_at(): grants to anon: (none) -> EXECUTE"]
);
drift!(
    function_comment,
    "COMMENT ON FUNCTION set_updated_at() IS 'keeps updated_at current'",
    ["function public.set_updated_at(): comment: (none) -> 'keeps updated_at current'"]
);
drift!(
    function_added,
    "CREATE FUNCTION public.answer() RETURNS integer LANGUAGE sql AS 'SELECT 42'",
    ["function public.answer(): unexpected"]
);

// ------------------------------------------------------------------------------------ other kinds

drift!(
    view_added,
    "CREATE VIEW public.open_jobs AS SELECT id, title FROM jobs",
    ["view public.open_jobs: unexpected"]
);
drift!(
    materialized_view_added,
    "CREATE MATERIALIZED VIEW public.job_counts AS SELECT user_id, count(*) FROM jobs GROUP BY user_id",
    ["view public.job_counts: unexpected"]
);
drift!(
    extension_added,
    "CREATE EXTENSION citext SCHEMA public",
    ["extension citext: unexpected"]
);
drift!(
    schema_added,
    "CREATE SCHEMA reporting",
    ["schema reporting: unexpected"]
);
drift!(
    schema_public_grant,
    "GRANT CREATE ON SCHEMA public TO anon",
    ["schema public: grants to anon: (none) -> CREATE"]
);
drift!(
    sequence_added,
    "CREATE SEQUENCE public.invoice_no",
    ["sequence public.invoice_no: unexpected"]
);
drift!(
    domain_added,
    "CREATE DOMAIN public.email AS text CHECK (VALUE LIKE '%@%')",
    ["domain public.email: unexpected"]
);
drift!(
    composite_added,
    "CREATE TYPE public.money_range AS (low numeric, high numeric)",
    ["composite type public.money_range: unexpected"]
);
drift!(
    collation_added,
    "CREATE COLLATION public.c_sort FROM \"C\"",
    ["collation public.c_sort: unexpected"]
);
drift!(
    default_privileges_added,
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticator",
    [
        "default privilege FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO authenticator: unexpected"
    ]
);

// ------------------------------------------------------------------------------------ buckets

drift!(
    bucket_made_public,
    "UPDATE storage.buckets SET public = true WHERE id = 'documents'",
    ["bucket documents: public: no -> yes"]
);
drift!(
    bucket_size_limit,
    "UPDATE storage.buckets SET file_size_limit = 1024 WHERE id = 'documents'",
    ["bucket documents: file size limit: 10485760 -> 1024"]
);
drift!(
    bucket_mime_types,
    "UPDATE storage.buckets SET allowed_mime_types = '{text/plain}' WHERE id = 'documents'",
    [
        "bucket documents: allowed MIME types: 'application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'text/plain' -> 'text/plain'"
    ]
);
drift!(
    bucket_deleted,
    "DELETE FROM storage.buckets WHERE id = 'documents'",
    ["bucket documents: missing"]
);
drift!(
    bucket_added,
    "INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true)",
    ["bucket avatars: unexpected"]
);

// ------------------------------------------------------------------------------------ Supabase

#[tokio::test]
async fn what_supabase_does_in_its_own_schemas_is_not_drift() {
    let db = copy().await;
    db.execute_script(
        "CREATE TABLE auth.audit_log_entries2 (id uuid PRIMARY KEY); \
         CREATE FUNCTION storage.search2() RETURNS int LANGUAGE sql AS 'SELECT 1'; \
         CREATE TABLE storage.migrations2 (id int); \
         CREATE TABLE extensions.helper (id int); \
         CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions; \
         CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\" WITH SCHEMA extensions; \
         CREATE POLICY admin_all ON auth.users TO service_role USING (true); \
         GRANT SELECT ON auth.users TO authenticated; \
         INSERT INTO storage.objects (bucket_id, name) VALUES ('documents', 'a.pdf');",
    )
    .await;
    let report = run(&db).await;
    // The policy on auth.users is the application's (attached), the rest is the platform's.
    assert_eq!(
        lines(&report),
        vec!["policy auth.users.admin_all: unexpected"]
    );
}

#[tokio::test]
async fn grants_made_by_supabase_default_privileges_are_not_drift() {
    // What a Supabase project does before any application SQL runs: every table, sequence and
    // function created in public is granted to its API roles.
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("jp_verify_defacl").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    db.execute_script(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;",
    )
    .await
    .unwrap();
    codegen::migrate::up(&db.url(), &paths().migrations, None)
        .await
        .unwrap();
    let report = run_url(&db.url(), &paths()).await;
    assert_eq!(lines(&report), Vec::<String>::new());
    assert!(report.platform_grants > 0);
    assert_eq!(report.exit_code(), 0);
    // A grant beyond what the platform gives is still drift; so is a declared grant revoked.
    db.execute_script(
        "GRANT SELECT ON public.jobs TO authenticator; REVOKE SELECT ON public.jobs FROM authenticated;",
    )
    .await
    .unwrap();
    let report = run_url(&db.url(), &paths()).await;
    assert_eq!(
        lines(&report),
        vec![
            "table public.jobs: grants to authenticated: SELECT, INSERT, UPDATE, DELETE -> INSERT, UPDATE, DELETE",
            "table public.jobs: grants to authenticator: (none) -> SELECT",
        ]
    );
}

// ------------------------------------------------------------------------------------ history

/// A project directory: the real schema/ (with `ignore` as its verify.ignore) and a
/// migrations/ with the baseline plus `extra` files; removed on drop.
struct Project(PathBuf);

impl Project {
    fn new(tag: &str, ignore: Option<&str>, extra: &[(&str, &str)]) -> Project {
        Project::with_schema(tag, ignore, extra, &[])
    }

    /// Also with `schema_files` (name, text) added to schema/, replacing any of the same name.
    fn with_schema(
        tag: &str,
        ignore: Option<&str>,
        extra: &[(&str, &str)],
        schema_files: &[(&str, &str)],
    ) -> Project {
        let dir = std::env::temp_dir().join(format!(
            "jp_verify_{tag}_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let schema = dir.join("schema");
        let migrations = dir.join("migrations");
        std::fs::create_dir_all(&schema).unwrap();
        std::fs::create_dir_all(&migrations).unwrap();
        for entry in std::fs::read_dir(root().join("schema")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, schema.join(path.file_name().unwrap())).unwrap();
            }
        }
        if let Some(text) = ignore {
            std::fs::write(schema.join(codegen::verify::IGNORE_FILE), text).unwrap();
        }
        for entry in std::fs::read_dir(root().join("migrations")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, migrations.join(path.file_name().unwrap())).unwrap();
        }
        for (name, text) in extra {
            std::fs::write(migrations.join(name), text).unwrap();
        }
        for (name, text) in schema_files {
            std::fs::write(schema.join(name), text).unwrap();
        }
        Project(dir)
    }

    fn paths(&self) -> Paths {
        Paths::at(&self.0)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn history_states(report: &Report) -> Vec<(i64, &'static str)> {
    report
        .history
        .as_ref()
        .unwrap()
        .status
        .migrations
        .iter()
        .map(|e| (e.version, e.state.as_str()))
        .collect()
}

#[tokio::test]
async fn pending_migration_is_reported() {
    let project = Project::new(
        "pending",
        None,
        &[("0002_notes.up.sql", "CREATE TABLE public.notes (id int);\n")],
    );
    let db = copy().await;
    let report = run_url(&db.url(), &project.paths()).await;
    assert_eq!(lines(&report), Vec::<String>::new());
    assert_eq!(
        history_states(&report),
        vec![(1, "applied"), (2, "pending")]
    );
    assert_eq!(report.exit_code(), 1);
    assert!(
        report.summary().ends_with("migrations: 1 pending"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn edited_migration_is_reported() {
    let db = copy().await;
    db.execute_script("UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea WHERE version = 1")
        .await;
    let report = run(&db).await;
    assert_eq!(history_states(&report), vec![(1, "checksum_mismatch")]);
    assert_eq!(report.exit_code(), 1);
    let text = render::text(&report, false);
    assert!(text.contains("was edited after it was applied"), "{text}");
}

#[tokio::test]
async fn unknown_applied_migration_is_reported() {
    let db = copy().await;
    db.execute_script(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (7, 'from another branch', true, '\\x00'::bytea, 1)",
    )
    .await;
    let report = run(&db).await;
    assert_eq!(
        history_states(&report),
        vec![(1, "applied"), (7, "unknown")]
    );
    assert_eq!(report.exit_code(), 1);
    assert!(report.summary().ends_with("migrations: 1 unknown"));
}

#[tokio::test]
async fn failed_migration_is_reported() {
    let db = copy().await;
    db.execute_script("UPDATE _sqlx_migrations SET success = false WHERE version = 1")
        .await;
    let report = run(&db).await;
    assert_eq!(history_states(&report), vec![(1, "failed")]);
    assert_eq!(report.exit_code(), 1);
}

// ------------------------------------------------------------------------------------ ignore list

#[tokio::test]
async fn ignored_objects_are_not_reported_nor_fixed() {
    let project = Project::new(
        "ignore",
        Some(
            "# deliberately unmanaged\ntable public.legacy_*\ncolumn public.users.tmp_*\nrule *\n",
        ),
        &[],
    );
    let db = copy().await;
    db.execute_script(
        "CREATE TABLE public.legacy_orders (id int); \
         CREATE RULE legacy_no_delete AS ON DELETE TO public.legacy_orders DO INSTEAD NOTHING; \
         ALTER TABLE users ADD COLUMN tmp_import_id int; \
         ALTER TABLE users ADD COLUMN avatar_url text;",
    )
    .await;
    let options = VerifyOptions {
        fix: true,
        ..VerifyOptions::default()
    };
    let report = verify(&db.url(), &project.paths(), &options).await.unwrap();
    assert_eq!(
        lines(&report),
        vec!["column public.users.avatar_url: unexpected"]
    );
    assert_eq!(
        report.ignored,
        vec![
            "column public.users.tmp_import_id",
            "rule public.legacy_orders.legacy_no_delete",
            "table public.legacy_orders",
        ]
    );
    let sql = report.fix.as_ref().unwrap().to_sql();
    assert!(sql.contains("DROP COLUMN avatar_url"), "{sql}");
    assert!(
        !sql.contains("legacy_orders") && !sql.contains("tmp_import_id"),
        "{sql}"
    );
}

#[tokio::test]
async fn objects_the_model_cannot_represent_are_reported_and_fail_the_check() {
    let db = copy().await;
    db.execute_script("CREATE RULE jobs_no_delete AS ON DELETE TO public.jobs DO INSTEAD NOTHING")
        .await;
    let report = run(&db).await;
    assert_eq!(lines(&report), Vec::<String>::new());
    assert_eq!(report.unsupported.len(), 1);
    assert_eq!(report.unsupported[0].kind, "rule");
    assert_eq!(report.exit_code(), 2);
    let text = render::text(&report, false);
    assert!(text.contains("cannot be represented"), "{text}");
    assert!(text.contains("rule public.jobs.jobs_no_delete"), "{text}");
}

// ------------------------------------------------------------------------------------ read-only

#[tokio::test]
async fn verify_works_on_a_read_only_database_and_changes_nothing() {
    let db = copy().await;
    db.execute_script("ALTER TABLE users ADD COLUMN avatar_url text")
        .await;
    let admin_client = admin(template().await.server()).await;
    admin_client
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            quote(&db.name)
        ))
        .await
        .unwrap();
    let (client, connection) = db.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let snapshot = || async {
        let schema =
            codegen::introspect::introspect(&client, &codegen::introspect::Filter::default())
                .await
                .unwrap()
                .schema;
        let rows: Vec<String> = client
            .query(
                "SELECT format('%s %s %s %s', version, success, checksum, installed_on) FROM _sqlx_migrations \
                 UNION ALL SELECT format('%s %s %s', id, public, file_size_limit) FROM storage.buckets",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        (schema, rows)
    };
    let before = snapshot().await;
    for _ in 0..2 {
        let report = run(&db).await;
        assert_eq!(
            lines(&report),
            vec!["column public.users.avatar_url: unexpected"]
        );
    }
    assert_eq!(snapshot().await, before);
}

// ------------------------------------------------------------------------------------ outputs

/// One small drift, with the parts that change from run to run fixed.
async fn small_drift() -> Report {
    let db = copy().await;
    db.execute_script(
        "ALTER TABLE users ADD COLUMN avatar_url text; \
         ALTER TABLE users ALTER COLUMN timezone DROP DEFAULT; \
         ALTER TABLE jobs FORCE ROW LEVEL SECURITY; \
         DROP INDEX jobs_user_posted_idx;",
    )
    .await;
    let mut report = run(&db).await;
    report.database = "postgres://verify:***@staging.example.com:5432/postgres".to_owned();
    if let Some(h) = &mut report.history {
        for e in &mut h.status.migrations {
            e.applied_at = Some("2026-01-01T00:00:00Z".to_owned());
        }
    }
    report
}

#[tokio::test]
async fn outputs_of_a_small_drift() {
    let report = small_drift().await;
    assert_eq!(report.exit_code(), 1);
    insta::assert_snapshot!("text", render::text(&report, false));
    insta::assert_snapshot!(
        "json",
        serde_json::to_string_pretty(&render::json(&report)).unwrap()
    );
    insta::assert_snapshot!("github", render::github(&report));
    let colored = render::text(&report, true);
    assert!(colored.contains("\x1b[31m"), "{colored}");
}

/// The keys of every JSON object in `v`, by path (array elements as `[]`).
fn json_keys(v: &serde_json::Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                out.insert(p.clone());
                json_keys(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                json_keys(x, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_readme_documents_the_json_shape() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("The JSON shape (`--format json`)")
        .nth(1)
        .unwrap();
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let end = section[start..].find("```").unwrap() + start;
    let documented: serde_json::Value = serde_json::from_str(&section[start..end]).unwrap();
    let mut report = small_drift().await;
    report.fix = Some(codegen::diff::Plan::default());
    report.ignored = vec!["table public.legacy".into()];
    report.unsupported = vec![codegen::model::Unsupported {
        kind: "rule".into(),
        name: "public.jobs.r".into(),
        reason: "…".into(),
    }];
    report.differences[0].audit = vec![codegen::verify::audit::AuditEntry {
        at: "2026-01-01 00:00:00+00".into(),
        role: "postgres".into(),
        command: "ALTER TABLE".into(),
        object_type: Some("table".into()),
        object: Some("public.users".into()),
        statement: "ALTER TABLE users ALTER COLUMN timezone DROP DEFAULT".into(),
    }];
    let produced = render::json(&report);
    let (mut a, mut b) = (Default::default(), Default::default());
    json_keys(&documented, "", &mut a);
    json_keys(&produced, "", &mut b);
    assert_eq!(a, b, "README.md documents another JSON shape");
}

// ------------------------------------------------------------------------------------ the CLI

fn codegen(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codegen"));
    cmd.arg("--root").arg(root()).args(args);
    cmd.env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .env("CODEGEN_CACHE_DIR", &CACHE.0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn cli(args: Vec<String>, env: Vec<(String, String)>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        codegen(&args, &env)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn cli_exit_codes_formats_and_fix() {
    let db = copy().await;
    let url = db.url();
    let (code, out, err) = cli(
        vec!["verify".into()],
        vec![("DATABASE_URL".into(), url.clone())],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no differences"), "{out}");
    assert!(!out.contains('\x1b'), "no colour off a terminal: {out}");

    db.execute_script("ALTER TABLE users ADD COLUMN avatar_url text")
        .await;
    let (code, out, err) = cli(
        vec![
            "verify".into(),
            "--database-url".into(),
            url.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(code, 1, "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["status"], "drift");
    assert_eq!(json["objects"][0]["name"], "public.users.avatar_url");
    assert_eq!(json["objects"][0]["differences"][0]["change"], "unexpected");

    let (code, out, err) = cli(
        vec![
            "verify".into(),
            "--database-url".into(),
            url.clone(),
            "--format".into(),
            "github".into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.starts_with("::error file=schema/10_users.toml,line=4,title=schema drift%3A column public.users.avatar_url::"),
        "{out}"
    );

    let (code, out, err) = cli(
        vec![
            "verify".into(),
            "--database-url".into(),
            url.clone(),
            "--fix".into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("-- hazard data-loss"), "{out}");
    assert!(
        out.contains("ALTER TABLE public.users DROP COLUMN avatar_url;"),
        "{out}"
    );
    assert!(err.contains("column public.users.avatar_url"), "{err}");
    // The fix puts the database back: applied, verify is clean again.
    let sql: String = out
        .lines()
        .filter(|l| !l.starts_with("-- SQL"))
        .collect::<Vec<_>>()
        .join("\n");
    db.execute_script(&sql).await;
    let (code, out, err) = cli(vec!["verify".into(), "--database-url".into(), url], vec![]).await;
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn unreachable_database_exits_2_without_the_password() {
    // Nothing listens on port 1.
    let (code, out, err) = cli(
        vec![
            "verify".into(),
            "--database-url".into(),
            "postgres://app:s3cret-pw@127.0.0.1:1/postgres".into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        !out.contains("s3cret-pw") && !err.contains("s3cret-pw"),
        "{out}{err}"
    );
    assert!(
        err.contains("postgres://app:***@127.0.0.1:1/postgres"),
        "{err}"
    );
    assert!(err.contains("nothing was checked"), "{err}");
}

#[tokio::test]
async fn a_database_that_does_not_answer_times_out() {
    // Accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(2) {
            held.push(s);
            std::thread::sleep(Duration::from_secs(5));
        }
    });
    let started = Instant::now();
    let (code, out, err) = cli(
        vec![
            "verify".into(),
            "--connect-timeout".into(),
            "1".into(),
            "--database-url".into(),
            format!("postgres://app:hunter2@127.0.0.1:{port}/postgres"),
        ],
        vec![],
    )
    .await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("no answer within 1 s"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    drop(hold);
}

#[test]
fn no_database_url_exits_2() {
    let dir = std::env::temp_dir().join(format!("jp_verify_nourl_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_codegen"))
        .current_dir(&dir)
        .args(["--root", root().to_str().unwrap(), "verify"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // The workspace may have a .env with DATABASE_URL; only check when it does not.
    if !root().join(".env").exists() {
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));
    }
}

// ------------------------------------------------------------------------------------ the other kinds
//
// JobPilot declares no view, domain, sequence… so these tests add a schema file that does, and
// build its lock and baseline once (on a scratch database, as `codegen generate` would).

const EXTRA_SCHEMA: &str = r#"
[extension.citext]
schema = "public"

[extension.pg_trgm]
schema = "extensions"
version = "1.5"

[collation.c_sort]
provider = "libc"
locale = "C"

[domain.email]
type = "text"
check = "VALUE ~ '@'"

[composite.money]
attributes = [{ name = "amount", type = "numeric(12,2)" }, { name = "currency", type = "char(3)" }]

[sequence.invoice_no]
as = "integer"
start = 1000

[view.open_jobs]
query = "SELECT id, title FROM jobs WHERE posted_at IS NOT NULL"
grants = { authenticated = ["select"] }

[view.job_counts]
materialized = true
query = "SELECT user_id, count(*) AS n FROM jobs GROUP BY user_id"
index = [{ columns = ["user_id"] }]

[[default_privileges]]
for_role = "postgres"
in_schema = "public"
on = "types"
grant = { authenticator = ["usage"] }
"#;

/// The extended project's derived files (lock, baseline) and its template database.
struct Extended {
    lock: String,
    baseline: String,
    db: pgkit::TempDb,
}

static EXTENDED: OnceCell<Extended> = OnceCell::const_new();

async fn extended() -> &'static Extended {
    EXTENDED
        .get_or_init(|| async {
            let server = pgkit::Server::shared().await.unwrap();
            let project =
                Project::with_schema("ext_build", None, &[], &[("90_extra.toml", EXTRA_SCHEMA)]);
            let paths = project.paths();
            let loaded = codegen::project::load_schema(&paths).unwrap();
            let lock = codegen::project::build_lock(&loaded, &server)
                .await
                .unwrap();
            let canonical = codegen::project::canonical_schema(&loaded, &lock).unwrap();
            let baseline = codegen::project::render_baseline(&canonical);
            std::fs::write(paths.lock_file(), lock.to_json()).unwrap();
            std::fs::write(
                paths.migrations.join(codegen::project::BASELINE_UP),
                &baseline,
            )
            .unwrap();
            let db = server.create_database("jp_verify_ext_tpl").await.unwrap();
            db.apply_bootstrap().await.unwrap();
            codegen::migrate::up(&db.url(), &paths.migrations, None)
                .await
                .unwrap();
            Extended {
                lock: lock.to_json(),
                baseline,
                db,
            }
        })
        .await
}

/// A copy of the extended template and a project directory for it.
async fn extended_copy() -> (Db, Project) {
    let ext = extended().await;
    let project = Project::with_schema("ext", None, &[], &[("90_extra.toml", EXTRA_SCHEMA)]);
    let paths = project.paths();
    std::fs::write(paths.lock_file(), &ext.lock).unwrap();
    std::fs::write(
        paths.migrations.join(codegen::project::BASELINE_UP),
        &ext.baseline,
    )
    .unwrap();
    (copy_of(&ext.db).await, project)
}

async fn check_extended_drift(sql: &str, expected: &[&str]) {
    let (db, project) = extended_copy().await;
    let report = if expected.is_empty() {
        db.execute_script(sql).await;
        run_url(&db.url(), &project.paths()).await
    } else {
        verify_before_and_after(&db.url(), &project.paths(), sql, async || {
            db.execute_script(sql).await
        })
        .await
    };
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(
        lines(&report),
        want,
        "after: {sql}\n{}",
        render::text(&report, false)
    );
    assert_eq!(report.exit_code(), if want.is_empty() { 0 } else { 1 });
}

macro_rules! extended_drift {
    ($name:ident, $sql:expr, [$($line:expr),* $(,)?]) => {
        #[tokio::test]
        async fn $name() {
            check_extended_drift($sql, &[$($line),*]).await;
        }
    };
}

extended_drift!(extended_schema_verifies_clean, "SELECT 1", []);
extended_drift!(
    view_definition_changed,
    "CREATE OR REPLACE VIEW open_jobs AS SELECT id, title FROM jobs WHERE posted_at IS NULL",
    [
        "view public.open_jobs: definition:  SELECT jobs.id,\n    jobs.title\n   FROM public.jobs\n  WHERE (jobs.posted_at IS NOT NULL); ->  SELECT jobs.id,\n    jobs.title\n   FROM public.jobs\n  WHERE (jobs.posted_at IS NULL);"
    ]
);
extended_drift!(
    view_dropped,
    "DROP VIEW open_jobs",
    ["view public.open_jobs: missing"]
);
extended_drift!(
    view_grant_revoked,
    "REVOKE SELECT ON open_jobs FROM authenticated",
    ["view public.open_jobs: grants to authenticated: SELECT -> (none)"]
);
extended_drift!(
    view_option_set,
    "ALTER VIEW open_jobs SET (security_invoker = true)",
    ["view public.open_jobs: options: (none) -> security_invoker=true"]
);
extended_drift!(
    materialized_view_index_dropped,
    "DROP INDEX job_counts_user_id_idx",
    ["index public.job_counts.job_counts_user_id_idx: missing"]
);
extended_drift!(
    domain_check_changed,
    "ALTER DOMAIN email DROP CONSTRAINT email_check; ALTER DOMAIN email ADD CONSTRAINT email_check CHECK (VALUE ~ '@.')",
    [
        "check constraint public.email.email_check: expression: (VALUE ~ '@'::text) -> (VALUE ~ '@.'::text)"
    ]
);
extended_drift!(
    domain_not_null,
    "ALTER DOMAIN email SET NOT NULL",
    ["domain public.email: nullable: NULL -> NOT NULL"]
);
extended_drift!(
    domain_default,
    "ALTER DOMAIN email SET DEFAULT 'nobody@example.com'",
    ["domain public.email: default: (none) -> 'nobody@example.com'::text"]
);
extended_drift!(
    composite_attribute_added,
    "ALTER TYPE money ADD ATTRIBUTE note text",
    [
        "composite type public.money: attributes: (amount numeric(12,2), currency character(3)) -> (amount numeric(12,2), currency character(3), note text)"
    ]
);
extended_drift!(
    sequence_increment_changed,
    "ALTER SEQUENCE invoice_no INCREMENT BY 5",
    ["sequence public.invoice_no: increment: 1 -> 5"]
);
extended_drift!(
    sequence_dropped,
    "DROP SEQUENCE invoice_no",
    ["sequence public.invoice_no: missing"]
);
extended_drift!(
    extension_dropped,
    "DROP EXTENSION citext",
    ["extension citext: missing"]
);
extended_drift!(
    extension_updated,
    "ALTER EXTENSION pg_trgm UPDATE TO '1.6'",
    ["extension pg_trgm: version: 1.5 -> 1.6"]
);
extended_drift!(
    collation_dropped,
    "DROP COLLATION c_sort",
    ["collation public.c_sort: missing"]
);
extended_drift!(
    default_privilege_revoked,
    "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public REVOKE USAGE ON TYPES FROM authenticator",
    [
        "default privilege FOR ROLE postgres IN SCHEMA public GRANT USAGE ON TYPES TO authenticator: missing"
    ]
);

// ------------------------------------------------------------------------------------ audit trail

#[tokio::test]
async fn the_audit_trail_says_who_changed_what() {
    use codegen::verify::audit;
    let db = copy().await;
    let timeout = Duration::from_secs(10);
    audit::install(&db.url(), timeout).await.unwrap();
    audit::install(&db.url(), timeout).await.unwrap(); // idempotent
    let report = run(&db).await;
    assert!(report.audited);
    assert_eq!(
        lines(&report),
        Vec::<String>::new(),
        "the trail itself is not drift"
    );
    assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
    assert_eq!(report.exit_code(), 0);

    db.execute_script(
        "ALTER TABLE users ADD COLUMN avatar_url text; \
         ALTER TABLE jobs DROP COLUMN location; \
         DROP POLICY jobs_owner_all ON jobs; \
         CREATE INDEX jobs_title_idx ON jobs (title);",
    )
    .await;
    let report = run(&db).await;
    assert_eq!(
        lines(&report),
        vec![
            "column public.jobs.location: missing",
            "column public.users.avatar_url: unexpected",
            "index public.jobs.jobs_title_idx: unexpected",
            "policy public.jobs.jobs_owner_all: missing",
        ]
    );
    for d in &report.differences {
        assert_eq!(d.audit.len(), 1, "{}: {:?}", d.object, d.audit);
        let e = &d.audit[0];
        assert_eq!(e.role, "postgres");
        let name = d.object.name.rsplit('.').next().unwrap();
        assert!(e.statement.contains(name), "{}: {}", d.object, e.describe());
    }
    let text = render::text(&report, false);
    assert!(
        text.contains("audit: ALTER TABLE by role postgres at "),
        "{text}"
    );
    assert!(
        text.contains(": ALTER TABLE users ADD COLUMN avatar_url text"),
        "{text}"
    );

    audit::uninstall(&db.url(), timeout).await.unwrap();
    let report = run(&db).await;
    assert!(!report.audited);
    assert!(report.differences.iter().all(|d| d.audit.is_empty()));
}

// --------------------------------------------------------------------- cache of introspections

/// Runs verify with `cache` until a run takes the database's side from the cache (3 tries:
/// roles and databases that other tests create meanwhile are part of the fingerprint, and make
/// a run read the catalogs again). Returns the first run and the cached one.
async fn until_cached(url: &str, paths: &Paths, cache: &CacheDir) -> (Report, Report) {
    let first = run_cached(url, paths, cache).await;
    for _ in 0..3 {
        let again = run_cached(url, paths, cache).await;
        if again.live_cached {
            return (first, again);
        }
    }
    panic!("three runs on an unchanged database and none came from the cache");
}

/// A second run on an unchanged database takes the introspection from the cache and reports
/// exactly what the first one did, drift included; without a cache nothing is taken from one.
#[tokio::test]
async fn an_unchanged_database_is_read_from_the_cache() {
    let db = copy().await;
    db.execute_script("ALTER TABLE public.users ADD COLUMN avatar_url text")
        .await;
    let cache = CacheDir::new("hit");
    let (first, cached) = until_cached(&db.url(), &paths(), &cache).await;
    assert!(!first.live_cached);
    assert_eq!(
        lines(&first),
        vec!["column public.users.avatar_url: unexpected"]
    );
    assert_eq!(lines(&cached), lines(&first));
    assert_eq!(cached.summary(), first.summary());
    assert_eq!(render::text(&cached, false), render::text(&first, false));

    let options = VerifyOptions {
        cache: None,
        ..VerifyOptions::default()
    };
    let uncached = verify(&db.url(), &paths(), &options).await.unwrap();
    assert!(!uncached.live_cached);
    assert_eq!(lines(&uncached), lines(&first));
}

/// What lives outside the database's own catalogs counts too: renaming a role (a shared
/// catalog) that holds a grant is seen by the next run, which reads the catalogs again.
#[tokio::test]
async fn renaming_a_role_is_not_taken_from_the_cache() {
    let db = copy().await;
    let tag = fastrand::u64(..);
    let (old, new) = (format!("jp_fp_role_{tag}"), format!("jp_fp_renamed_{tag}"));
    let admin = admin(template().await.server()).await;
    admin
        .batch_execute(&format!("CREATE ROLE {old}"))
        .await
        .unwrap();
    db.execute_script(&format!("GRANT SELECT ON public.jobs TO {old}"))
        .await;
    let cache = CacheDir::new("role");
    let (first, _) = until_cached(&db.url(), &paths(), &cache).await;
    assert_eq!(
        lines(&first),
        vec![format!(
            "table public.jobs: grants to {old}: (none) -> SELECT"
        )]
    );
    admin
        .batch_execute(&format!("ALTER ROLE {old} RENAME TO {new}"))
        .await
        .unwrap();
    let after = run_cached(&db.url(), &paths(), &cache).await;
    assert!(!after.live_cached);
    assert_eq!(
        lines(&after),
        vec![format!(
            "table public.jobs: grants to {new}: (none) -> SELECT"
        )]
    );
    db.execute_script(&format!("REVOKE ALL ON public.jobs FROM {new}"))
        .await;
    admin
        .batch_execute(&format!("DROP ROLE {new}"))
        .await
        .unwrap();
}

/// A fingerprint that cannot be read (here a role that may not read one of the catalogs it
/// covers) only means reading the catalogs: both runs report the drift, neither takes anything
/// from the cache, and no introspection is stored. The same role without BYPASSRLS cannot see
/// the bucket rows, and verify says so rather than report the buckets missing.
#[tokio::test]
async fn a_fingerprint_that_cannot_be_read_means_reading_the_catalogs() {
    let db = copy().await;
    let role = format!("jp_fp_reader_{}", fastrand::u64(..));
    let admin = admin(template().await.server()).await;
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .await
        .unwrap();
    db.execute_script(&format!(
        "REVOKE SELECT ON pg_catalog.pg_seclabel FROM PUBLIC;
         GRANT USAGE ON SCHEMA storage TO {role};
         GRANT SELECT ON storage.buckets, public._sqlx_migrations TO {role};
         ALTER TABLE public.users ADD COLUMN avatar_url text"
    ))
    .await;
    let url = db.url();
    let (_, rest) = url.split_once('@').unwrap();
    let as_role = format!("postgres://{role}@{rest}");
    let denied = {
        let (client, connection) = tokio_postgres::connect(&as_role, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        codegen::introspect::fingerprint::read(&client).await
    };
    assert!(denied.is_err(), "the role cannot read the fingerprint");

    let cache = CacheDir::new("denied");
    // Without BYPASSRLS, Supabase's policies on storage.buckets hide the bucket rows: reading
    // them would report the declared bucket missing, so verify refuses to tell.
    let options = VerifyOptions {
        cache: Some(cache.0.clone()),
        ..VerifyOptions::default()
    };
    let hidden = verify(&as_role, &paths(), &options).await.unwrap_err();
    let message = hidden.to_string();
    assert!(
        message.contains("row-level security on storage.buckets hides its rows from role")
            && message.contains("BYPASSRLS"),
        "{message}"
    );
    admin
        .batch_execute(&format!("ALTER ROLE {role} BYPASSRLS"))
        .await
        .unwrap();
    // pg_seclabel is read on the first session, pg_init_privs on the second: the fingerprint
    // fails on one of them, then on the other.
    for grant in [
        "",
        "GRANT SELECT ON pg_catalog.pg_seclabel TO PUBLIC; \
         REVOKE SELECT ON pg_catalog.pg_init_privs FROM PUBLIC",
    ] {
        db.execute_script(grant).await;
        let first = run_cached(&as_role, &paths(), &cache).await;
        let second = run_cached(&as_role, &paths(), &cache).await;
        for report in [&first, &second] {
            assert!(!report.live_cached);
            assert_eq!(
                lines(report),
                vec!["column public.users.avatar_url: unexpected"]
            );
        }
        let introspections = std::fs::read_dir(&cache.0)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("introspection-")
            })
            .count();
        assert_eq!(introspections, 0);
    }
    db.execute_script(&format!(
        "REVOKE ALL ON storage.buckets, public._sqlx_migrations FROM {role};
         REVOKE USAGE ON SCHEMA storage FROM {role}"
    ))
    .await;
    drop(db);
    admin
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap();
}

/// `--no-cache` on the command line: a run after a cached one reads the catalogs again (the
/// JSON is the same either way).
#[tokio::test]
async fn no_cache_reads_everything_afresh() {
    let db = copy().await;
    let cache = CacheDir::new("cli");
    let env = vec![(
        "CODEGEN_CACHE_DIR".to_owned(),
        cache.0.to_str().unwrap().to_owned(),
    )];
    let url = db.url();
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = ["verify", "--database-url", &url, "--format", "json"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let (code, cached_json, _) = cli(args(&[]), env.clone()).await;
    assert_eq!(code, 0);
    let entries = |dir: &Path| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let stored = entries(&cache.0);
    assert!(
        stored >= 2,
        "the declared schema and the introspection are stored: {stored}"
    );
    std::fs::remove_dir_all(&cache.0).unwrap();
    let (code, fresh_json, _) = cli(args(&["--no-cache"]), env).await;
    assert_eq!(code, 0);
    assert_eq!(entries(&cache.0), 0, "--no-cache stores nothing");
    assert_eq!(cached_json, fresh_json);
}

// ------------------------------------------------------------------------ declared-side cache

/// The declared schema comes from the cache only when schema/ is byte for byte what it was:
/// the second load of the same files is a cache hit (no `Loaded`), equal to the first; an edit
/// of one file is a miss that loads the edited schema.
#[test]
fn the_declared_schema_is_cached_by_the_bytes_of_schema() {
    // A table of its own, so that no other test has cached these exact files.
    let table = format!("cache_probe_{}", fastrand::u64(..));
    let file = |ty: &str| {
        format!("[table.{table}.columns]\nid = {{ type = \"{ty}\", primary_key = true }}\n")
    };
    let project = Project::with_schema(
        "cache",
        None,
        &[],
        &[("99_probe.toml", file("bigint").as_str())],
    );
    let paths = project.paths();
    let cache = CacheDir::new("declared");
    let dir = Some(cache.0.as_path());
    let (first_loaded, first) = codegen::verify::declared_cached(&paths, dir).unwrap();
    assert!(first_loaded.is_loaded(), "new files: loaded, not cached");
    let (second_loaded, second) = codegen::verify::declared_cached(&paths, dir).unwrap();
    assert!(!second_loaded.is_loaded(), "the same files: from the cache");
    assert_eq!(first, second);
    let probe = |s: &codegen::model::Schema| {
        s.tables
            .iter()
            .find(|(name, _)| name.name.as_str() == table)
            .map(|(_, t)| t.columns[0].ty.to_string())
            .unwrap()
    };
    assert_eq!(probe(&second), "bigint");
    std::fs::write(paths.schema.join("99_probe.toml"), file("integer")).unwrap();
    let (third_loaded, third) = codegen::verify::declared_cached(&paths, dir).unwrap();
    assert!(third_loaded.is_loaded(), "an edited file: loaded again");
    assert_eq!(probe(&third), "integer");
}

/// A run whose declared schema comes from the cache locates each difference where a run that
/// loads `schema/` does (the declarations' places are cached beside the schema); without that
/// entry it loads `schema/` to locate them, with the same result.
#[tokio::test]
async fn differences_are_located_the_same_from_the_cache() {
    let db = copy().await;
    db.execute_script(
        "ALTER TABLE users ADD COLUMN avatar_url text; \
         ALTER TABLE users ALTER COLUMN timezone DROP DEFAULT; \
         DROP INDEX jobs_user_posted_idx;",
    )
    .await;
    let cache = CacheDir::new("places");
    let located = |r: &Report| {
        r.differences
            .iter()
            .map(|d| (d.object.to_string(), d.location.clone()))
            .collect::<Vec<_>>()
    };
    let loaded = run_cached(&db.url(), &paths(), &cache).await;
    let cached = run_cached(&db.url(), &paths(), &cache).await;
    assert_eq!(located(&cached), located(&loaded));
    let with_place = located(&cached)
        .into_iter()
        .filter(|(_, l)| {
            l.as_ref()
                .is_some_and(|l| l.file.starts_with("schema/") && l.line > 0)
        })
        .count();
    assert!(with_place >= 2, "{:?}", located(&cached));
    for entry in std::fs::read_dir(&cache.0).unwrap() {
        let entry = entry.unwrap();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("verify-places-")
        {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let reloaded = run_cached(&db.url(), &paths(), &cache).await;
    assert_eq!(located(&reloaded), located(&loaded));
}
