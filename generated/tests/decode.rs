//! The generated models against a real PostgreSQL with the baseline migration applied: rows
//! decode into them (typed ids, enums by label, numeric, jsonb, arrays, timestamptz, generated
//! columns), typed values bind as parameters, and patches keep "absent" and "null" apart
//! through JSON. Hand-written; `codegen generate` writes only `src/`.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jobpilot_db::{
    AgentAction, AgentActionStatus, Application, ApplicationStatus, Job, JobId, Profile, User,
    UserId, UserPatch,
};
use rust_decimal::Decimal;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::path::Path;
use std::str::FromStr;

async fn connect(db: &pgkit::TempDb) -> PgConnection {
    let mut options = PgConnectOptions::from_str(&db.url()).unwrap();
    if let Some(password) = db.config().get_password() {
        options = options.password(&String::from_utf8_lossy(password));
    }
    PgConnection::connect_with(&options).await.unwrap()
}

#[tokio::test]
async fn rows_decode_into_the_generated_models() {
    let baseline = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/0001_baseline.up.sql"),
    )
    .unwrap();
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("generated_decode").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    db.execute_script(&baseline).await.unwrap();
    let mut conn = connect(&db).await;

    // language=PostgreSQL
    let user_id: UserId =
        sqlx::query_scalar("INSERT INTO users (clerk_id, email) VALUES ($1, $2) RETURNING id")
            .bind("clerk_1")
            .bind("Ada@Example.com")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    // language=PostgreSQL
    let user: User = sqlx::query_as("SELECT * FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(user.id, user_id);
    assert_eq!(user.email_normalized.as_deref(), Some("ada@example.com"));
    assert_eq!(user.timezone, "UTC");
    assert!(user.is_active && user.display_name.is_none());

    // language=PostgreSQL
    let profile: Profile = sqlx::query_as(
        "INSERT INTO profiles (user_id, desired_titles, desired_salary_min, preferences)
         VALUES ($1, $2, $3, $4) RETURNING *",
    )
    .bind(user_id)
    .bind(vec!["Engineer".to_owned(), "Lead".to_owned()])
    .bind(Decimal::new(9_000_050, 2))
    .bind(serde_json::json!({ "remote": true }))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(profile.user_id, user_id);
    assert_eq!(profile.desired_titles, ["Engineer", "Lead"]);
    assert_eq!(profile.desired_salary_min, Some(Decimal::new(9_000_050, 2)));
    assert_eq!(profile.preferences["remote"], serde_json::json!(true));

    // language=PostgreSQL
    let job: Job = sqlx::query_as(
        "INSERT INTO jobs (user_id, title, company) VALUES ($1, 'Engineer', 'Acme') RETURNING *",
    )
    .bind(user_id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(job.source, "manual");
    let job_id: JobId = job.id;

    // An enum binds by its label and comes back as the variant.
    // language=PostgreSQL
    let application: Application = sqlx::query_as(
        "INSERT INTO applications (user_id, job_id, status) VALUES ($1, $2, $3) RETURNING *",
    )
    .bind(user_id)
    .bind(job_id)
    .bind(ApplicationStatus::Interviewing)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(application.status, ApplicationStatus::Interviewing);
    assert_eq!(application.job_id, job_id);
    // language=PostgreSQL
    let label: String = sqlx::query_scalar("SELECT status::text FROM applications")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(label, ApplicationStatus::Interviewing.as_str());

    // language=PostgreSQL
    let action: AgentAction = sqlx::query_as(
        "INSERT INTO agent_actions (user_id, job_id, action_type) VALUES ($1, $2, 'apply')
         RETURNING *",
    )
    .bind(user_id)
    .bind(job_id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(action.status, AgentActionStatus::Pending);
    assert_eq!(action.job_id, Some(job_id));
    assert!(action.created_at <= chrono::Utc::now());

    // Arrays of enums and of typed ids bind too (for bulk statements with unnest).
    // language=PostgreSQL
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM applications WHERE status = ANY($1) AND user_id = ANY($2)",
    )
    .bind(vec![
        ApplicationStatus::Saved,
        ApplicationStatus::Interviewing,
    ])
    .bind(vec![user_id])
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn patches_keep_absent_and_null_apart_through_json() {
    let absent: UserPatch = serde_json::from_str("{}").unwrap();
    assert!(absent.is_empty());
    assert_eq!(absent.display_name, None);
    let null: UserPatch = serde_json::from_str(r#"{"display_name": null}"#).unwrap();
    assert_eq!(null.display_name, Some(None));
    assert!(!null.is_empty());
    let set: UserPatch = serde_json::from_str(r#"{"display_name": "Ada"}"#).unwrap();
    assert_eq!(set.display_name, Some(Some("Ada".to_owned())));
    // And back: absent stays absent, null stays null.
    assert_eq!(serde_json::to_string(&absent).unwrap(), "{}");
    assert_eq!(
        serde_json::to_string(&null).unwrap(),
        r#"{"display_name":null}"#
    );
    let back: UserPatch = serde_json::from_str(&serde_json::to_string(&null).unwrap()).unwrap();
    assert_eq!(back, null);
}

#[test]
fn enums_serialise_as_their_labels_in_postgresql_order() {
    assert_eq!(
        serde_json::to_string(&ApplicationStatus::Withdrawn).unwrap(),
        r#""withdrawn""#
    );
    assert!(ApplicationStatus::Saved < ApplicationStatus::Offer);
    assert_eq!(ApplicationStatus::ALL.len(), 6);
    assert_eq!(AgentActionStatus::Cancelled.to_string(), "cancelled");
}
