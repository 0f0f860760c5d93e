//! The README's example of repositories, transactions and `as_user` ("The generated crate"):
//! it is copied below verbatim (the first test checks), so it compiles, and the second test
//! runs it against a real PostgreSQL. Hand-written; `codegen generate` writes only `src/`.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

// README example start
use jobpilot_db::*;

/// ADR-2's example: the application and the agent's follow-up commit together or not at all.
async fn apply(db: &Db, user: UserId, job: JobId) -> Result<Application, sqlx::Error> {
    db.transaction(|tx| {
        Box::pin(async move {
            let application = NewApplication {
                status: Some(ApplicationStatus::Applied),
                ..NewApplication::new(user, job)
            };
            let application = ApplicationRepo::insert(tx, &application).await?;
            let mut follow_up = NewAgentAction::new(user, "follow_up");
            follow_up.job_id = Some(job);
            AgentActionRepo::insert(tx, &follow_up).await?;
            Ok(application)
        })
    })
    .await
}

/// A page of the user's jobs, read as that user: the policies show them their own rows only.
async fn my_jobs(
    db: &Db,
    user: UserId,
    after: Option<JobId>,
) -> Result<Page<Job, JobId>, sqlx::Error> {
    let claims = serde_json::json!({ "email": "ada@example.com" });
    db.as_user(user, claims, |tx| {
        Box::pin(async move { JobRepo::list_by_user_id(tx, user, after, 20).await })
    })
    .await
}
// README example end

/// The Rust block of the README's "The generated crate" section.
fn readme_block() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("The generated crate"))
        .expect("the section");
    let start = section.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let end = section[start..].find("```").expect("its end") + start;
    section[start..end].to_owned()
}

#[test]
fn the_readme_example_is_the_one_tested_here() {
    let source = include_str!("readme.rs");
    let start = source.find("// README example start\n").unwrap() + 24;
    let end = source.find("// README example end").unwrap();
    assert_eq!(readme_block(), source[start..end]);
}

#[tokio::test]
async fn the_readme_example_runs() {
    let test = support::test_db("readme_example", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let ada = UserRepo::insert(&mut conn, &NewUser::new("clerk_ada", "ada@example.com"))
        .await
        .unwrap();
    let bob = UserRepo::insert(&mut conn, &NewUser::new("clerk_bob", "bob@example.com"))
        .await
        .unwrap();
    let job = JobRepo::insert(&mut conn, &NewJob::new(ada.id, "Engineer", "Acme"))
        .await
        .unwrap();
    JobRepo::insert(&mut conn, &NewJob::new(bob.id, "Designer", "Initech"))
        .await
        .unwrap();
    drop(conn);

    let application = apply(&test.db, ada.id, job.id).await.unwrap();
    assert_eq!(application.status, ApplicationStatus::Applied);
    assert_eq!(support::count(&test, "agent_actions").await, 1);
    // A second application to the same job breaks the unique key: nothing is written.
    assert!(apply(&test.db, ada.id, job.id).await.is_err());
    assert_eq!(support::count(&test, "agent_actions").await, 1);

    let page = my_jobs(&test.db, ada.id, None).await.unwrap();
    assert_eq!(page.items, [job]);
    assert_eq!(page.next, None);
    // Bob, asking as Bob, gets his own job only.
    assert_eq!(
        my_jobs(&test.db, bob.id, None).await.unwrap().items.len(),
        1
    );
}
