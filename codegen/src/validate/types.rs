//! Rule `schema::unknown_type`: a column, domain, composite attribute or function argument whose
//! type names no enum, domain, composite type, table or view of the schema.
//!
//! The type parser turns every name it does not know as a built-in into a user-defined name
//! (`PgType::Named`), so a typo such as `txt` or `stauts` ends up here. The rule is lenient on
//! purpose, because a schema file does not declare everything that exists in a database: a name
//! is flagged only when it lives in a schema this schema declares objects in (not Supabase's
//! `auth` or `extensions`, not a schema only migrations know), and when no declared extension
//! could provide it (a known extension type such as `citext` with its extension declared, or any
//! name in a schema where a declared extension of unknown types is installed).

use super::{Cx, DiagnosticExt, function_key, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{PgType, QualifiedName};
use crate::parse::Origin;

/// Types that well-known extensions create, by extension.
const EXTENSION_TYPES: &[(&str, &[&str])] = &[
    ("citext", &["citext"]),
    ("hstore", &["hstore"]),
    ("ltree", &["ltree", "lquery", "ltxtquery"]),
    ("vector", &["vector", "halfvec", "sparsevec"]),
    (
        "postgis",
        &[
            "geometry",
            "geography",
            "box2d",
            "box3d",
            "geometry_dump",
            "valid_detail",
        ],
    ),
    ("cube", &["cube"]),
    ("seg", &["seg"]),
    (
        "isn",
        &[
            "ean13", "isbn", "isbn13", "ismn", "ismn13", "issn", "issn13", "upc",
        ],
    ),
    ("pg_trgm", &["gtrgm"]),
    ("btree_gist", &[]),
    ("btree_gin", &[]),
    ("pgcrypto", &[]),
    ("uuid-ossp", &[]),
    ("pg_stat_statements", &[]),
    ("pg_graphql", &[]),
    ("pgjwt", &[]),
    ("pg_cron", &[]),
    ("pg_net", &[]),
    ("moddatetime", &[]),
    ("unaccent", &[]),
    ("fuzzystrmatch", &[]),
    ("tablefunc", &[]),
    ("intarray", &["query_int"]),
];

/// Built-in type spellings offered as suggestions (a `txt` is most likely a `text`).
const BUILTIN_SPELLINGS: &[&str] = &[
    "bigint",
    "bigserial",
    "boolean",
    "bool",
    "bytea",
    "char",
    "date",
    "double precision",
    "float4",
    "float8",
    "inet",
    "int",
    "int2",
    "int4",
    "int8",
    "integer",
    "interval",
    "json",
    "jsonb",
    "numeric",
    "real",
    "serial",
    "smallint",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "tsvector",
    "uuid",
    "varchar",
];

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    let s = cx.schema;
    for (name, t) in &s.tables {
        let tk = table_key(name);
        for c in &t.columns {
            let ck = format!("{tk} column {}", c.name);
            let origin = cx.origin(&format!("{ck} type"), &ck);
            check_type(
                cx,
                &c.ty,
                origin,
                &format!("column `{}` of table `{name}`", c.name),
            );
        }
    }
    for (name, d) in &s.domains {
        let dk = format!("domain {name}");
        let origin = cx.origin(&format!("{dk} type"), &dk);
        check_type(cx, &d.base, origin, &format!("domain `{name}`"));
    }
    for (name, c) in &s.composites {
        let ck = format!("composite {name}");
        for a in &c.attributes {
            let origin = cx.origin(&format!("{ck} attribute {}", a.name), &ck);
            check_type(
                cx,
                &a.ty,
                origin,
                &format!("attribute `{}` of `{name}`", a.name),
            );
        }
    }
    for (id, f) in &s.functions {
        let fk = function_key(id);
        for (i, a) in f.args.iter().enumerate() {
            let origin = cx.origin(&format!("{fk} argument {}", i + 1), &fk);
            let what = match &a.name {
                Some(n) => format!("argument `{n}` of function `{}`", id.name),
                None => format!("argument {} of function `{}`", i + 1, id.name),
            };
            check_type(cx, &a.ty, origin, &what);
        }
        if let Some(r) = &f.returns {
            let origin = cx.origin(&format!("{fk} returns"), &fk);
            check_type(
                cx,
                &r.ty,
                origin,
                &format!("the result of function `{}`", id.name),
            );
        }
    }
}

fn check_type(cx: &mut Cx, ty: &PgType, origin: Option<Origin>, what: &str) {
    let Some(name) = ty.named() else {
        return;
    };
    if is_known(cx, name) || !cx.is_declared_schema(name.schema.as_str()) {
        return;
    }
    if cx.is_external_schema(name.schema.as_str()) || could_come_from_extension(cx, name) {
        return;
    }
    let origin = cx.narrow(origin, name.name.as_str());
    let mut candidates: Vec<String> = user_types(cx)
        .filter(|q| q.schema == name.schema)
        .map(|q| q.name.to_string())
        .collect();
    candidates.extend(BUILTIN_SPELLINGS.iter().map(|s| (*s).to_owned()));
    let suggestion = super::suggest(name.name.as_str(), candidates.iter().map(String::as_str));
    let needed_extension = EXTENSION_TYPES
        .iter()
        .find(|(_, types)| types.contains(&name.name.as_str()))
        .map(|(ext, _)| *ext);
    let help = match (suggestion, needed_extension) {
        (_, Some(ext)) => format!(
            "`{}` comes from the `{ext}` extension: declare it with `[extension.{ext}]`",
            name.name
        ),
        (Some(s), None) => format!("did you mean `{s}`?"),
        (None, None) => {
            format!("declare `{name}` as an enum, domain or composite type, or use a built-in type")
        }
    };
    cx.push(
        Diagnostic::error(
            "schema::unknown_type",
            format!("unknown type `{name}` for {what}"),
        )
        .at_opt(
            origin.as_ref(),
            "no enum, domain, composite type or table of this name",
        )
        .help(help),
    );
}

/// Every name of a type the schema defines: enums, domains, composites, and the row types of
/// tables and views.
fn user_types<'a>(cx: &Cx<'a>) -> impl Iterator<Item = &'a QualifiedName> {
    let s = cx.schema;
    s.enums
        .keys()
        .chain(s.domains.keys())
        .chain(s.composites.keys())
        .chain(s.tables.keys())
        .chain(s.views.keys())
}

fn is_known(cx: &Cx, name: &QualifiedName) -> bool {
    let s = cx.schema;
    s.enums.contains_key(name)
        || s.domains.contains_key(name)
        || s.composites.contains_key(name)
        || s.tables.contains_key(name)
        || s.views.contains_key(name)
}

/// True when a declared extension may create `name`: a known type of a declared extension
/// (wherever the schema file put it: Supabase keeps `extensions` on the search path), or any name
/// in the schema of a declared extension whose types this list does not know.
fn could_come_from_extension(cx: &Cx, name: &QualifiedName) -> bool {
    cx.schema.extensions.values().any(|e| {
        match EXTENSION_TYPES
            .iter()
            .find(|(ext, _)| *ext == e.name.as_str())
        {
            Some((_, types)) => types.contains(&name.name.as_str()),
            None => e.schema == name.schema || name.schema.as_str() == "public",
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{EnumType, Extension, Ident, QualifiedName};

    fn users(ty: &str) -> Fx {
        let mut fx = Fx::new("[table.users.columns]\nstate = \"stauts\"\nemail = \"citext\"\n");
        fx.add_table(Fx::table("users", &[("state", ty)]));
        fx.key("table public.users column state type", "\"stauts\"");
        fx.schema.enums.insert(
            QualifiedName::public("status"),
            EnumType {
                name: QualifiedName::public("status"),
                labels: vec!["a".into()],
                comment: None,
                renamed_from: None,
                rust_name: None,
                renamed_labels: Vec::new(),
            },
        );
        fx
    }

    #[test]
    fn misspelt_enum_is_unknown_with_a_suggestion() {
        insta::assert_snapshot!(users("stauts").run(), @r#"
        error[schema::unknown_type] 2:9: unknown type `public.stauts` for column `state` of table `public.users`
          2:9 `"stauts"` no enum, domain, composite type or table of this name
          help: did you mean `status`?
        "#);
    }

    #[test]
    fn arrays_of_known_types_pass() {
        assert_eq!(users("status[]").run(), "");
        assert_eq!(users("text").run(), "");
    }

    #[test]
    fn other_schemas_are_left_alone() {
        assert_eq!(users("extensions.citext").run(), "");
        assert_eq!(users("auth.whatever").run(), "");
    }

    #[test]
    fn extension_types_need_their_extension() {
        let mut fx = users("citext");
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::unknown_type] 2:9: unknown type `public.citext` for column `state` of table `public.users`
          2:9 `"stauts"` no enum, domain, composite type or table of this name
          help: `citext` comes from the `citext` extension: declare it with `[extension.citext]`
        "#);
        fx.schema.extensions.insert(
            Ident::new("citext"),
            Extension {
                name: Ident::new("citext"),
                schema: Ident::new("extensions"),
                version: None,
                comment: None,
            },
        );
        assert_eq!(fx.run(), "");
    }

    #[test]
    fn typo_of_a_builtin_suggests_it() {
        insta::assert_snapshot!(users("txt").run(), @r#"
        error[schema::unknown_type] 2:9: unknown type `public.txt` for column `state` of table `public.users`
          2:9 `"stauts"` no enum, domain, composite type or table of this name
          help: did you mean `text`?
        "#);
    }
}
