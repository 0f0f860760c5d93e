//! The `codegen` binary on the shipped project and on broken copies of it: exit codes and the
//! messages a person reads.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{codegen, repo_root, text};
use std::path::{Path, PathBuf};

/// A copy of the project's schema/ and migrations/ in a fresh directory, removed on drop.
struct Copy(PathBuf);

impl Copy {
    fn new(tag: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!(
            "jp_cli_{tag}_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        for sub in ["schema", "migrations"] {
            let from = repo_root().join(sub);
            let to = dir.join(sub);
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(&from).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        Copy(dir)
    }

    fn edit(&self, file: &str, f: impl FnOnce(String) -> String) {
        let path = self.0.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, f(text)).unwrap();
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first schema file of a copy that declares a table.
fn table_file(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("schema"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .find(|n| {
            std::fs::read_to_string(dir.join("schema").join(n))
                .unwrap()
                .contains("[table.")
        })
        .map(|n| format!("schema/{n}"))
        .expect("a schema file with tables")
}

#[test]
fn check_passes_on_the_shipped_project() {
    let out = codegen(&repo_root(), &["check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("derived files up to date"));
}

#[test]
fn check_reports_schema_errors_with_positions() {
    let copy = Copy::new("broken");
    let file = table_file(&copy.0);
    copy.edit(&file, |t| {
        format!("{t}\n[table.broken]\ncolumns.a = {{ type = \"int\", default = \"1 +\" }}\ncolumns.b = \"no_such_type\"\n")
    });
    let out = codegen(&copy.0, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("invalid SQL"), "{all}");
    assert!(
        all.contains("unknown type") && all.contains("no_such_type"),
        "{all}"
    );
    assert!(all.contains("2 errors"), "every error is reported: {all}");
    let name = Path::new(&file)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let lines = std::fs::read_to_string(copy.0.join(&file))
        .unwrap()
        .lines()
        .count();
    assert!(
        all.contains(&format!("{name}:{}:43", lines - 1)),
        "file:line:column of the bad default: {all}"
    );
    assert!(all.contains("error"), "{all}");
}

#[test]
fn check_fails_when_the_lock_is_stale() {
    let copy = Copy::new("stale");
    let file = table_file(&copy.0);
    copy.edit(&file, |t| {
        format!(
            "{t}\n[table.added_later]\ncolumns.a = {{ type = \"int\", default = \"41 + 1\" }}\n"
        )
    });
    let out = codegen(&copy.0, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("codegen generate"), "{}", text(&out));
}

#[test]
fn check_fails_when_the_baseline_is_stale() {
    let copy = Copy::new("baseline");
    copy.edit("migrations/0001_baseline.up.sql", |t| {
        format!("{t}\n-- edited by hand\n")
    });
    let out = codegen(&copy.0, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("0001_baseline.up.sql is out of date"), "{all}");
    assert!(all.contains("run `codegen generate`"), "{all}");
}

#[test]
fn schema_json_describes_the_language() {
    let out = codegen(&repo_root(), &["schema-json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "JobPilot schema file");
    assert!(v["properties"]["table"].is_object(), "{v}");
}

#[test]
fn import_refuses_to_overwrite_and_names_failing_statements() {
    let copy = Copy::new("import");
    let sql = copy.0.join("bad.sql");
    std::fs::write(
        &sql,
        "CREATE TABLE a (id int);\n\nCREATE TABLE b (id int REFERENCES nowhere);\n",
    )
    .unwrap();
    let out = codegen(
        &copy.0,
        &[
            "import",
            "--from-sql",
            sql.to_str().unwrap(),
            "--out",
            copy.0.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("bad.sql:3:"), "{all}");
    assert!(all.contains("nowhere"), "{all}");

    let good = copy.0.join("good.sql");
    std::fs::write(&good, "CREATE TABLE a (id int PRIMARY KEY);\n").unwrap();
    let out = codegen(
        &copy.0,
        &[
            "import",
            "--from-sql",
            good.to_str().unwrap(),
            "--out",
            copy.0.join("schema").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
}
