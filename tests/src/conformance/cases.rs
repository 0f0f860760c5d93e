//! The peer suites as a list of *cases*: a start state and a target state, for judging the
//! differ (see [`super::migration`]).
//!
//! Built from the [`Corpus`] occurrences (so a text is applied exactly the way the round trip
//! applies it, with the same skip decisions) plus what only the case knows, read from
//! `../shared/conformance/`:
//!
//! - sqldef: `current` → `desired`, and `desired` → `current` when the case has `down` (psqldef
//!   checks the reverse direction then); `error` expects a refusal. Cases of the
//!   `desired-relies-on-schema-from-current` category take `current` + `up` as the target (the
//!   suite README's tolerant reference); the psqldef-option categories `sqldef-enable_drop-false`
//!   and `sqldef-managed-objects-config` are skipped (we have no such option).
//! - migra: `a` → `b` and `b` → `a`.
//! - pg-schema-diff: `old` → `new` (`expected` instead of `new` when present);
//!   `expectedPlanErrorIs` / `expectedPlanErrorContains` expect a refusal, `expectEmptyPlan` an
//!   empty plan.

use super::corpus::{self, Corpus, CorpusError, SQLDEF_USER_PRELUDE, Skip, State, Suite};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// sqldef categories that hold psqldef options we have no equivalent of, with the option.
const OPTION_CATEGORIES: &[(&str, &str)] = &[
    (
        "sqldef-enable_drop-false",
        "psqldef's `enable_drop: false` (drops and revokes skipped): our differ has no \
         no-drop mode",
    ),
    (
        "sqldef-managed-objects-config",
        "psqldef's `manage` / `managed_roles` filters (objects outside them left alone): our \
         differ has no managed-object filter",
    ),
];

/// The sqldef category whose target is `current` + `up`.
const SCHEMA_FROM_CURRENT: &str = "desired-relies-on-schema-from-current";

/// Which way a case goes through the peer's pair of states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The peer's own direction (`current` → `desired`, `a` → `b`, `old` → `new`).
    Forward,
    /// Back again (sqldef `down`, migra `b` → `a`).
    Reverse,
}

/// One SQL text applied to build a side's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Which text of the case (`current`, `up`, `b`…).
    pub which: String,
    /// The SQL.
    pub sql: String,
    /// Apply the way psqldef does (retry failed statements until no progress).
    pub out_of_order: bool,
}

/// One side of a case: the database a state describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// `current`, `desired`, `current+up`, `a`…
    pub label: String,
    /// Run first on the same connection (sqldef `user:` cases).
    pub prelude: Option<String>,
    /// Applied in order to an empty database; none = the empty database.
    pub scripts: Vec<Script>,
}

impl Side {
    /// True when the side is the empty database (a prelude may still run).
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }
}

/// A start state, a target state and what the peer expects.
#[derive(Debug, Clone)]
pub struct Case {
    /// The suite.
    pub suite: Suite,
    /// The peer's case name (`tests_tables.yml:CreateTable`, `constraints`, `column/001_…`).
    pub name: String,
    /// Which way.
    pub direction: Direction,
    /// The start state.
    pub from: Side,
    /// The target state.
    pub to: Side,
    /// The peer expects the tool to refuse, with this message or error name.
    pub expects_error: Option<String>,
    /// The peer expects an empty plan (the two states are the same schema).
    pub expects_empty_plan: bool,
    /// Set when the case is not run, with why.
    pub skip: Option<Skip>,
}

impl Case {
    /// `suite/case/from->to`, the text `--filter` matches and reports name cases by.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}->{}",
            self.suite, self.name, self.from.label, self.to.label
        )
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({} → {})",
            self.suite, self.name, self.from.label, self.to.label
        )
    }
}

/// What the case itself says, beyond its states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseMeta {
    /// sqldef: the case has `down` (so the reverse direction is checked).
    pub reverse: bool,
    /// sqldef: `up`, psqldef's migration.
    pub up: Option<String>,
    /// sqldef: `user:` (run with the prelude).
    pub user: bool,
    /// sqldef categories.
    pub categories: Vec<String>,
    /// The expected refusal.
    pub expects_error: Option<String>,
    /// pg-schema-diff `expectEmptyPlan`.
    pub expects_empty_plan: bool,
    /// Set when the case cannot be replayed without the peer's own harness.
    pub skip: Option<Skip>,
}

/// Where each `(suite, case, which)` text is: a state, or empty.
#[derive(Debug, Default)]
pub struct Lookup<'a> {
    states: HashMap<(Suite, &'a str, &'a str), &'a State>,
    empty: HashSet<(Suite, &'a str, &'a str)>,
}

/// A text of a case as the lookup knows it.
#[derive(Debug, Clone, Copy)]
pub enum Text<'a> {
    /// A non-empty state.
    State(&'a State),
    /// Present but empty (an empty database).
    Empty,
    /// Not part of the case.
    Absent,
}

impl<'a> Lookup<'a> {
    /// Indexes the corpus.
    pub fn new(corpus: &'a Corpus) -> Self {
        let mut l = Lookup::default();
        for s in &corpus.states {
            for o in &s.occurrences {
                l.states
                    .insert((o.suite, o.case.as_str(), o.which.as_str()), s);
            }
        }
        for o in &corpus.empty {
            l.empty.insert((o.suite, o.case.as_str(), o.which.as_str()));
        }
        l
    }

    /// The text `which` of `case`.
    pub fn get(&self, suite: Suite, case: &str, which: &str) -> Text<'a> {
        if let Some(s) = self.states.get(&(suite, case, which)) {
            Text::State(s)
        } else if self.empty.contains(&(suite, case, which)) {
            Text::Empty
        } else {
            Text::Absent
        }
    }

    /// Every case name of `suite`, sorted.
    fn cases(&self, suite: Suite) -> Vec<&'a str> {
        let mut names: Vec<&str> = self
            .states
            .keys()
            .chain(self.empty.iter())
            .filter(|(s, _, _)| *s == suite)
            .map(|(_, c, _)| *c)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A side built from one text, with the skip of that text.
fn side(
    lookup: &Lookup<'_>,
    suite: Suite,
    case: &str,
    which: &str,
    prelude: Option<&str>,
) -> Result<(Side, Option<Skip>), String> {
    let (prelude, scripts, skip) = match lookup.get(suite, case, which) {
        Text::State(s) => (
            s.prelude.clone(),
            vec![Script {
                which: which.to_owned(),
                sql: s.sql.clone(),
                out_of_order: s.out_of_order,
            }],
            s.skip.clone(),
        ),
        Text::Empty => (prelude.map(str::to_owned), Vec::new(), None),
        Text::Absent => return Err(format!("the case has no `{which}` state")),
    };
    Ok((
        Side {
            label: which.to_owned(),
            prelude,
            scripts,
        },
        skip,
    ))
}

/// The first skip of the two sides, naming the side.
fn either_skip(from: (&Side, Option<Skip>), to: (&Side, Option<Skip>)) -> Option<Skip> {
    [from, to].into_iter().find_map(|(side, skip)| {
        skip.map(|s| Skip {
            category: s.category,
            detail: format!("`{}`: {}", side.label, s.detail),
        })
    })
}

/// A skip for a case whose texts could not be found.
fn missing(detail: String) -> Skip {
    Skip {
        category: "case-incomplete".to_owned(),
        detail,
    }
}

/// Builds the case(s) of one peer case from its texts: the pairing rules of the module doc.
pub fn pair(suite: Suite, name: &str, meta: &CaseMeta, lookup: &Lookup<'_>) -> Vec<Case> {
    let (start, target, reverse_too) = match suite {
        Suite::Sqldef => ("current", "desired", meta.reverse),
        Suite::Migra => ("a", "b", true),
        Suite::PgSchemaDiff => {
            let target = match lookup.get(suite, name, "expected") {
                Text::Absent => "new",
                _ => "expected",
            };
            ("old", target, false)
        }
    };
    let prelude = meta.user.then_some(SQLDEF_USER_PRELUDE);
    let built = side(lookup, suite, name, start, prelude).and_then(|from| {
        let to =
            if suite == Suite::Sqldef && meta.categories.iter().any(|c| c == SCHEMA_FROM_CURRENT) {
                // `current` + `up`: the schema `current` creates stays, as psqldef keeps it.
                let Some(up) = &meta.up else {
                    return Err(format!(
                        "`{target}` relies on a schema from `current` and the case has no `up`"
                    ));
                };
                let mut s = from.0.clone();
                s.label = "current+up".to_owned();
                s.scripts.push(Script {
                    which: "up".to_owned(),
                    sql: up.clone(),
                    out_of_order: false,
                });
                (s, from.1.clone())
            } else {
                side(lookup, suite, name, target, prelude)?
            };
        Ok((from, to))
    });
    let ((from, from_skip), (to, to_skip)) = match built {
        Ok(sides) => sides,
        Err(detail) => {
            let empty = |label: &str| Side {
                label: label.to_owned(),
                prelude: None,
                scripts: Vec::new(),
            };
            return vec![Case {
                suite,
                name: name.to_owned(),
                direction: Direction::Forward,
                from: empty(start),
                to: empty(target),
                expects_error: meta.expects_error.clone(),
                expects_empty_plan: meta.expects_empty_plan,
                skip: Some(meta.skip.clone().unwrap_or_else(|| missing(detail))),
            }];
        }
    };
    let option_skip = OPTION_CATEGORIES.iter().find_map(|(cat, why)| {
        meta.categories.iter().any(|c| c == cat).then(|| Skip {
            category: (*cat).to_owned(),
            detail: (*why).to_owned(),
        })
    });
    let skip = meta
        .skip
        .clone()
        .or(option_skip)
        .or_else(|| either_skip((&from, from_skip), (&to, to_skip)));
    let forward = Case {
        suite,
        name: name.to_owned(),
        direction: Direction::Forward,
        from: from.clone(),
        to: to.clone(),
        expects_error: meta.expects_error.clone(),
        expects_empty_plan: meta.expects_empty_plan,
        skip: skip.clone(),
    };
    let mut out = vec![forward];
    if reverse_too {
        out.push(Case {
            suite,
            name: name.to_owned(),
            direction: Direction::Reverse,
            from: to,
            to: from,
            expects_error: meta.expects_error.clone(),
            expects_empty_plan: meta.expects_empty_plan,
            skip,
        });
    }
    out
}

/// Every case of the three suites under `dir`, in suite order then by name (forward before
/// reverse).
pub fn load(dir: &Path, corpus: &Corpus) -> Result<Vec<Case>, CorpusError> {
    let lookup = Lookup::new(corpus);
    let mut metas: BTreeMap<(Suite, String), CaseMeta> = BTreeMap::new();
    sqldef_meta(&dir.join("sqldef"), &mut metas)?;
    pg_schema_diff_meta(&dir.join("pg-schema-diff"), &mut metas)?;
    let mut cases = Vec::new();
    for suite in Suite::ALL {
        for name in lookup.cases(suite) {
            let meta = metas
                .get(&(suite, name.to_owned()))
                .cloned()
                .unwrap_or_default();
            cases.extend(pair(suite, name, &meta, &lookup));
        }
    }
    Ok(cases)
}

/// sqldef's `down`, `up`, `user`, `error` and categories, per case.
fn sqldef_meta(
    dir: &Path,
    metas: &mut BTreeMap<(Suite, String), CaseMeta>,
) -> Result<(), CorpusError> {
    let categories = corpus::read_categories(&dir.join("categories.tsv"))?;
    for path in corpus::list_dir(&dir.join("psqldef"))? {
        let file = corpus::file_name(&path);
        if !(file.starts_with("tests_") && file.ends_with(".yml")) {
            continue;
        }
        let text = corpus::read(&path)?;
        let cases: BTreeMap<String, serde_yaml::Value> =
            serde_yaml::from_str(&text).map_err(|e| CorpusError::Format {
                path: path.clone(),
                message: e.to_string(),
            })?;
        for (name, case) in cases {
            let id = format!("{file}:{name}");
            let text_of = |key: &str| {
                case.get(key)
                    .and_then(serde_yaml::Value::as_str)
                    .map(str::to_owned)
            };
            let meta = CaseMeta {
                reverse: case.get("down").is_some(),
                up: text_of("up"),
                user: !matches!(case.get("user"), None | Some(serde_yaml::Value::Null)),
                categories: categories.get(&id).cloned().unwrap_or_default(),
                expects_error: text_of("error"),
                expects_empty_plan: false,
                skip: None,
            };
            metas.insert((Suite::Sqldef, id), meta);
        }
    }
    Ok(())
}

/// pg-schema-diff's expected errors and empty plans, per case.
fn pg_schema_diff_meta(
    dir: &Path,
    metas: &mut BTreeMap<(Suite, String), CaseMeta>,
) -> Result<(), CorpusError> {
    for group in corpus::list_dir(&dir.join("cases"))? {
        if !group.is_dir() {
            continue;
        }
        for case_dir in corpus::list_dir(&group)? {
            let path = case_dir.join("case.json");
            let Some(text) = corpus::read_optional(&path)? else {
                continue;
            };
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| CorpusError::Format {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            let name = format!(
                "{}/{}",
                corpus::file_name(&group),
                corpus::file_name(&case_dir)
            );
            metas.insert((Suite::PgSchemaDiff, name), pg_schema_diff_case(&json));
        }
    }
    Ok(())
}

/// A Go value of `case.json`: a string, or `{"go": "source text"}`.
fn go_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other
            .get("go")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| other.to_string(), str::to_owned),
    }
}

/// The meta of one pg-schema-diff `case.json`.
fn pg_schema_diff_case(json: &serde_json::Value) -> CaseMeta {
    let error_is = json.get("expectedPlanErrorIs").map(go_value);
    let error_contains = json.get("expectedPlanErrorContains").map(go_value);
    let expects_error = match (error_is, error_contains) {
        (Some(is), _) => Some(is),
        (None, Some(contains)) => Some(format!("an error containing {contains}")),
        (None, None) => None,
    };
    let factory = json.get("planFactory").map(go_value);
    // A target read from a directory of SQL files that do not parse: the error pg-schema-diff
    // expects is its schema source's, which has no counterpart here (new.sql is empty).
    let skip = match (&factory, &expects_error) {
        (Some(f), Some(e)) if f.contains("dirSchemaSourcePlanFactory") => Some(Skip {
            category: "peer-schema-source".to_owned(),
            detail: format!(
                "the target is pg-schema-diff's directory schema source `{f}` and the expected \
                 error ({e}) is that source's, not the differ's"
            ),
        }),
        _ => None,
    };
    CaseMeta {
        expects_error,
        expects_empty_plan: json
            .get("expectEmptyPlan")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        skip,
        ..CaseMeta::default()
    }
}

/// True when a case is selected by `--suite` and `--filter` (a substring of its label).
pub fn selected(case: &Case, suite: Option<Suite>, filter: Option<&str>) -> bool {
    suite.is_none_or(|s| case.suite == s) && filter.is_none_or(|f| case.label().contains(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::corpus::Occurrence;

    fn state(suite: Suite, case: &str, which: &str, sql: &str, skip: Option<&str>) -> State {
        State {
            id: corpus::state_id(None, sql),
            sql: sql.to_owned(),
            prelude: None,
            out_of_order: false,
            occurrences: vec![Occurrence {
                suite,
                case: case.to_owned(),
                which: which.to_owned(),
            }],
            skip: skip.map(|c| Skip {
                category: c.to_owned(),
                detail: "boom".to_owned(),
            }),
        }
    }

    fn corpus(states: Vec<State>, empty: Vec<(Suite, &str, &str)>) -> Corpus {
        Corpus {
            states,
            empty: empty
                .into_iter()
                .map(|(suite, case, which)| Occurrence {
                    suite,
                    case: case.to_owned(),
                    which: which.to_owned(),
                })
                .collect(),
            ..Corpus::default()
        }
    }

    #[test]
    fn sqldef_pairs_forward_and_reverse_only_with_down() {
        let c = corpus(
            vec![
                state(
                    Suite::Sqldef,
                    "t.yml:A",
                    "desired",
                    "CREATE TABLE a();",
                    None,
                ),
                state(
                    Suite::Sqldef,
                    "t.yml:B",
                    "desired",
                    "CREATE TABLE b();",
                    None,
                ),
            ],
            vec![
                (Suite::Sqldef, "t.yml:A", "current"),
                (Suite::Sqldef, "t.yml:B", "current"),
            ],
        );
        let lookup = Lookup::new(&c);
        let with_down = CaseMeta {
            reverse: true,
            ..CaseMeta::default()
        };
        let cases = pair(Suite::Sqldef, "t.yml:A", &with_down, &lookup);
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].direction, Direction::Forward);
        assert!(cases[0].from.is_empty());
        assert_eq!(cases[0].to.scripts[0].sql, "CREATE TABLE a();");
        assert_eq!(cases[1].direction, Direction::Reverse);
        assert_eq!(cases[1].label(), "sqldef/t.yml:A/desired->current");
        assert!(cases[1].to.is_empty());
        assert!(cases[1].skip.is_none());
        let cases = pair(Suite::Sqldef, "t.yml:B", &CaseMeta::default(), &lookup);
        assert_eq!(cases.len(), 1);
    }

    #[test]
    fn user_cases_keep_the_prelude_on_empty_sides() {
        let c = corpus(vec![], vec![(Suite::Sqldef, "t.yml:U", "current")]);
        let mut s = state(
            Suite::Sqldef,
            "t.yml:U",
            "desired",
            "CREATE TABLE a();",
            None,
        );
        s.prelude = Some(SQLDEF_USER_PRELUDE.to_owned());
        let c = Corpus {
            states: vec![s],
            ..c
        };
        let lookup = Lookup::new(&c);
        let meta = CaseMeta {
            user: true,
            ..CaseMeta::default()
        };
        let cases = pair(Suite::Sqldef, "t.yml:U", &meta, &lookup);
        assert_eq!(cases[0].from.prelude.as_deref(), Some(SQLDEF_USER_PRELUDE));
        assert_eq!(cases[0].to.prelude.as_deref(), Some(SQLDEF_USER_PRELUDE));
    }

    #[test]
    fn a_skipped_state_skips_the_case_and_option_categories_skip_too() {
        let c = corpus(
            vec![
                state(
                    Suite::Sqldef,
                    "t.yml:A",
                    "current",
                    "CREATE TABLE a();",
                    None,
                ),
                state(
                    Suite::Sqldef,
                    "t.yml:A",
                    "desired",
                    "CREATE TABLE a() x;",
                    Some("needs-pg18"),
                ),
                state(
                    Suite::Sqldef,
                    "t.yml:B",
                    "desired",
                    "CREATE TABLE b();",
                    None,
                ),
            ],
            vec![(Suite::Sqldef, "t.yml:B", "current")],
        );
        let lookup = Lookup::new(&c);
        let meta = CaseMeta {
            reverse: true,
            ..CaseMeta::default()
        };
        let cases = pair(Suite::Sqldef, "t.yml:A", &meta, &lookup);
        assert!(cases.iter().all(|c| {
            c.skip
                .as_ref()
                .is_some_and(|s| s.category == "needs-pg18" && s.detail.contains("`desired`"))
        }));
        let meta = CaseMeta {
            categories: vec!["sqldef-enable_drop-false".to_owned()],
            ..CaseMeta::default()
        };
        let cases = pair(Suite::Sqldef, "t.yml:B", &meta, &lookup);
        assert_eq!(
            cases[0].skip.as_ref().map(|s| s.category.as_str()),
            Some("sqldef-enable_drop-false")
        );
    }

    #[test]
    fn schema_from_current_targets_current_plus_up() {
        let c = corpus(
            vec![
                state(
                    Suite::Sqldef,
                    "t.yml:S",
                    "current",
                    "CREATE SCHEMA s; CREATE TABLE s.t();",
                    None,
                ),
                state(
                    Suite::Sqldef,
                    "t.yml:S",
                    "desired",
                    "CREATE TABLE s.t(a int);",
                    Some(SCHEMA_FROM_CURRENT),
                ),
            ],
            vec![],
        );
        let lookup = Lookup::new(&c);
        let meta = CaseMeta {
            reverse: true,
            up: Some("ALTER TABLE s.t ADD COLUMN a int;".to_owned()),
            categories: vec![SCHEMA_FROM_CURRENT.to_owned()],
            ..CaseMeta::default()
        };
        let cases = pair(Suite::Sqldef, "t.yml:S", &meta, &lookup);
        assert_eq!(cases.len(), 2);
        assert!(cases[0].skip.is_none());
        assert_eq!(cases[0].to.label, "current+up");
        let whiches: Vec<&str> = cases[0]
            .to
            .scripts
            .iter()
            .map(|s| s.which.as_str())
            .collect();
        assert_eq!(whiches, ["current", "up"]);
        assert_eq!(cases[1].from.label, "current+up");
        assert_eq!(cases[1].to.label, "current");
    }

    #[test]
    fn migra_goes_both_ways_and_pg_schema_diff_prefers_expected() {
        let c = corpus(
            vec![
                state(Suite::Migra, "m", "a", "CREATE TABLE a();", None),
                state(Suite::Migra, "m", "b", "CREATE TABLE b();", None),
                state(Suite::PgSchemaDiff, "g/1", "old", "CREATE TABLE o();", None),
                state(
                    Suite::PgSchemaDiff,
                    "g/1",
                    "new",
                    "CREATE TABLE n(a int, b int);",
                    None,
                ),
                state(
                    Suite::PgSchemaDiff,
                    "g/1",
                    "expected",
                    "CREATE TABLE n(b int, a int);",
                    None,
                ),
            ],
            vec![],
        );
        let lookup = Lookup::new(&c);
        let migra = pair(Suite::Migra, "m", &CaseMeta::default(), &lookup);
        let labels: Vec<String> = migra.iter().map(Case::label).collect();
        assert_eq!(labels, ["migra/m/a->b", "migra/m/b->a"]);
        let psd = pair(Suite::PgSchemaDiff, "g/1", &CaseMeta::default(), &lookup);
        assert_eq!(psd.len(), 1);
        assert_eq!(psd[0].to.label, "expected");
        assert_eq!(lookup.cases(Suite::Migra), ["m"]);
    }

    #[test]
    fn missing_texts_skip_the_case() {
        let c = corpus(
            vec![state(Suite::Migra, "m", "a", "CREATE TABLE a();", None)],
            vec![],
        );
        let lookup = Lookup::new(&c);
        let cases = pair(Suite::Migra, "m", &CaseMeta::default(), &lookup);
        assert_eq!(cases.len(), 1);
        assert_eq!(
            cases[0].skip.as_ref().map(|s| s.category.as_str()),
            Some("case-incomplete")
        );
    }

    #[test]
    fn pg_schema_diff_meta_reads_errors_and_empty_plans() {
        let json = serde_json::json!({
            "expectedPlanErrorContains": {"go": "errValidatingPlan.Error()"},
            "expectEmptyPlan": true
        });
        let meta = pg_schema_diff_case(&json);
        assert_eq!(
            meta.expects_error.as_deref(),
            Some("an error containing errValidatingPlan.Error()")
        );
        assert!(meta.expects_empty_plan);
        assert!(meta.skip.is_none());
        let json = serde_json::json!({
            "expectedPlanErrorContains": "testdata/x/1.sql",
            "planFactory": {"go": "dirSchemaSourcePlanFactory([]string{\"testdata/x\"})"}
        });
        assert_eq!(
            pg_schema_diff_case(&json).skip.map(|s| s.category),
            Some("peer-schema-source".to_owned())
        );
    }
}
