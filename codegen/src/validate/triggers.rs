//! Trigger rules:
//! - `schema::unknown_function`: the trigger function is not declared (as a function without
//!   arguments, which is how PostgreSQL looks it up). Functions in schemas this schema declares
//!   nothing in, in Supabase's schemas, in a schema where a declared extension lives (an
//!   extension such as `moddatetime` provides trigger functions), and PostgreSQL's built-in
//!   trigger functions are accepted as they are;
//! - `schema::trigger_function_return`: the declared function does not return `trigger` (or is
//!   a procedure);
//! - `schema::trigger_shape`: timing and level combinations PostgreSQL refuses (`INSTEAD OF` on
//!   a table, `INSTEAD OF … FOR EACH STATEMENT`, row-level `BEFORE`/`AFTER` on a view,
//!   `TRUNCATE … FOR EACH ROW`).

use super::{Cx, DiagnosticExt, function_key, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{FunctionKind, PgType, QualifiedName, Trigger, TriggerTiming};

/// PostgreSQL's own trigger functions (`pg_catalog`), usable unqualified.
const BUILTIN_TRIGGER_FUNCTIONS: &[&str] = &[
    "suppress_redundant_updates_trigger",
    "tsvector_update_trigger",
    "tsvector_update_trigger_column",
];

/// What a trigger is attached to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum On {
    Table,
    View,
    /// A table the application does not own.
    Attached,
}

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    let s = cx.schema;
    for (name, t) in &s.tables {
        let tk = table_key(name);
        for tr in &t.triggers {
            check_trigger(cx, &tk, tr, On::Table);
        }
    }
    for (name, v) in &s.views {
        let vk = format!("view {name}");
        for tr in &v.triggers {
            check_trigger(cx, &vk, tr, On::View);
        }
    }
    for (name, a) in &s.attached {
        let ak = format!("attached {name}");
        for tr in &a.triggers {
            check_trigger(cx, &ak, tr, On::Attached);
        }
    }
}

fn check_trigger(cx: &mut Cx, owner: &str, tr: &Trigger, on: On) {
    let key = format!("{owner} trigger {}", tr.name);
    let origin = cx.narrow(cx.origin(&key, owner), tr.name.as_str());
    let function_origin = cx.origin(&format!("{key} function"), &key);
    shape(cx, tr, on, origin.as_ref());
    let f = &tr.function;
    let candidates: Vec<_> = cx
        .schema
        .functions
        .values()
        .filter(|x| &x.id.name == f)
        .collect();
    match candidates.iter().find(|x| x.id.arg_types.is_empty()) {
        Some(func) => {
            let returns_trigger = func
                .returns
                .as_ref()
                .is_some_and(|r| !r.setof && r.ty == PgType::Builtin("trigger".into()));
            if func.kind == FunctionKind::Function && returns_trigger {
                return;
            }
            let declared = cx.origins.get(&function_key(&func.id)).cloned();
            let returns = match (&func.kind, &func.returns) {
                (FunctionKind::Procedure, _) => "is a procedure".to_owned(),
                (_, Some(r)) if r.setof => format!("returns `setof {}`", r.ty),
                (_, Some(r)) => format!("returns `{}`", r.ty),
                (_, None) => "returns nothing".to_owned(),
            };
            cx.push(
                Diagnostic::error(
                    "schema::trigger_function_return",
                    format!(
                        "trigger `{}` calls `{}`, which {returns} instead of returning `trigger`",
                        tr.name, func.id
                    ),
                )
                .at_opt(function_origin.as_ref(), "not a trigger function")
                .also_opt(declared.as_ref(), "declared here")
                .help(format!(
                    "declare `{}` with `returns = \"trigger\"` (and no arguments; trigger arguments arrive in TG_ARGV)",
                    f.name
                )),
            );
        }
        None => {
            if is_provided_elsewhere(cx, f) && candidates.is_empty() {
                return;
            }
            let narrowed = cx.narrow(function_origin, f.name.as_str());
            let help = if let Some(other) = candidates.first() {
                format!(
                    "`{}` takes arguments; a trigger function takes none (trigger arguments arrive in TG_ARGV)",
                    other.id
                )
            } else {
                let names: Vec<String> = cx
                    .schema
                    .functions
                    .keys()
                    .filter(|id| id.name.schema == f.schema)
                    .map(|id| id.name.name.to_string())
                    .collect();
                match super::suggest(f.name.as_str(), names.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "declare it: `[[function]] name = \"{}\"`, `returns = \"trigger\"`",
                        f.name
                    ),
                }
            };
            cx.push(
                Diagnostic::error(
                    "schema::unknown_function",
                    format!("trigger `{}` calls `{f}()`, which is not declared", tr.name),
                )
                .at_opt(narrowed.as_ref(), "no such trigger function")
                .help(help),
            );
        }
    }
}

/// True when the function may exist without being declared here (see the module docs).
fn is_provided_elsewhere(cx: &Cx, f: &QualifiedName) -> bool {
    let schema = f.schema.as_str();
    cx.is_external_schema(schema)
        || !cx.is_declared_schema(schema)
        || cx.has_extension_in(schema)
        || ((schema == "public" || schema == "pg_catalog")
            && BUILTIN_TRIGGER_FUNCTIONS.contains(&f.name.as_str()))
}

fn shape(cx: &mut Cx, tr: &Trigger, on: On, origin: Option<&crate::parse::Origin>) {
    let problem = match (tr.timing, on, tr.for_each_row) {
        (TriggerTiming::InsteadOf, On::Table | On::Attached, _) => Some((
            "tables cannot have INSTEAD OF triggers",
            "use `when = \"before\"` or `\"after\"`; INSTEAD OF is for views",
        )),
        (TriggerTiming::InsteadOf, On::View, false) => Some((
            "INSTEAD OF triggers must be FOR EACH ROW",
            "add `for_each = \"row\"`",
        )),
        (TriggerTiming::Before | TriggerTiming::After, On::View, true) => Some((
            "views cannot have row-level BEFORE or AFTER triggers",
            "use `when = \"instead_of\"` for a row-level view trigger, or `for_each = \"statement\"`",
        )),
        _ if tr.events.truncate && tr.for_each_row => Some((
            "TRUNCATE triggers cannot be FOR EACH ROW",
            "use `for_each = \"statement\"`, or a separate statement-level trigger for `truncate`",
        )),
        _ => None,
    };
    if let Some((message, help)) = problem {
        cx.push(
            Diagnostic::error(
                "schema::trigger_shape",
                format!("trigger `{}`: {message}", tr.name),
            )
            .at_opt(origin, "refused by PostgreSQL")
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{
        Function, FunctionBody, FunctionId, FunctionKind, FunctionReturn, ParallelSafety, PgType,
        QualifiedName, Trigger, TriggerEvents, TriggerFiring, TriggerTiming, Volatility,
    };

    fn trigger(name: &str, function: &str, timing: TriggerTiming) -> Trigger {
        Trigger {
            name: name.into(),
            timing,
            events: TriggerEvents {
                update: true,
                ..Default::default()
            },
            for_each_row: true,
            when: None,
            function: QualifiedName::parse(function, "public")
                .unwrap_or_else(|| QualifiedName::public(function)),
            args: vec![],
            constraint: None,
            old_table: None,
            new_table: None,
            firing: TriggerFiring::Origin,
            comment: None,
        }
    }

    fn function(name: &str, returns: PgType) -> Function {
        Function {
            id: FunctionId {
                name: QualifiedName::public(name),
                arg_types: vec![],
            },
            kind: FunctionKind::Function,
            args: vec![],
            returns: Some(FunctionReturn {
                setof: false,
                ty: returns,
            }),
            language: "plpgsql".into(),
            body: FunctionBody::Source("begin return new; end".into()),
            volatility: Volatility::Volatile,
            strict: false,
            security_definer: false,
            leakproof: false,
            parallel: ParallelSafety::Unsafe,
            cost: 100,
            rows: 0,
            config: vec![],
            grants: Default::default(),
            public_execute: true,
            comment: None,
        }
    }

    #[test]
    fn trigger_rules() {
        let mut fx = Fx::new(concat!(
            "[table.notes]\n",
            "trigger = { name = \"a\", function = \"set_updated_at\" }\n",
            "trigger = { name = \"b\", function = \"set_updatd_at\" }\n",
            "trigger = { name = \"c\", function = \"touch\", when = \"instead_of\" }\n",
            "trigger = { name = \"d\", function = \"extensions.moddatetime\" }\n",
            "[[function]]\nname = \"touch\"\nreturns = \"void\"\n",
        ));
        let mut t = Fx::table("notes", &[("id", "uuid")]);
        t.triggers = vec![
            trigger("a", "set_updated_at", TriggerTiming::Before),
            trigger("b", "set_updatd_at", TriggerTiming::Before),
            trigger("c", "touch", TriggerTiming::InsteadOf),
            trigger("d", "extensions.moddatetime", TriggerTiming::Before),
        ];
        fx.add_table(t);
        for f in [
            function("set_updated_at", PgType::Builtin("trigger".into())),
            function("touch", PgType::Builtin("void".into())),
        ] {
            fx.schema.functions.insert(f.id.clone(), f);
        }
        fx.key("table public.notes", "notes")
            .key("table public.notes trigger b", "{ name = \"b\"")
            .key("table public.notes trigger b function", "\"set_updatd_at\"")
            .key("table public.notes trigger c", "{ name = \"c\"")
            .key("table public.notes trigger c function", "\"touch\"")
            .key("function public.touch()", "[[function]]");
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::unknown_function] 3:36: trigger `b` calls `public.set_updatd_at()`, which is not declared
          3:36 `"set_updatd_at"` no such trigger function
          help: did you mean `set_updated_at`?
        error[schema::trigger_shape] 4:20: trigger `c`: tables cannot have INSTEAD OF triggers
          4:20 `"c"` refused by PostgreSQL
          help: use `when = "before"` or `"after"`; INSTEAD OF is for views
        error[schema::trigger_function_return] 4:36: trigger `c` calls `public.touch()`, which returns `void` instead of returning `trigger`
          4:36 `"touch"` not a trigger function
          6:1 `[[function]]` declared here
          help: declare `touch` with `returns = "trigger"` (and no arguments; trigger arguments arrive in TG_ARGV)
        "#);
    }
}
