//! The results of a conformance run: tallies per suite, failures grouped by cause, and
//! `CONFORMANCE.md`.
//!
//! Everything here is pure: the binary collects [`RunReport`] and calls [`render_markdown`].
//! Output is deterministic for a given set of results (sorted everywhere), so a re-run that
//! changes nothing changes only the date and the timings.

use super::corpus::{Occurrence, Skip, State, Suite};
use super::roundtrip::{Failure, Judgement, Outcome, Stage};
use crate::synthetic::Size;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// The pass-rate goal of issue 3 (percent of runnable states).
pub const GOAL_PERCENT: f64 = 95.0;

/// How many differences or errors are listed per failing state.
const DETAILS_PER_STATE: usize = 3;

/// Longest detail text kept in the report (characters).
const DETAIL_CHARS: usize = 300;

/// The generated schema's result.
#[derive(Debug, Clone)]
pub struct SyntheticResult {
    /// Its size.
    pub size: Size,
    /// The verdict.
    pub judgement: Judgement,
}

/// Everything a run learnt.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The command that produced it, as typed.
    pub command: String,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// `SELECT version()` of the server.
    pub postgres: String,
    /// Parallel states.
    pub jobs: usize,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// True when `--suite` or `--filter` narrowed the run.
    pub partial: bool,
    /// The states that were run, with their verdicts.
    pub judged: Vec<(State, Judgement)>,
    /// The states skipped because stock PostgreSQL 15 cannot run them.
    pub skipped: Vec<State>,
    /// Occurrences with an empty text (nothing to judge).
    pub empty: Vec<Occurrence>,
    /// The generated 1,000-table schema, when it was run.
    pub synthetic: Option<SyntheticResult>,
    /// Roles that could not be dropped at the end.
    pub role_problems: Vec<String>,
}

/// Counts for one suite (or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct state texts.
    pub states: usize,
    /// Skipped (not for stock PostgreSQL 15).
    pub skipped: usize,
    /// Run, but the state itself does not apply.
    pub not_runnable: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
}

impl Tally {
    /// States that ran and could be judged.
    pub fn runnable(&self) -> usize {
        self.passed + self.failed
    }

    /// Pass rate over runnable states, in percent (100 when nothing was runnable).
    pub fn rate(&self) -> f64 {
        if self.runnable() == 0 {
            100.0
        } else {
            self.passed as f64 * 100.0 / self.runnable() as f64
        }
    }

    fn add(&mut self, outcome: Option<&Outcome>) {
        self.states += 1;
        match outcome {
            None => self.skipped += 1,
            Some(Outcome::Pass) => self.passed += 1,
            Some(Outcome::NotRunnable(_)) => self.not_runnable += 1,
            Some(Outcome::Fail(_)) => self.failed += 1,
        }
    }
}

impl RunReport {
    /// Tally of the states that occur in `suite` (`None` = every distinct state once).
    pub fn tally(&self, suite: Option<Suite>) -> Tally {
        let mut t = Tally::default();
        let wanted = |s: &State| suite.is_none_or(|suite| s.in_suite(suite));
        for (s, j) in &self.judged {
            if wanted(s) {
                t.add(Some(&j.outcome));
            }
        }
        for s in &self.skipped {
            if wanted(s) {
                t.add(None);
            }
        }
        t
    }

    /// Failure clusters: (stage, cause) -> the failing states with their failure at that stage.
    pub fn clusters(&self) -> Vec<Cluster<'_>> {
        let mut map: BTreeMap<(Stage, &str), Vec<(&State, &Failure)>> = BTreeMap::new();
        for (s, j) in &self.judged {
            if let Outcome::Fail(failures) = &j.outcome {
                for f in failures {
                    map.entry((f.stage, f.cause.as_str()))
                        .or_default()
                        .push((s, f));
                }
            }
        }
        let mut clusters: Vec<Cluster<'_>> = map
            .into_iter()
            .map(|((stage, cause), members)| Cluster {
                stage,
                cause,
                members,
            })
            .collect();
        clusters.sort_by(|a, b| {
            b.members
                .len()
                .cmp(&a.members.len())
                .then(a.stage.cmp(&b.stage))
                .then(a.cause.cmp(b.cause))
        });
        clusters
    }

    /// Object kinds the model could not represent: kind -> (states, example names, reason).
    pub fn unsupported_kinds(&self) -> BTreeMap<String, UnsupportedKind> {
        let mut out: BTreeMap<String, UnsupportedKind> = BTreeMap::new();
        let judgements = self
            .judged
            .iter()
            .map(|(_, j)| j)
            .chain(self.synthetic.iter().map(|s| &s.judgement));
        for j in judgements {
            let mut seen_here = Vec::new();
            for u in &j.unsupported {
                let k = out.entry(u.kind.clone()).or_default();
                if !seen_here.contains(&u.kind) {
                    k.states += 1;
                    seen_here.push(u.kind.clone());
                }
                if k.examples.len() < 5 && !k.examples.contains(&u.name) {
                    k.examples.push(u.name.clone());
                }
                if !k.reasons.contains(&u.reason) && k.reasons.len() < 3 {
                    k.reasons.push(u.reason.clone());
                }
            }
        }
        out
    }
}

/// Failing states that share a step and a cause.
#[derive(Debug, Clone)]
pub struct Cluster<'a> {
    /// The step.
    pub stage: Stage,
    /// The cause pattern.
    pub cause: &'a str,
    /// The states and their failure.
    pub members: Vec<(&'a State, &'a Failure)>,
}

/// One object kind the model leaves out.
#[derive(Debug, Clone, Default)]
pub struct UnsupportedKind {
    /// States with at least one such object.
    pub states: usize,
    /// A few names.
    pub examples: Vec<String>,
    /// The reasons introspection gave.
    pub reasons: Vec<String>,
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `1 min 05 s`, `4.2 s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        let whole = d.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{secs:.1} s")
    }
}

/// A code span that survives any backticks inside `text`, on one line, shortened.
pub fn code(text: &str) -> String {
    let mut t: String = text.replace(['\n', '\r'], " ⏎ ");
    if t.chars().count() > DETAIL_CHARS {
        t = t.chars().take(DETAIL_CHARS - 3).collect::<String>() + "...";
    }
    let mut longest = 0;
    let mut run = 0;
    for c in t.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if t.starts_with('`') || t.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{t}{pad}{fence}")
}

/// Text for a table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The occurrences of a state: the first, and how many more.
fn occurrences(state: &State) -> String {
    let mut s = state
        .first()
        .map_or_else(|| "?".to_owned(), ToString::to_string);
    if state.occurrences.len() > 1 {
        let others: Vec<String> = state
            .occurrences
            .iter()
            .skip(1)
            .take(3)
            .map(ToString::to_string)
            .collect();
        let more = state.occurrences.len() - 1 - others.len();
        s.push_str(&format!(" (also {}", others.join("; ")));
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s.push(')');
    }
    s
}

fn percent(t: &Tally) -> String {
    if t.runnable() == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}%", t.rate())
    }
}

/// Renders `CONFORMANCE.md`.
pub fn render_markdown(r: &RunReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Conformance: the round trip on the peer suites\n");
    let _ = writeln!(
        o,
        "<!-- Written by the conformance runner (tests/src/bin/conformance.rs); do not edit by \
         hand: re-run the command below. -->\n"
    );
    let _ = writeln!(
        o,
        "Produced by `{}` on {} against {}, {} parallel states, in {}.{}\n",
        r.command,
        r.date,
        r.postgres,
        r.jobs,
        human_duration(r.elapsed),
        if r.partial {
            " **Partial run** (`--suite`/`--filter`): the figures cover only the selected states."
        } else {
            ""
        }
    );
    write_method(&mut o);
    write_summary(&mut o, r);
    write_synthetic(&mut o, r);
    write_clusters(&mut o, r);
    write_not_runnable(&mut o, r);
    write_skipped(&mut o, r);
    write_unsupported(&mut o, r);
    if !r.role_problems.is_empty() {
        let _ = writeln!(o, "## Roles that could not be dropped\n");
        for p in &r.role_problems {
            let _ = writeln!(o, "- {}", code(p));
        }
        o.push('\n');
    }
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

fn write_method(o: &mut String) {
    let _ = writeln!(
        o,
        "## What is judged\n\n\
         Every start and target state of the three peer suites in `../shared/conformance/` \
         (sqldef `current`/`desired`, migra `a.sql`/`b.sql`, pg-schema-diff \
         `old.sql`/`new.sql`/`expected.sql`), each distinct text once, goes through the \
         toolkit's whole round trip on a real PostgreSQL:\n\n\
         1. the state is applied, statement by statement, to a fresh empty database (sqldef \
         texts written out of dependency order on purpose are applied the way psqldef does: \
         failed statements are retried in further passes until no progress); a state that \
         still does not apply is *not runnable*;\n\
         2. introspection (plain PostgreSQL, no Supabase filter) gives S1; objects the model \
         cannot represent fail the state;\n\
         3. S1 is written in the schema language (TOML) and loaded back: S2 must equal S1;\n\
         4. S2 is rendered as SQL, applied to another fresh database and introspected: S3 must \
         equal S1 (objects the model cannot represent count once, at step 2, unless rendering \
         creates new ones).\n\n\
         Equal means `canonical::structural_differences` is empty (expressions compared in \
         PostgreSQL's own rendering). A state passes when both equalities hold. States that \
         stock PostgreSQL 15 cannot run (the suites' `pg15_applicability.tsv` and sqldef's \
         `categories.tsv`) are skipped and listed with the reason. The roles the suites grant \
         to are created first when missing and dropped afterwards.\n"
    );
}

fn write_summary(o: &mut String, r: &RunReport) {
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(
        o,
        "| suite | distinct states | skipped (not PG 15) | not runnable | runnable | pass | fail | pass rate |"
    );
    let _ = writeln!(
        o,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut rows: Vec<(String, Tally)> = Suite::ALL
        .iter()
        .map(|s| (s.name().to_owned(), r.tally(Some(*s))))
        .filter(|(_, t)| t.states > 0)
        .collect();
    rows.push(("**all (each text once)**".to_owned(), r.tally(None)));
    for (name, t) in &rows {
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            t.states,
            t.skipped,
            t.not_runnable,
            t.runnable(),
            t.passed,
            t.failed,
            percent(t)
        );
    }
    let all = r.tally(None);
    let verdict = if all.rate() >= GOAL_PERCENT {
        "met"
    } else {
        "**not met**"
    };
    let _ = writeln!(
        o,
        "\nGoal: at least {GOAL_PERCENT:.0}% of runnable states pass — {verdict} ({} of {}). A \
         text shared by several suites counts once in each of their rows and once overall. {} \
         occurrences have an empty text (an absent `current` is an empty database) and are not \
         counted.\n",
        all.passed,
        all.runnable(),
        r.empty.len()
    );
}

fn write_synthetic(o: &mut String, r: &RunReport) {
    let Some(s) = &r.synthetic else {
        return;
    };
    let _ = writeln!(o, "## The generated schema\n");
    let verdict = match &s.judgement.outcome {
        Outcome::Pass => "**pass**".to_owned(),
        Outcome::NotRunnable(e) => format!("**not runnable**: {}", code(e)),
        Outcome::Fail(f) => format!(
            "**fail** ({})",
            f.iter()
                .map(|f| f.stage.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let _ = writeln!(
        o,
        "`jobpilot_tests::synthetic::schema_sql(Size {{ tables: {}, extra_columns: {} }})` \
         through the same round trip: {verdict}. S1 has {} tables and {} top-level objects \
         (`Schema::object_count`: schemas, extensions, types, sequences, tables, views, \
         routines; columns, constraints, indexes, triggers and policies are parts of their \
         table).\n",
        s.size.tables, s.size.extra_columns, s.judgement.tables, s.judgement.objects
    );
    if !s.judgement.timings.is_empty() {
        let _ = writeln!(o, "| step | time |\n| --- | ---: |");
        for (step, d) in &s.judgement.timings {
            let _ = writeln!(o, "| {step} | {:.2} s |", d.as_secs_f64());
        }
        o.push('\n');
    }
    if let Outcome::Fail(failures) = &s.judgement.outcome {
        for f in failures {
            let _ = writeln!(o, "- {}: {}", f.stage, code(&f.cause));
            for d in f.details.iter().take(DETAILS_PER_STATE) {
                let _ = writeln!(o, "  - {}", code(d));
            }
        }
        o.push('\n');
    }
}

fn write_clusters(o: &mut String, r: &RunReport) {
    let clusters = r.clusters();
    let _ = writeln!(o, "## Failures by cause\n");
    if clusters.is_empty() {
        let _ = writeln!(o, "None.\n");
        return;
    }
    let _ = writeln!(
        o,
        "A failing state is listed under every step that failed for it (the TOML and the SQL \
         round trip are judged independently), under the cause of that step's first \
         difference or error. Suspects name the modules to look at first.\n"
    );
    let _ = writeln!(o, "| # | step | cause | states | suspects |");
    let _ = writeln!(o, "| ---: | --- | --- | ---: | --- |");
    for (i, c) in clusters.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            c.stage,
            code(&cell(c.cause)),
            c.members.len(),
            c.stage.suspects()
        );
    }
    o.push('\n');
    for (i, c) in clusters.iter().enumerate() {
        let _ = writeln!(
            o,
            "### {}. {}: {} ({} state{})\n",
            i + 1,
            c.stage,
            code(c.cause),
            c.members.len(),
            if c.members.len() == 1 { "" } else { "s" }
        );
        for (state, failure) in &c.members {
            let _ = writeln!(o, "- `{}` {}", state.id, occurrences(state));
            for d in failure.details.iter().take(DETAILS_PER_STATE) {
                let _ = writeln!(o, "  - {}", code(d));
            }
            if failure.details.len() > DETAILS_PER_STATE {
                let _ = writeln!(
                    o,
                    "  - … {} more",
                    failure.details.len() - DETAILS_PER_STATE
                );
            }
        }
        o.push('\n');
    }
}

fn write_not_runnable(o: &mut String, r: &RunReport) {
    let rows: Vec<(&State, &String)> = r
        .judged
        .iter()
        .filter_map(|(s, j)| match &j.outcome {
            Outcome::NotRunnable(e) => Some((s, e)),
            _ => None,
        })
        .collect();
    let _ = writeln!(o, "## Not runnable\n");
    if rows.is_empty() {
        let _ = writeln!(o, "None: every state that was run applied.\n");
        return;
    }
    let _ = writeln!(
        o,
        "States the suites' annotations expect to apply on PostgreSQL 15 (or that get the \
         psqldef treatment) but that did not apply to an empty database here:\n"
    );
    for (s, e) in rows {
        let _ = writeln!(o, "- `{}` {}: {}", s.id, occurrences(s), code(e));
    }
    o.push('\n');
}

fn write_skipped(o: &mut String, r: &RunReport) {
    let _ = writeln!(o, "## Skipped: not for stock PostgreSQL 15\n");
    if r.skipped.is_empty() {
        let _ = writeln!(o, "None.\n");
        return;
    }
    let mut by_category: BTreeMap<&str, Vec<(&State, &Skip)>> = BTreeMap::new();
    for s in &r.skipped {
        if let Some(skip) = &s.skip {
            by_category
                .entry(skip.category.as_str())
                .or_default()
                .push((s, skip));
        }
    }
    let _ = writeln!(o, "| category | states |\n| --- | ---: |");
    for (cat, states) in &by_category {
        let _ = writeln!(o, "| `{cat}` | {} |", states.len());
    }
    o.push('\n');
    for (cat, states) in &by_category {
        let _ = writeln!(o, "### `{cat}`\n");
        for (s, skip) in states {
            let _ = writeln!(o, "- {}: {}", occurrences(s), code(&skip.detail));
        }
        o.push('\n');
    }
}

fn write_unsupported(o: &mut String, r: &RunReport) {
    let kinds = r.unsupported_kinds();
    let _ = writeln!(o, "## Object kinds the model leaves out\n");
    if kinds.is_empty() {
        let _ = writeln!(
            o,
            "None met: introspection reported no object it cannot represent in any runnable \
             state.\n"
        );
        return;
    }
    let _ = writeln!(
        o,
        "Objects introspection found in the states and reported as unsupported (by name, never \
         dropped silently); each such state fails.\n"
    );
    let _ = writeln!(
        o,
        "| kind | states | examples | reason |\n| --- | ---: | --- | --- |"
    );
    for (kind, k) in &kinds {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            cell(kind),
            k.states,
            cell(&k.examples.join(", ")),
            cell(&k.reasons.join("; "))
        );
    }
    o.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a `b` c"), "`` a `b` c ``");
        assert_eq!(code("x\ny"), "`x ⏎ y`");
    }

    #[test]
    fn tally_rates() {
        let t = Tally {
            states: 10,
            skipped: 1,
            not_runnable: 1,
            passed: 6,
            failed: 2,
        };
        assert_eq!(t.runnable(), 8);
        assert!((t.rate() - 75.0).abs() < 1e-9);
        assert!((Tally::default().rate() - 100.0).abs() < 1e-9);
    }
}
