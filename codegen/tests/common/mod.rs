//! Helpers shared by the integration tests that run the `codegen` binary on a copy of the
//! project (`mod common;` in each test file that needs them).

// Tests may panic: that is how they fail. Not every test file uses every helper.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs the `codegen` binary on the project at `root` (no colour, no `DATABASE_URL` from the
/// environment).
pub fn codegen(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codegen"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run codegen")
}

/// Stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the project's schema/, migrations/, generated/ and docs/ (every derived file that
/// `check` compares) in a fresh temporary directory, removed on drop.
pub struct ProjectCopy(pub PathBuf);

impl ProjectCopy {
    pub fn new(tag: &str) -> ProjectCopy {
        let dir = std::env::temp_dir().join(format!(
            "jp_copy_{tag}_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        for sub in ["schema", "migrations", "generated", "docs"] {
            copy_dir(&repo_root().join(sub), &dir.join(sub));
        }
        ProjectCopy(dir)
    }
}

impl Drop for ProjectCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
