//! Rule `schema::rust_name_clash`: two things that would get the same Rust name in the
//! generated crate, which would not compile. Names come from [`crate::naming`], the one place
//! that decides them, or from the schema's Rust hints:
//! - table structs (`rust.struct_name`, else the table name in PascalCase) and enum types
//!   (`rust_name`, else the enum name in PascalCase) of one schema: the generated crate puts the
//!   types of schema `app` in a module `app` ([`rust_path`]), so `app.users` and
//!   `public.users` do not clash;
//! - the fields of one table (`rust.field`, else the column name in snake_case);
//! - the variants of one enum (the label in PascalCase).
//!
//! Rule `schema::invalid_rust_name`: a Rust hint that is not a usable identifier.
//!
//! Names PostgreSQL itself keeps apart only by spelling (`job_posting`, `JobPosting`) are the
//! usual cause. Exactly equal names are `duplicates`' and `enums`' business, not reported again.

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::naming::{field_name, is_rust_keyword, type_name};
use std::collections::BTreeMap;

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    types(cx);
    fields(cx);
    variants(cx);
}

/// One named thing and the Rust name it gets.
struct Named {
    rust: String,
    sql: String,
    what: String,
    key: String,
    hinted: bool,
}

fn report_clashes(cx: &mut Cx, items: Vec<Named>, help: &dyn Fn(&Named) -> String) {
    let mut by_rust: BTreeMap<&str, Vec<&Named>> = BTreeMap::new();
    for n in &items {
        by_rust.entry(n.rust.as_str()).or_default().push(n);
    }
    let mut out = Vec::new();
    for (rust, mut group) in by_rust {
        group.sort_by_key(|n| {
            cx.origins
                .get(&n.key)
                .map_or((usize::MAX, usize::MAX), |o| (o.file.0, o.span.start))
        });
        let first = group[0];
        for other in &group[1..] {
            // Equal SQL names are a duplicate, reported as such by `duplicates` or `enums`.
            if other.sql == first.sql {
                continue;
            }
            let here = cx.origins.get(&other.key).cloned();
            let there = cx.origins.get(&first.key).cloned();
            out.push(
                Diagnostic::error(
                    "schema::rust_name_clash",
                    format!(
                        "{} and {} both become `{rust}` in Rust",
                        first.what, other.what
                    ),
                )
                .at_opt(here.as_ref(), format!("becomes `{rust}`"))
                .also_opt(there.as_ref(), format!("also becomes `{rust}`"))
                .help(help(other)),
            );
        }
    }
    for d in out {
        cx.push(d);
    }
}

/// The Rust path of a table's struct or an enum's type: `Name` for `public`, `schema::Name`
/// for other schemas (one module per schema).
pub(crate) fn rust_path(name: &crate::model::QualifiedName, hint: Option<&str>) -> String {
    let ty = hint.map_or_else(|| type_name(name.name.as_str()), str::to_owned);
    if name.schema.as_str() == "public" {
        ty
    } else {
        format!("{}::{ty}", field_name(name.schema.as_str()))
    }
}

fn types(cx: &mut Cx) {
    let s = cx.schema;
    let mut items = Vec::new();
    for (name, t) in &s.tables {
        let hint = t.rust.struct_name.as_deref();
        if let Some(h) = hint {
            invalid_hint(cx, h, &table_key(name), "struct_name", false);
        }
        items.push(Named {
            rust: rust_path(name, hint),
            sql: name.to_string(),
            what: format!("table `{name}`"),
            key: table_key(name),
            hinted: hint.is_some(),
        });
    }
    for (name, e) in &s.enums {
        let hint = e.rust_name.as_deref();
        let key = format!("enum {name}");
        if let Some(h) = hint {
            invalid_hint(cx, h, &key, "rust_name", false);
        }
        items.push(Named {
            rust: rust_path(name, hint),
            sql: name.to_string(),
            what: format!("enum `{name}`"),
            key,
            hinted: hint.is_some(),
        });
    }
    report_clashes(cx, items, &|n| {
        if n.what.starts_with("table") {
            format!(
                "give one a distinct name: `rust = {{ struct_name = \"...\" }}` on {}{}",
                n.what,
                if n.hinted {
                    " (its struct_name is already set)"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "give one a distinct name: `rust_name = \"...\"` on {}",
                n.what
            )
        }
    });
}

fn fields(cx: &mut Cx) {
    for (name, t) in &cx.schema.tables {
        let tk = table_key(name);
        let rust: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let hint = c.rust.field_name.as_deref();
                if let Some(h) = hint {
                    invalid_hint(cx, h, &format!("{tk} column {}", c.name), "field", true);
                }
                hint.map_or_else(|| field_name(c.name.as_str()), str::to_owned)
            })
            .collect();
        // The texts of a report are formatted only for a table where two columns get one
        // field name (for every column of a big schema they were most of this check).
        let mut seen = std::collections::HashSet::new();
        if rust.iter().all(|r| seen.insert(r.as_str())) {
            continue;
        }
        let mut items = Vec::new();
        for (c, rust) in t.columns.iter().zip(rust) {
            items.push(Named {
                rust,
                sql: c.name.to_string(),
                what: format!("column `{}`", c.name),
                key: format!("{tk} column {}", c.name),
                hinted: c.rust.field_name.is_some(),
            });
        }
        let table = name.clone();
        report_clashes(cx, items, &|n| {
            format!(
                "set a distinct field name on one of them: `rust = {{ field = \"...\" }}` on {} of `{table}`",
                n.what
            )
        });
    }
}

fn variants(cx: &mut Cx) {
    for (name, e) in &cx.schema.enums {
        let items = e
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| Named {
                rust: type_name(l),
                sql: l.clone(),
                what: format!("label `{l}`"),
                key: format!("enum {name} value {}", i + 1),
                hinted: false,
            })
            .collect();
        let enum_name = name.clone();
        report_clashes(cx, items, &|_| {
            format!(
                "rename one of the labels of `{enum_name}`: Rust variant names come from the labels"
            )
        });
    }
}

/// Reports a Rust-name hint that is not an identifier (or is a keyword, for type names, where
/// `r#` is not allowed in generated code). Field names may be raw identifiers (`r#type`).
fn invalid_hint(cx: &mut Cx, hint: &str, key: &str, field: &str, allow_raw: bool) {
    let (bare, raw) = match hint.strip_prefix("r#") {
        Some(bare) if allow_raw => (bare, true),
        _ => (hint, false),
    };
    let mut chars = bare.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    let ident = starts_well && chars.all(|c| c.is_alphanumeric() || c == '_') && bare != "_";
    // `r#` makes most keywords usable, but not these.
    let keyword = if raw {
        matches!(bare, "crate" | "self" | "Self" | "super")
    } else {
        is_rust_keyword(bare)
    };
    if ident && !keyword {
        return;
    }
    let origin = cx
        .find(cx.origins.get(key), "", hint)
        .or_else(|| cx.origins.get(key).cloned());
    let reason = if ident {
        "is a Rust keyword"
    } else {
        "is not a Rust identifier"
    };
    cx.push(
        Diagnostic::error(
            "schema::invalid_rust_name",
            format!("the Rust name `{hint}` ({field}) {reason}"),
        )
        .at_opt(origin.as_ref(), "not usable in Rust")
        .help("use letters, digits and `_`, not starting with a digit, and not a keyword"),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{EnumType, QualifiedName};

    #[test]
    fn clashing_rust_names() {
        let mut fx = Fx::new(concat!(
            "[table.job_posting]\n[table.JobPosting]\n",
            "[table.users.columns]\ncreatedAt = \"text\"\ncreated_at = \"text\"\n",
            "[enum.state]\nvalues = [\"in-progress\", \"in_progress\"]\n",
        ));
        fx.add_table(Fx::table("job_posting", &[("id", "uuid")]))
            .add_table(Fx::table("JobPosting", &[("id", "uuid")]))
            .add_table(Fx::table(
                "users",
                &[("createdAt", "text"), ("created_at", "text")],
            ));
        fx.schema.enums.insert(
            QualifiedName::public("state"),
            EnumType {
                name: QualifiedName::public("state"),
                labels: vec!["in-progress".into(), "in_progress".into()],
                comment: None,
                renamed_from: None,
                rust_name: None,
                renamed_labels: Vec::new(),
            },
        );
        fx.key("table public.job_posting", "job_posting")
            .key("table public.\"JobPosting\"", "JobPosting")
            .key("table public.users column \"createdAt\"", "createdAt")
            .key("table public.users column created_at", "created_at")
            .key("enum public.state value 1", "\"in-progress\"")
            .key("enum public.state value 2", "\"in_progress\"");
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::rust_name_clash] 2:8: table `public.job_posting` and table `public."JobPosting"` both become `JobPosting` in Rust
          2:8 `JobPosting` becomes `JobPosting`
          1:8 `job_posting` also becomes `JobPosting`
          help: give one a distinct name: `rust = { struct_name = "..." }` on table `public."JobPosting"`
        error[schema::rust_name_clash] 5:1: column `"createdAt"` and column `created_at` both become `created_at` in Rust
          5:1 `created_at` becomes `created_at`
          4:1 `createdAt` also becomes `created_at`
          help: set a distinct field name on one of them: `rust = { field = "..." }` on column `created_at` of `public.users`
        error[schema::rust_name_clash] 7:26: label `in-progress` and label `in_progress` both become `InProgress` in Rust
          7:26 `"in_progress"` becomes `InProgress`
          7:11 `"in-progress"` also becomes `InProgress`
          help: rename one of the labels of `public.state`: Rust variant names come from the labels
        "#);
    }

    #[test]
    fn hints_must_be_identifiers() {
        let mut fx = Fx::new("[table.users]\nrust = { struct_name = \"User Row\" }\n");
        let mut t = Fx::table("users", &[("type", "text")]);
        t.rust.struct_name = Some("User Row".into());
        t.columns[0].rust.field_name = Some("r#type".into());
        fx.add_table(t);
        fx.key(
            "table public.users",
            "[table.users]\nrust = { struct_name = \"User Row\" }",
        );
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::invalid_rust_name] 2:24: the Rust name `User Row` (struct_name) is not a Rust identifier
          2:24 `"User Row"` not usable in Rust
          help: use letters, digits and `_`, not starting with a digit, and not a keyword
        "#);
    }
}
