//! The three outputs of a [`Report`]: text for people, JSON for tools, GitHub annotations.
//!
//! The JSON shape (version 1) is documented in the README and kept stable: fields may be added,
//! none renamed or removed without a new `version`.

use super::{Change, Difference, History, NONE, Report};
use crate::migrate::{State, format_version};
use serde_json::{Value, json};

/// The JSON shape's version.
pub const JSON_VERSION: u64 = 1;

struct Paint {
    color: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

/// A value on one line: newlines shown as `⏎` so multi-line bodies stay readable in a list.
fn one_line(value: &str) -> String {
    if value.contains('\n') {
        value.trim().replace('\n', " ⏎ ")
    } else {
        value.to_owned()
    }
}

/// The text report: differences grouped by object, then what cannot be represented, the
/// migration history, and the summary line. ANSI colour when `color`.
pub fn text(report: &Report, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    for (object, diffs) in report.by_object() {
        let place = diffs
            .first()
            .and_then(|d| d.location.as_ref())
            .map(|l| p.dim(&format!("  ({}:{})", l.file, l.line)))
            .unwrap_or_default();
        out.push_str(&format!("{}{place}\n", p.bold(&object.to_string())));
        for d in &diffs {
            out.push_str(&format!("  {}\n", change_text(d, &p)));
        }
        for e in diffs
            .first()
            .map(|d| d.audit.as_slice())
            .unwrap_or_default()
        {
            out.push_str(&format!("  {} {}\n", p.dim("audit:"), e.describe()));
        }
    }
    if !report.unsupported.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}\n",
            p.red("cannot be represented (the model has no place for these; verify cannot check them):")
        ));
        for u in &report.unsupported {
            out.push_str(&format!("  {u}\n"));
        }
    }
    if let Some(h) = &report.history {
        let lines = history_lines(h);
        if !lines.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{}\n", p.bold("migrations:")));
            for (problem, line) in lines {
                let line = if problem { p.red(&line) } else { line };
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let summary = report.summary();
    let summary = match report.exit_code() {
        0 => p.green(&summary),
        _ => p.red(&summary),
    };
    out.push_str(&format!("{}: {summary}\n", report.database));
    out
}

fn change_text(d: &Difference, p: &Paint) -> String {
    let detail = d
        .detail
        .as_deref()
        .map(|x| format!(": {}", one_line(x)))
        .unwrap_or_default();
    match &d.change {
        Change::Missing => format!(
            "{} declared, not in the database{detail}",
            p.red("missing:")
        ),
        Change::Unexpected => format!(
            "{} in the database, not declared{detail}",
            p.yellow("unexpected:")
        ),
        Change::Changed {
            attribute,
            expected,
            actual,
        } if expected.contains('\n') || actual.contains('\n') => format!(
            "{} {attribute}:\n    expected:\n{}\n    actual:\n{}",
            p.yellow("changed"),
            p.green(&block(expected)),
            p.red(&block(actual))
        ),
        Change::Changed {
            attribute,
            expected,
            actual,
        } => format!(
            "{} {attribute}: expected {}, actual {}",
            p.yellow("changed"),
            p.green(expected),
            p.red(actual)
        ),
    }
}

/// A multi-line value, indented under its label (trailing blank lines dropped).
fn block(value: &str) -> String {
    value
        .trim_end()
        .lines()
        .map(|l| format!("      {l}").trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(is a problem, line)` for each migration worth mentioning.
fn history_lines(h: &History) -> Vec<(bool, String)> {
    let mut lines = Vec::new();
    if !h.tracked {
        if h.pending() > 0 {
            lines.push((
                false,
                format!(
                    "note: the database records no migration ({} in migrations/); \
                     `codegen migrate stamp VERSION` records those its schema already has",
                    h.pending()
                ),
            ));
        }
        for e in h.status.problems() {
            lines.push((true, e.problem().unwrap_or_default()));
        }
        return lines;
    }
    for e in &h.status.migrations {
        match e.state {
            State::Applied => {}
            State::Pending => lines.push((
                true,
                format!(
                    "{} {}: pending (not applied to this database)",
                    format_version(e.version),
                    e.description
                ),
            )),
            _ => lines.push((true, e.problem().unwrap_or_default())),
        }
    }
    lines
}

/// The JSON report (see the README for the shape).
pub fn json(report: &Report) -> Value {
    let objects: Vec<Value> = report
        .by_object()
        .into_iter()
        .map(|(object, diffs)| {
            let location = diffs.first().and_then(|d| d.location.clone());
            json!({
                "kind": object.kind,
                "name": object.name,
                "file": location.as_ref().map(|l| l.file.clone()),
                "line": location.as_ref().map(|l| l.line),
                "differences": diffs.iter().map(|d| difference_json(d)).collect::<Vec<_>>(),
                "audit": diffs.first().map(|d| d.audit.clone()).unwrap_or_default(),
            })
        })
        .collect();
    let migrations = report.history.as_ref().map(|h| {
        json!({
            "tracked": h.tracked,
            "applied": h.status.count(State::Applied),
            "pending": h.status.count(State::Pending),
            "entries": h.status.migrations.iter().map(|e| json!({
                "version": e.version,
                "description": e.description,
                "state": e.state.as_str(),
                "applied_at": e.applied_at,
                "problem": e.problem(),
            })).collect::<Vec<_>>(),
        })
    });
    let mut out = json!({
        "version": JSON_VERSION,
        "database": report.database,
        "exit_code": report.exit_code(),
        "status": match report.exit_code() { 0 => "clean", 1 => "drift", _ => "error" },
        "summary": report.summary(),
        "objects": objects,
        "unsupported": report.unsupported.iter().map(|u| json!({
            "kind": u.kind, "name": u.name, "reason": u.reason,
        })).collect::<Vec<_>>(),
        "ignored": report.ignored,
        "audited": report.audited,
        "migrations": migrations,
    });
    if let (Some(plan), Some(map)) = (&report.fix, out.as_object_mut()) {
        map.insert("fix".into(), json!({ "sql": plan.to_sql() }));
    }
    out
}

fn difference_json(d: &Difference) -> Value {
    match &d.change {
        Change::Missing | Change::Unexpected => json!({
            "change": if d.change == Change::Missing { "missing" } else { "unexpected" },
            "attribute": Value::Null,
            "expected": Value::Null,
            "actual": Value::Null,
            "detail": d.detail,
            "file": d.location.as_ref().map(|l| l.file.clone()),
            "line": d.location.as_ref().map(|l| l.line),
        }),
        Change::Changed {
            attribute,
            expected,
            actual,
        } => json!({
            "change": "changed",
            "attribute": attribute,
            "expected": (expected != NONE).then_some(expected),
            "actual": (actual != NONE).then_some(actual),
            "detail": Value::Null,
            "file": d.location.as_ref().map(|l| l.file.clone()),
            "line": d.location.as_ref().map(|l| l.line),
        }),
    }
}

/// GitHub workflow-command escaping of a message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow-command escaping of a property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions annotations: one `::error` per difference (at the schema file and line of the
/// object when it is declared), per object that cannot be represented and per history problem;
/// then the summary line.
pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for d in &report.differences {
        let mut props = Vec::new();
        if let Some(l) = &d.location {
            props.push(format!("file={}", escape_property(&l.file)));
            props.push(format!("line={}", l.line));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("schema drift: {}", d.object))
        ));
        let message = match &d.change {
            Change::Missing => format!(
                "{} is declared but not in the database{}",
                d.object,
                d.detail
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            ),
            Change::Unexpected => format!(
                "{} is in the database but not declared{}",
                d.object,
                d.detail
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            ),
            Change::Changed {
                attribute,
                expected,
                actual,
            } => format!("{}: {attribute} is {actual}, declared {expected}", d.object),
        };
        let message = match d.audit.last() {
            Some(e) => format!("{message}\nlast DDL on it: {}", e.describe()),
            None => message,
        };
        out.push_str(&format!(
            "::error {}::{}\n",
            props.join(","),
            escape_data(&message)
        ));
    }
    for u in &report.unsupported {
        out.push_str(&format!(
            "::error title={}::{}\n",
            escape_property("cannot be represented"),
            escape_data(&u.to_string())
        ));
    }
    if let Some(h) = &report.history {
        for (problem, line) in history_lines(h) {
            let level = if problem { "error" } else { "notice" };
            out.push_str(&format!(
                "::{level} title={}::{}\n",
                escape_property("migration history"),
                escape_data(&line)
            ));
        }
    }
    out.push_str(&format!("{}: {}\n", report.database, report.summary()));
    out
}
