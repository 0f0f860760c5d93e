//! The example service against a real PostgreSQL (a throwaway database from pgkit with the
//! Supabase bootstrap and the baseline migration): ADR-2's atomic application + agent action
//! (a failing second insert leaves neither row), keyset pagination over three pages, reads under
//! row-level security (user A never sees user B's application), and the demo the binary runs.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jobpilot_db::{
    ApplicationRepo, ApplicationStatus, Db, DbOptions, Job, JobId, JobRepo, NewJob, NewUser, User,
    UserRepo,
};
use jobpilot_example::{
    MAX_PAGE_SIZE, ServiceError, TAILOR_RESUME, UserClaims, application_for, apply_to_job,
    list_jobs_page, my_applications, run_demo,
};
use sqlx::postgres::PgConnectOptions;
use std::path::Path;
use std::str::FromStr;

/// A database with the migrations applied (dropped with `temp`) and a pool on it.
struct TestDb {
    temp: pgkit::TempDb,
    db: Db,
}

async fn test_db(name: &str) -> TestDb {
    let baseline = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/0001_baseline.up.sql"),
    )
    .unwrap();
    let server = pgkit::Server::shared().await.unwrap();
    let temp = server.create_database(name).await.unwrap();
    temp.apply_bootstrap().await.unwrap();
    temp.execute_script(&baseline).await.unwrap();
    let mut options = PgConnectOptions::from_str(&temp.url()).unwrap();
    if let Some(password) = temp.config().get_password() {
        options = options.password(&String::from_utf8_lossy(password));
    }
    let db = DbOptions::new(options)
        .application_name("jobpilot-example-tests")
        .max_connections(2)
        .connect()
        .await
        .unwrap();
    TestDb { temp, db }
}

/// Rows of a table, counted on a connection of its own (committed rows only).
async fn count(db: &Db, table: &str) -> i64 {
    let mut conn = db.acquire().await.unwrap();
    // language=PostgreSQL
    sqlx::query_scalar(&format!("SELECT count(*) FROM public.{table}"))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// A user `name` with `jobs` jobs.
async fn user_with_jobs(db: &Db, name: &str, jobs: usize) -> (User, Vec<Job>) {
    let mut conn = db.acquire().await.unwrap();
    let user = UserRepo::insert(
        &mut conn,
        &NewUser::new(format!("clerk_{name}"), format!("{name}@example.com")),
    )
    .await
    .unwrap();
    let rows: Vec<NewJob> = (0..jobs)
        .map(|i| NewJob::new(user.id, format!("{name} job {i}"), "Acme"))
        .collect();
    let jobs = JobRepo::insert_many(&mut conn, &rows).await.unwrap();
    (user, jobs)
}

#[tokio::test]
async fn applying_commits_the_application_and_its_agent_action_or_neither() {
    let test = test_db("example_apply").await;
    let db = &test.db;
    let (ada, jobs) = user_with_jobs(db, "ada", 2).await;
    let (_bob, bob_jobs) = user_with_jobs(db, "bob", 1).await;

    let (app, action) = apply_to_job(db, ada.id, jobs[0].id, Some("referred"))
        .await
        .unwrap();
    assert_eq!((app.user_id, app.job_id), (ada.id, jobs[0].id));
    assert_eq!(app.status, ApplicationStatus::Applied);
    assert_eq!(app.notes.as_deref(), Some("referred"));
    assert_eq!(action.action_type, TAILOR_RESUME);
    assert_eq!(action.application_id, Some(app.id.0));
    assert_eq!(action.job_id, Some(jobs[0].id));
    assert_eq!(action.input["title"], "ada job 0");
    assert_eq!(count(db, "applications").await, 1);
    assert_eq!(count(db, "agent_actions").await, 1);

    // Refusals before or at the first insert: nothing is written either.
    let err = apply_to_job(db, ada.id, jobs[0].id, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::AlreadyApplied { user, job } if user == ada.id && job == jobs[0].id),
        "{err:?}"
    );
    let err = apply_to_job(db, ada.id, bob_jobs[0].id, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::JobNotFound(j) if j == bob_jobs[0].id),
        "{err:?}"
    );
    assert_eq!(count(db, "applications").await, 1);
    assert_eq!(count(db, "agent_actions").await, 1);

    // Force the SECOND insert to fail: a CHECK that rejects the agent action apply_to_job
    // queues (NOT VALID: the existing row stays). The application was inserted first in the
    // same transaction; it must be gone too.
    // language=PostgreSQL
    test.temp
        .execute_script(
            "ALTER TABLE public.agent_actions ADD CONSTRAINT test_no_tailoring \
             CHECK (action_type <> 'tailor_resume') NOT VALID",
        )
        .await
        .unwrap();
    let err = apply_to_job(db, ada.id, jobs[1].id, Some("second"))
        .await
        .unwrap_err();
    let ServiceError::Database(e) = &err else {
        panic!("a database error: {err:?}");
    };
    let db_err = e.as_database_error().unwrap();
    assert_eq!(db_err.code().as_deref(), Some("23514"), "check_violation");
    assert_eq!(db_err.constraint(), Some("test_no_tailoring"));
    assert_eq!(count(db, "applications").await, 1);
    assert_eq!(count(db, "agent_actions").await, 1);
    let mut conn = db.acquire().await.unwrap();
    let found = ApplicationRepo::find_by_user_id_and_job_id(&mut conn, ada.id, jobs[1].id)
        .await
        .unwrap();
    assert_eq!(found, None, "the first insert was rolled back");
}

#[tokio::test]
async fn jobs_are_listed_in_pages_without_repeats_or_gaps() {
    let test = test_db("example_pages").await;
    let db = &test.db;
    let (ada, jobs) = user_with_jobs(db, "ada", 7).await;
    // Another user's jobs never show up in Ada's pages.
    user_with_jobs(db, "bob", 4).await;

    let mut expected: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    expected.sort();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let page = list_jobs_page(db, ada.id, cursor, 3).await.unwrap();
        sizes.push(page.items.len());
        assert!(page.items.iter().all(|j| j.user_id == ada.id));
        seen.extend(page.items.iter().map(|j| j.id));
        match page.next {
            Some(next) => {
                assert_eq!(Some(&next), seen.last(), "the cursor is the last key");
                cursor = Some(next);
            }
            None => break,
        }
        assert!(sizes.len() < 10, "the pages end");
    }
    assert_eq!(sizes, [3, 3, 1], "three pages");
    assert_eq!(seen, expected, "every job once, in key order");

    // Exactly one full page: no next page.
    let page = list_jobs_page(db, ada.id, None, 7).await.unwrap();
    assert_eq!((page.items.len(), page.next), (7, None));
    // A user without jobs: an empty last page.
    let (cy, _) = user_with_jobs(db, "cy", 0).await;
    let page = list_jobs_page(db, cy.id, None, 3).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none());

    for bad in [0, MAX_PAGE_SIZE + 1] {
        let err = list_jobs_page(db, ada.id, None, bad).await.unwrap_err();
        assert!(
            matches!(err, ServiceError::InvalidPageSize(n) if n == bad),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_user_reads_only_their_own_applications() {
    let test = test_db("example_rls").await;
    let db = &test.db;
    let (ada, ada_jobs) = user_with_jobs(db, "ada", 2).await;
    let (bob, bob_jobs) = user_with_jobs(db, "bob", 1).await;
    let (cy, _) = user_with_jobs(db, "cy", 0).await;
    let (ada_1, _) = apply_to_job(db, ada.id, ada_jobs[0].id, None)
        .await
        .unwrap();
    let (ada_2, _) = apply_to_job(db, ada.id, ada_jobs[1].id, None)
        .await
        .unwrap();
    let (bob_app, _) = apply_to_job(db, bob.id, bob_jobs[0].id, None)
        .await
        .unwrap();
    // The service role sees all three.
    assert_eq!(count(db, "applications").await, 3);

    let claims = |user: &User| UserClaims {
        user_id: user.id,
        email: Some(user.email.clone()),
    };
    let mut mine: Vec<_> = my_applications(db, &claims(&ada))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    mine.sort();
    let mut expected = vec![ada_1.id, ada_2.id];
    expected.sort();
    assert_eq!(mine, expected, "Ada sees her two applications, not Bob's");

    let bobs = my_applications(db, &claims(&bob)).await.unwrap();
    assert_eq!(bobs, vec![bob_app.clone()], "Bob sees only his");
    let cys = my_applications(db, &claims(&cy)).await.unwrap();
    assert!(cys.is_empty(), "a user without applications sees none");

    // By id: Bob's application does not exist for Ada; her own does.
    let err = application_for(db, &claims(&ada), bob_app.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::ApplicationNotFound(id) if id == bob_app.id),
        "{err:?}"
    );
    let own = application_for(db, &claims(&ada), ada_1.id).await.unwrap();
    assert_eq!(own, ada_1);
    let theirs = application_for(db, &claims(&bob), bob_app.id)
        .await
        .unwrap();
    assert_eq!(theirs, bob_app);
}

#[tokio::test]
async fn the_demo_runs_and_leaves_nothing_behind() {
    let test = test_db("example_demo").await;
    let mut out = Vec::new();
    run_demo(&test.db, "demo_test", &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    for needle in [
        "with 5 jobs",
        "applied: application",
        "\"tailor_resume\"",
        "again: user",
        "has already applied",
        "page 1: [\"Engineer",
        "page 3:",
        "as the user: 1 application(s)",
        "deleted user",
    ] {
        assert!(out.contains(needle), "{needle}:\n{out}");
    }
    assert!(!out.contains("page 4"), "{out}");
    for table in ["users", "jobs", "applications", "agent_actions"] {
        assert_eq!(count(&test.db, table).await, 0, "{table}");
    }
}
