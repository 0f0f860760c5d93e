//! `codegen import` of JobPilot's original SQL, from the file and from a live database, gives
//! exactly the shipped schema (in PostgreSQL's canonical text).

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::canonical::structural_differences;
use codegen::model::Schema;
use codegen::project::{self, Paths};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> PathBuf {
    root().join("../shared/fixtures/supabase/00001_initial_schema.sql")
}

fn out_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "jp_import_{tag}_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    ))
}

fn shipped() -> Schema {
    let paths = Paths::at(root());
    let loaded = project::load_schema(&paths).unwrap();
    let lock = project::read_lock(&paths).unwrap();
    project::canonical_schema(&loaded, &lock)
        .unwrap()
        .database_view()
}

fn import(args: &[&str], out: &Path) -> Schema {
    let output = Command::new(env!("CARGO_BIN_EXE_codegen"))
        .arg("import")
        .args(args)
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let loaded = codegen::parse::load_dir(out);
    let _ = std::fs::remove_dir_all(out);
    loaded.unwrap().schema.database_view()
}

#[test]
fn importing_the_fixture_gives_the_shipped_schema() {
    let out = out_dir("sql");
    let imported = import(&["--from-sql", fixture().to_str().unwrap()], &out);
    assert_eq!(
        structural_differences(&imported, &shipped()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn importing_a_live_database_gives_the_shipped_schema() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("jp_import_live").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let client = db.connect().await.unwrap();
    let source = codegen::source::SqlSource::read(&fixture()).unwrap();
    codegen::source::apply_script(&client, &source)
        .await
        .unwrap();
    drop(client);
    let out = out_dir("db");
    let url = db.url();
    let imported = tokio::task::spawn_blocking(move || import(&["--from-db", &url], &out))
        .await
        .unwrap();
    assert_eq!(
        structural_differences(&imported, &shipped()),
        Vec::<String>::new()
    );
}
