//! Identity and generated-column rules, each a `CREATE TABLE` PostgreSQL refuses:
//! - `schema::identity_default`: an identity column with a default ("both default and identity
//!   specified");
//! - `schema::generated_default`: a generated column with a default ("both default and
//!   generation expression specified"), or with an identity as well;
//! - `schema::identity_type`: identity on a type other than `smallint`, `integer` or `bigint`
//!   ("identity column type must be smallint, integer, or bigint"; domains are refused too).

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::PgType;

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    for (name, t) in &cx.schema.tables {
        let tk = table_key(name);
        for c in &t.columns {
            let integer = matches!(c.ty, PgType::SmallInt | PgType::Integer | PgType::BigInt);
            let (has_identity, has_generated, has_default) = (
                c.identity.is_some(),
                c.generated.is_some(),
                c.default.is_some(),
            );
            // The names and places below are formatted only for a column that breaks a rule
            // (formatting them for every column was most of this check on big schemas).
            let breaks = (has_identity && (has_default || has_generated || !integer))
                || (has_generated && has_default);
            if !breaks {
                continue;
            }
            let ck = format!("{tk} column {}", c.name);
            let what = format!("column `{}` of table `{name}`", c.name);
            let default_origin = cx.origin(&format!("{ck} default"), &ck);
            if let (Some(_), Some(_)) = (&c.identity, &c.default) {
                let identity = cx.origins.get(&format!("{ck} identity")).cloned();
                cx.push(
                    Diagnostic::error(
                        "schema::identity_default",
                        format!("{what} is an identity column and also has a default"),
                    )
                    .at_opt(default_origin.as_ref(), "a default")
                    .also_opt(identity.as_ref(), "identity declared here")
                    .help(
                        "remove `default`: an identity column takes its values from its sequence",
                    ),
                );
            }
            if let (Some(_), Some(_)) = (&c.generated, &c.default) {
                let generated = cx.origins.get(&format!("{ck} generated")).cloned();
                cx.push(
                    Diagnostic::error(
                        "schema::generated_default",
                        format!("{what} is generated and also has a default"),
                    )
                    .at_opt(default_origin.as_ref(), "a default")
                    .also_opt(generated.as_ref(), "generation expression here")
                    .help(
                        "remove `default`: a generated column is always computed from `generated`",
                    ),
                );
            }
            if let (Some(_), Some(_)) = (&c.generated, &c.identity) {
                let origin = cx.origin(&format!("{ck} generated"), &ck);
                cx.push(
                    Diagnostic::error(
                        "schema::generated_default",
                        format!("{what} is both generated and an identity column"),
                    )
                    .at_opt(origin.as_ref(), "generation expression")
                    .help("keep either `generated` or `identity`"),
                );
            }
            if c.identity.is_some() && !integer {
                let origin = cx.origin(&format!("{ck} type"), &ck);
                cx.push(
                    Diagnostic::error(
                        "schema::identity_type",
                        format!("{what} is an identity column of type `{}`", c.ty),
                    )
                    .at_opt(origin.as_ref(), "not smallint, integer or bigint")
                    .help("declare the column as `bigint` (or `integer`, `smallint`), or drop `identity`; for UUID keys use `default = \"gen_random_uuid()\"`"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{Identity, SqlExpr};

    #[test]
    fn identity_and_generated_rules() {
        let mut fx = Fx::new(concat!(
            "[table.t.columns]\n",
            "a = { type = \"bigint\", identity = \"always\", default = \"0\" }\n",
            "b = { type = \"uuid\", identity = \"always\" }\n",
            "c = { type = \"int\", generated = \"a + 1\", default = \"1\" }\n",
            "d = { type = \"int\", identity = \"always\", generated = \"a + 2\" }\n",
            "e = { type = \"int\", default = \"3\" }\n",
        ));
        let mut t = Fx::table(
            "t",
            &[
                ("a", "bigint"),
                ("b", "uuid"),
                ("c", "int"),
                ("d", "int"),
                ("e", "int"),
            ],
        );
        t.columns[0].identity = Some(Identity::with_defaults(true, &t.columns[0].ty));
        t.columns[0].default = Some(SqlExpr::new("0"));
        t.columns[1].identity = Some(Identity::with_defaults(true, &t.columns[1].ty));
        t.columns[2].generated = Some(SqlExpr::new("a + 1"));
        t.columns[2].default = Some(SqlExpr::new("1"));
        t.columns[3].identity = Some(Identity::with_defaults(true, &t.columns[3].ty));
        t.columns[3].generated = Some(SqlExpr::new("a + 2"));
        t.columns[4].default = Some(SqlExpr::new("3"));
        fx.add_table(t);
        fx.key("table public.t column a default", "\"0\"")
            .key("table public.t column a identity", "\"always\"")
            .key("table public.t column b type", "\"uuid\"")
            .key("table public.t column c default", "\"1\"")
            .key("table public.t column c generated", "\"a + 1\"")
            .key("table public.t column d generated", "\"a + 2\"")
            .key("table public.t column e default", "\"3\"");
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::identity_default] 2:55: column `a` of table `public.t` is an identity column and also has a default
          2:55 `"0"` a default
          2:35 `"always"` identity declared here
          help: remove `default`: an identity column takes its values from its sequence
        error[schema::identity_type] 3:14: column `b` of table `public.t` is an identity column of type `uuid`
          3:14 `"uuid"` not smallint, integer or bigint
          help: declare the column as `bigint` (or `integer`, `smallint`), or drop `identity`; for UUID keys use `default = "gen_random_uuid()"`
        error[schema::generated_default] 4:52: column `c` of table `public.t` is generated and also has a default
          4:52 `"1"` a default
          4:33 `"a + 1"` generation expression here
          help: remove `default`: a generated column is always computed from `generated`
        error[schema::generated_default] 5:54: column `d` of table `public.t` is both generated and an identity column
          5:54 `"a + 2"` generation expression
          help: keep either `generated` or `identity`
        "#);
    }
}
