//! The generated crate (`generated/`, `jobpilot-db`): the Rust JobPilot's schema renders to
//! (reviewed snapshots, one per file), that the checked-in crate is exactly what
//! `codegen generate` writes now, and that `codegen check` fails on a stale or missing file,
//! naming it and the command that fixes it.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ProjectCopy, codegen, repo_root, text};

use codegen::project::{self, Paths};
use codegen::render::rust::{RustOptions, render_files};

/// Snapshots without the fingerprint, so that they change only when the Rust does.
#[test]
fn jobpilot_schema_renders_to_reviewed_rust() {
    let loaded = project::load_schema(&Paths::at(repo_root())).unwrap();
    for (name, text) in render_files(&loaded.schema, &RustOptions::default()).unwrap() {
        let stem = name.trim_end_matches(".rs");
        insta::assert_snapshot!(format!("jobpilot_{stem}"), text);
    }
}

#[test]
fn checked_in_crate_is_what_generate_writes_now() {
    let paths = Paths::at(repo_root());
    let loaded = project::load_schema(&paths).unwrap();
    let options = RustOptions {
        fingerprint: project::fingerprint(&loaded),
    };
    let files = render_files(&loaded.schema, &options).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "enums.rs",
            "ids.rs",
            "models.rs",
            "repos.rs",
            "db.rs",
            "storage.rs",
            "lib.rs"
        ]
    );
    for (name, text) in files {
        let path = paths.generated.join("src").join(&name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "generated/src/{name} is stale: run `cargo run -p codegen -- generate`"
        );
    }
}

#[test]
fn check_fails_when_a_generated_file_is_stale_or_missing() {
    let copy = ProjectCopy::new("stale");
    let out = codegen(&copy.0, &["check"]);
    assert!(
        out.status.success(),
        "a fresh copy checks clean: {}",
        text(&out)
    );

    let models = copy.0.join("generated/src/models.rs");
    let edited = std::fs::read_to_string(&models).unwrap().replace(
        "pub struct User {",
        "pub struct User {\n    pub avatar_url: String,",
    );
    std::fs::write(&models, edited).unwrap();
    std::fs::remove_file(copy.0.join("generated/src/ids.rs")).unwrap();
    let out = codegen(&copy.0, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("generated/src/models.rs is out of date; run `codegen generate`"),
        "{all}"
    );
    assert!(
        all.contains("generated/src/ids.rs is missing; run `codegen generate`"),
        "{all}"
    );
    // Nothing else is reported stale.
    assert_eq!(all.matches("run `codegen generate`").count(), 2, "{all}");
}

#[test]
fn check_warns_about_files_generate_does_not_produce_and_generate_removes_them() {
    let copy = ProjectCopy::new("extra");
    let leftover = copy.0.join("generated/src/leftover.rs");
    std::fs::write(&leftover, "// a table that was dropped\n").unwrap();

    let out = codegen(&copy.0, &["check"]);
    assert!(out.status.success(), "a warning only: {}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("warning: generated/src/leftover.rs is not produced"),
        "{all}"
    );

    let out = codegen(&copy.0, &["generate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("removed generated/src/leftover.rs"),
        "{}",
        text(&out)
    );
    assert!(!leftover.exists());
    let out = codegen(&copy.0, &["check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("warning:"), "{}", text(&out));
}
