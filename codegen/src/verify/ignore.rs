//! The ignore list, `schema/verify.ignore`: objects deliberately left unmanaged.
//!
//! One pattern per line, `#` starts a comment. A pattern is an object kind as the report names
//! it (`table`, `column`, `index`, `policy`, `function`, `default privilege`, or the kind of an
//! object that cannot be represented, such as `rule`), then a name pattern (the last word of the
//! line), in which `*` matches any run of characters and `?` one character:
//!
//! ```text
//! table public.legacy_*          # a table and everything on it
//! column public.users.tmp_*
//! * public.scratch_*             # any kind
//! default privilege *
//! ```
//!
//! A pattern with no kind (one word) matches objects of every kind. Ignoring an object ignores
//! everything defined on it (a table's columns, indexes, policies…), on both sides: it is
//! neither reported nor touched by `--fix`.

use std::path::{Path, PathBuf};

/// The ignore file's name inside the schema directory.
pub const IGNORE_FILE: &str = "verify.ignore";

/// One line of the ignore file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// The kind, or `None` for any.
    kind: Option<String>,
    /// The name pattern.
    name: String,
}

/// The patterns of an ignore file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreList {
    patterns: Vec<Pattern>,
}

/// The ignore file is malformed or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// A line that is not `KIND NAME-PATTERN`.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl IgnoreList {
    /// Parses the file's text (`path` is for messages).
    pub fn parse(text: &str, path: &Path) -> Result<IgnoreList, IgnoreError> {
        let mut patterns = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some((name, kind)) = words.split_last() else {
                continue;
            };
            let kind = kind.join(" ");
            if name.is_empty() {
                return Err(IgnoreError::Syntax {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: "expected `KIND NAME-PATTERN`, e.g. `table public.legacy_*`".into(),
                });
            }
            patterns.push(Pattern {
                kind: (!kind.is_empty() && kind != "*").then_some(kind),
                name: (*name).to_owned(),
            });
        }
        Ok(IgnoreList { patterns })
    }

    /// Reads `<schema>/verify.ignore`; no file is an empty list.
    pub fn read(schema_dir: &Path) -> Result<IgnoreList, IgnoreError> {
        let path = schema_dir.join(IGNORE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => IgnoreList::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IgnoreList::default()),
            Err(source) => Err(IgnoreError::Io { path, source }),
        }
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the object `kind name` is ignored.
    pub fn matches(&self, kind: &str, name: &str) -> bool {
        self.patterns.iter().any(|p| {
            p.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(kind))
                && glob(&p.name, name)
        })
    }
}

/// `*` and `?` wildcards, everything else literal.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn globs() {
        assert!(glob("public.legacy_*", "public.legacy_orders"));
        assert!(glob("public.legacy_*", "public.legacy_"));
        assert!(!glob("public.legacy_*", "public.users"));
        assert!(glob("*.tmp_?", "public.t.tmp_1"));
        assert!(!glob("*.tmp_?", "public.t.tmp_12"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn patterns_with_and_without_kinds() {
        let text = "# unmanaged\ntable public.legacy_*\n\ncolumn public.users.tmp_* # scratch\n* public.x\nanything.y\ndefault privilege *\n";
        let list = IgnoreList::parse(text, Path::new("verify.ignore")).unwrap();
        assert!(list.matches("table", "public.legacy_orders"));
        assert!(!list.matches("view", "public.legacy_orders"));
        assert!(list.matches("column", "public.users.tmp_a"));
        assert!(list.matches("view", "public.x"));
        assert!(list.matches("rule", "anything.y"));
        assert!(list.matches(
            "default privilege",
            "FOR ROLE postgres GRANT SELECT ON TABLES TO anon"
        ));
        assert!(!list.matches("table", "public.users"));
    }
}
