//! `Db` against a real PostgreSQL: ADR-2's connection rules (the pooler port refused, `jit =
//! off`, an application name, a statement timeout, no named prepared statement), transactions
//! that commit on `Ok` and roll back on `Err` or panic, ADR-2's atomic application + agent
//! action, and row-level security through `as_user` (a user sees only their own rows, and
//! nothing of it outlives the transaction). Hand-written; `codegen generate` writes only
//! `src/`.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jobpilot_db::*;
use sqlx::Executor;
use std::time::Duration;
use support::{connect_options, count, new_action, new_application, new_job, new_user, test_db};

const POOLER_URL: &str = "postgres://app:s3cret-pw@db.example.supabase.co:6543/postgres";

#[tokio::test]
async fn the_pooler_port_is_refused_with_an_explanation() {
    let err = Db::connect(POOLER_URL).await.unwrap_err();
    assert!(matches!(&err, DbError::Pooler { host } if host == "db.example.supabase.co"));
    let text = err.to_string();
    for needle in [
        "6543",
        "port 5432",
        "allow_pooler(true)",
        "ADR-2",
        "transaction mode",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("s3cret"), "{text}");
    assert!(!format!("{err:?}").contains("s3cret"));

    // Allowed explicitly, it is accepted (lazily: nothing connects here).
    let options = Db::options(POOLER_URL).unwrap();
    assert!(!format!("{options:?}").contains("s3cret"), "{options:?}");
    assert!(format!("{options:?}").contains("6543"), "{options:?}");
    let db = options.allow_pooler(true).connect_lazy().unwrap();
    assert!(!format!("{db:?}").contains("s3cret"), "{db:?}");

    // The direct port is not refused.
    let direct = POOLER_URL.replace(":6543", ":5432");
    assert!(Db::options(&direct).unwrap().connect_lazy().is_ok());
}

#[tokio::test]
async fn errors_never_show_the_password() {
    let err = Db::connect("postgres://app:s3cret-pw@host:notaport/db")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::InvalidUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");

    // Nothing listens on port 1.
    let err = Db::options("postgres://app:s3cret-pw@127.0.0.1:1/db")
        .unwrap()
        .acquire_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
}

#[tokio::test]
async fn connections_have_jit_off_an_application_name_and_a_statement_timeout() {
    let test = test_db("db_settings", 1).await;
    let mut conn = test.db.acquire().await.unwrap();
    let show = async |conn: &mut sqlx::PgConnection, setting: &str| -> String {
        // language=PostgreSQL
        sqlx::query_scalar("SELECT current_setting($1)")
            .bind(setting)
            .persistent(false)
            .fetch_one(conn)
            .await
            .unwrap()
    };
    assert_eq!(show(&mut conn, "jit").await, "off");
    assert_eq!(
        show(&mut conn, "application_name").await,
        "jobpilot-db-tests"
    );
    assert_eq!(show(&mut conn, "statement_timeout").await, "30s");
    // `SHOW` itself, as the issue asks.
    let row = conn.fetch_one("SHOW jit").await.unwrap();
    assert_eq!(sqlx::Row::get::<String, _>(&row, 0), "off");

    // The timeout cancels a statement that runs longer.
    let short = DbOptions::new(connect_options(&test.temp))
        .statement_timeout(Some(Duration::from_millis(200)))
        .connect()
        .await
        .unwrap();
    let mut conn = short.acquire().await.unwrap();
    let err = conn.execute("SELECT pg_sleep(2)").await.unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled: {err}");
    // The default application name.
    assert_eq!(show(&mut conn, "application_name").await, "jobpilot");
}

/// Named prepared statements on the connection (the unnamed one is not listed).
async fn named_statements(conn: &mut sqlx::PgConnection) -> i64 {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT count(*) FROM pg_prepared_statements")
        .persistent(false)
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_repositories_prepare_no_named_statement() {
    let test = test_db("db_no_named_statements", 1).await;
    let mut conn = test.db.acquire().await.unwrap();
    assert_eq!(named_statements(&mut conn).await, 0, "after connecting");

    // Every kind of statement, with enums in parameters and results.
    let user = UserRepo::insert(&mut conn, &new_user(1)).await.unwrap();
    let jobs: Vec<NewJob> = (0..3).map(|i| new_job(user.id, i)).collect();
    let jobs = JobRepo::insert_many(&mut conn, &jobs).await.unwrap();
    let app = ApplicationRepo::insert(&mut conn, &new_application(user.id, jobs[0].id))
        .await
        .unwrap();
    let patch = ApplicationPatch {
        status: Some(ApplicationStatus::Applied),
        ..Default::default()
    };
    ApplicationRepo::update(&mut conn, app.id, &patch)
        .await
        .unwrap();
    ApplicationRepo::upsert_on_user_id_and_job_id(&mut conn, &new_application(user.id, jobs[0].id))
        .await
        .unwrap();
    AgentActionRepo::insert(&mut conn, &new_action(user.id, None))
        .await
        .unwrap();
    JobRepo::get_many(&mut conn, &[jobs[1].id]).await.unwrap();
    JobRepo::list_by_user_id(&mut conn, user.id, Some(jobs[0].id), 1)
        .await
        .unwrap();
    UserRepo::find_by_clerk_id(&mut conn, "clerk_1")
        .await
        .unwrap();
    JobRepo::delete(&mut conn, jobs[2].id).await.unwrap();
    drop(conn);
    test.db
        .as_user(user.id, serde_json::Value::Null, |tx| {
            Box::pin(async move { JobRepo::list_by_user_id(tx, user.id, None, 10).await })
        })
        .await
        .unwrap();
    let mut conn = test.db.acquire().await.unwrap();
    assert_eq!(named_statements(&mut conn).await, 0);

    // The check can see named statements: sqlx's default (a statement cache) makes them.
    let mut plain: sqlx::PgConnection =
        sqlx::Connection::connect_with(&connect_options(&test.temp))
            .await
            .unwrap();
    sqlx::query("SELECT 1").execute(&mut plain).await.unwrap();
    assert!(named_statements(&mut plain).await >= 1);
}

#[tokio::test]
async fn a_transaction_commits_on_ok_and_rolls_back_on_err() {
    let test = test_db("db_transaction", 2).await;
    let id = test
        .db
        .transaction(|tx| {
            Box::pin(async move {
                let user = UserRepo::insert(tx, &new_user(1)).await?;
                Ok::<_, sqlx::Error>(user.id)
            })
        })
        .await
        .unwrap();
    let mut conn = test.db.acquire().await.unwrap();
    assert!(UserRepo::get(&mut conn, id).await.unwrap().is_some());

    #[derive(Debug)]
    enum AppError {
        Db(sqlx::Error),
        Refused,
    }
    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> Self {
            AppError::Db(e)
        }
    }
    let err = test
        .db
        .transaction(|tx| {
            Box::pin(async move {
                UserRepo::insert(tx, &new_user(2)).await?;
                Err::<(), _>(AppError::Refused)
            })
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Refused),
        "the caller's error: {err:?}"
    );
    let err = test
        .db
        .transaction(|tx| {
            Box::pin(async move {
                UserRepo::insert(tx, &new_user(3)).await?;
                UserRepo::insert(tx, &new_user(3)).await?;
                Ok::<_, AppError>(())
            })
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Db(e) if e.as_database_error().is_some()),
        "{err:?}"
    );
    assert_eq!(count(&test, "users").await, 1);
}

/// ADR-2's example: an application and the agent action about it commit together or not at all.
#[tokio::test]
async fn an_application_and_its_agent_action_commit_or_roll_back_together() {
    let test = test_db("db_adr2_atomic", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let user = UserRepo::insert(&mut conn, &new_user(1)).await.unwrap();
    let jobs = vec![new_job(user.id, 1), new_job(user.id, 2)];
    let jobs = JobRepo::insert_many(&mut conn, &jobs).await.unwrap();
    drop(conn);
    // The transaction's future may borrow from here.
    let jobs = &jobs;

    let (app, action) = test
        .db
        .transaction(|tx| {
            Box::pin(async move {
                let app =
                    ApplicationRepo::insert(tx, &new_application(user.id, jobs[0].id)).await?;
                let mut action = new_action(user.id, Some(jobs[0].id));
                action.application_id = Some(app.id.0);
                let action = AgentActionRepo::insert(tx, &action).await?;
                Ok::<_, sqlx::Error>((app, action))
            })
        })
        .await
        .unwrap();
    assert_eq!(action.application_id, Some(app.id.0));
    assert_eq!(count(&test, "applications").await, 1);
    assert_eq!(count(&test, "agent_actions").await, 1);

    // The second insert fails (attempts >= 0 is checked): neither row exists afterwards.
    let err = test
        .db
        .transaction(|tx| {
            Box::pin(async move {
                ApplicationRepo::insert(tx, &new_application(user.id, jobs[1].id)).await?;
                let mut action = new_action(user.id, Some(jobs[1].id));
                action.attempts = Some(-1);
                AgentActionRepo::insert(tx, &action).await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .await
        .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("23514"), "check_violation: {err}");
    assert_eq!(count(&test, "applications").await, 1);
    assert_eq!(count(&test, "agent_actions").await, 1);
    let mut conn = test.db.acquire().await.unwrap();
    let found = ApplicationRepo::find_by_user_id_and_job_id(&mut conn, user.id, jobs[1].id)
        .await
        .unwrap();
    assert_eq!(found, None);
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn a_panic_rolls_the_transaction_back_and_goes_on() {
    // One connection: whatever the panicking transaction leaves on it, the next user sees.
    let test = test_db("db_panic", 1).await;
    let db = test.db.clone();
    let fail = true;
    let task = tokio::spawn(async move {
        db.transaction(|tx| {
            Box::pin(async move {
                UserRepo::insert(tx, &new_user(1)).await?;
                if fail {
                    panic!("boom");
                }
                Ok::<_, sqlx::Error>(())
            })
        })
        .await
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic(), "the panic goes on: {err}");
    // The insert is gone, and the (only) connection is not left inside the transaction: there
    // it would see its own insert.
    assert_eq!(count(&test, "users").await, 0);
    // And the pool goes on working.
    test.db
        .transaction(|tx| {
            Box::pin(async move { UserRepo::insert(tx, &new_user(2)).await.map(|_| ()) })
        })
        .await
        .unwrap();
    assert_eq!(count(&test, "users").await, 1);

    // The helpers' futures can be spawned (axum and tokio need `Send`).
    let future = test
        .db
        .as_user(uuid::Uuid::nil(), serde_json::Value::Null, |tx| {
            Box::pin(async move { JobRepo::get_many(tx, &[]).await })
        });
    assert_send(&future);
    future.await.unwrap();
}

/// `(current_user, request.jwt.claims)` on `conn`.
async fn session_identity(conn: &mut sqlx::PgConnection) -> (String, Option<String>) {
    // language=PostgreSQL
    sqlx::query_as("SELECT current_user::text, current_setting('request.jwt.claims', true)")
        .persistent(false)
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn as_user_sees_only_that_users_rows_and_leaves_nothing_behind() {
    // One connection, so that every transaction below runs on the same session.
    let test = test_db("db_as_user", 1).await;
    let mut conn = test.db.acquire().await.unwrap();
    let (own_role, no_claims) = session_identity(&mut conn).await;
    assert_ne!(own_role, "authenticated");
    assert!(no_claims.unwrap_or_default().is_empty());
    let ada = UserRepo::insert(&mut conn, &new_user(1)).await.unwrap();
    let bob = UserRepo::insert(&mut conn, &new_user(2)).await.unwrap();
    let ada_jobs = vec![new_job(ada.id, 1), new_job(ada.id, 2)];
    let ada_jobs = JobRepo::insert_many(&mut conn, &ada_jobs).await.unwrap();
    let bob_job = JobRepo::insert(&mut conn, &new_job(bob.id, 3))
        .await
        .unwrap();
    drop(conn);

    let claims = serde_json::json!({ "email": "ada@example.com", "sub": "overridden" });
    let (all, bobs, bob_row, me) = test
        .db
        .as_user(ada.id, claims, |tx| {
            Box::pin(async move {
                // language=PostgreSQL
                let all: Vec<Job> = sqlx::query_as("SELECT * FROM public.jobs ORDER BY id")
                    .persistent(false)
                    .fetch_all(&mut **tx)
                    .await?;
                let bobs = JobRepo::list_by_user_id(tx, bob.id, None, 10).await?;
                let bob_row = JobRepo::get(tx, bob_job.id).await?;
                // language=PostgreSQL
                let me: (String, Option<uuid::Uuid>, Option<String>) =
                    sqlx::query_as("SELECT current_user::text, auth.uid(), auth.jwt() ->> 'email'")
                        .persistent(false)
                        .fetch_one(&mut **tx)
                        .await?;
                Ok::<_, sqlx::Error>((all, bobs, bob_row, me))
            })
        })
        .await
        .unwrap();
    let mut ada_ids: Vec<JobId> = ada_jobs.iter().map(|j| j.id).collect();
    ada_ids.sort();
    assert_eq!(all.iter().map(|j| j.id).collect::<Vec<_>>(), ada_ids);
    assert!(bobs.items.is_empty() && bobs.next.is_none());
    assert_eq!(bob_row, None);
    assert_eq!(
        me,
        (
            "authenticated".to_owned(),
            Some(ada.id.0),
            Some("ada@example.com".to_owned())
        )
    );
    let mut conn = test.db.acquire().await.unwrap();
    let after = session_identity(&mut conn).await;
    assert_eq!(
        after.0, own_role,
        "the role does not outlive the transaction"
    );
    assert!(after.1.unwrap_or_default().is_empty(), "nor do the claims");
    drop(conn);

    // Writes go through the policies too: Ada may add her own job, not one of Bob's, and not
    // an agent action (authenticated may only read those). A failed transaction resets too.
    let added = test
        .db
        .as_user(ada.id, serde_json::Value::Null, |tx| {
            Box::pin(async move { JobRepo::insert(tx, &new_job(ada.id, 4)).await })
        })
        .await
        .unwrap();
    assert_eq!(added.user_id, ada.id);
    for attempt in 0..2 {
        let err = test
            .db
            .as_user(ada.id, serde_json::Value::Null, |tx| {
                Box::pin(async move {
                    if attempt == 0 {
                        JobRepo::insert(tx, &new_job(bob.id, 5)).await.map(|_| ())
                    } else {
                        AgentActionRepo::insert(tx, &new_action(ada.id, None))
                            .await
                            .map(|_| ())
                    }
                })
            })
            .await
            .unwrap_err();
        let code = err.as_database_error().and_then(|e| e.code());
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "insufficient_privilege: {err}"
        );
    }
    let mut conn = test.db.acquire().await.unwrap();
    let after = session_identity(&mut conn).await;
    assert_eq!(after.0, own_role);
    assert!(after.1.unwrap_or_default().is_empty());
    drop(conn);

    // As `authenticated` without claims, nothing is visible.
    let seen: i64 = test
        .db
        .transaction(|tx| {
            Box::pin(async move {
                // language=PostgreSQL
                tx.execute("SET LOCAL ROLE authenticated").await?;
                // language=PostgreSQL
                sqlx::query_scalar("SELECT count(*) FROM public.jobs")
                    .persistent(false)
                    .fetch_one(&mut **tx)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(seen, 0);
    assert_eq!(
        count(&test, "jobs").await,
        4,
        "the service role sees every row"
    );

    // Claims must be a JSON object.
    let err = test
        .db
        .as_user(ada.id, serde_json::json!(["not", "an", "object"]), |_tx| {
            Box::pin(async move { Ok::<_, sqlx::Error>(()) })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, sqlx::Error::Encode(_)), "{err:?}");
}
