//! The peer suites as a list of SQL states to judge.
//!
//! Reads `../shared/conformance/` (see its README): sqldef's `current`/`desired` texts from
//! `sqldef/psqldef/tests_*.yml`, migra's `a.sql`/`b.sql`, pg-schema-diff's
//! `old.sql`/`new.sql`/`expected.sql`. Identical texts are judged once (deduplicated by a hash of
//! the text and of what runs before it). A state that stock PostgreSQL 15 cannot run is kept with
//! the reason it is skipped: the suites' own annotations (`pg15_applicability.tsv`, sqldef's
//! `categories.tsv`) say which. sqldef `desired` texts written out of dependency order on purpose
//! are marked for the psqldef treatment (retry failed statements until no progress).

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// One of the peer suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Suite {
    /// sqldef's psqldef test cases.
    Sqldef,
    /// migra's fixtures.
    Migra,
    /// stripe/pg-schema-diff's acceptance cases.
    PgSchemaDiff,
}

impl Suite {
    /// Every suite, in report order.
    pub const ALL: [Suite; 3] = [Suite::Sqldef, Suite::Migra, Suite::PgSchemaDiff];

    /// The suite's directory and display name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Sqldef => "sqldef",
            Suite::Migra => "migra",
            Suite::PgSchemaDiff => "pg-schema-diff",
        }
    }

    /// The suite called `name`.
    pub fn parse(name: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a state occurs: a suite, a case and which of its states (`current`, `desired`, `a`,
/// `b`, `old`, `new`, `expected`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    /// The suite.
    pub suite: Suite,
    /// The case (`tests_tables.yml:CreateTable`, `constraints`, `column/001_add_column`).
    pub case: String,
    /// Which state of the case.
    pub which: String,
}

impl Occurrence {
    /// `suite/case/which`, the text `--filter` matches.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.suite, self.case, self.which)
    }
}

impl fmt::Display for Occurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.suite, self.case, self.which)
    }
}

/// Why a state is not run at all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skip {
    /// The suite's category for it (`needs-pg18`…), or `does-not-apply-on-pg15`.
    pub category: String,
    /// What stock PostgreSQL 15 says or lacks.
    pub detail: String,
}

/// One SQL text to take through the round trip, with every place it occurs.
#[derive(Debug, Clone)]
pub struct State {
    /// First 12 hex digits of the SHA-256 of prelude and text: the state's stable id.
    pub id: String,
    /// The SQL text.
    pub sql: String,
    /// Statements run on the same connection before the text (sqldef `user:` cases run with
    /// `search_path = foo, public`).
    pub prelude: Option<String>,
    /// The text lists objects out of dependency order on purpose: apply it the way psqldef
    /// does, retrying failed statements in further passes until no progress.
    pub out_of_order: bool,
    /// Where the text occurs (sorted).
    pub occurrences: Vec<Occurrence>,
    /// Set when stock PostgreSQL 15 cannot run the text.
    pub skip: Option<Skip>,
}

impl State {
    /// The first occurrence, for messages.
    pub fn first(&self) -> Option<&Occurrence> {
        self.occurrences.first()
    }

    /// The first occurrence, and how many more there are: `migra constraints (a) (+2 more)`.
    pub fn label(&self) -> String {
        let mut label = self
            .first()
            .map_or_else(|| self.id.clone(), ToString::to_string);
        if self.occurrences.len() > 1 {
            label.push_str(&format!(" (+{} more)", self.occurrences.len() - 1));
        }
        label
    }

    /// True when the state occurs in `suite`.
    pub fn in_suite(&self, suite: Suite) -> bool {
        self.occurrences.iter().any(|o| o.suite == suite)
    }
}

/// The suites read into states.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Deduplicated states, in order of first occurrence.
    pub states: Vec<State>,
    /// Occurrences whose text is empty (an absent `current` means an empty database): nothing to
    /// judge.
    pub empty: Vec<Occurrence>,
    /// Roles the suites expect to exist (raw names, as the catalog stores them).
    pub roles: BTreeSet<String>,
}

/// A suite file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file or directory cannot be read.
    #[error("cannot read {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// A file does not have the expected shape.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// sqldef categories that mark a case (or its `desired`) as beyond stock PostgreSQL 15, with what
/// is missing; checked in this order to name why a state does not apply.
const SKIP_CATEGORIES: &[(&str, &str)] = &[
    (
        "needs-pgvector",
        "needs the pgvector extension, not part of stock PostgreSQL 15",
    ),
    (
        "needs-pg18",
        "needs PostgreSQL 18 (`WITHOUT OVERLAPS`, `PERIOD` foreign keys)",
    ),
    (
        "aurora-dsql-not-postgres",
        "Aurora DSQL syntax (`CREATE INDEX ASYNC`), not PostgreSQL",
    ),
    (
        "needs-os-locale-en_US",
        "needs the OS locale en_US, absent on this machine",
    ),
    (
        "desired-not-valid-postgres",
        "psqldef-parser leniency that PostgreSQL rejects (bare `AT TIME ZONE` defaults)",
    ),
    (
        "desired-relies-on-schema-from-current",
        "uses a schema only `current` creates (psqldef never drops schemas)",
    ),
    (
        "sqldef-search_path-semantics",
        "relies on psqldef's own `search_path` handling",
    ),
];

/// The sqldef category whose `desired` gets the psqldef treatment.
const OUT_OF_ORDER_CATEGORY: &str = "desired-needs-dependency-order";

/// Roles psqldef's harness creates before its run (suite README), plus `psqldef_user`.
const SQLDEF_ROLES: &[&str] = &[
    "readonly_user",
    "app_user",
    "admin_role",
    "user-with-dash",
    "user.with.dot",
    "user with spaces",
    "CamelCaseUser",
    "UPPERCASE_USER",
    "user1",
    "user2",
    "user3",
    "user4",
    "My User",
    "reader",
    "writer",
    "admin",
    "reader1",
    "reader2",
    "writer1",
    "writer2",
    "role1",
    "role2",
    "power_user",
    "user@domain.com",
    "psqldef_user",
];

/// The role migra's tests need.
const MIGRA_ROLE: &str = "schemainspect_test_role";

/// What sqldef's harness runs first for a `user:` case (as `_tools/check_pg15.py` replays it).
// language=PostgreSQL
pub const SQLDEF_USER_PRELUDE: &str =
    "CREATE SCHEMA IF NOT EXISTS foo;\nSET search_path TO foo, public;\n";

/// A state before deduplication.
struct RawState {
    occurrence: Occurrence,
    sql: String,
    prelude: Option<String>,
    out_of_order: bool,
    skip: Option<Skip>,
}

/// Reads the three suites under `dir` (`../shared/conformance`).
pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut raw = Vec::new();
    let mut roles: BTreeSet<String> = SQLDEF_ROLES.iter().map(|r| (*r).to_owned()).collect();
    roles.insert(MIGRA_ROLE.to_owned());
    load_sqldef(&dir.join("sqldef"), &mut raw)?;
    load_migra(&dir.join("migra"), &mut raw)?;
    load_pg_schema_diff(&dir.join("pg-schema-diff"), &mut raw, &mut roles)?;
    Ok(dedupe(raw, roles))
}

fn dedupe(mut raw: Vec<RawState>, roles: BTreeSet<String>) -> Corpus {
    raw.sort_by(|a, b| a.occurrence.cmp(&b.occurrence));
    let mut corpus = Corpus {
        roles,
        ..Corpus::default()
    };
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for r in raw {
        if r.sql.trim().is_empty() {
            corpus.empty.push(r.occurrence);
            continue;
        }
        let id = state_id(r.prelude.as_deref(), &r.sql);
        match by_id.get(&id) {
            Some(&i) => {
                let s = &mut corpus.states[i];
                s.occurrences.push(r.occurrence);
                s.out_of_order |= r.out_of_order;
                // Run a text if any of its occurrences is runnable.
                if r.skip.is_none() {
                    s.skip = None;
                }
            }
            None => {
                by_id.insert(id.clone(), corpus.states.len());
                corpus.states.push(State {
                    id,
                    sql: r.sql,
                    prelude: r.prelude,
                    out_of_order: r.out_of_order,
                    occurrences: vec![r.occurrence],
                    skip: r.skip,
                });
            }
        }
    }
    corpus
}

/// The stable id of a state.
pub fn state_id(prelude: Option<&str>, sql: &str) -> String {
    let mut h = Sha256::new();
    h.update(prelude.unwrap_or("").as_bytes());
    h.update([0u8]);
    h.update(sql.as_bytes());
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn read(path: &Path) -> Result<String, CorpusError> {
    std::fs::read_to_string(path).map_err(|e| CorpusError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

pub fn read_optional(path: &Path) -> Result<Option<String>, CorpusError> {
    if path.exists() {
        read(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Sorted entries of a directory.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CorpusError::Read {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| CorpusError::Read {
            path: dir.to_owned(),
            message: e.to_string(),
        })?;
        out.push(e.path());
    }
    out.sort();
    Ok(out)
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One row of a `pg15_applicability.tsv`: per state name, whether it applies, and the errors.
#[derive(Debug, Clone, Default)]
struct Applicability {
    /// `current` -> true (ok) / false (FAIL).
    states: HashMap<String, bool>,
    /// The `first_error` column.
    errors: String,
}

impl Applicability {
    /// Whether `which` applies; unknown states are assumed to apply (and are then judged).
    fn applies(&self, which: &str) -> bool {
        self.states.get(which).copied().unwrap_or(true)
    }

    /// The recorded error of `which`: the `which: …` part of the error column.
    fn error_of(&self, which: &str) -> String {
        let marker = format!("{which}: ");
        let Some(start) = self.errors.find(&marker) else {
            return self.errors.clone();
        };
        let rest = &self.errors[start + marker.len()..];
        // Parts are joined by "; name: ", where name is a state or a sequence (`current+up`).
        let end = rest
            .match_indices("; ")
            .map(|(i, _)| i)
            .find(|&i| {
                let after = &rest[i + 2..];
                after.split_once(": ").is_some_and(|(name, _)| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '_')
                })
            })
            .unwrap_or(rest.len());
        rest[..end].trim().to_owned()
    }
}

/// Reads a `pg15_applicability.tsv`: case -> applicability.
fn read_applicability(path: &Path) -> Result<HashMap<String, Applicability>, CorpusError> {
    let text = read(path)?;
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with("case\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(case), Some(states)) = (cols.first(), cols.get(1)) else {
            return Err(CorpusError::Format {
                path: path.to_owned(),
                message: format!("a row without a states column: {line}"),
            });
        };
        let mut a = Applicability {
            errors: cols.get(5).map(|s| (*s).to_owned()).unwrap_or_default(),
            ..Applicability::default()
        };
        for part in states.split(',') {
            if let Some((name, result)) = part.split_once('=') {
                a.states.insert(name.to_owned(), result == "ok");
            }
        }
        out.insert((*case).to_owned(), a);
    }
    Ok(out)
}

/// Reads sqldef's `categories.tsv`: case -> categories.
pub fn read_categories(path: &Path) -> Result<HashMap<String, Vec<String>>, CorpusError> {
    let text = read(path)?;
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with("case\t") || line.trim().is_empty() {
            continue;
        }
        let Some((case, cats)) = line.split_once('\t') else {
            return Err(CorpusError::Format {
                path: path.to_owned(),
                message: format!("a row without categories: {line}"),
            });
        };
        out.insert(
            case.to_owned(),
            cats.split(',').map(|c| c.trim().to_owned()).collect(),
        );
    }
    Ok(out)
}

/// The skip decision for one state of a case.
fn skip_for(
    which: &str,
    applicability: Option<&Applicability>,
    categories: &[String],
) -> Option<Skip> {
    let a = applicability?;
    if a.applies(which) {
        return None;
    }
    let detail = a.error_of(which);
    for (category, why) in SKIP_CATEGORIES {
        if categories.iter().any(|c| c == category) {
            return Some(Skip {
                category: (*category).to_owned(),
                detail: format!("{why}; PostgreSQL 15: {detail}"),
            });
        }
    }
    Some(Skip {
        category: "does-not-apply-on-pg15".to_owned(),
        detail,
    })
}

fn load_sqldef(dir: &Path, raw: &mut Vec<RawState>) -> Result<(), CorpusError> {
    let applicability = read_applicability(&dir.join("pg15_applicability.tsv"))?;
    let categories = read_categories(&dir.join("categories.tsv"))?;
    for path in list_dir(&dir.join("psqldef"))? {
        let file = file_name(&path);
        if !(file.starts_with("tests_") && file.ends_with(".yml")) {
            continue;
        }
        let text = read(&path)?;
        let cases: BTreeMap<String, serde_yaml::Value> =
            serde_yaml::from_str(&text).map_err(|e| CorpusError::Format {
                path: path.clone(),
                message: e.to_string(),
            })?;
        for (name, case) in cases {
            let id = format!("{file}:{name}");
            let cats = categories.get(&id).cloned().unwrap_or_default();
            let prelude = match case.get("user") {
                None | Some(serde_yaml::Value::Null) => None,
                Some(_) => Some(SQLDEF_USER_PRELUDE.to_owned()),
            };
            for which in ["current", "desired"] {
                let sql = case
                    .get(which)
                    .and_then(serde_yaml::Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let out_of_order =
                    which == "desired" && cats.iter().any(|c| c == OUT_OF_ORDER_CATEGORY);
                let skip = if out_of_order {
                    None
                } else {
                    skip_for(which, applicability.get(&id), &cats)
                };
                raw.push(RawState {
                    occurrence: Occurrence {
                        suite: Suite::Sqldef,
                        case: id.clone(),
                        which: which.to_owned(),
                    },
                    sql,
                    prelude: prelude.clone(),
                    out_of_order,
                    skip,
                });
            }
        }
    }
    Ok(())
}

fn load_migra(dir: &Path, raw: &mut Vec<RawState>) -> Result<(), CorpusError> {
    let applicability = read_applicability(&dir.join("pg15_applicability.tsv"))?;
    for fixture in list_dir(&dir.join("fixtures"))? {
        if !fixture.is_dir() {
            continue;
        }
        let case = file_name(&fixture);
        for which in ["a", "b"] {
            let Some(sql) = read_optional(&fixture.join(format!("{which}.sql")))? else {
                continue;
            };
            raw.push(RawState {
                occurrence: Occurrence {
                    suite: Suite::Migra,
                    case: case.clone(),
                    which: which.to_owned(),
                },
                sql,
                prelude: None,
                out_of_order: false,
                skip: skip_for(which, applicability.get(&case), &[]),
            });
        }
    }
    Ok(())
}

fn load_pg_schema_diff(
    dir: &Path,
    raw: &mut Vec<RawState>,
    roles: &mut BTreeSet<String>,
) -> Result<(), CorpusError> {
    let applicability = read_applicability(&dir.join("pg15_applicability.tsv"))?;
    for group in list_dir(&dir.join("cases"))? {
        if !group.is_dir() {
            continue;
        }
        for case_dir in list_dir(&group)? {
            if !case_dir.is_dir() {
                continue;
            }
            let case = format!("{}/{}", file_name(&group), file_name(&case_dir));
            let meta_path = case_dir.join("case.json");
            if let Some(meta) = read_optional(&meta_path)? {
                let meta: serde_json::Value =
                    serde_json::from_str(&meta).map_err(|e| CorpusError::Format {
                        path: meta_path.clone(),
                        message: e.to_string(),
                    })?;
                for role in meta
                    .get("roles")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(serde_json::Value::as_str)
                {
                    // Roles are given as SQL identifiers.
                    match codegen::model::split_qualified(role).as_deref() {
                        Some([name]) => {
                            roles.insert(name.clone());
                        }
                        _ => {
                            return Err(CorpusError::Format {
                                path: meta_path.clone(),
                                message: format!("role `{role}` is not an SQL identifier"),
                            });
                        }
                    }
                }
            }
            for which in ["old", "new", "expected"] {
                let Some(sql) = read_optional(&case_dir.join(format!("{which}.sql")))? else {
                    continue;
                };
                raw.push(RawState {
                    occurrence: Occurrence {
                        suite: Suite::PgSchemaDiff,
                        case: case.clone(),
                        which: which.to_owned(),
                    },
                    sql,
                    prelude: None,
                    out_of_order: false,
                    skip: skip_for(which, applicability.get(&case), &[]),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_of_picks_the_state_part() {
        let a = Applicability {
            states: HashMap::from([("desired".to_owned(), false)]),
            errors: "desired: script 1: line 2: ERROR:  syntax error at or near \"x\"; \
                     current+up: script 2: line 1: ERROR:  boom; a; b"
                .to_owned(),
        };
        assert_eq!(
            a.error_of("desired"),
            "script 1: line 2: ERROR:  syntax error at or near \"x\""
        );
        assert_eq!(
            a.error_of("current+up"),
            "script 2: line 1: ERROR:  boom; a; b"
        );
        assert!(!a.applies("desired"));
        assert!(a.applies("current"));
    }

    #[test]
    fn skip_names_the_category() {
        let a = Applicability {
            states: HashMap::from([("desired".to_owned(), false)]),
            errors: "desired: script 1: line 6: ERROR:  syntax error at or near \"WITHOUT\""
                .to_owned(),
        };
        let skip = skip_for("desired", Some(&a), &["needs-pg18".to_owned()]);
        assert_eq!(skip.map(|s| s.category), Some("needs-pg18".to_owned()));
        assert_eq!(skip_for("current", Some(&a), &[]), None);
        let other = skip_for("desired", Some(&a), &[]);
        assert_eq!(
            other.map(|s| s.category),
            Some("does-not-apply-on-pg15".to_owned())
        );
    }

    #[test]
    fn identical_texts_are_judged_once() {
        let occ = |case: &str, which: &str| Occurrence {
            suite: Suite::Migra,
            case: case.to_owned(),
            which: which.to_owned(),
        };
        let raw = vec![
            RawState {
                occurrence: occ("x", "b"),
                sql: "CREATE TABLE t (a int);".into(),
                prelude: None,
                out_of_order: false,
                skip: None,
            },
            RawState {
                occurrence: occ("x", "a"),
                sql: "CREATE TABLE t (a int);".into(),
                prelude: None,
                out_of_order: false,
                skip: None,
            },
            RawState {
                occurrence: occ("y", "a"),
                sql: "  \n".into(),
                prelude: None,
                out_of_order: false,
                skip: None,
            },
        ];
        let corpus = dedupe(raw, BTreeSet::new());
        assert_eq!(corpus.states.len(), 1);
        assert_eq!(
            corpus.states[0].occurrences,
            vec![occ("x", "a"), occ("x", "b")]
        );
        assert_eq!(corpus.empty, vec![occ("y", "a")]);
        assert_eq!(corpus.states[0].id.len(), 12);
    }
}
