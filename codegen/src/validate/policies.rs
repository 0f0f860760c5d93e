//! Row-level security rules:
//! - `schema::policy_without_rls` (warning): a table has policies but row-level security is not
//!   enabled, so PostgreSQL ignores them and every role with table privileges sees every row;
//! - `schema::policy_clause`: a clause PostgreSQL refuses for the policy's command (`WITH CHECK`
//!   on `SELECT` or `DELETE`: "WITH CHECK cannot be applied to SELECT or DELETE"; `USING` on
//!   `INSERT`: "only WITH CHECK expression allowed for INSERT").
//!
//! Policies on tables the application does not own (`attached`) are checked for their clauses
//! only: whether the owner enabled row-level security is not declared here.

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{Policy, PolicyCommand};

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    let s = cx.schema;
    for (name, t) in &s.tables {
        let tk = table_key(name);
        if let (false, Some(first)) = (t.row_security.enabled, t.policies.first()) {
            let here = cx.origin(&format!("{tk} policy {}", first.name), &tk);
            let here = cx.narrow(here, first.name.as_str());
            let table = cx.origins.get(&tk).cloned();
            let count = t.policies.len();
            cx.push(
                Diagnostic::warning(
                    "schema::policy_without_rls",
                    format!(
                        "table `{name}` has {count} polic{} but row-level security is not enabled",
                        if count == 1 { "y" } else { "ies" }
                    ),
                )
                .at_opt(here.as_ref(), "this policy has no effect")
                .also_opt(table.as_ref(), "row-level security is off for this table")
                .help(format!(
                    "add `rls = true` to `[table.{}]`; without it PostgreSQL ignores the policies",
                    name.name
                )),
            );
        }
        for p in &t.policies {
            clauses(cx, &tk, p);
        }
    }
    for (name, a) in &s.attached {
        let ak = format!("attached {name}");
        for p in &a.policies {
            clauses(cx, &ak, p);
        }
    }
}

fn clauses(cx: &mut Cx, owner: &str, p: &Policy) {
    let pk = format!("{owner} policy {}", p.name);
    let cmd = p.command.sql();
    if p.with_check.is_some() && matches!(p.command, PolicyCommand::Select | PolicyCommand::Delete)
    {
        let origin = cx.origin(&format!("{pk} with check"), &pk);
        cx.push(
            Diagnostic::error(
                "schema::policy_clause",
                format!("policy `{}` is for {cmd}, which cannot have WITH CHECK", p.name),
            )
            .at_opt(origin.as_ref(), "not allowed for this command")
            .help(format!(
                "{cmd} only filters existing rows: move the condition to `using`, or remove `with_check`"
            )),
        );
    }
    if p.using.is_some() && p.command == PolicyCommand::Insert {
        let origin = cx.origin(&format!("{pk} using"), &pk);
        cx.push(
            Diagnostic::error(
                "schema::policy_clause",
                format!("policy `{}` is for INSERT, which cannot have USING", p.name),
            )
            .at_opt(origin.as_ref(), "not allowed for this command")
            .help("INSERT only checks new rows: move the condition to `with_check`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{Policy, PolicyCommand, SqlExpr};

    fn policy(name: &str, command: PolicyCommand, using: bool, check: bool) -> Policy {
        Policy {
            name: name.into(),
            command,
            permissive: true,
            roles: vec!["authenticated".into()],
            using: using.then(|| SqlExpr::new("true")),
            with_check: check.then(|| SqlExpr::new("true")),
            comment: None,
        }
    }

    #[test]
    fn policy_rules() {
        let mut fx = Fx::new(concat!(
            "[table.notes]\n",
            "policy = { name = \"read\", using = \"true\", with_check = \"true\" }\n",
            "policy = { name = \"add\", using = \"true\" }\n",
        ));
        let mut t = Fx::table("notes", &[("id", "uuid")]);
        t.policies = vec![
            policy("add", PolicyCommand::Insert, true, false),
            policy("read", PolicyCommand::Select, true, true),
        ];
        fx.add_table(t);
        fx.key("table public.notes", "notes")
            .key("table public.notes policy read", "{ name = \"read\"")
            .key(
                "table public.notes policy read with check",
                "with_check = \"true\"",
            )
            .key("table public.notes policy add", "{ name = \"add\"")
            .key_nth("table public.notes policy add using", "using = \"true\"", 1);
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::policy_clause] 2:43: policy `read` is for SELECT, which cannot have WITH CHECK
          2:43 `with_check = "true"` not allowed for this command
          help: SELECT only filters existing rows: move the condition to `using`, or remove `with_check`
        warning[schema::policy_without_rls] 3:19: table `public.notes` has 2 policies but row-level security is not enabled
          3:19 `"add"` this policy has no effect
          1:8 `notes` row-level security is off for this table
          help: add `rls = true` to `[table.notes]`; without it PostgreSQL ignores the policies
        error[schema::policy_clause] 3:26: policy `add` is for INSERT, which cannot have USING
          3:26 `using = "true"` not allowed for this command
          help: INSERT only checks new rows: move the condition to `with_check`
        "#);
    }
}
