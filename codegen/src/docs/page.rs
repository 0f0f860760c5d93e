//! The Markdown page: the schema's facts gathered into a plain context (strings and lists,
//! computed here), rendered by the minijinja template `templates/schema.md.j2`.

use super::graph::display_name;
use super::policy;
use crate::model::{
    Column, FkAction, ForeignKey, Grant, Index, IndexKey, Policy, PolicyCommand, Privilege,
    QualifiedName, Schema, Table, Trigger, TriggerFiring, TriggerTiming,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// The template, kept as a file beside the code.
const TEMPLATE: &str = include_str!("templates/schema.md.j2");

/// Everything the template reads.
#[derive(Debug, Serialize)]
struct Page {
    source: String,
    fix: String,
    summary: String,
    mermaid: String,
    /// `[users](#users) · [jobs](#jobs) …`.
    table_links: String,
    /// `[Diagram](#diagram) · [Tables](#tables) …`.
    section_links: String,
    tables: Vec<TablePage>,
    views: Vec<ViewRow>,
    enums: Vec<EnumRow>,
    domains: Vec<DomainRow>,
    functions: Vec<FunctionRow>,
    buckets: Vec<BucketRow>,
    attached: Vec<AttachedPage>,
}

/// The anchors of the page's own sections (a table called `enums` comes first and takes
/// `#enums`, as GitHub numbers repeated headings in document order).
#[derive(Debug)]
struct Sections {
    diagram: String,
    tables: String,
    views: String,
    enums: String,
    domains: String,
    functions: String,
    buckets: String,
    attached: String,
}

#[derive(Debug, Serialize)]
struct TablePage {
    label: String,
    anchor: String,
    comment: Option<String>,
    columns: Vec<ColumnRow>,
    keys: Vec<String>,
    referenced_by: Vec<String>,
    indexes: Vec<String>,
    rls: String,
    policies: Vec<PolicyItem>,
    grants: String,
    triggers: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ColumnRow {
    name: String,
    ty: String,
    nullable: bool,
    default: String,
    comment: String,
}

#[derive(Debug, Serialize)]
struct PolicyItem {
    name: String,
    command: String,
    roles: String,
    permissive: bool,
    words: String,
    sql: String,
}

#[derive(Debug, Serialize)]
struct ViewRow {
    name: String,
    materialized: bool,
    comment: String,
}

#[derive(Debug, Serialize)]
struct EnumRow {
    name: String,
    values: Vec<String>,
    comment: String,
}

#[derive(Debug, Serialize)]
struct DomainRow {
    name: String,
    ty: String,
    constraints: String,
    comment: String,
}

#[derive(Debug, Serialize)]
struct FunctionRow {
    signature: String,
    returns: String,
    language: String,
    security_definer: bool,
    used_by: String,
    comment: String,
}

#[derive(Debug, Serialize)]
struct BucketRow {
    id: String,
    public: String,
    limit: String,
    mime: String,
}

#[derive(Debug, Serialize)]
struct AttachedPage {
    label: String,
    policies: Vec<PolicyItem>,
    triggers: Vec<String>,
}

/// GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats
/// numbered in document order.
#[derive(Debug, Default)]
struct Slugger {
    seen: BTreeMap<String, usize>,
}

impl Slugger {
    fn slug(&mut self, heading: &str) -> String {
        let base: String = heading
            .to_lowercase()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    Some(c)
                } else if c == ' ' {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let n = self.seen.entry(base.clone()).or_insert(0);
        let slug = if *n == 0 { base } else { format!("{base}-{n}") };
        *n += 1;
        slug
    }
}

/// The words of the page that depend on where the schema came from.
#[derive(Debug, Clone, Copy)]
pub struct PageText<'a> {
    /// What the header comment says the page was generated from (`` `schema/` ``).
    pub source: &'a str,
    /// The end of the summary line (`` as declared in `schema/` ``).
    pub summary_tail: &'a str,
    /// How to regenerate the page.
    pub fix: &'a str,
}

/// The page's Markdown.
pub fn render(
    schema: &Schema,
    text: &PageText<'_>,
    mermaid: &str,
) -> Result<String, minijinja::Error> {
    let mut slugger = Slugger::default();
    slugger.slug("Database schema");
    let diagram = slugger.slug("Diagram");
    let tables_anchor = if schema.tables.is_empty() {
        String::new()
    } else {
        slugger.slug("Tables")
    };
    // Anchors of the tables first (their headings come next), for the links in keys.
    let mut anchors: BTreeMap<QualifiedName, String> = BTreeMap::new();
    for name in schema.tables.keys() {
        anchors.insert(name.clone(), slugger.slug(&display_name(name)));
    }
    let mut section = |present: bool, heading: &str| {
        if present {
            slugger.slug(heading)
        } else {
            String::new()
        }
    };
    let sections = Sections {
        diagram,
        tables: tables_anchor,
        views: section(!schema.views.is_empty(), "Views"),
        enums: section(!schema.enums.is_empty(), "Enums"),
        domains: section(!schema.domains.is_empty(), "Domains"),
        functions: section(!schema.functions.is_empty(), "Functions"),
        buckets: section(!schema.buckets.is_empty(), "Storage buckets"),
        attached: section(!schema.attached.is_empty(), "On Supabase's tables"),
    };

    let tables: Vec<TablePage> = schema
        .tables
        .values()
        .map(|t| table_page(schema, t, &anchors))
        .collect();
    let table_links = tables
        .iter()
        .map(|t| format!("[{}](#{})", t.label, t.anchor))
        .collect::<Vec<_>>()
        .join(" · ");
    let section_links = [
        ("Diagram", &sections.diagram),
        ("Tables", &sections.tables),
        ("Views", &sections.views),
        ("Enums", &sections.enums),
        ("Domains", &sections.domains),
        ("Functions", &sections.functions),
        ("Storage buckets", &sections.buckets),
        ("On Supabase's tables", &sections.attached),
    ]
    .iter()
    .filter(|(_, anchor)| !anchor.is_empty())
    .map(|(title, anchor)| format!("[{title}](#{anchor})"))
    .collect::<Vec<_>>()
    .join(" · ");
    let page = Page {
        source: text.source.to_owned(),
        fix: text.fix.to_owned(),
        summary: summary(schema, text.summary_tail),
        mermaid: mermaid.to_owned(),
        table_links,
        section_links,
        tables,
        views: schema
            .views
            .values()
            .map(|v| ViewRow {
                name: display_name(&v.name),
                materialized: v.materialized,
                comment: v.comment.clone().unwrap_or_default(),
            })
            .collect(),
        enums: schema
            .enums
            .values()
            .map(|e| EnumRow {
                name: display_name(&e.name),
                values: e.labels.clone(),
                comment: e.comment.clone().unwrap_or_default(),
            })
            .collect(),
        domains: schema
            .domains
            .values()
            .map(|d| {
                let mut constraints = Vec::new();
                if d.not_null {
                    constraints.push("NOT NULL".to_owned());
                }
                if let Some(def) = &d.default {
                    constraints.push(format!("DEFAULT {def}"));
                }
                for c in &d.checks {
                    constraints.push(format!("CHECK ({})", c.expr));
                }
                DomainRow {
                    name: display_name(&d.name),
                    ty: d.base.to_string(),
                    constraints: constraints.join("; "),
                    comment: d.comment.clone().unwrap_or_default(),
                }
            })
            .collect(),
        functions: functions(schema, &anchors),
        buckets: schema
            .buckets
            .values()
            .map(|b| BucketRow {
                id: b.id.clone(),
                public: if b.public {
                    "yes (anyone with the URL can read)".into()
                } else {
                    "no (signed URLs or policies)".into()
                },
                limit: b
                    .file_size_limit
                    .map_or_else(|| "the server's limit".to_owned(), size),
                mime: match &b.allowed_mime_types {
                    None => "any".into(),
                    Some(types) => types.iter().map(|t| code(t)).collect::<Vec<_>>().join(", "),
                },
            })
            .collect(),
        attached: schema
            .attached
            .iter()
            .map(|(name, a)| AttachedPage {
                label: display_name(name),
                policies: a
                    .policies
                    .iter()
                    .map(|p| policy_item(p, name, schema))
                    .collect(),
                triggers: a.triggers.iter().map(trigger).collect(),
            })
            .collect(),
    };
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // A misspelt field in the template is an error, not an empty string.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("code", |s: String| code(&s));
    env.add_filter("cellcode", |s: String| {
        if s.is_empty() {
            String::new()
        } else {
            cell(&code(&s))
        }
    });
    env.add_filter("cell", |s: String| cell(&s));
    env.add_template("schema.md", TEMPLATE)?;
    let text = env
        .get_template("schema.md")?
        .render(minijinja::Value::from_serialize(&page))?;
    Ok(tidy(&text))
}

/// At most one blank line in a row, no trailing spaces, one final newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end_matches(' ');
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn summary(schema: &Schema, tail: &str) -> String {
    let mut parts = vec![plural(schema.tables.len(), "table", "tables")];
    let foreign_keys: usize = schema.tables.values().map(|t| t.foreign_keys.len()).sum();
    parts.push(plural(foreign_keys, "foreign key", "foreign keys"));
    let policies: usize = schema
        .tables
        .values()
        .map(|t| t.policies.len())
        .sum::<usize>()
        + schema
            .attached
            .values()
            .map(|a| a.policies.len())
            .sum::<usize>();
    parts.push(plural(policies, "policy", "policies"));
    for (n, one, many) in [
        (schema.views.len(), "view", "views"),
        (schema.enums.len(), "enum", "enums"),
        (schema.domains.len(), "domain", "domains"),
        (schema.functions.len(), "function", "functions"),
        (schema.buckets.len(), "storage bucket", "storage buckets"),
    ] {
        if n > 0 {
            parts.push(plural(n, one, many));
        }
    }
    let last = parts.pop().unwrap_or_default();
    let list = if parts.is_empty() {
        last
    } else {
        format!("{} and {last}", parts.join(", "))
    };
    format!("{list}, {tail}.")
}

/// Inline code, with enough backticks for the text.
pub fn code(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return String::new();
    }
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Text for a table cell: one line, `|` escaped.
pub fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn link(name: &QualifiedName, anchors: &BTreeMap<QualifiedName, String>) -> String {
    let label = display_name(name);
    match anchors.get(name) {
        Some(a) => format!("[{label}](#{a})"),
        None => code(&label),
    }
}

fn cols(c: &[crate::model::Ident]) -> String {
    let names: Vec<String> = c.iter().map(|i| code(i.as_str())).collect();
    format!("({})", names.join(", "))
}

fn column_row(c: &Column) -> ColumnRow {
    let default = if let Some(g) = &c.generated {
        format!("generated: {}", code(g.as_str()))
    } else if let Some(id) = &c.identity {
        if id.always {
            "identity (always)".to_owned()
        } else {
            "identity (by default)".to_owned()
        }
    } else {
        c.default
            .as_ref()
            .map(|d| code(d.as_str()))
            .unwrap_or_default()
    };
    ColumnRow {
        name: c.name.as_str().to_owned(),
        ty: super::graph::short_type(&c.ty),
        nullable: c.nullable,
        default,
        comment: c.comment.clone().unwrap_or_default(),
    }
}

fn fk_text(fk: &ForeignKey, anchors: &BTreeMap<QualifiedName, String>) -> String {
    let mut s = format!(
        "Foreign key {} → {} {}",
        cols(&fk.columns),
        link(&fk.references, anchors),
        cols(&fk.referenced_columns)
    );
    if fk.on_delete != FkAction::NoAction {
        s.push_str(&format!(
            ", on delete {}",
            fk.on_delete.sql().to_lowercase()
        ));
    }
    if fk.on_update != FkAction::NoAction {
        s.push_str(&format!(
            ", on update {}",
            fk.on_update.sql().to_lowercase()
        ));
    }
    match fk.deferrable {
        crate::model::Deferrable::No => {}
        crate::model::Deferrable::InitiallyImmediate => s.push_str(", deferrable"),
        crate::model::Deferrable::InitiallyDeferred => s.push_str(", deferred"),
    }
    s.push_str(&format!(": {}", code(fk.name.as_str())));
    s
}

fn index_text(i: &Index) -> String {
    let keys: Vec<String> = i
        .keys
        .iter()
        .map(|k| {
            let mut s = match &k.key {
                IndexKey::Column(c) => c.as_str().to_owned(),
                IndexKey::Expr(e) => format!("({e})"),
            };
            if k.descending {
                s.push_str(" DESC");
            }
            code(&s)
        })
        .collect();
    let mut s = code(i.name.as_str());
    s.push_str(": ");
    if i.unique {
        s.push_str("unique, ");
    }
    if i.method != "btree" {
        s.push_str(&format!("{} ", i.method));
    }
    s.push_str(&format!("on ({})", keys.join(", ")));
    if !i.include.is_empty() {
        s.push_str(&format!(" include {}", cols(&i.include)));
    }
    if let Some(p) = &i.predicate {
        s.push_str(&format!(" where {}", code(p.as_str())));
    }
    if let Some(c) = &i.comment {
        s.push_str(&format!(". {c}"));
    }
    s
}

fn roles_words(p: &Policy) -> String {
    let roles: Vec<String> = p
        .roles
        .iter()
        .map(|r| {
            if r.as_str() == "public" {
                "everyone (`PUBLIC`)".to_owned()
            } else {
                code(r.as_str())
            }
        })
        .collect();
    if roles.is_empty() {
        "to everyone (`PUBLIC`)".to_owned()
    } else {
        format!("to {}", roles.join(", "))
    }
}

fn policy_item(p: &Policy, table: &QualifiedName, schema: &Schema) -> PolicyItem {
    let words = policy::describe(p, table, schema);
    let mut sql = String::new();
    if let Some(u) = &p.using {
        sql.push_str(&format!("\\\n  {}", code(&format!("USING ({u})"))));
    }
    if let Some(c) = &p.with_check {
        sql.push_str(&format!("\\\n  {}", code(&format!("WITH CHECK ({c})"))));
    }
    let mut text = words.text;
    if let Some(c) = &p.comment {
        text.push_str(&format!(" {c}"));
    }
    PolicyItem {
        name: p.name.as_str().to_owned(),
        command: p.command.sql().to_owned(),
        roles: roles_words(p),
        permissive: p.permissive,
        words: text,
        sql,
    }
}

fn trigger(t: &Trigger) -> String {
    let timing = match t.timing {
        TriggerTiming::Before => "BEFORE",
        TriggerTiming::After => "AFTER",
        TriggerTiming::InsteadOf => "INSTEAD OF",
    };
    let mut events = Vec::new();
    if t.events.insert {
        events.push("INSERT".to_owned());
    }
    if t.events.update {
        if t.events.update_columns.is_empty() {
            events.push("UPDATE".to_owned());
        } else {
            let names: Vec<&str> = t.events.update_columns.iter().map(|c| c.as_str()).collect();
            events.push(format!("UPDATE OF {}", names.join(", ")));
        }
    }
    if t.events.delete {
        events.push("DELETE".to_owned());
    }
    if t.events.truncate {
        events.push("TRUNCATE".to_owned());
    }
    let mut s = format!(
        "{}: {timing} {}, for each {}",
        code(t.name.as_str()),
        events.join(" OR "),
        if t.for_each_row { "row" } else { "statement" }
    );
    if let Some(w) = &t.when {
        s.push_str(&format!(" when {}", code(w.as_str())));
    }
    let args: Vec<String> = t.args.iter().map(|a| format!("'{a}'")).collect();
    s.push_str(&format!(
        ", runs {}",
        code(&format!(
            "{}({})",
            display_name(&t.function),
            args.join(", ")
        ))
    ));
    match t.firing {
        TriggerFiring::Origin => {}
        TriggerFiring::Disabled => s.push_str(" (disabled)"),
        TriggerFiring::Replica => s.push_str(" (fires only in replica mode)"),
        TriggerFiring::Always => s.push_str(" (fires always, also in replica mode)"),
    }
    if let Some(c) = &t.comment {
        s.push_str(&format!(". {c}"));
    }
    s
}

/// The privileges a table can be granted.
const TABLE_PRIVILEGES: [Privilege; 7] = [
    Privilege::Select,
    Privilege::Insert,
    Privilege::Update,
    Privilege::Delete,
    Privilege::Truncate,
    Privilege::References,
    Privilege::Trigger,
];

fn grants_text(grants: &std::collections::BTreeSet<Grant>) -> String {
    let mut by_role: BTreeMap<&str, Vec<&Grant>> = BTreeMap::new();
    for g in grants {
        by_role.entry(g.grantee.as_str()).or_default().push(g);
    }
    by_role
        .into_iter()
        .map(|(role, gs)| {
            let all = TABLE_PRIVILEGES
                .iter()
                .all(|p| gs.iter().any(|g| g.privilege == *p));
            let privileges = if all {
                "all privileges".to_owned()
            } else {
                gs.iter()
                    .map(|g| g.privilege.sql())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let option = if gs.iter().any(|g| g.with_grant_option) {
                " (with grant option)"
            } else {
                ""
            };
            let role = if role == "public" {
                "`PUBLIC`".to_owned()
            } else {
                code(role)
            };
            format!("{role} {privileges}{option}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn rls_text(t: &Table) -> String {
    if !t.row_security.enabled {
        return "disabled (grants alone decide who reads and writes rows).".to_owned();
    }
    let mut s = if t.row_security.forced {
        "enabled and forced (the table's owner is subject to it too).".to_owned()
    } else {
        "enabled.".to_owned()
    };
    let allowed = |c: PolicyCommand| {
        t.policies
            .iter()
            .any(|p| p.permissive && (p.command == c || p.command == PolicyCommand::All))
    };
    let missing: Vec<&str> = [
        PolicyCommand::Select,
        PolicyCommand::Insert,
        PolicyCommand::Update,
        PolicyCommand::Delete,
    ]
    .into_iter()
    .filter(|c| !allowed(*c))
    .map(PolicyCommand::sql)
    .collect();
    if !missing.is_empty() {
        let list = match missing.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => missing.join(""),
        };
        s.push_str(&format!(
            " No policy allows {list}: roles that do not bypass row-level security cannot do that."
        ));
    }
    s
}

fn table_page(schema: &Schema, t: &Table, anchors: &BTreeMap<QualifiedName, String>) -> TablePage {
    let mut keys = Vec::new();
    if let Some(pk) = &t.primary_key {
        keys.push(format!(
            "Primary key {}: {}",
            cols(&pk.columns),
            code(pk.name.as_str())
        ));
    }
    for u in &t.uniques {
        let nnd = if u.nulls_not_distinct {
            ", nulls not distinct"
        } else {
            ""
        };
        keys.push(format!(
            "Unique {}{nnd}: {}",
            cols(&u.columns),
            code(u.name.as_str())
        ));
    }
    for fk in &t.foreign_keys {
        keys.push(fk_text(fk, anchors));
    }
    for c in &t.checks {
        keys.push(format!(
            "Check {}: {}",
            code(c.name.as_str()),
            code(c.expr.as_str())
        ));
    }
    for x in &t.exclusions {
        keys.push(format!(
            "Exclusion {}: {}",
            code(x.name.as_str()),
            code(x.definition.as_str())
        ));
    }
    let mut referenced_by = Vec::new();
    for (other_name, other) in &schema.tables {
        for fk in &other.foreign_keys {
            if fk.references == t.name {
                referenced_by.push(format!(
                    "{} {}",
                    link(other_name, anchors),
                    cols(&fk.columns)
                ));
            }
        }
    }
    TablePage {
        label: display_name(&t.name),
        anchor: anchors.get(&t.name).cloned().unwrap_or_default(),
        comment: t.comment.clone(),
        columns: t.columns.iter().map(column_row).collect(),
        keys,
        referenced_by,
        indexes: t.indexes.iter().map(index_text).collect(),
        rls: rls_text(t),
        policies: t
            .policies
            .iter()
            .map(|p| policy_item(p, &t.name, schema))
            .collect(),
        grants: grants_text(&t.grants),
        triggers: t.triggers.iter().map(trigger).collect(),
    }
}

fn functions(schema: &Schema, anchors: &BTreeMap<QualifiedName, String>) -> Vec<FunctionRow> {
    schema
        .functions
        .values()
        .map(|f| {
            let args: Vec<String> = f
                .args
                .iter()
                .filter(|a| a.mode != crate::model::ArgMode::Table)
                .map(|a| match &a.name {
                    Some(n) => format!("{} {}", n.as_str(), a.ty),
                    None => a.ty.to_string(),
                })
                .collect();
            let returns = match &f.returns {
                Some(r) if r.setof => format!("SETOF {}", r.ty),
                Some(r) => r.ty.to_string(),
                None => "nothing (a procedure)".to_owned(),
            };
            let mut users: Vec<String> = schema
                .tables
                .iter()
                .filter(|(_, t)| t.triggers.iter().any(|tr| tr.function == f.id.name))
                .map(|(n, _)| link(n, anchors))
                .collect();
            users.extend(
                schema
                    .attached
                    .iter()
                    .filter(|(_, a)| a.triggers.iter().any(|tr| tr.function == f.id.name))
                    .map(|(n, _)| code(&display_name(n))),
            );
            FunctionRow {
                signature: format!("{}({})", display_name(&f.id.name), args.join(", ")),
                returns,
                language: f.language.clone(),
                security_definer: f.security_definer,
                used_by: if users.is_empty() {
                    String::new()
                } else {
                    format!("the triggers of {}", users.join(", "))
                },
                comment: f.comment.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// A byte count the way people say it: `10 MiB (10485760 bytes)`.
fn size(bytes: i64) -> String {
    const UNITS: [(i64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{} {name} ({bytes} bytes)", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        let mut s = Slugger::default();
        assert_eq!(s.slug("Database schema"), "database-schema");
        assert_eq!(s.slug("app.users"), "appusers");
        assert_eq!(s.slug("On Supabase's tables"), "on-supabases-tables");
        assert_eq!(s.slug("enums"), "enums");
        assert_eq!(s.slug("Enums"), "enums-1");
    }

    #[test]
    fn markdown_helpers_escape_what_breaks_tables() {
        assert_eq!(code("a `b`"), "`` a `b` ``");
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(size(10 * 1024 * 1024), "10 MiB (10485760 bytes)");
        assert_eq!(size(1000), "1000 bytes");
    }
}
