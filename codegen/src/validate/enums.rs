//! Enum rules:
//! - `schema::empty_enum`: an enum without labels. PostgreSQL accepts `AS ENUM ()`, but no value
//!   can ever be stored in such a column and its Rust enum has no variants to decode into;
//! - `schema::duplicate_enum_label`: a label listed twice (PostgreSQL: "enum labels must be
//!   unique");
//! - `schema::unknown_enum_label`: a column or domain default such as `'draft'` or
//!   `'draft'::status` whose label is not one of the enum's (PostgreSQL: "invalid input value for
//!   enum"). Defaults that are not a plain literal (function calls, `NULL`) are not judged;
//! - `schema::unknown_renamed_label`: a `renamed_values` entry whose new label is not among the
//!   enum's `values` (the rename would produce a label the enum does not declare).

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{EnumType, PgType, SqlExpr};
use crate::parse::Origin;
use std::collections::BTreeMap;

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    let s = cx.schema;
    for (name, e) in &s.enums {
        let key = format!("enum {name}");
        if e.labels.is_empty() {
            let origin = cx.origins.get(&key).cloned();
            cx.push(
                Diagnostic::error("schema::empty_enum", format!("enum `{name}` has no labels"))
                    .at_opt(origin.as_ref(), "no labels")
                    .help("list its labels: `values = [\"a\", \"b\"]`, or remove the enum"),
            );
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, label) in e.labels.iter().enumerate() {
            let Some(&first) = seen.get(label.as_str()) else {
                seen.insert(label, i);
                continue;
            };
            let here = cx.origin(&format!("{key} value {}", i + 1), &key);
            let there = cx
                .origins
                .get(&format!("{key} value {}", first + 1))
                .cloned();
            cx.push(
                Diagnostic::error(
                    "schema::duplicate_enum_label",
                    format!("enum `{name}` lists the label `{label}` twice"),
                )
                .at_opt(here.as_ref(), "listed again here")
                .also_opt(there.as_ref(), "first listed here")
                .help("remove one of them"),
            );
        }
        for (new, old) in &e.renamed_labels {
            if e.labels.contains(new) {
                continue;
            }
            let origin = cx.origin(&format!("{key} renamed value {new}"), &key);
            cx.push(
                Diagnostic::error(
                    "schema::unknown_renamed_label",
                    format!(
                        "enum `{name}` renames `{old}` to `{new}`, which is not one of its labels"
                    ),
                )
                .at_opt(origin.as_ref(), "not in `values`")
                .help(rename_help(e, new, old)),
            );
        }
    }
    for (name, t) in &s.tables {
        let tk = table_key(name);
        for c in &t.columns {
            let Some(default) = &c.default else {
                continue;
            };
            let ck = format!("{tk} column {}", c.name);
            let origin = cx.origin(&format!("{ck} default"), &ck);
            let what = format!("column `{}` of table `{name}`", c.name);
            check_default(cx, &c.ty, default, origin, &what);
        }
    }
    for (name, d) in &s.domains {
        if let Some(default) = &d.default {
            let dk = format!("domain {name}");
            let origin = cx.origin(&format!("{dk} default"), &dk);
            check_default(cx, &d.base, default, origin, &format!("domain `{name}`"));
        }
    }
}

fn check_default(cx: &mut Cx, ty: &PgType, default: &SqlExpr, origin: Option<Origin>, what: &str) {
    let PgType::Named(name) = cx.resolve_domains(ty) else {
        return;
    };
    let Some(e) = cx.schema.enums.get(name) else {
        return;
    };
    let Some(label) = literal(default.as_str()) else {
        return;
    };
    if e.labels.contains(&label) {
        return;
    }
    let origin = cx.narrow(origin, &label);
    cx.push(
        Diagnostic::error(
            "schema::unknown_enum_label",
            format!(
                "default `{default}` of {what} is not a label of enum `{}`",
                e.name
            ),
        )
        .at_opt(origin.as_ref(), "not a label of the enum")
        .help(help(e, &label)),
    );
}

fn help(e: &EnumType, label: &str) -> String {
    match super::suggest(label, e.labels.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `'{s}'`?"),
        None if e.labels.is_empty() => format!("enum `{}` has no labels", e.name),
        None => format!(
            "the labels of `{}` are: {}",
            e.name,
            e.labels
                .iter()
                .map(|l| format!("'{l}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn rename_help(e: &EnumType, new: &str, old: &str) -> String {
    let form = "each entry is `new_label = \"old_label\"`";
    match super::suggest(new, e.labels.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`? ({form}, and `values` lists the new label)"),
        None => format!("list `{new}` in `values` where `{old}` was ({form})"),
    }
}

/// The string of a default written as a plain literal, optionally cast: `'draft'`,
/// `'draft'::status`, `('draft'::public.status)`. `None` for anything else.
fn literal(text: &str) -> Option<String> {
    let mut t = text.trim();
    while let Some(inner) = t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        t = inner.trim();
    }
    let rest = t.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    let end = loop {
        let (i, c) = chars.next()?;
        if c == '\'' {
            if rest[i + 1..].starts_with('\'') {
                out.push('\'');
                chars.next();
                continue;
            }
            break i + 1;
        }
        out.push(c);
    };
    let after = rest[end..].trim_start();
    let after = after.strip_suffix(')').map_or(after, str::trim_end);
    (after.is_empty() || after.starts_with("::")).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use super::literal;
    use crate::model::{EnumType, QualifiedName, SqlExpr};

    #[test]
    fn reads_literal_defaults() {
        assert_eq!(literal("'draft'").as_deref(), Some("draft"));
        assert_eq!(literal("'draft'::public.status").as_deref(), Some("draft"));
        assert_eq!(literal("('it''s'::status)").as_deref(), Some("it's"));
        assert_eq!(literal("now()"), None);
        assert_eq!(literal("'a' || 'b'"), None);
        assert_eq!(literal("'open"), None);
    }

    #[test]
    fn enum_rules() {
        let mut fx = Fx::new(concat!(
            "[enum.status]\nvalues = [\"draft\", \"sent\", \"draft\"]\n",
            "[enum.nothing]\nvalues = []\n",
            "[table.apps.columns]\nstate = { type = \"status\", default = \"'drfat'\" }\n",
            "ok = { type = \"status\", default = \"'sent'::status\" }\n",
        ));
        for (name, labels) in [
            ("status", vec!["draft", "sent", "draft"]),
            ("nothing", vec![]),
        ] {
            fx.schema.enums.insert(
                QualifiedName::public(name),
                EnumType {
                    name: QualifiedName::public(name),
                    labels: labels.into_iter().map(String::from).collect(),
                    comment: None,
                    renamed_from: None,
                    renamed_labels: Vec::new(),
                    rust_name: None,
                },
            );
        }
        let mut t = Fx::table("apps", &[("state", "status"), ("ok", "status")]);
        t.columns[0].default = Some(SqlExpr::new("'drfat'"));
        t.columns[1].default = Some(SqlExpr::new("'sent'::status"));
        fx.add_table(t);
        fx.key("enum public.status", "status")
            .key("enum public.status value 1", "\"draft\"")
            .key_nth("enum public.status value 3", "\"draft\"", 1)
            .key("enum public.nothing", "nothing")
            .key("table public.apps column state default", "\"'drfat'\"");
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::duplicate_enum_label] 2:28: enum `public.status` lists the label `draft` twice
          2:28 `"draft"` listed again here
          2:11 `"draft"` first listed here
          help: remove one of them
        error[schema::empty_enum] 3:7: enum `public.nothing` has no labels
          3:7 `nothing` no labels
          help: list its labels: `values = ["a", "b"]`, or remove the enum
        error[schema::unknown_enum_label] 6:39: default `'drfat'` of column `state` of table `public.apps` is not a label of enum `public.status`
          6:39 `'drfat'` not a label of the enum
          help: did you mean `'draft'`?
        "#);
    }
}
