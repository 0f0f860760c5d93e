//! Shared by the tests of `jobpilot-db`: a throwaway database with the Supabase bootstrap and
//! the baseline migration applied, a [`Db`] connected to it the way services connect, and
//! constructors for valid rows of every table. Hand-written; `codegen generate` writes only
//! `src/`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use jobpilot_db::{
    AgentAction, AgentActionId, AgentActionRepo, ApplicationId, ApplicationRepo, Db, DbOptions,
    Document, DocumentKind, DocumentRepo, Job, JobId, JobRepo, NewAgentAction, NewAgentOutput,
    NewApplication, NewDocument, NewJob, NewMatch, NewProfile, NewUser, User, UserId, UserRepo,
};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;
use std::path::Path;
use std::str::FromStr;

/// A database with the migrations applied (dropped with it) and a pool on it.
pub struct TestDb {
    /// Kept alive: the database is dropped with it.
    pub temp: pgkit::TempDb,
    /// The pool, made the way ADR-2 prescribes.
    pub db: Db,
}

/// The connect options of `temp`, password included.
pub fn connect_options(temp: &pgkit::TempDb) -> PgConnectOptions {
    let mut options = PgConnectOptions::from_str(&temp.url()).unwrap();
    if let Some(password) = temp.config().get_password() {
        options = options.password(&String::from_utf8_lossy(password));
    }
    options
}

/// A fresh database named after the test; `max_connections` connections.
pub async fn test_db(name: &str, max_connections: u32) -> TestDb {
    let baseline = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/0001_baseline.up.sql"),
    )
    .unwrap();
    let server = pgkit::Server::shared().await.unwrap();
    let temp = server.create_database(name).await.unwrap();
    temp.apply_bootstrap().await.unwrap();
    temp.execute_script(&baseline).await.unwrap();
    let db = DbOptions::new(connect_options(&temp))
        .application_name("jobpilot-db-tests")
        .max_connections(max_connections)
        .connect()
        .await
        .unwrap();
    TestDb { temp, db }
}

/// Rows of a table, counted on a connection of its own (so that it sees only committed rows).
pub async fn count(test: &TestDb, table: &str) -> i64 {
    let mut conn = test.db.acquire().await.unwrap();
    // language=PostgreSQL
    sqlx::query_scalar(&format!("SELECT count(*) FROM public.{table}"))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

pub fn new_user(i: usize) -> NewUser {
    NewUser {
        id: None,
        clerk_id: format!("clerk_{i}"),
        email: format!("User{i}@Example.com"),
        display_name: None,
        timezone: None,
        is_active: None,
        created_at: None,
        updated_at: None,
    }
}

pub fn new_profile(user: UserId) -> NewProfile {
    NewProfile {
        id: None,
        user_id: user,
        headline: Some("Engineer".to_owned()),
        summary: None,
        years_experience: Some(7),
        desired_titles: Some(vec!["Engineer".to_owned(), "Lead".to_owned()]),
        desired_locations: None,
        desired_salary_min: Some(Decimal::new(12_000_050, 2)),
        remote_ok: None,
        preferences: Some(serde_json::json!({ "remote": true })),
        created_at: None,
        updated_at: None,
    }
}

pub fn new_job(user: UserId, i: usize) -> NewJob {
    NewJob {
        id: None,
        user_id: user,
        external_id: Some(format!("ext-{i}")),
        source: None,
        source_url: None,
        title: format!("Job {i}"),
        company: "Acme".to_owned(),
        location: None,
        description: None,
        salary_min: Some(Decimal::new(100, 0)),
        salary_max: None,
        currency: None,
        years_experience_min: None,
        raw: None,
        posted_at: None,
        created_at: None,
        updated_at: None,
    }
}

pub fn new_application(user: UserId, job: JobId) -> NewApplication {
    NewApplication {
        id: None,
        user_id: user,
        job_id: job,
        status: None,
        applied_at: None,
        follow_up_at: None,
        notes: Some("first contact".to_owned()),
        created_at: None,
        updated_at: None,
    }
}

pub fn new_match(user: UserId, job: JobId) -> NewMatch {
    NewMatch {
        id: None,
        user_id: user,
        job_id: job,
        score: Decimal::new(875, 3),
        reasons: None,
        model: Some("m1".to_owned()),
        created_at: None,
    }
}

pub fn new_document(user: UserId, i: usize) -> NewDocument {
    NewDocument {
        id: None,
        user_id: user,
        application_id: None,
        storage_object_id: None,
        kind: DocumentKind::Resume,
        title: format!("CV {i}"),
        storage_bucket: None,
        storage_path: format!("{user}/cv-{i}.pdf"),
        mime_type: Some("application/pdf".to_owned()),
        size_bytes: Some(1024),
        content_text: None,
        metadata: None,
        created_at: None,
        updated_at: None,
    }
}

pub fn new_action(user: UserId, job: Option<JobId>) -> NewAgentAction {
    NewAgentAction {
        id: None,
        user_id: user,
        job_id: job,
        application_id: None,
        action_type: "apply".to_owned(),
        status: None,
        input: Some(serde_json::json!({ "step": 1 })),
        error: None,
        attempts: None,
        started_at: None,
        finished_at: None,
        created_at: None,
        updated_at: None,
    }
}

pub fn new_output(user: UserId, action: AgentActionId, i: usize) -> NewAgentOutput {
    NewAgentOutput {
        id: None,
        action_id: action,
        user_id: user,
        document_id: None,
        output_type: "cover_letter".to_owned(),
        content: serde_json::json!({ "n": i }),
        tokens_used: Some(100),
        cost_usd: None,
        created_at: None,
    }
}

/// Rows that other tables' rows point at.
pub struct Parents {
    /// The user most rows belong to.
    pub user: User,
    /// Another user.
    pub other_user: User,
    /// A job of `user`.
    pub job: Job,
    /// An application of `user` to `job`.
    pub application: ApplicationId,
    /// An agent action of `user` about `job`.
    pub action: AgentAction,
    /// A document of `user`.
    pub document: Document,
    /// 32 more users (for tables with one row per user).
    pub users: Vec<User>,
    /// 32 more jobs of `user` (for tables with one row per user and job).
    pub jobs: Vec<Job>,
}

impl Parents {
    pub async fn insert(conn: &mut PgConnection) -> Parents {
        let user = UserRepo::insert(conn, &new_user(900)).await.unwrap();
        let other_user = UserRepo::insert(conn, &new_user(901)).await.unwrap();
        let job = JobRepo::insert(conn, &new_job(user.id, 900)).await.unwrap();
        let application = ApplicationRepo::insert(conn, &new_application(user.id, job.id))
            .await
            .unwrap()
            .id;
        let action = AgentActionRepo::insert(conn, &new_action(user.id, Some(job.id)))
            .await
            .unwrap();
        let document = DocumentRepo::insert(conn, &new_document(user.id, 900))
            .await
            .unwrap();
        let users: Vec<NewUser> = (1000..1032).map(new_user).collect();
        let users = UserRepo::insert_many(conn, &users).await.unwrap();
        let jobs: Vec<NewJob> = (1000..1032).map(|i| new_job(user.id, i)).collect();
        let jobs = JobRepo::insert_many(conn, &jobs).await.unwrap();
        Parents {
            user,
            other_user,
            job,
            application,
            action,
            document,
            users,
            jobs,
        }
    }
}

/// A fresh id of a table whose key is a `uuid`.
pub fn fresh<T: From<uuid::Uuid>>() -> T {
    T::from(uuid::Uuid::from_u128(fastrand::u128(..)))
}
