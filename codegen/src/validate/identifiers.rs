//! Rule `schema::name_too_long`: a name longer than PostgreSQL keeps ([`MAX_IDENT_BYTES`], 63
//! bytes). PostgreSQL silently truncates such identifiers (with only a NOTICE), so the database
//! would hold another name than the schema file and every comparison would report drift.
//!
//! Lowering already checks every name it reads as a plain identifier, at the name itself
//! (tables, views, enums and their labels, functions, columns, constraints, indexes, policies,
//! triggers, attributes, schemas, extensions), and the names it derives fit by construction
//! (`naming::make_object_name`). This rule covers the rest, so that nothing is reported twice:
//! the names of domains, composite types, sequences and collations, and the schema part of every
//! qualified name.

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{MAX_IDENT_BYTES, QualifiedName};
use std::collections::BTreeSet;

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    let s = cx.schema;
    // (what, name, origin key)
    let mut found: Vec<(String, String, String)> = Vec::new();
    let objects = s
        .domains
        .keys()
        .map(|n| ("domain", n))
        .chain(s.composites.keys().map(|n| ("composite", n)))
        .chain(s.sequences.keys().map(|n| ("sequence", n)))
        .chain(s.collations.keys().map(|n| ("collation", n)));
    for (kind, n) in objects {
        if n.name.as_str().len() > MAX_IDENT_BYTES {
            found.push((kind.to_owned(), n.name.to_string(), format!("{kind} {n}")));
        }
    }
    // The schema part, once per schema, at the first object that names it.
    let qualified = s
        .tables
        .keys()
        .map(|n| (table_key(n), n))
        .chain(s.views.keys().map(|n| (format!("view {n}"), n)))
        .chain(s.enums.keys().map(|n| (format!("enum {n}"), n)))
        .chain(s.domains.keys().map(|n| (format!("domain {n}"), n)))
        .chain(s.composites.keys().map(|n| (format!("composite {n}"), n)))
        .chain(s.sequences.keys().map(|n| (format!("sequence {n}"), n)))
        .chain(s.collations.keys().map(|n| (format!("collation {n}"), n)))
        .chain(
            s.functions
                .keys()
                .map(|id| (super::function_key(id), &id.name)),
        );
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (key, n) in qualified {
        let schema: &QualifiedName = n;
        let part = schema.schema.as_str();
        if part.len() > MAX_IDENT_BYTES && seen.insert(part) {
            found.push(("schema".to_owned(), part.to_owned(), key));
        }
    }
    for (what, value, key) in found {
        let origin = cx.narrow(cx.origins.get(&key).cloned(), &value);
        cx.push(
            Diagnostic::error(
                "schema::name_too_long",
                format!(
                    "{what} name `{value}` is {} bytes long; PostgreSQL keeps only {MAX_IDENT_BYTES}",
                    value.len()
                ),
            )
            .at_opt(origin.as_ref(), "too long")
            .help(format!(
                "shorten it (PostgreSQL would truncate it to `{}`)",
                truncate(&value)
            )),
        );
    }
}

/// The first [`MAX_IDENT_BYTES`] bytes of `name`, cut at a character boundary (what PostgreSQL
/// stores).
fn truncate(name: &str) -> &str {
    let mut n = MAX_IDENT_BYTES.min(name.len());
    while !name.is_char_boundary(n) {
        n -= 1;
    }
    &name[..n]
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{Domain, PgType, QualifiedName};

    #[test]
    fn long_domain_and_schema_names_are_reported() {
        let long = "a_very_long_domain_name_that_goes_on_and_on_past_the_limit_of_pg";
        assert_eq!(long.len(), 64);
        let mut fx = Fx::new(&format!("[domain.{long}]\ntype = \"text\"\n"));
        let name = QualifiedName::public(long);
        fx.schema.domains.insert(
            name.clone(),
            Domain {
                name,
                base: PgType::Text,
                collation: None,
                default: None,
                not_null: false,
                checks: vec![],
                comment: None,
            },
        );
        let mut t = Fx::table("t", &[("id", "uuid")]);
        t.name = QualifiedName::new(format!("s{long}"), "t");
        fx.add_table(t);
        fx.key(&format!("domain public.{long}"), long);
        insta::assert_snapshot!(fx.run(), @"
        error[schema::name_too_long] 1:9: domain name `a_very_long_domain_name_that_goes_on_and_on_past_the_limit_of_pg` is 64 bytes long; PostgreSQL keeps only 63
          1:9 `a_very_long_domain_name_that_goes_on_and_on_past_the_limit_of_pg` too long
          help: shorten it (PostgreSQL would truncate it to `a_very_long_domain_name_that_goes_on_and_on_past_the_limit_of_p`)
        error[schema::name_too_long]: schema name `sa_very_long_domain_name_that_goes_on_and_on_past_the_limit_of_pg` is 65 bytes long; PostgreSQL keeps only 63
          help: shorten it (PostgreSQL would truncate it to `sa_very_long_domain_name_that_goes_on_and_on_past_the_limit_of_`)
        ");
    }
}
