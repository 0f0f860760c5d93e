//! The differ on typical changes to JobPilot's schema: the SQL (insta snapshots, reviewed), and
//! every plan proven on a real PostgreSQL, up and down. Both states come from SQL applied to a
//! scratch database and introspected, so their expressions are PostgreSQL's own.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::diff::prove::{ProofDb, ProofError, prove, same_database};
use codegen::diff::{DiffOptions, HazardKind, Loss, Plan, Segment, diff, diff_down};
use codegen::introspect::Filter;
use codegen::model::{Ident, QualifiedName, Schema};
use codegen::source::{LoadOptions, SqlSource, load_sql_files_on};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn baseline() -> SqlSource {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/0001_baseline.up.sql");
    SqlSource::read(&path).unwrap()
}

async fn server() -> Arc<pgkit::Server> {
    pgkit::Server::shared().await.unwrap()
}

/// The baseline plus `change` (SQL), introspected.
async fn state(server: &Arc<pgkit::Server>, change: &str) -> Schema {
    let mut files = vec![baseline()];
    if !change.is_empty() {
        files.push(SqlSource {
            path: PathBuf::from("change.sql"),
            text: change.to_owned(),
        });
    }
    load_sql_files_on(server, &files, &LoadOptions::default())
        .await
        .unwrap()
        .schema
}

/// Diffs, snapshots the up and down SQL, and proves both.
async fn case(name: &str, change: &str, edit: impl FnOnce(&mut Schema)) -> (Plan, Plan) {
    let server = server().await;
    let from = state(&server, "").await;
    let mut to = state(&server, change).await;
    edit(&mut to);
    let options = DiffOptions::default();
    let up = diff(&from, &to, &options);
    let down = diff_down(&from, &to, &options);
    insta::assert_snapshot!(
        name,
        format!("-- up\n{}\n-- down\n{}", up.to_sql(), down.to_sql())
    );
    let filter = Filter::default();
    prove(&server, &from, &up, &to, &filter, true)
        .await
        .unwrap_or_else(|e| panic!("{name}: up not proven: {e}"));
    prove(&server, &to, &down, &from, &filter, true)
        .await
        .unwrap_or_else(|e| panic!("{name}: down not proven: {e}"));
    // Proven again reading back only what the plans can reach (what proofs on big schemas do).
    prove_reached(&server, &from, &up, &to)
        .await
        .unwrap_or_else(|e| panic!("{name}: up not proven on its reach: {e}"));
    prove_reached(&server, &to, &down, &from)
        .await
        .unwrap_or_else(|e| panic!("{name}: down not proven on its reach: {e}"));
    (up, down)
}

/// [`prove`], reading back only what the plan can reach ([`ProofDb::limit_to_reach`]) where the
/// change allows it, whatever the size of the schema; returns the relations the last read took.
async fn prove_reached(
    server: &Arc<pgkit::Server>,
    from: &Schema,
    plan: &Plan,
    to: &Schema,
) -> Result<Option<usize>, ProofError> {
    let mut db =
        ProofDb::start_with_spares(server, from, to, &Filter::default(), true, false).await?;
    let limited = db.limit_to_reach(to).await?;
    db.apply(plan, to).await?;
    let reached = db.timings().reached;
    assert_eq!(limited, reached.is_some());
    Ok(reached)
}

#[tokio::test]
async fn add_avatar_url_to_users() {
    let (up, down) = case(
        "add_avatar_url",
        "ALTER TABLE public.users ADD COLUMN avatar_url text;",
        |_| {},
    )
    .await;
    assert!(up.disallowed_losses(&[]).is_empty());
    assert_eq!(down.disallowed_losses(&[])[0].1, Loss::DropColumn);
}

#[tokio::test]
async fn new_table_with_foreign_keys_and_rls() {
    let (up, _) = case(
        "new_table_fk_rls",
        "CREATE TABLE public.interviews (
             id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
             application_id uuid NOT NULL REFERENCES public.applications (id) ON DELETE CASCADE,
             user_id uuid NOT NULL REFERENCES public.users (id),
             scheduled_at timestamptz NOT NULL,
             notes text
         );
         CREATE INDEX interviews_user_idx ON public.interviews (user_id, scheduled_at);
         ALTER TABLE public.interviews ENABLE ROW LEVEL SECURITY;
         CREATE POLICY interviews_owner ON public.interviews FOR ALL TO authenticated
             USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
         GRANT SELECT, INSERT, UPDATE, DELETE ON public.interviews TO authenticated;",
        |_| {},
    )
    .await;
    // A new table needs no online forms: one transaction, no concurrent index.
    assert!(up.steps.iter().all(|s| s.segment == Segment::Main));
}

#[tokio::test]
async fn enum_label_added() {
    let (up, down) = case(
        "enum_label",
        "ALTER TYPE public.application_status ADD VALUE 'screening' AFTER 'applied';",
        |_| {},
    )
    .await;
    assert!(up.steps.iter().all(|s| s.segment == Segment::EnumValues));
    assert_eq!(down.disallowed_losses(&[])[0].1, Loss::RemoveEnumLabel);
}

#[tokio::test]
async fn index_on_a_large_table_is_built_concurrently() {
    let (up, _) = case(
        "index_concurrently",
        "CREATE INDEX jobs_company_idx ON public.jobs (company);",
        |_| {},
    )
    .await;
    let step = up
        .steps
        .iter()
        .find(|s| s.sql.contains("jobs_company_idx"))
        .unwrap();
    assert_eq!(step.segment, Segment::Concurrent);
    assert!(step.sql.contains("CREATE INDEX CONCURRENTLY"));
    assert!(
        step.hazards
            .iter()
            .any(|h| h.kind == HazardKind::IndexBuild)
    );
    // The plain form, on request.
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(
        &server,
        "CREATE INDEX jobs_company_idx ON public.jobs (company);",
    )
    .await;
    let plain = diff(
        &from,
        &to,
        &DiffOptions {
            online: false,
            lock_timeout: None,
        },
    );
    assert_eq!(plain.steps.len(), 1);
    assert_eq!(plain.steps[0].segment, Segment::Main);
    assert_eq!(
        plain.steps[0].sql,
        "CREATE INDEX jobs_company_idx ON public.jobs (company);"
    );
}

#[tokio::test]
async fn renamed_column_and_table() {
    let (up, down) = case(
        "rename",
        "ALTER TABLE public.matches RENAME TO job_matches;
         ALTER TABLE public.users RENAME COLUMN display_name TO full_name;",
        |to| {
            let users = to.tables.get_mut(&QualifiedName::public("users")).unwrap();
            let c = users
                .columns
                .iter_mut()
                .find(|c| c.name.as_str() == "full_name")
                .unwrap();
            c.renamed_from = Some(Ident::new("display_name"));
            let m = to
                .tables
                .get_mut(&QualifiedName::public("job_matches"))
                .unwrap();
            m.renamed_from = Some(QualifiedName::public("matches"));
        },
    )
    .await;
    assert!(up.disallowed_losses(&[]).is_empty(), "{}", up.to_sql());
    assert!(up.steps.iter().all(|s| !s.sql.contains("DROP")));
    assert!(
        down.steps.iter().all(|s| !s.sql.contains("DROP")),
        "{}",
        down.to_sql()
    );
}

#[tokio::test]
async fn renamed_enum_label_and_check_constraint() {
    let (up, down) = case(
        "rename_label_and_constraint",
        "ALTER TYPE public.application_status RENAME VALUE 'interviewing' TO 'interview';
         ALTER TABLE public.matches RENAME CONSTRAINT matches_score_check TO matches_score_range;",
        |to| {
            let status = to
                .enums
                .get_mut(&QualifiedName::public("application_status"))
                .unwrap();
            status.renamed_labels = vec![("interview".to_owned(), "interviewing".to_owned())];
            let matches = to
                .tables
                .get_mut(&QualifiedName::public("matches"))
                .unwrap();
            let check = matches
                .checks
                .iter_mut()
                .find(|c| c.name.as_str() == "matches_score_range")
                .unwrap();
            check.renamed_from = Some(Ident::new("matches_score_check"));
        },
    )
    .await;
    for plan in [&up, &down] {
        let sql = plan.to_sql();
        assert!(plan.disallowed_losses(&[]).is_empty(), "{sql}");
        // Renames only: no enum rebuild, no constraint dropped and added.
        assert!(
            plan.steps
                .iter()
                .all(|s| s.object == "session" || s.sql.contains(" RENAME ")),
            "{sql}"
        );
        assert_eq!(plan.steps.len(), 3, "{sql}");
    }
}

#[tokio::test]
async fn not_null_added_through_a_validated_check() {
    let (up, _) = case(
        "set_not_null",
        "UPDATE public.users SET display_name = '' WHERE display_name IS NULL;
         ALTER TABLE public.users ALTER COLUMN display_name SET NOT NULL;",
        |_| {},
    )
    .await;
    let segments: Vec<Segment> = up.steps.iter().map(|s| s.segment).collect();
    assert!(segments.contains(&Segment::Validate));
}

#[tokio::test]
async fn proof_catches_a_wrong_plan() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(
        &server,
        "ALTER TABLE public.users ADD COLUMN avatar_url text;",
    )
    .await;
    let mut plan = diff(&from, &to, &DiffOptions::default());
    // A plan that misses its statement: the result is not the target.
    plan.steps.retain(|s| !s.sql.contains("avatar_url"));
    let err = prove(&server, &from, &plan, &to, &Filter::default(), true)
        .await
        .unwrap_err();
    assert!(matches!(err, ProofError::Differs(_)), "{err}");
    assert!(err.to_string().contains("avatar_url"), "{err}");
    // Reading back only what the plan can reach: the table the plan misses is in it.
    let err = prove_reached(&server, &from, &plan, &to).await.unwrap_err();
    assert!(matches!(err, ProofError::Differs(_)), "{err}");
    assert!(err.to_string().contains("avatar_url"), "{err}");
    // A plan with a statement PostgreSQL rejects: the error names it.
    let mut plan = diff(&from, &to, &DiffOptions::default());
    plan.steps[1].sql = "ALTER TABLE public.users ADD COLUMN avatar_url no_such_type;".into();
    let err = prove(&server, &from, &plan, &to, &Filter::default(), true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProofError::Statement { index: 2, object, .. } if object.contains("avatar_url")),
        "{err}"
    );
    // The statements of a transaction are sent at once: a failing one in the middle is named
    // with its own error, not the "transaction is aborted" of the statements after it.
    let to = state(
        &server,
        "ALTER TABLE public.users ADD COLUMN avatar_url text; \
         ALTER TABLE public.users ADD COLUMN bio text; \
         ALTER TABLE public.users ADD COLUMN pronouns text;",
    )
    .await;
    let mut plan = diff(&from, &to, &DiffOptions::default());
    assert_eq!(plan.steps.len(), 4, "{plan:?}");
    let bio = plan
        .steps
        .iter()
        .position(|s| s.sql.contains(" bio "))
        .expect("the bio column's statement");
    assert!(bio < 3, "{plan:?}");
    plan.steps[bio].sql = "ALTER TABLE public.users ADD COLUMN bio no_such_type;".into();
    let err = prove(&server, &from, &plan, &to, &Filter::default(), true)
        .await
        .unwrap_err();
    match &err {
        ProofError::Statement {
            index,
            object,
            message,
            ..
        } => {
            assert_eq!(*index, bio + 1, "{err}");
            assert!(object.contains("bio"), "{err}");
            assert!(message.contains("no_such_type"), "{err}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn column_type_change_and_enum_rebuild() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(
        &server,
        "ALTER TABLE public.users ALTER COLUMN display_name TYPE text;
         ALTER TABLE public.jobs ALTER COLUMN title TYPE varchar(100);
         ALTER TYPE public.document_kind RENAME TO document_kind_x;
         CREATE TYPE public.document_kind AS ENUM ('resume', 'cover_letter');
         ALTER TABLE public.documents ALTER COLUMN kind TYPE public.document_kind
             USING kind::text::public.document_kind;
         DROP TYPE public.document_kind_x;",
    )
    .await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let losses: Vec<Loss> = plan
        .disallowed_losses(&[])
        .iter()
        .map(|(_, l)| *l)
        .collect();
    assert!(losses.contains(&Loss::ChangeType), "{}", plan.to_sql());
    assert!(losses.contains(&Loss::RemoveEnumLabel), "{}", plan.to_sql());
    // display_name varchar(120) -> text is neither a rewrite nor a loss.
    let widen = plan
        .steps
        .iter()
        .find(|s| s.sql.contains("display_name TYPE"))
        .unwrap();
    assert!(widen.hazards.is_empty(), "{:?}", widen.hazards);
    prove(&server, &from, &plan, &to, &Filter::default(), true)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", plan.to_sql()));
}

#[test]
fn same_database_ignores_column_order() {
    let mut a = Schema::default();
    let mut t = codegen::model::Table::new(QualifiedName::public("t"));
    t.columns.push(codegen::model::Column::new(
        "a",
        codegen::model::PgType::Text,
    ));
    t.columns.push(codegen::model::Column::new(
        "b",
        codegen::model::PgType::Text,
    ));
    a.tables.insert(t.name.clone(), t.clone());
    let mut b = a.clone();
    b.tables.get_mut(&t.name).unwrap().columns.reverse();
    assert!(same_database(&a, &b).is_empty());
}

/// Whether a database of that name exists on the server.
async fn database_exists(server: &Arc<pgkit::Server>, name: &str) -> bool {
    let db = server.create_database("jp_probe").await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = $1)",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_start_state_is_kept_as_a_template_and_cloned_next_time() {
    let server = server().await;
    // A start state no other test (or earlier run) has: its template is built here.
    let unique = format!("tpl_probe_{}", fastrand::u64(..));
    let from = state(
        &server,
        &format!("CREATE TABLE public.{unique} (id bigint PRIMARY KEY, note text);"),
    )
    .await;
    let to = state(
        &server,
        &format!(
            "CREATE TABLE public.{unique} (id bigint PRIMARY KEY, note text);
             ALTER TABLE public.users ADD COLUMN avatar_url text;"
        ),
    )
    .await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let filter = Filter::default();
    let name = codegen::diff::prove::template_name(&from, &to, true);
    assert!(name.starts_with(codegen::diff::prove::TEMPLATE_PREFIX));
    assert!(name.len() <= 63, "{name}");
    assert!(!database_exists(&server, &name).await);

    let mut first = ProofDb::start_with_spares(&server, &from, &to, &filter, true, true)
        .await
        .unwrap();
    assert_eq!(first.template(), name);
    assert!(!first.timings().template_hit);
    assert!(!first.timings().build.is_zero());
    assert!(database_exists(&server, &name).await);
    assert!(!first.timings().spare_hit);
    first.apply(&plan, &to).await.unwrap();
    let seeded = first.seeded();
    assert!(seeded > 5, "{seeded}");
    drop(first);
    // The proof that built the template also started a spare copy of it for the next one, on
    // the server.
    let spare = codegen::diff::prove::spare_name(&name);
    assert!(spare.starts_with(codegen::diff::prove::SPARE_PREFIX));
    assert!(spare.len() <= 63, "{spare}");
    wait_for_database(&server, &spare).await;

    // The same start state again: nothing built, the spare claimed (renamed, not copied); the
    // template is still there afterwards (a copy is its own database), and the next spare is
    // started.
    let mut second = ProofDb::start_with_spares(&server, &from, &to, &filter, true, true)
        .await
        .unwrap();
    assert_eq!(second.template(), name);
    assert!(second.timings().template_hit);
    assert!(second.timings().spare_hit);
    assert!(second.timings().build.is_zero());
    assert_eq!(second.seeded(), seeded);
    second.apply(&plan, &to).await.unwrap();
    drop(second);
    assert!(database_exists(&server, &name).await);
    wait_for_database(&server, &spare).await;

    // Without a spare (dropped here), a proof copies the template itself.
    drop_database(&server, &spare).await;
    let mut copied = ProofDb::start_with_spares(&server, &from, &to, &filter, true, true)
        .await
        .unwrap();
    assert!(copied.timings().template_hit);
    assert!(!copied.timings().spare_hit);
    copied.apply(&plan, &to).await.unwrap();
    drop(copied);
    wait_for_database(&server, &spare).await;

    // And again: the spare is claimed (renamed, not copied), and the next one started.
    let mut third = ProofDb::start_with_spares(&server, &from, &to, &filter, true, true)
        .await
        .unwrap();
    assert!(third.timings().template_hit);
    assert!(third.timings().spare_hit);
    assert_eq!(third.seeded(), seeded);
    third.apply(&plan, &to).await.unwrap();
    drop(third);
    wait_for_database(&server, &spare).await;

    // A schema this small is copied faster than a spare is waited for: by default its proofs
    // neither claim nor start spares.
    assert!(from.tables.len() < codegen::diff::prove::SPARE_MIN_TABLES);
    let fourth = ProofDb::start(&server, &from, &to, &filter, true)
        .await
        .unwrap();
    assert!(fourth.timings().template_hit);
    assert!(!fourth.timings().spare_hit);
    drop(fourth);
    assert!(database_named(&server, &spare).await);

    // Another start state (or another bootstrap) is another template.
    let mut other = from.clone();
    let table = QualifiedName {
        schema: Ident("public".into()),
        name: Ident(unique.clone()),
    };
    other.tables.remove(&table);
    assert_ne!(codegen::diff::prove::template_name(&other, &to, true), name);
    assert_ne!(codegen::diff::prove::template_name(&from, &to, false), name);
    let mut wider = from.clone();
    wider.tables.get_mut(&table).unwrap().columns.pop();
    assert_ne!(codegen::diff::prove::template_name(&wider, &to, true), name);

    // Tidy up (the keep-N rule would drop them eventually).
    drop_database(&server, &name).await;
    drop_database(&server, &spare).await;
}

#[tokio::test]
async fn evicting_a_template_drops_its_spare() {
    use codegen::diff::prove::{KEEP_TEMPLATES, spare_name};
    let server = server().await;
    // A probe table with a column per variant: dropping columns gives start states (and
    // templates) of their own.
    let unique = format!("evict_probe_{}", fastrand::u64(..));
    let columns: Vec<String> = (0..=KEEP_TEMPLATES).map(|i| format!("c{i} text")).collect();
    let from = state(
        &server,
        &format!(
            "CREATE TABLE public.{unique} (id bigint PRIMARY KEY, {});",
            columns.join(", ")
        ),
    )
    .await;
    let to = from.clone();
    let filter = Filter::default();
    let oldest = codegen::diff::prove::template_name(&from, &to, true);
    let spare = spare_name(&oldest);
    // Built, then cloned (which starts the spare).
    for _ in 0..2 {
        let db = ProofDb::start_with_spares(&server, &from, &to, &filter, true, true)
            .await
            .unwrap();
        drop(db);
    }
    wait_for_database(&server, &spare).await;
    // Templates are ordered by their creation time in seconds: the next ones are newer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let table = QualifiedName {
        schema: Ident("public".into()),
        name: Ident(unique.clone()),
    };
    let mut newer = Vec::new();
    let mut variant = from.clone();
    for _ in 0..KEEP_TEMPLATES {
        variant.tables.get_mut(&table).unwrap().columns.pop();
        let db = ProofDb::start(&server, &variant, &variant, &filter, true)
            .await
            .unwrap();
        assert!(!db.timings().template_hit);
        newer.push(db.template().to_owned());
        drop(db);
    }
    // Each build evicts in the background: the oldest template goes, and its spare with it.
    let gone = eventually(|| async {
        !database_named(&server, &oldest).await && !database_named(&server, &spare).await
    })
    .await;
    assert!(gone, "{oldest} or {spare} is still there");
    for name in newer {
        drop_database(&server, &name).await;
    }
}

/// Whether database `name` exists (without connecting to it).
async fn database_named(server: &Arc<pgkit::Server>, name: &str) -> bool {
    server
        .database_names(name)
        .await
        .unwrap()
        .iter()
        .any(|n| n == name)
}

/// Waits (60 s at most) until database `name` exists.
async fn wait_for_database(server: &Arc<pgkit::Server>, name: &str) {
    assert!(
        eventually(|| database_named(server, name)).await,
        "database {name} never appeared"
    );
}

/// Whether `check` comes true within 60 s, asked every 100 ms.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// Drops database `name` if it exists.
async fn drop_database(server: &Arc<pgkit::Server>, name: &str) {
    let admin = server.create_database("jp_probe").await.unwrap();
    let client = admin.connect().await.unwrap();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .await
        .unwrap();
}

/// The baseline plus three indexes on existing tables, introspected.
const THREE_INDEXES: &str = "CREATE INDEX jobs_company_idx ON public.jobs (company);
     CREATE INDEX jobs_title_idx ON public.jobs (title);
     CREATE INDEX applications_status_idx ON public.applications (status);";

#[tokio::test]
async fn states_between_concurrent_index_builds_are_derived_and_checked() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(&server, THREE_INDEXES).await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let chunks = plan.chunks();
    assert_eq!(chunks.len(), 3, "{}", plan.to_sql());
    assert!(chunks.iter().all(|c| c.segment == Segment::Concurrent));
    let proof = prove(&server, &from, &plan, &to, &Filter::default(), true)
        .await
        .unwrap();
    assert_eq!(proof.states.len(), 3);
    // After build k, exactly the first k indexes are there.
    let names = |s: &Schema| -> Vec<String> {
        s.tables
            .values()
            .flat_map(|t| t.indexes.iter().map(|i| i.name.to_string()))
            .filter(|n| {
                [
                    "jobs_company_idx",
                    "jobs_title_idx",
                    "applications_status_idx",
                ]
                .contains(&n.as_str())
            })
            .collect()
    };
    let built: Vec<String> = plan
        .steps
        .iter()
        .map(|s| s.creates_index.clone().unwrap().1.to_string())
        .collect();
    for k in 0..proof.states.len() {
        let state = proof.states.get(k).unwrap();
        let mut have = names(&state);
        have.sort();
        let mut want: Vec<String> = built.iter().take(k + 1).cloned().collect();
        want.sort();
        assert_eq!(have, want, "state after build {}", k + 1);
    }
    assert!(same_database(&proof.states.last().unwrap(), &to).is_empty());

    // A step that says it builds another index than it does: caught at that step.
    let mut wrong = plan.clone();
    let (a, b) = (
        wrong.steps[0].creates_index.clone(),
        wrong.steps[1].creates_index.clone(),
    );
    wrong.steps[0].creates_index = b;
    wrong.steps[1].creates_index = a;
    let err = prove(&server, &from, &wrong, &to, &Filter::default(), true)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProofError::IndexRun {
                first: 1,
                last: 1,
                ..
            }
        ),
        "{err}"
    );
    // A step that names an index nobody builds.
    let mut wrong = plan.clone();
    wrong.steps[2].creates_index.as_mut().unwrap().1 = Ident("no_such_idx".into());
    let err = prove(&server, &from, &wrong, &to, &Filter::default(), true)
        .await
        .unwrap_err();
    assert!(matches!(err, ProofError::IndexRun { .. }), "{err}");
    assert!(err.to_string().contains("no_such_idx"), "{err}");
}

#[tokio::test]
async fn the_state_before_index_builds_is_derived_and_their_downs_proven_with_the_change_before() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(
        &server,
        &format!("ALTER TABLE public.jobs ADD COLUMN note text;\n{THREE_INDEXES}"),
    )
    .await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let chunks = plan.chunks();
    assert_eq!(chunks.len(), 4, "{}", plan.to_sql());
    assert!(chunks[0].segment.transactional());
    let mut db = ProofDb::start(&server, &from, &to, &Filter::default(), true)
        .await
        .unwrap();
    let states = db.apply(&plan, &to).await.unwrap();
    // Read once, after the last build; the state after the column is the end without the
    // three indexes.
    assert_eq!(db.timings().introspections, 1);
    assert_eq!(states.len(), 4);
    let jobs = |s: &Schema| s.tables[&QualifiedName::public("jobs")].clone();
    assert!(jobs(&states.get(0).unwrap()).column("note").is_some());
    assert!(
        same_database(
            &states.get(0).unwrap(),
            &state_without(
                &state_without(&state_without(&to, "jobs_company_idx"), "jobs_title_idx"),
                "applications_status_idx"
            )
        )
        .is_empty()
    );
    assert!(same_database(&states.get(3).unwrap(), &to).is_empty());
    drop(db);

    // Up and down: one read after the up plan, one after all the downs (the index drops and
    // the column's down proven together).
    let proven = codegen::migrate::new::prove_up_and_down(
        &server,
        &from,
        &plan,
        &to,
        &DiffOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(proven.downs.len(), 4);
    assert_eq!(proven.timings.introspections, 2);
}

#[tokio::test]
async fn plans_run_together_are_verified_after_the_last() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(&server, THREE_INDEXES).await;
    let plain = DiffOptions {
        online: false,
        lock_timeout: None,
    };
    let drop_of = |name: &str| -> Plan {
        let with = state_without(&to, name);
        diff(&to, &with, &plain)
    };
    let filter = Filter::default();
    // Dropping the three indexes one by one, verified once: back at `from`.
    let mut db = ProofDb::start(&server, &to, &from, &filter, true)
        .await
        .unwrap();
    let downs = [
        drop_of("applications_status_idx"),
        drop_of("jobs_title_idx"),
        drop_of("jobs_company_idx"),
    ];
    for d in &downs {
        assert_eq!(d.steps.len(), 1, "{}", d.to_sql());
        db.run(d).await.unwrap();
    }
    let plans: Vec<&Plan> = downs.iter().collect();
    db.verify(&plans, &from).await.unwrap();
    drop(db);
    // A run that misses one: the verification after the last names it.
    let mut db = ProofDb::start(&server, &to, &from, &filter, true)
        .await
        .unwrap();
    db.run(&downs[0]).await.unwrap();
    db.run(&downs[1]).await.unwrap();
    let err = db.verify(&[&downs[0], &downs[1]], &from).await.unwrap_err();
    assert!(matches!(err, ProofError::Differs(_)), "{err}");
    assert!(err.to_string().contains("jobs_company_idx"), "{err}");
    drop(db);
    // A statement that fails is named.
    let mut db = ProofDb::start(&server, &to, &from, &filter, true)
        .await
        .unwrap();
    db.run(&downs[0]).await.unwrap();
    let err = db.run(&downs[0]).await.unwrap_err();
    assert!(
        matches!(&err, ProofError::Statement { index: 1, object, .. } if object.contains("applications_status_idx")),
        "{err}"
    );
}

/// `schema` without the index `name`.
fn state_without(schema: &Schema, name: &str) -> Schema {
    let mut s = schema.clone();
    for t in s.tables.values_mut() {
        t.indexes.retain(|i| i.name.as_str() != name);
    }
    s
}

#[tokio::test]
async fn a_proof_reads_back_only_what_the_plan_can_reach() {
    let server = server().await;
    let from = state(&server, "").await;
    // Nothing depends on `matches`: it is read back alone.
    let to = state(&server, "ALTER TABLE public.matches ADD COLUMN note text;").await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let reached = prove_reached(&server, &from, &plan, &to).await.unwrap();
    assert_eq!(reached, Some(1));
    // `jobs` is referenced by agent_actions, applications and matches, and through those by
    // documents and agent_outputs: read back with them; users and profiles are not.
    let to = state(&server, "ALTER TABLE public.jobs ADD COLUMN note text;").await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let reached = prove_reached(&server, &from, &plan, &to).await.unwrap();
    assert_eq!(reached, Some(6));
    // A change to a type is not a change to relations only: everything is read back.
    let to = state(
        &server,
        "ALTER TYPE public.application_status ADD VALUE 'ghosted';",
    )
    .await;
    let plan = diff(&from, &to, &DiffOptions::default());
    assert_eq!(
        prove_reached(&server, &from, &plan, &to).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_proof_on_the_reach_catches_a_plan_that_changes_a_relation_outside_it() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(&server, "ALTER TABLE public.matches ADD COLUMN note text;").await;
    let good = diff(&from, &to, &DiffOptions::default());
    assert_eq!(
        prove_reached(&server, &from, &good, &to).await.unwrap(),
        Some(1)
    );
    // Each wrong step changes `profiles`, which nothing in the change reaches: a comment added
    // (a catalog row written), a policy dropped (a row removed), a grant (a row updated).
    for wrong in [
        "COMMENT ON TABLE public.profiles IS 'not in the target';",
        "DROP POLICY profiles_owner_all ON public.profiles;",
        "GRANT SELECT ON public.profiles TO anon;",
    ] {
        let mut plan = good.clone();
        let mut step = plan.steps.last().unwrap().clone();
        step.sql = wrong.to_owned();
        plan.steps.push(step);
        let err = prove_reached(&server, &from, &plan, &to).await.unwrap_err();
        assert!(matches!(err, ProofError::Differs(_)), "{wrong}: {err}");
        assert!(err.to_string().contains("profiles"), "{wrong}: {err}");
    }
}

#[tokio::test]
async fn the_start_fingerprints_are_read_once_per_template() {
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(&server, "ALTER TABLE public.matches ADD COLUMN note text;").await;
    let plan = diff(&from, &to, &DiffOptions::default());
    let dir = std::env::temp_dir().join(format!("jp_fp_cache_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || async {
        let mut db =
            ProofDb::start_with_spares(&server, &from, &to, &Filter::default(), true, false)
                .await
                .unwrap();
        db.cache_in(&dir);
        assert!(db.limit_to_reach(&to).await.unwrap());
        db.apply(&plan, &to).await.unwrap();
        (db.timings().fingerprints_cached, db.timings().reached)
    };
    // Read from the clone and kept; then taken from the cache, with the same result.
    assert_eq!(run().await, (false, Some(1)));
    assert_eq!(run().await, (true, Some(1)));
    // An entry that cannot be read is read again from the clone.
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    assert_eq!(run().await, (false, Some(1)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_policy_on_a_platform_table_is_proven_on_its_reach() {
    // storage.objects is Supabase's; the application's policies on it are its own (attached).
    let (up, _) = case(
        "attached_policy",
        "CREATE POLICY documents_bucket_owner_delete ON storage.objects FOR DELETE TO authenticated
             USING (bucket_id = 'documents' AND owner = (SELECT auth.uid()));
         DROP POLICY documents_bucket_owner_write ON storage.objects;",
        |_| {},
    )
    .await;
    assert!(up.to_sql().contains("storage.objects"), "{}", up.to_sql());
    let server = server().await;
    let from = state(&server, "").await;
    let to = state(
        &server,
        "DROP POLICY documents_bucket_owner_write ON storage.objects;",
    )
    .await;
    let plan = diff(&from, &to, &DiffOptions::default());
    // Read back: storage.objects and what depends on it (documents' foreign key).
    let reached = prove_reached(&server, &from, &plan, &to).await.unwrap();
    assert!(
        matches!(reached, Some(n) if (1..8).contains(&n)),
        "{reached:?}"
    );
}
