//! `codegen migrate new`: a copy of the project, its schema edited, the next migration written
//! (proven), then nothing to do; the destructive-change guard; rename hints; the warm cache.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::diff::Loss;
use codegen::migrate::new::{NewError, NewOptions, new_migration};
use codegen::project::Paths;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh project: the shipped schema/ and migrations/ copied to a temporary root.
fn project(tag: &str) -> Paths {
    let root = std::env::temp_dir().join(format!(
        "jp_migrate_new_{tag}_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    for dir in ["schema", "migrations"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), root.join(dir).join(entry.file_name())).unwrap();
        }
    }
    Paths::at(root)
}

fn edit(paths: &Paths, file: &str, from: &str, to: &str) {
    let path = paths.schema.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn migrations(paths: &Paths) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&paths.migrations)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn server() -> Arc<pgkit::Server> {
    pgkit::Server::shared().await.unwrap()
}

#[tokio::test]
async fn writes_the_next_migration_then_finds_nothing_to_do() {
    let paths = project("add");
    let server = server().await;
    let nothing = new_migration(&paths, "noop", &server, &NewOptions::default())
        .await
        .unwrap();
    assert!(nothing.plan.is_empty());
    assert!(nothing.written.is_empty());
    assert_eq!(migrations(&paths), ["0001_baseline.up.sql"]);

    edit(
        &paths,
        "10_users.toml",
        "display_name = { type = \"varchar(120)\", nullable = true }",
        "display_name = { type = \"varchar(120)\", nullable = true }\navatar_url = { type = \"text\", nullable = true }",
    );
    let out = new_migration(&paths, "Add avatar URL", &server, &NewOptions::default())
        .await
        .unwrap();
    assert_eq!(
        migrations(&paths),
        [
            "0001_baseline.up.sql",
            "0002_add_avatar_url.down.sql",
            "0002_add_avatar_url.up.sql"
        ]
    );
    let up = std::fs::read_to_string(paths.migrations.join("0002_add_avatar_url.up.sql")).unwrap();
    assert!(
        up.contains("ALTER TABLE public.users ADD COLUMN avatar_url text;"),
        "{up}"
    );
    let down =
        std::fs::read_to_string(paths.migrations.join("0002_add_avatar_url.down.sql")).unwrap();
    assert!(down.contains("DROP COLUMN avatar_url"), "{down}");
    assert!(down.contains("-- hazard data-loss"), "{down}");
    assert_eq!(out.written.len(), 2);

    // The migrations now produce the schema: nothing to do. (Replayed, unless an earlier run
    // cached exactly these files: the cache key is their text, so either way it is their state.)
    let again = new_migration(&paths, "again", &server, &NewOptions::default())
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan.to_sql());
    // Warm: the same files come from the cache.
    let warm = new_migration(&paths, "again", &server, &NewOptions::default())
        .await
        .unwrap();
    assert!(!warm.replayed);
    std::fs::remove_dir_all(&paths.root).unwrap();
}

#[tokio::test]
async fn destructive_changes_need_their_flag() {
    let paths = project("guard");
    let server = server().await;
    edit(
        &paths,
        "10_users.toml",
        "display_name = { type = \"varchar(120)\", nullable = true }\n",
        "",
    );
    let err = new_migration(&paths, "drop display name", &server, &NewOptions::default())
        .await
        .unwrap_err();
    let NewError::Destructive(steps) = &err else {
        panic!("{err}")
    };
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].2, Loss::DropColumn);
    let message = err.to_string();
    assert!(message.contains("public.users.display_name"), "{message}");
    assert!(message.contains("--allow drop-column"), "{message}");
    assert_eq!(migrations(&paths), ["0001_baseline.up.sql"]);

    let options = NewOptions {
        allow: vec![Loss::DropColumn],
        ..NewOptions::default()
    };
    new_migration(&paths, "drop display name", &server, &options)
        .await
        .unwrap();
    assert_eq!(migrations(&paths).len(), 3);
    std::fs::remove_dir_all(&paths.root).unwrap();
}

#[tokio::test]
async fn a_drop_and_an_add_of_the_same_type_get_a_rename_hint() {
    let paths = project("hint");
    let server = server().await;
    edit(
        &paths,
        "10_users.toml",
        "display_name = { type = \"varchar(120)\", nullable = true }",
        "full_name = { type = \"varchar(120)\", nullable = true }",
    );
    let err = new_migration(&paths, "rename", &server, &NewOptions::default()).await;
    assert!(matches!(err, Err(NewError::Destructive(_))));
    let declared = codegen::migrate::new::declared_schema(&paths, &server)
        .await
        .unwrap();
    let state = codegen::migrate::state::state(&server, &paths.migrations)
        .await
        .unwrap();
    let hints = codegen::migrate::new::rename_hints(&state.schema, &declared);
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(
        hints[0].contains("renamed_from = \"display_name\""),
        "{}",
        hints[0]
    );

    // With the hint applied, it is a rename.
    edit(
        &paths,
        "10_users.toml",
        "full_name = { type = \"varchar(120)\", nullable = true }",
        "full_name = { type = \"varchar(120)\", nullable = true, renamed_from = \"display_name\" }",
    );
    let out = new_migration(&paths, "rename", &server, &NewOptions::default())
        .await
        .unwrap();
    let up = out.plan.to_sql();
    assert!(
        up.contains("RENAME COLUMN display_name TO full_name"),
        "{up}"
    );
    std::fs::remove_dir_all(&paths.root).unwrap();
}

fn codegen(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_codegen"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

#[tokio::test]
async fn check_fails_when_a_migration_is_missing_and_migrate_up_refuses_a_drifted_database() {
    let paths = project("drift");
    let server = server().await;
    let root = paths.root.to_str().unwrap().to_owned();
    // A second migration makes the baseline history: check now compares migrations/ with
    // schema/.
    edit(
        &paths,
        "10_users.toml",
        "display_name = { type = \"varchar(120)\", nullable = true }",
        "display_name = { type = \"varchar(120)\", nullable = true }\nbio = { type = \"text\", nullable = true }",
    );
    new_migration(&paths, "add bio", &server, &NewOptions::default())
        .await
        .unwrap();
    let generate = codegen(&["--root", &root, "generate"]);
    assert!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    let ok = codegen(&["--root", &root, "check"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    edit(
        &paths,
        "10_users.toml",
        "bio = { type = \"text\", nullable = true }",
        "bio = { type = \"text\", nullable = true }\nwebsite = { type = \"text\", nullable = true }",
    );
    let generate = codegen(&["--root", &root, "generate"]);
    assert!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    let missing = codegen(&["--root", &root, "check"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("website") && stderr.contains("codegen migrate new"),
        "{stderr}"
    );

    // A database migrated to 0002, then changed by hand: `up` refuses and names the change.
    let db = server.create_database("migrate_drift").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let url = db.url();
    let up = codegen(&["--root", &root, "migrate", "up", "--database-url", &url]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let client = db.connect().await.unwrap();
    client
        .batch_execute("ALTER TABLE public.users ADD COLUMN avatar_url text")
        .await
        .unwrap();
    let refused = codegen(&["--root", &root, "migrate", "up", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("avatar_url"), "{stderr}");
    assert!(
        stderr.contains("not in the state its applied migrations produce"),
        "{stderr}"
    );
    let skipped = codegen(&[
        "--root",
        &root,
        "migrate",
        "up",
        "--no-drift-check",
        "--database-url",
        &url,
    ]);
    assert!(
        skipped.status.success(),
        "{}",
        String::from_utf8_lossy(&skipped.stderr)
    );
    std::fs::remove_dir_all(&paths.root).unwrap();
}

#[test]
fn diff_prints_sql_a_report_or_json_and_exits_like_diff() {
    let dir = std::env::temp_dir().join(format!(
        "jp_diff_cli_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.sql");
    let b = dir.join("b.sql");
    std::fs::write(&a, "CREATE TABLE public.t (id bigint PRIMARY KEY);").unwrap();
    std::fs::write(
        &b,
        "CREATE TABLE public.t (id bigint PRIMARY KEY, note text);",
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let same = codegen(&["diff", a, a]);
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
    let sql = codegen(&["diff", a, b]);
    assert_eq!(sql.status.code(), Some(1));
    let text = String::from_utf8_lossy(&sql.stdout);
    assert!(
        text.contains("ALTER TABLE public.t ADD COLUMN note text;"),
        "{text}"
    );
    let report = codegen(&["diff", a, b, "--format", "report"]);
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.starts_with("column public.t.note\n"), "{text}");
    let json = codegen(&["diff", a, b, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let step = value["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["object"] == "column public.t.note")
        .unwrap();
    assert_eq!(step["segment"], "main");
    assert_eq!(step["hazards"][0]["kind"], "lock");
    let missing = codegen(&["diff", a, "/nonexistent/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn concurrent_index_builds_get_their_own_proven_down_migrations() {
    let paths = project("indexes");
    let server = server().await;
    // Three indexes on tables that exist (built concurrently, one step each) and a column.
    edit(
        &paths,
        "20_jobs.toml",
        "[[table.jobs.index]]\ncolumns = [\"external_id\"]\n",
        "[[table.jobs.index]]\ncolumns = [\"external_id\"]\n\n\
         [[table.jobs.index]]\nname = \"jobs_company_idx\"\ncolumns = [\"company\"]\n\n\
         [[table.jobs.index]]\nname = \"jobs_title_idx\"\ncolumns = [\"title\"]\n\n\
         [[table.jobs.index]]\nname = \"jobs_location_idx\"\ncolumns = [\"location\"]\n",
    );
    edit(
        &paths,
        "10_users.toml",
        "display_name = { type = \"varchar(120)\", nullable = true }",
        "display_name = { type = \"varchar(120)\", nullable = true }\navatar_url = { type = \"text\", nullable = true }",
    );
    let out = new_migration(&paths, "indexes", &server, &NewOptions::default())
        .await
        .unwrap();
    let chunks = out.plan.chunks();
    assert_eq!(chunks.len(), 4, "{}", out.plan.to_sql());
    let files = migrations(&paths);
    assert_eq!(files.len(), 9, "{files:?}");
    // Each concurrent step's down drops exactly the index its up builds.
    let mut built = Vec::new();
    for version in 3..=5 {
        let stem = format!("{version:04}_indexes_concurrent");
        let up = std::fs::read_to_string(paths.migrations.join(format!("{stem}.up.sql"))).unwrap();
        let down =
            std::fs::read_to_string(paths.migrations.join(format!("{stem}.down.sql"))).unwrap();
        let index = ["jobs_company_idx", "jobs_title_idx", "jobs_location_idx"]
            .into_iter()
            .find(|i| up.contains(&format!("CONCURRENTLY {i} ")))
            .unwrap_or_else(|| panic!("{up}"));
        built.push(index);
        let drops: Vec<&str> = down
            .lines()
            .filter(|l| l.starts_with("DROP INDEX"))
            .collect();
        assert_eq!(drops, [format!("DROP INDEX public.{index};")], "{down}");
    }
    built.sort_unstable();
    built.dedup();
    assert_eq!(built.len(), 3);
    let main_down =
        std::fs::read_to_string(paths.migrations.join("0002_indexes_main.down.sql")).unwrap();
    assert!(main_down.contains("DROP COLUMN avatar_url"), "{main_down}");
    assert!(!main_down.contains("DROP INDEX"), "{main_down}");

    // The migrations now produce the schema.
    let again = new_migration(&paths, "again", &server, &NewOptions::default())
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan.to_sql());
    std::fs::remove_dir_all(&paths.root).unwrap();
}
