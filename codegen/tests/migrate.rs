//! `codegen migrate up | down | status | stamp` against a real PostgreSQL: each test has its own
//! database (pgkit) and its own migrations directory.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::migrate::{self, MigrateError, Stamped, State};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A project root with a `migrations/` directory, removed on drop.
struct Project(PathBuf);

impl Project {
    fn new(tag: &str) -> Project {
        let dir = std::env::temp_dir().join(format!(
            "jp_migrate_{tag}_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(dir.join("migrations")).unwrap();
        Project(dir)
    }

    fn root(&self) -> &Path {
        &self.0
    }

    fn dir(&self) -> PathBuf {
        self.0.join("migrations")
    }

    fn write(&self, name: &str, sql: &str) {
        std::fs::write(self.dir().join(name), sql).unwrap();
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir().join(name)).unwrap();
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const USERS_UP: &str = "CREATE TABLE users (id int PRIMARY KEY);\n";
const USERS_DOWN: &str = "DROP TABLE users;\n";
const JOBS_UP: &str = "CREATE TABLE jobs (id int PRIMARY KEY, user_id int REFERENCES users);\n";
const JOBS_DOWN: &str = "DROP TABLE jobs;\n";

/// 0001 users and 0002 jobs (which needs users: the order matters), both reversible.
fn two_migrations(tag: &str) -> Project {
    let p = Project::new(tag);
    p.write("0001_users.up.sql", USERS_UP);
    p.write("0001_users.down.sql", USERS_DOWN);
    p.write("0002_jobs.up.sql", JOBS_UP);
    p.write("0002_jobs.down.sql", JOBS_DOWN);
    p
}

async fn database(prefix: &str) -> pgkit::TempDb {
    let server = pgkit::Server::shared().await.unwrap();
    server.create_database(prefix).await.unwrap()
}

async fn table_exists(db: &pgkit::TempDb, name: &str) -> bool {
    let client = db.connect().await.unwrap();
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .unwrap()
        .get(0)
}

/// `(version, success, execution_time)` of every history row.
async fn history(db: &pgkit::TempDb) -> Vec<(i64, bool, i64)> {
    let client = db.connect().await.unwrap();
    client
        .query(
            "SELECT version, success, execution_time FROM _sqlx_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

fn versions<T>(items: &[T], version: impl Fn(&T) -> i64) -> Vec<i64> {
    items.iter().map(version).collect()
}

fn states(status: &migrate::Status) -> Vec<(i64, State)> {
    status
        .migrations
        .iter()
        .map(|e| (e.version, e.state))
        .collect()
}

#[tokio::test]
async fn up_applies_pending_migrations_in_order_once() {
    let db = database("jp_migrate_up").await;
    let p = two_migrations("up");
    let url = db.url();

    let before = migrate::status(&url, &p.dir()).await.unwrap();
    assert_eq!(
        states(&before),
        vec![(1, State::Pending), (2, State::Pending)]
    );
    assert!(!table_exists(&db, "_sqlx_migrations").await, "status wrote");

    let applied = migrate::up(&url, &p.dir(), None).await.unwrap();
    assert_eq!(versions(&applied, |a| a.version), vec![1, 2]);
    assert_eq!(applied[1].description, "jobs");
    assert!(table_exists(&db, "jobs").await);

    let status = migrate::status(&url, &p.dir()).await.unwrap();
    assert_eq!(
        states(&status),
        vec![(1, State::Applied), (2, State::Applied)]
    );
    assert!(!status.has_problems());
    assert!(status.migrations.iter().all(|e| e.applied_at.is_some()));

    assert!(migrate::up(&url, &p.dir(), None).await.unwrap().is_empty());
    assert_eq!(versions(&history(&db).await, |h| h.0), vec![1, 2]);
}

#[tokio::test]
async fn up_to_a_version_stops_there() {
    let db = database("jp_migrate_up_to").await;
    let p = two_migrations("up_to");
    let url = db.url();
    let applied = migrate::up(&url, &p.dir(), Some(1)).await.unwrap();
    assert_eq!(versions(&applied, |a| a.version), vec![1]);
    assert!(!table_exists(&db, "jobs").await);
    assert!(matches!(
        migrate::up(&url, &p.dir(), Some(7)).await,
        Err(MigrateError::NoSuchVersion(7))
    ));
    let applied = migrate::up(&url, &p.dir(), None).await.unwrap();
    assert_eq!(versions(&applied, |a| a.version), vec![2]);
}

#[tokio::test]
async fn down_reverts_the_last_applied_migration() {
    let db = database("jp_migrate_down").await;
    let p = two_migrations("down");
    let url = db.url();
    migrate::up(&url, &p.dir(), None).await.unwrap();

    let reverted = migrate::down(&url, &p.dir(), None).await.unwrap();
    assert_eq!(versions(&reverted, |r| r.version), vec![2]);
    assert!(
        !table_exists(&db, "jobs").await,
        "the down script did not run"
    );
    assert!(table_exists(&db, "users").await);
    let status = migrate::status(&url, &p.dir()).await.unwrap();
    assert_eq!(
        states(&status),
        vec![(1, State::Applied), (2, State::Pending)]
    );
    assert_eq!(versions(&history(&db).await, |h| h.0), vec![1]);

    // Down to 0 reverts everything; with nothing applied, down does nothing.
    migrate::up(&url, &p.dir(), None).await.unwrap();
    let reverted = migrate::down(&url, &p.dir(), Some(0)).await.unwrap();
    assert_eq!(versions(&reverted, |r| r.version), vec![2, 1]);
    assert!(!table_exists(&db, "users").await);
    assert!(
        migrate::down(&url, &p.dir(), None)
            .await
            .unwrap()
            .is_empty()
    );

    // A migration without a down script is refused before anything is reverted.
    p.remove("0002_jobs.down.sql");
    migrate::up(&url, &p.dir(), None).await.unwrap();
    let e = migrate::down(&url, &p.dir(), Some(0)).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::NoDownMigration { version: 2, .. }),
        "{e}"
    );
    assert!(table_exists(&db, "users").await);
    assert_eq!(versions(&history(&db).await, |h| h.0), vec![1, 2]);
}

#[tokio::test]
async fn stamp_records_the_baseline_without_running_it() {
    let db = database("jp_migrate_stamp").await;
    let p = two_migrations("stamp");
    let url = db.url();
    // The existing database already has the baseline: running it again would fail
    // (`relation "users" already exists`).
    db.execute_script(USERS_UP).await.unwrap();

    let stamped = migrate::stamp(&url, &p.dir(), 1).await.unwrap();
    assert_eq!(
        stamped,
        vec![Stamped {
            version: 1,
            description: "users".into(),
            already: false
        }]
    );
    assert_eq!(history(&db).await, vec![(1, true, 0)]);
    // The recorded checksum is sqlx's: status sees the file as applied, unchanged.
    let status = migrate::status(&url, &p.dir()).await.unwrap();
    assert_eq!(
        states(&status),
        vec![(1, State::Applied), (2, State::Pending)]
    );

    // Stamping again is a no-op.
    let again = migrate::stamp(&url, &p.dir(), 1).await.unwrap();
    assert!(again.iter().all(|s| s.already), "{again:?}");
    assert_eq!(history(&db).await.len(), 1);

    // up runs only 0002 (running 0001 would fail).
    let applied = migrate::up(&url, &p.dir(), None).await.unwrap();
    assert_eq!(versions(&applied, |a| a.version), vec![2]);

    // A version recorded with another checksum is refused.
    p.write(
        "0001_users.up.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    );
    let e = migrate::stamp(&url, &p.dir(), 2).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::StampConflict { version: 1, .. }),
        "{e}"
    );
    assert!(e.is_problem());
    // An unknown version is refused.
    assert!(matches!(
        migrate::stamp(&url, &p.dir(), 3).await,
        Err(MigrateError::NoSuchVersion(3))
    ));
}

#[tokio::test]
async fn stamp_creates_the_history_table_as_sqlx_does() {
    let db = database("jp_migrate_stamp_table").await;
    let p = two_migrations("stamp_table");
    db.execute_script(&format!("{USERS_UP}{JOBS_UP}"))
        .await
        .unwrap();
    let stamped = migrate::stamp(&db.url(), &p.dir(), 2).await.unwrap();
    assert_eq!(versions(&stamped, |s| s.version), vec![1, 2]);
    let client = db.connect().await.unwrap();
    let columns: Vec<(String, String, String)> = client
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns WHERE table_name = '_sqlx_migrations' \
             ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected = [
        ("version", "bigint"),
        ("description", "text"),
        ("installed_on", "timestamp with time zone"),
        ("success", "boolean"),
        ("checksum", "bytea"),
        ("execution_time", "bigint"),
    ];
    assert_eq!(
        columns,
        expected
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string(), "NO".to_string()))
            .collect::<Vec<_>>()
    );
    assert!(
        migrate::up(&db.url(), &p.dir(), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_behind() {
    let db = database("jp_migrate_fail").await;
    let p = Project::new("fail");
    p.write("0001_users.up.sql", USERS_UP);
    p.write(
        "0002_half.up.sql",
        "CREATE TABLE half (id int);\nSELECT * FROM no_such_table;\n",
    );
    let url = db.url();

    let e = migrate::up(&url, &p.dir(), None).await.unwrap_err();
    assert!(matches!(e, MigrateError::Failed { version: 2, .. }), "{e}");
    assert!(e.is_problem());
    let message = e.to_string();
    assert!(message.contains("no_such_table"), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    assert!(
        table_exists(&db, "users").await,
        "0001 is committed on its own"
    );
    assert!(!table_exists(&db, "half").await, "0002 was half applied");
    let rows = history(&db).await;
    assert_eq!(versions(&rows, |h| h.0), vec![1], "{rows:?}");

    p.write("0002_half.up.sql", "CREATE TABLE half (id int);\n");
    let applied = migrate::up(&url, &p.dir(), None).await.unwrap();
    assert_eq!(versions(&applied, |a| a.version), vec![2]);
    assert!(table_exists(&db, "half").await);
    assert_eq!(versions(&history(&db).await, |h| h.0), vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_mid_migration_rolls_back() {
    let db = database("jp_migrate_kill").await;
    let p = Project::new("kill");
    p.write("0001_users.up.sql", USERS_UP);
    p.write(
        "0002_slow.up.sql",
        "CREATE TABLE doomed (id int);\nSELECT pg_sleep(30);\n",
    );
    let url = db.url();
    let dir = p.dir();
    let running = tokio::spawn(async move { migrate::up(&url, &dir, None).await });

    // Find the migrating session and terminate it.
    let client = db.connect().await.unwrap();
    let started = Instant::now();
    loop {
        let killed: i64 = client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
                &[&migrate::APPLICATION_NAME],
            )
            .await
            .unwrap()
            .get(0);
        if killed > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the migration never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("up did not return after its session was killed")
        .unwrap();
    let e = outcome.unwrap_err();
    assert!(matches!(e, MigrateError::Failed { version: 2, .. }), "{e}");
    assert!(!table_exists(&db, "doomed").await);
    assert_eq!(versions(&history(&db).await, |h| h.0), vec![1]);

    // The lock died with the session: a rerun with a quick migration goes through.
    p.write("0002_slow.up.sql", "CREATE TABLE quick (id int);\n");
    let applied = tokio::time::timeout(
        Duration::from_secs(10),
        migrate::up(&db.url(), &p.dir(), None),
    )
    .await
    .expect("the advisory lock was not released")
    .unwrap();
    assert_eq!(versions(&applied, |a| a.version), vec![2]);
    assert!(table_exists(&db, "quick").await);
    assert!(!table_exists(&db, "doomed").await);
    let rows = history(&db).await;
    assert_eq!(versions(&rows, |h| h.0), vec![1, 2]);
    assert!(rows.iter().all(|r| r.1), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_apply_once() {
    let db = database("jp_migrate_race").await;
    let p = Project::new("race");
    p.write(
        "0001_slow.up.sql",
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n",
    );
    let (url, dir) = (db.url(), p.dir());
    let started = Instant::now();
    let (a, b) = tokio::join!(migrate::up(&url, &dir, None), migrate::up(&url, &dir, None));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(started.elapsed() >= Duration::from_secs(2));
    let mut counts = [a.len(), b.len()];
    counts.sort();
    assert_eq!(counts, [0, 1], "{a:?} {b:?}");
    assert_eq!(versions(&history(&db).await, |h| h.0), vec![1]);
}

#[tokio::test]
async fn status_reports_edited_unknown_and_failed_migrations() {
    let db = database("jp_migrate_status").await;
    let p = two_migrations("status");
    p.write("0003_later.up.sql", "CREATE TABLE later (id int);\n");
    let url = db.url();
    migrate::up(&url, &p.dir(), Some(2)).await.unwrap();

    p.write("0001_users.up.sql", &format!("{USERS_UP}-- edited\n"));
    p.remove("0002_jobs.up.sql");
    p.remove("0002_jobs.down.sql");
    db.execute_script(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9, 'broken', false, '\\x00', 0)",
    )
    .await
    .unwrap();

    let status = migrate::status(&url, &p.dir()).await.unwrap();
    assert_eq!(
        states(&status),
        vec![
            (1, State::ChecksumMismatch),
            (2, State::Unknown),
            (3, State::Pending),
            (9, State::Failed)
        ]
    );
    assert!(status.has_problems());
    assert_eq!(status.problems().count(), 3);
    assert_eq!(status.migrations[1].description, "jobs");
    let problem = status.migrations[0].problem().unwrap();
    assert!(problem.contains("0001 (users) was edited"), "{problem}");

    let json = status.to_json();
    assert_eq!(json["migrations"][0]["state"], "checksum_mismatch");
    assert_eq!(json["migrations"][1]["state"], "unknown");
    assert_eq!(json["migrations"][2]["state"], "pending");
    assert_eq!(json["migrations"][2]["applied_at"], serde_json::Value::Null);
    assert_eq!(json["migrations"][3]["state"], "failed");
    assert_eq!(json["migrations"][3]["version"], 9);
    let keys: Vec<&String> = json["migrations"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["version", "description", "state", "applied_at"]);

    // up refuses to run over a broken history.
    let e = migrate::up(&url, &p.dir(), None).await.unwrap_err();
    assert!(e.is_problem(), "{e}");
    assert!(!table_exists(&db, "later").await);
}

#[test]
fn redact_hides_passwords() {
    assert_eq!(
        migrate::redact("postgres://app:s3cret@db.example.co:5432/postgres"),
        "postgres://app:***@db.example.co:5432/postgres"
    );
    assert_eq!(
        migrate::redact("postgresql://postgres.ref:p@ss/w0rd@aws-0.pooler.supabase.com:6543/db"),
        "postgresql://postgres.ref:***@aws-0.pooler.supabase.com:6543/db"
    );
    assert_eq!(
        migrate::redact("postgres://u@h/db?password=pw&sslmode=require"),
        "postgres://u@h/db?password=***&sslmode=require"
    );
    assert_eq!(migrate::redact("postgres://u@h/db"), "postgres://u@h/db");
}

#[tokio::test]
async fn unreachable_servers_are_named_without_their_password() {
    let p = two_migrations("unreachable");
    let e = migrate::status("postgres://u:hunter2@127.0.0.1:1/db", &p.dir())
        .await
        .unwrap_err();
    assert!(!e.is_problem());
    let message = e.to_string();
    assert!(message.contains("cannot connect to"), "{message}");
    assert!(
        message.contains("postgres://u:***@127.0.0.1:1/db"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

fn codegen(root: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_codegen"))
        .arg("--root")
        .arg(root)
        .arg("migrate")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run codegen")
}

fn output(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn cli_status_exits_1_on_a_checksum_mismatch() {
    let db = database("jp_migrate_cli").await;
    let p = two_migrations("cli");
    let url = db.url();
    let root = p.root().to_path_buf();
    let run = move |args: Vec<String>| {
        let root = root.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            codegen(&root, &args)
        })
    };
    let args = |a: &[&str]| -> Vec<String> {
        a.iter()
            .map(|s| s.to_string())
            .chain(["--database-url".to_string(), url.clone()])
            .collect()
    };

    let up = run(args(&["up"])).await.unwrap();
    assert_eq!(up.status.code(), Some(0), "{}", output(&up));
    assert!(output(&up).contains("applied 0002 jobs"), "{}", output(&up));

    let clean = run(args(&["status"])).await.unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", output(&clean));

    p.write("0002_jobs.up.sql", &format!("{JOBS_UP}-- edited\n"));
    let status = run(args(&["status"])).await.unwrap();
    assert_eq!(status.status.code(), Some(1), "{}", output(&status));
    let text = output(&status);
    assert!(text.contains("checksum_mismatch"), "{text}");
    assert!(text.contains("0002 (jobs) was edited"), "{text}");

    let json = run(args(&["status", "--format", "json"])).await.unwrap();
    assert_eq!(json.status.code(), Some(1), "{}", output(&json));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["migrations"][1]["state"], "checksum_mismatch");

    // The URL from <root>/.env; a password never printed; an unreachable server exits 2.
    std::fs::write(
        p.root().join(".env"),
        "DATABASE_URL=postgres://u:hunter2@127.0.0.1:1/db\n",
    )
    .unwrap();
    let unreachable = run(vec!["status".to_string()]).await.unwrap();
    assert_eq!(
        unreachable.status.code(),
        Some(2),
        "{}",
        output(&unreachable)
    );
    let text = output(&unreachable);
    assert!(text.contains("postgres://u:***@127.0.0.1:1/db"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
