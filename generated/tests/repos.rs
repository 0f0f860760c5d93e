//! Every repository function of every table against a real PostgreSQL with the baseline
//! migration applied: the functions every table with a key has (one macro-generated test per
//! table), then each table's finds, lists and upserts on its own keys, then keyset pagination
//! at its edges (empty, exactly one page, rows inserted and deleted between pages).
//! Hand-written; `codegen generate` writes only `src/`.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jobpilot_db::*;
use rust_decimal::Decimal;
use support::{
    Parents, count, fresh, new_action, new_application, new_document, new_job, new_match,
    new_output, new_profile, new_user, test_db,
};

/// For one table: `insert`; `insert_many` of no rows and of several (returned in the order
/// given); `get` and `get_many` (key order, missing keys skipped); `update` with a patch, with
/// an empty patch (no UPDATE: the row as it is) and of a missing row; `upsert_on_id` on an
/// existing key (updates that row, keeps what the new row leaves out) and on a new one;
/// `delete`. What an upsert writes on a conflict is tested per table below.
macro_rules! common_methods {
    (
        $test:ident, $repo:ident, $id:ty,
        new: |$p:ident, $i:ident| $new:expr,
        patch: $patch:expr,
        patched: |$row:ident| $patched:expr $(,)?
    ) => {
        #[tokio::test]
        async fn $test() {
            let test = test_db(stringify!($test), 2).await;
            let mut conn = test.db.acquire().await.unwrap();
            let $p = Parents::insert(&mut conn).await;
            let new = |$i: usize| $new;
            let table = $repo::INSERT_TABLE;
            let before = count(&test, table).await;

            let one = $repo::insert(&mut conn, &new(1)).await.unwrap();
            assert_eq!(
                $repo::get(&mut conn, one.id).await.unwrap(),
                Some(one.clone())
            );

            assert!($repo::insert_many(&mut conn, &[]).await.unwrap().is_empty());
            let ids: Vec<$id> = (0..3).map(|_| fresh()).collect();
            let rows: Vec<_> = ids
                .iter()
                .enumerate()
                .map(|(k, id)| {
                    let mut row = new(10 + k);
                    row.id = Some(*id);
                    row
                })
                .collect();
            let many = $repo::insert_many(&mut conn, &rows).await.unwrap();
            assert_eq!(
                many.iter().map(|r| r.id).collect::<Vec<_>>(),
                ids,
                "in the order given"
            );
            assert_eq!(count(&test, table).await, before + 4);

            let missing: $id = fresh();
            let mut keys = vec![missing, one.id];
            keys.extend(&ids);
            let got = $repo::get_many(&mut conn, &keys).await.unwrap();
            let mut expected = ids.clone();
            expected.push(one.id);
            expected.sort();
            assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
            assert_eq!(got.iter().find(|r| r.id == one.id), Some(&one));
            assert!($repo::get_many(&mut conn, &[]).await.unwrap().is_empty());
            assert_eq!($repo::get(&mut conn, missing).await.unwrap(), None);

            let patch = $patch;
            let updated = $repo::update(&mut conn, one.id, &patch)
                .await
                .unwrap()
                .expect("the row exists");
            {
                let $row = &updated;
                assert!($patched, "patched: {updated:?}");
            }
            assert_eq!(updated.created_at, one.created_at);
            let same = $repo::update(&mut conn, one.id, &Default::default())
                .await
                .unwrap();
            assert_eq!(
                same.as_ref(),
                Some(&updated),
                "an empty patch changes nothing"
            );
            assert_eq!(
                $repo::update(&mut conn, missing, &patch).await.unwrap(),
                None
            );

            let mut again = new(1);
            again.id = Some(one.id);
            let upserted = $repo::upsert_on_id(&mut conn, &again).await.unwrap();
            assert_eq!(upserted.id, one.id);
            assert_eq!(upserted.created_at, one.created_at, "left out: kept");
            assert_eq!($repo::get(&mut conn, one.id).await.unwrap(), Some(upserted));
            let mut other = new(20);
            let other_id: $id = fresh();
            other.id = Some(other_id);
            assert_eq!(
                $repo::upsert_on_id(&mut conn, &other).await.unwrap().id,
                other_id
            );
            assert_eq!(count(&test, table).await, before + 5);

            assert!($repo::delete(&mut conn, one.id).await.unwrap());
            assert!(!$repo::delete(&mut conn, one.id).await.unwrap());
            assert_eq!($repo::get(&mut conn, one.id).await.unwrap(), None);
            assert_eq!(count(&test, table).await, before + 4);
        }
    };
}

/// The table each repository writes, for counting rows.
trait Table {
    const INSERT_TABLE: &'static str;
}

macro_rules! tables {
    ($($repo:ident => $table:literal),* $(,)?) => {
        $(impl Table for $repo {
            const INSERT_TABLE: &'static str = $table;
        })*
    };
}

tables! {
    UserRepo => "users",
    ProfileRepo => "profiles",
    JobRepo => "jobs",
    ApplicationRepo => "applications",
    MatchRepo => "matches",
    DocumentRepo => "documents",
    AgentActionRepo => "agent_actions",
    AgentOutputRepo => "agent_outputs",
}

common_methods!(
    users_common_methods, UserRepo, UserId,
    new: |p, i| { let _ = &p; new_user(i) },
    patch: UserPatch { display_name: Some(Some("Ada".to_owned())), ..Default::default() },
    patched: |row| row.display_name.as_deref() == Some("Ada"),
);

common_methods!(
    profiles_common_methods, ProfileRepo, ProfileId,
    new: |p, i| new_profile(p.users[i].id),
    patch: ProfilePatch { headline: Some(None), years_experience: Some(Some(9)), ..Default::default() },
    patched: |row| row.headline.is_none() && row.years_experience == Some(9),
);

common_methods!(
    jobs_common_methods, JobRepo, JobId,
    new: |p, i| new_job(p.user.id, i),
    patch: JobPatch { company: Some("Initech".to_owned()), ..Default::default() },
    patched: |row| row.company == "Initech",
);

common_methods!(
    applications_common_methods, ApplicationRepo, ApplicationId,
    new: |p, i| new_application(p.user.id, p.jobs[i].id),
    patch: ApplicationPatch { status: Some(ApplicationStatus::Offer), ..Default::default() },
    patched: |row| row.status == ApplicationStatus::Offer,
);

common_methods!(
    matches_common_methods, MatchRepo, MatchId,
    new: |p, i| new_match(p.user.id, p.jobs[i].id),
    patch: MatchPatch { score: Some(Decimal::new(1, 0)), ..Default::default() },
    patched: |row| row.score == Decimal::new(1, 0),
);

common_methods!(
    documents_common_methods, DocumentRepo, DocumentId,
    new: |p, i| new_document(p.user.id, i),
    patch: DocumentPatch { kind: Some(DocumentKind::CoverLetter), ..Default::default() },
    patched: |row| row.kind == DocumentKind::CoverLetter,
);

common_methods!(
    agent_actions_common_methods, AgentActionRepo, AgentActionId,
    new: |p, i| { let _ = i; new_action(p.user.id, Some(p.job.id)) },
    patch: AgentActionPatch {
        status: Some(AgentActionStatus::Failed),
        error: Some(Some("timeout".to_owned())),
        ..Default::default()
    },
    patched: |row| row.status == AgentActionStatus::Failed && row.error.as_deref() == Some("timeout"),
);

common_methods!(
    agent_outputs_common_methods, AgentOutputRepo, AgentOutputId,
    new: |p, i| new_output(p.user.id, p.action.id, i),
    patch: AgentOutputPatch { tokens_used: Some(None), ..Default::default() },
    patched: |row| row.tokens_used.is_none(),
);

#[tokio::test]
async fn users_find_and_upsert_on_their_unique_keys() {
    let test = test_db("repos_users_keys", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let ada = UserRepo::insert(&mut conn, &new_user(1)).await.unwrap();

    let found = UserRepo::find_by_clerk_id(&mut conn, "clerk_1")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&ada));
    assert_eq!(
        UserRepo::find_by_clerk_id(&mut conn, "nobody")
            .await
            .unwrap(),
        None
    );
    // The unique index is on the generated lower(email).
    let found = UserRepo::find_by_email_normalized(&mut conn, "user1@example.com").await;
    assert_eq!(found.unwrap(), Some(ada.clone()));
    let found = UserRepo::find_by_email_normalized(&mut conn, "User1@Example.com").await;
    assert_eq!(found.unwrap(), None);

    // A conflict on clerk_id updates the fields the row sets, keeps the key and what it leaves
    // out.
    let mut renamed = new_user(1);
    renamed.email = "ada@lovelace.org".to_owned();
    renamed.display_name = Some("Ada".to_owned());
    let upserted = UserRepo::upsert_on_clerk_id(&mut conn, &renamed)
        .await
        .unwrap();
    assert_eq!((upserted.id, upserted.created_at), (ada.id, ada.created_at));
    assert_eq!(upserted.email, "ada@lovelace.org");
    assert_eq!(
        upserted.email_normalized.as_deref(),
        Some("ada@lovelace.org")
    );
    assert_eq!(upserted.display_name.as_deref(), Some("Ada"));
    assert_eq!(upserted.timezone, "UTC");
    // Left out (`None`) on a conflict: the stored value stays.
    renamed.display_name = None;
    let again = UserRepo::upsert_on_clerk_id(&mut conn, &renamed)
        .await
        .unwrap();
    assert_eq!(again.display_name.as_deref(), Some("Ada"));

    // A conflict on the generated column: another clerk id, the same address in other case.
    let mut moved = new_user(2);
    moved.email = "ADA@lovelace.org".to_owned();
    let upserted = UserRepo::upsert_on_email_normalized(&mut conn, &moved)
        .await
        .unwrap();
    assert_eq!(upserted.id, ada.id);
    assert_eq!(upserted.clerk_id, "clerk_2");
    assert_eq!(upserted.email, "ADA@lovelace.org");
    // No conflict: a new row.
    let bob = UserRepo::upsert_on_clerk_id(&mut conn, &new_user(3))
        .await
        .unwrap();
    assert_ne!(bob.id, ada.id);
    assert_eq!(count(&test, "users").await, 2);

    // An insert that breaks a unique key is an error, not an upsert.
    let err = UserRepo::insert(&mut conn, &new_user(3)).await.unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("23505"), "{err}");
}

#[tokio::test]
async fn profiles_find_list_and_upsert_on_user_id() {
    let test = test_db("repos_profiles_keys", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let p = Parents::insert(&mut conn).await;
    let profile = ProfileRepo::insert(&mut conn, &new_profile(p.user.id))
        .await
        .unwrap();
    assert_eq!(profile.desired_titles, ["Engineer", "Lead"]);
    assert_eq!(
        profile.desired_locations,
        Vec::<String>::new(),
        "the default"
    );

    let found = ProfileRepo::find_by_user_id(&mut conn, p.user.id).await;
    assert_eq!(found.unwrap().as_ref(), Some(&profile));
    let none = ProfileRepo::find_by_user_id(&mut conn, p.other_user.id).await;
    assert_eq!(none.unwrap(), None);
    let page = ProfileRepo::list_by_user_id(&mut conn, p.user.id, None, 10)
        .await
        .unwrap();
    assert_eq!((page.items, page.next), (vec![profile.clone()], None));

    // A conflict on user_id: only the set fields change.
    let mut change = new_profile(p.user.id);
    change.headline = Some("Staff engineer".to_owned());
    change.preferences = None;
    let upserted = ProfileRepo::upsert_on_user_id(&mut conn, &change)
        .await
        .unwrap();
    assert_eq!(upserted.id, profile.id);
    assert_eq!(upserted.headline.as_deref(), Some("Staff engineer"));
    assert_eq!(upserted.preferences, profile.preferences);
    // A row that sets nothing but the key: the existing row comes back as it is.
    let bare = NewProfile {
        id: None,
        user_id: p.user.id,
        headline: None,
        summary: None,
        years_experience: None,
        desired_titles: None,
        desired_locations: None,
        desired_salary_min: None,
        remote_ok: None,
        preferences: None,
        created_at: None,
        updated_at: None,
    };
    let existing = ProfileRepo::upsert_on_user_id(&mut conn, &bare)
        .await
        .unwrap();
    assert_eq!(existing.id, profile.id);
    assert_eq!(existing.headline, upserted.headline);
    assert_eq!(existing.desired_titles, upserted.desired_titles);
    assert_eq!(count(&test, "profiles").await, 1);
}

#[tokio::test]
async fn applications_and_matches_find_list_and_upsert_on_user_and_job() {
    let test = test_db("repos_applications_keys", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let p = Parents::insert(&mut conn).await;
    let (user, job) = (p.user.id, p.jobs[0].id);

    let app = ApplicationRepo::insert(&mut conn, &new_application(user, job))
        .await
        .unwrap();
    assert_eq!(app.status, ApplicationStatus::Saved, "the default");
    let found = ApplicationRepo::find_by_user_id_and_job_id(&mut conn, user, job).await;
    assert_eq!(found.unwrap().as_ref(), Some(&app));
    let none = ApplicationRepo::find_by_user_id_and_job_id(&mut conn, p.other_user.id, job).await;
    assert_eq!(none.unwrap(), None);
    let by_job = ApplicationRepo::list_by_job_id(&mut conn, job, None, 10)
        .await
        .unwrap();
    assert_eq!(by_job.items, std::slice::from_ref(&app));
    // The user's: this one and the fixture's own application.
    let by_user = ApplicationRepo::list_by_user_id(&mut conn, user, None, 10)
        .await
        .unwrap();
    let mut ids = vec![app.id, p.application];
    ids.sort();
    assert_eq!(by_user.items.iter().map(|a| a.id).collect::<Vec<_>>(), ids);

    let mut applied = new_application(user, job);
    applied.status = Some(ApplicationStatus::Applied);
    applied.notes = None;
    let upserted = ApplicationRepo::upsert_on_user_id_and_job_id(&mut conn, &applied)
        .await
        .unwrap();
    assert_eq!(upserted.id, app.id);
    assert_eq!(upserted.status, ApplicationStatus::Applied);
    assert_eq!(
        upserted.notes.as_deref(),
        Some("first contact"),
        "left out: kept"
    );
    assert!(upserted.updated_at >= app.updated_at);
    assert_eq!(count(&test, "applications").await, 2);

    let scored = MatchRepo::insert(&mut conn, &new_match(user, job))
        .await
        .unwrap();
    let found = MatchRepo::find_by_user_id_and_job_id(&mut conn, user, job).await;
    assert_eq!(found.unwrap().as_ref(), Some(&scored));
    let by_job = MatchRepo::list_by_job_id(&mut conn, job, None, 10)
        .await
        .unwrap();
    assert_eq!(by_job.items, std::slice::from_ref(&scored));
    let by_user = MatchRepo::list_by_user_id(&mut conn, user, None, 10)
        .await
        .unwrap();
    assert_eq!(by_user.items, std::slice::from_ref(&scored));
    let mut rescored = new_match(user, job);
    rescored.score = Decimal::new(5, 1);
    rescored.model = None;
    let upserted = MatchRepo::upsert_on_user_id_and_job_id(&mut conn, &rescored)
        .await
        .unwrap();
    assert_eq!(upserted.id, scored.id);
    assert_eq!(upserted.score, Decimal::new(5, 1));
    assert_eq!(upserted.model.as_deref(), Some("m1"));
    // The score's CHECK still applies to an upsert's update.
    rescored.score = Decimal::new(2, 0);
    let err = MatchRepo::upsert_on_user_id_and_job_id(&mut conn, &rescored)
        .await
        .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("23514"), "{err}");
}

#[tokio::test]
async fn documents_find_list_and_upsert_on_storage_path() {
    let test = test_db("repos_documents_keys", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let p = Parents::insert(&mut conn).await;
    // language=PostgreSQL
    let object: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO storage.objects (bucket_id, name) VALUES ('documents', 'a/cv.pdf') RETURNING id",
    )
    .persistent(false)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let mut row = new_document(p.user.id, 1);
    row.application_id = Some(p.application);
    row.storage_object_id = Some(object);
    let doc = DocumentRepo::insert(&mut conn, &row).await.unwrap();
    assert_eq!(doc.storage_bucket, "documents", "the default");

    let found = DocumentRepo::find_by_storage_bucket_and_storage_path(
        &mut conn,
        "documents",
        &doc.storage_path,
    )
    .await
    .unwrap();
    assert_eq!(found.as_ref(), Some(&doc));
    let none = DocumentRepo::find_by_storage_bucket_and_storage_path(
        &mut conn,
        "other",
        &doc.storage_path,
    )
    .await
    .unwrap();
    assert_eq!(none, None);
    let by_application = DocumentRepo::list_by_application_id(&mut conn, p.application, None, 10)
        .await
        .unwrap();
    assert_eq!(by_application.items, std::slice::from_ref(&doc));
    let by_object = DocumentRepo::list_by_storage_object_id(&mut conn, object, None, 10)
        .await
        .unwrap();
    assert_eq!(by_object.items, std::slice::from_ref(&doc));
    let by_user = DocumentRepo::list_by_user_id(&mut conn, p.user.id, None, 10)
        .await
        .unwrap();
    assert_eq!(by_user.items.len(), 2, "this one and the fixture's");

    let mut replaced = new_document(p.user.id, 1);
    replaced.title = "CV (2026)".to_owned();
    replaced.storage_bucket = Some("documents".to_owned());
    let upserted = DocumentRepo::upsert_on_storage_bucket_and_storage_path(&mut conn, &replaced)
        .await
        .unwrap();
    assert_eq!(upserted.id, doc.id);
    assert_eq!(upserted.title, "CV (2026)");
    assert_eq!(
        upserted.application_id,
        Some(p.application),
        "left out: kept"
    );
    assert_eq!(count(&test, "documents").await, 2);
}

#[tokio::test]
async fn agent_actions_and_outputs_list_by_each_foreign_key() {
    let test = test_db("repos_agent_keys", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let p = Parents::insert(&mut conn).await;
    let other_job = p.jobs[0].id;
    let queued = AgentActionRepo::insert(&mut conn, &new_action(p.user.id, Some(other_job)))
        .await
        .unwrap();
    assert_eq!(queued.status, AgentActionStatus::Pending);
    let by_job = AgentActionRepo::list_by_job_id(&mut conn, other_job, None, 10)
        .await
        .unwrap();
    assert_eq!(by_job.items, std::slice::from_ref(&queued));
    let by_user = AgentActionRepo::list_by_user_id(&mut conn, p.user.id, None, 10)
        .await
        .unwrap();
    let mut ids = vec![queued.id, p.action.id];
    ids.sort();
    assert_eq!(by_user.items.iter().map(|a| a.id).collect::<Vec<_>>(), ids);
    let theirs = AgentActionRepo::list_by_user_id(&mut conn, p.other_user.id, None, 10)
        .await
        .unwrap();
    assert!(theirs.items.is_empty());

    let mut output = new_output(p.user.id, queued.id, 1);
    output.document_id = Some(p.document.id);
    output.cost_usd = Some(Decimal::new(12, 2));
    let out = AgentOutputRepo::insert(&mut conn, &output).await.unwrap();
    let by_action = AgentOutputRepo::list_by_action_id(&mut conn, queued.id, None, 10)
        .await
        .unwrap();
    assert_eq!(by_action.items, std::slice::from_ref(&out));
    let by_document = AgentOutputRepo::list_by_document_id(&mut conn, p.document.id, None, 10)
        .await
        .unwrap();
    assert_eq!(by_document.items, std::slice::from_ref(&out));
    let by_user = AgentOutputRepo::list_by_user_id(&mut conn, p.user.id, None, 10)
        .await
        .unwrap();
    assert_eq!(by_user.items, std::slice::from_ref(&out));
    assert_eq!(out.cost_usd, Some(Decimal::new(12, 2)));
}

/// Every page of `user`'s jobs, `limit` at a time.
async fn all_pages(conn: &mut sqlx::PgConnection, user: UserId, limit: u32) -> Vec<Vec<JobId>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = JobRepo::list_by_user_id(conn, user, after, limit)
            .await
            .unwrap();
        pages.push(page.items.iter().map(|j| j.id).collect());
        match page.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
    }
}

#[tokio::test]
async fn pagination_at_its_edges() {
    let test = test_db("repos_pagination", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let user = UserRepo::insert(&mut conn, &new_user(1)).await.unwrap().id;
    let other = UserRepo::insert(&mut conn, &new_user(2)).await.unwrap().id;

    // Empty: one empty page, no cursor.
    let page = JobRepo::list_by_user_id(&mut conn, user, None, 3)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next), (0, None));

    let rows: Vec<NewJob> = (0..3).map(|i| new_job(user, i)).collect();
    let mut ids: Vec<JobId> = JobRepo::insert_many(&mut conn, &rows)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    ids.sort();
    JobRepo::insert(&mut conn, &new_job(other, 9))
        .await
        .unwrap();

    // Exactly one page: all rows, and no cursor to an empty next page.
    assert_eq!(
        all_pages(&mut conn, user, 3).await,
        std::slice::from_ref(&ids)
    );
    // One more than a page: a cursor, then the last row.
    assert_eq!(
        all_pages(&mut conn, user, 2).await,
        [ids[..2].to_vec(), ids[2..].to_vec()]
    );
    // A limit of 0 counts as 1.
    assert_eq!(all_pages(&mut conn, user, 0).await.len(), 3);
    // After the last key: empty.
    let page = JobRepo::list_by_user_id(&mut conn, user, Some(ids[2]), 5)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next), (0, None));
}

#[tokio::test]
async fn pagination_is_stable_under_concurrent_inserts_and_deletes() {
    let test = test_db("repos_pagination_concurrent", 2).await;
    let mut reader = test.db.acquire().await.unwrap();
    let mut writer = test.db.acquire().await.unwrap();
    let user = UserRepo::insert(&mut writer, &new_user(1))
        .await
        .unwrap()
        .id;
    let rows: Vec<NewJob> = (0..10).map(|i| new_job(user, i)).collect();
    let mut existing: Vec<JobId> = JobRepo::insert_many(&mut writer, &rows)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    existing.sort();

    let mut seen: Vec<JobId> = Vec::new();
    let first = JobRepo::list_by_user_id(&mut reader, user, None, 3)
        .await
        .unwrap();
    seen.extend(first.items.iter().map(|j| j.id));
    let mut cursor = first.next.expect("more pages");

    // Between pages, another connection commits 20 new jobs (random keys: some sort before the
    // cursor, some after) and deletes one job the reader has not reached yet.
    let new_rows: Vec<NewJob> = (100..120).map(|i| new_job(user, i)).collect();
    let added: Vec<JobId> = JobRepo::insert_many(&mut writer, &new_rows)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    let deleted = existing[7];
    assert!(JobRepo::delete(&mut writer, deleted).await.unwrap());

    loop {
        let page = JobRepo::list_by_user_id(&mut reader, user, Some(cursor), 3)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|j| j.id));
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let first_cursor = first.next.expect("more pages");
    // Every row that existed throughout is seen exactly once; the deleted one is not; of the
    // new rows, exactly those after the cursor at the time they were inserted are seen.
    let mut expected: Vec<JobId> = existing
        .iter()
        .copied()
        .filter(|id| *id != deleted)
        .collect();
    expected.extend(added.iter().copied().filter(|id| *id > first_cursor));
    expected.sort();
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    assert_eq!(seen, sorted, "pages come in key order, without repeats");
}

#[tokio::test]
async fn insert_many_keeps_the_order_and_the_defaults_of_rows_of_every_shape() {
    let test = test_db("repos_insert_many_shapes", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let user = UserRepo::insert(&mut conn, &new_user(1)).await.unwrap().id;
    // Rows that leave different defaulted fields out: one `INSERT` per shape, one statement.
    let given: Vec<Option<JobId>> = (0..12).map(|i| (i % 2 == 0).then(fresh::<JobId>)).collect();
    let rows: Vec<NewJob> = (0..12)
        .map(|i| {
            let mut row = new_job(user, i);
            row.id = given[i];
            if i % 3 == 0 {
                row.source = Some("linkedin".to_owned());
            }
            row
        })
        .collect();
    let jobs = JobRepo::insert_many(&mut conn, &rows).await.unwrap();
    let titles: Vec<&str> = jobs.iter().map(|j| j.title.as_str()).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("Job {i}")).collect();
    assert_eq!(titles, expected, "in the order given");
    for (i, job) in jobs.iter().enumerate() {
        let source = if i % 3 == 0 { "linkedin" } else { "manual" };
        assert_eq!(
            job.source, source,
            "row {i}: left out, the column's default"
        );
        if let Some(id) = given[i] {
            assert_eq!(job.id, id);
        }
        assert_eq!(job.raw, serde_json::json!({}));
    }
    // The whole statement fails or succeeds: a duplicate key in the last group rolls back all.
    let mut bad = rows.clone();
    for (row, i) in bad.iter_mut().zip(100..) {
        row.id = Some(fresh());
        row.title = format!("Again {i}");
    }
    bad[11].id = given[0];
    assert!(JobRepo::insert_many(&mut conn, &bad).await.is_err());
    assert_eq!(count(&test, "jobs").await, 12);
}

#[tokio::test]
async fn insert_many_with_array_columns_takes_one_statement_per_65535_parameters() {
    // Profiles have `text[]` columns, which cannot go through `unnest`: a multi-row VALUES,
    // 5,461 rows (12 parameters each) per statement.
    let test = test_db("repos_insert_many_values", 2).await;
    let mut conn = test.db.acquire().await.unwrap();
    let users: Vec<NewUser> = (0..6000).map(new_user).collect();
    let users = UserRepo::insert_many(&mut conn, &users).await.unwrap();
    assert_eq!(users.len(), 6000);
    let rows: Vec<NewProfile> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut row = new_profile(u.id);
            if i % 2 == 0 {
                row.desired_titles = None;
            }
            row
        })
        .collect();
    let profiles = ProfileRepo::insert_many(&mut conn, &rows).await.unwrap();
    assert_eq!(profiles.len(), 6000);
    for (i, (profile, user)) in profiles.iter().zip(&users).enumerate() {
        assert_eq!(profile.user_id, user.id, "in the order given");
        let titles: &[&str] = if i % 2 == 0 {
            &[]
        } else {
            &["Engineer", "Lead"]
        };
        assert_eq!(profile.desired_titles, titles);
    }
    assert_eq!(count(&test, "profiles").await, 6000);
}
