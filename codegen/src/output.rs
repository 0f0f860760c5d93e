//! Derived files: rendered in memory, written atomically, and checked by rendering again.
//!
//! `codegen generate` builds a [`FileSet`] and writes it; `codegen check` builds the same set and
//! compares it with the disk, so "stale" means exactly "generate would change this file"
//! (sqlx `prepare --check`, cornucopia's vfs).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Files to write, by path relative to the project root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSet {
    files: BTreeMap<PathBuf, String>,
}

/// How a file on disk differs from what would be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// The file does not exist.
    Missing,
    /// The file exists with other contents.
    Different,
}

/// A file that `generate` would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFile {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// Missing or different.
    pub staleness: Staleness,
}

impl fmt::Display for StaleFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.staleness {
            Staleness::Missing => write!(f, "{} is missing", self.path.display()),
            Staleness::Different => write!(f, "{} is out of date", self.path.display()),
        }
    }
}

/// A file that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct OutputError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

impl FileSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl Into<PathBuf>, contents: String) {
        self.files.insert(path.into(), contents);
    }

    /// The files, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files.iter().map(|(p, c)| (p.as_path(), c.as_str()))
    }

    /// Writes every file under `root` whose contents differ, each atomically (a temporary file
    /// renamed over the old one), creating directories as needed. Returns the paths written.
    pub fn write_all(&self, root: &Path) -> Result<Vec<PathBuf>, OutputError> {
        let mut written = Vec::new();
        for (rel, contents) in &self.files {
            let path = root.join(rel);
            if std::fs::read_to_string(&path).is_ok_and(|old| old == *contents) {
                continue;
            }
            write_atomic(&path, contents).map_err(|source| OutputError {
                path: path.clone(),
                source,
            })?;
            written.push(rel.clone());
        }
        Ok(written)
    }

    /// The files under `root` that `write_all` would change.
    pub fn check_against(&self, root: &Path) -> Vec<StaleFile> {
        self.files
            .iter()
            .filter_map(|(rel, contents)| {
                let staleness = match std::fs::read_to_string(root.join(rel)) {
                    Ok(old) if old == *contents => return None,
                    Ok(_) => Staleness::Different,
                    Err(_) => Staleness::Missing,
                };
                Some(StaleFile {
                    path: rel.clone(),
                    staleness,
                })
            })
            .collect()
    }
}

fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("generated");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_then_reports_nothing_stale() {
        let dir = std::env::temp_dir().join(format!("jp_output_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut set = FileSet::new();
        set.insert("a/b.txt", "one\n".into());
        assert_eq!(
            set.check_against(&dir),
            vec![StaleFile {
                path: "a/b.txt".into(),
                staleness: Staleness::Missing
            }]
        );
        assert_eq!(set.write_all(&dir).unwrap(), vec![PathBuf::from("a/b.txt")]);
        assert!(set.check_against(&dir).is_empty());
        assert!(
            set.write_all(&dir).unwrap().is_empty(),
            "unchanged files are not rewritten"
        );
        std::fs::write(dir.join("a/b.txt"), "edited\n").unwrap();
        assert_eq!(set.check_against(&dir)[0].staleness, Staleness::Different);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
