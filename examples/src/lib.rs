//! An example JobPilot service on `jobpilot-db`, the way a backend uses the generated crate:
//!
//! - [`apply_to_job`]: ADR-2's atomic write. The application and the agent action that tailors
//!   the résumé for it are inserted in one transaction ([`Db::transaction`]): if the second
//!   insert fails, neither row exists.
//! - [`list_jobs_page`]: a keyset-paginated list ([`JobRepo::list_by_user_id`]); the page's
//!   `next` is the cursor of the following page.
//! - [`my_applications`] and [`application_for`]: reads as the end user ([`Db::as_user`]), so
//!   that row-level security decides what is visible: the queries have no `user_id` filter, and
//!   a user still sees only their own rows.
//!
//! Writes run with the service's own role (the table owner, as ADR-2's backend does); the
//! `authenticated` role may not insert agent actions at all. [`run_demo`] strings the functions
//! together (the binary runs it against `DATABASE_URL`).
#![warn(missing_docs)]

use jobpilot_db::{
    AgentAction, AgentActionRepo, Application, ApplicationId, ApplicationRepo, ApplicationStatus,
    Db, DbError, Job, JobId, JobRepo, NewAgentAction, NewApplication, NewJob, NewUser, Page,
    UserId, UserRepo,
};

/// The `action_type` of the agent action that [`apply_to_job`] queues.
pub const TAILOR_RESUME: &str = "tailor_resume";

/// The largest page [`list_jobs_page`] returns, and the most rows [`my_applications`] reads.
pub const MAX_PAGE_SIZE: u32 = 100;

/// What can go wrong in the service. Database errors keep sqlx's error as the source; no
/// variant holds a connection URL, so no message shows a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The job does not exist, or belongs to another user.
    #[error("job {0} not found")]
    JobNotFound(JobId),
    /// The user has applied to this job already (`applications_user_id_job_id_key`).
    #[error("user {user} has already applied to job {job}")]
    AlreadyApplied {
        /// The applicant.
        user: UserId,
        /// The job.
        job: JobId,
    },
    /// No application with this id is visible to the user.
    #[error("application {0} not found")]
    ApplicationNotFound(ApplicationId),
    /// A page size outside `1..=MAX_PAGE_SIZE`.
    #[error("page size {0} is not between 1 and {MAX_PAGE_SIZE}")]
    InvalidPageSize(u32),
    /// Connecting failed (see [`DbError`]).
    #[error(transparent)]
    Connect(#[from] DbError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The end user a request is made for, as the API gateway hands them over (a verified JWT's
/// claims). [`Db::as_user`] puts them in `request.jwt.claims`, where the policies read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClaims {
    /// The user (`sub`; `auth.uid()` in the policies).
    pub user_id: UserId,
    /// The user's e-mail address, when the token has one (`auth.jwt() ->> 'email'`).
    pub email: Option<String>,
}

impl UserClaims {
    /// The claims as the JSON object [`Db::as_user`] takes (it adds `sub` and `role`).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.email {
            Some(email) => serde_json::json!({ "email": email }),
            None => serde_json::json!({}),
        }
    }
}

/// `user` applies to `job`: inserts the application (status `applied`, with `notes`) and
/// queues a [`TAILOR_RESUME`] agent action for it, in ONE transaction (ADR-2): both rows are
/// committed, or, if anything fails, neither is. The job must be one of the user's
/// ([`ServiceError::JobNotFound`]); a second application to the same job is
/// [`ServiceError::AlreadyApplied`].
pub async fn apply_to_job(
    db: &Db,
    user: UserId,
    job: JobId,
    notes: Option<&str>,
) -> Result<(Application, AgentAction), ServiceError> {
    let notes = notes.map(str::to_owned);
    db.transaction(|tx| {
        Box::pin(async move {
            let job_row = JobRepo::get(tx, job)
                .await?
                .filter(|row| row.user_id == user)
                .ok_or(ServiceError::JobNotFound(job))?;
            let application = NewApplication {
                status: Some(ApplicationStatus::Applied),
                notes,
                ..NewApplication::new(user, job)
            };
            let application =
                ApplicationRepo::insert(tx, &application)
                    .await
                    .map_err(|e| match e.as_database_error() {
                        Some(db_err) if db_err.is_unique_violation() => {
                            ServiceError::AlreadyApplied { user, job }
                        }
                        _ => ServiceError::Database(e),
                    })?;
            let action = NewAgentAction {
                job_id: Some(job),
                application_id: Some(application.id.into()),
                input: Some(serde_json::json!({
                    "title": job_row.title,
                    "company": job_row.company,
                })),
                ..NewAgentAction::new(user, TAILOR_RESUME)
            };
            let action = AgentActionRepo::insert(tx, &action).await?;
            Ok((application, action))
        })
    })
    .await
}

/// One page of `user`'s jobs in id order: up to `limit` jobs after `cursor` (`None`: the first
/// page). Pass the page's `next` as the next call's `cursor`; it is `None` on the last page.
/// Keyset pagination: a job is never returned twice nor skipped when jobs are added between
/// pages. `limit` must be in `1..=MAX_PAGE_SIZE`.
pub async fn list_jobs_page(
    db: &Db,
    user: UserId,
    cursor: Option<JobId>,
    limit: u32,
) -> Result<Page<Job, JobId>, ServiceError> {
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ServiceError::InvalidPageSize(limit));
    }
    let mut conn = db.acquire().await?;
    Ok(JobRepo::list_by_user_id(&mut conn, user, cursor, limit).await?)
}

/// The applications of the user the claims name, newest first (at most [`MAX_PAGE_SIZE`]),
/// read as that user: the query has no `user_id` filter, row-level security
/// (`applications_owner_all`) is what limits it to the user's own rows.
pub async fn my_applications(
    db: &Db,
    claims: &UserClaims,
) -> Result<Vec<Application>, ServiceError> {
    db.as_user(claims.user_id, claims.to_json(), |tx| {
        Box::pin(async move {
            // language=PostgreSQL
            let rows = sqlx::query_as(
                "SELECT * FROM public.applications ORDER BY created_at DESC, id LIMIT $1",
            )
            .bind(i64::from(MAX_PAGE_SIZE))
            .persistent(false)
            .fetch_all(&mut **tx)
            .await?;
            Ok(rows)
        })
    })
    .await
}

/// One application by id, read as the user the claims name: another user's application is
/// [`ServiceError::ApplicationNotFound`], exactly like one that does not exist (row-level
/// security hides it from [`ApplicationRepo::get`]).
pub async fn application_for(
    db: &Db,
    claims: &UserClaims,
    id: ApplicationId,
) -> Result<Application, ServiceError> {
    db.as_user(claims.user_id, claims.to_json(), |tx| {
        Box::pin(async move {
            ApplicationRepo::get(tx, id)
                .await?
                .ok_or(ServiceError::ApplicationNotFound(id))
        })
    })
    .await
}

/// Runs the example end to end and describes each step in `out`: creates a user `tag` (the
/// clerk id, unique) with five jobs, applies to the first (application + agent action in one
/// transaction), tries again (refused), pages through the jobs two at a time and reads the
/// user's applications as that user. Finally deletes the user, whose rows go with it
/// (`ON DELETE CASCADE`), so the demo leaves nothing behind.
pub async fn run_demo(
    db: &Db,
    tag: &str,
    out: &mut impl std::io::Write,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = db.acquire().await?;
    let user =
        UserRepo::insert(&mut conn, &NewUser::new(tag, format!("{tag}@example.com"))).await?;
    let jobs: Vec<NewJob> = (1..=5)
        .map(|i| NewJob::new(user.id, format!("Engineer {i}"), "Acme"))
        .collect();
    let jobs = JobRepo::insert_many(&mut conn, &jobs).await?;
    drop(conn);
    writeln!(out, "user {} with {} jobs", user.id, jobs.len())?;

    let outcome = async {
        let first = jobs.first().ok_or("no job was inserted")?;
        let (application, action) =
            apply_to_job(db, user.id, first.id, Some("referred by Ada")).await?;
        writeln!(
            out,
            "applied: application {} ({:?}), agent action {} {:?} ({:?})",
            application.id, application.status, action.id, action.action_type, action.status
        )?;
        match apply_to_job(db, user.id, first.id, None).await {
            Err(e @ ServiceError::AlreadyApplied { .. }) => writeln!(out, "again: {e}")?,
            other => writeln!(out, "again: unexpected {other:?}")?,
        }

        let mut cursor = None;
        let mut page_no = 1;
        loop {
            let page = list_jobs_page(db, user.id, cursor, 2).await?;
            let titles: Vec<&str> = page.items.iter().map(|j| j.title.as_str()).collect();
            writeln!(out, "page {page_no}: {titles:?}")?;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
            page_no += 1;
        }

        let claims = UserClaims {
            user_id: user.id,
            email: Some(user.email.clone()),
        };
        let mine = my_applications(db, &claims).await?;
        writeln!(out, "as the user: {} application(s)", mine.len())?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;

    let mut conn = db.acquire().await?;
    UserRepo::delete(&mut conn, user.id).await?;
    writeln!(out, "deleted user {} and their rows", user.id)?;
    outcome
}
