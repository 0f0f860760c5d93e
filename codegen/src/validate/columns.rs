//! Rule `schema::unknown_column`: a primary key, unique constraint, index, `INCLUDE` list,
//! foreign key, trigger `UPDATE OF` list, sequence `OWNED BY` or replica identity that names a
//! column (or index) the table does not have; and rule `schema::repeated_column`: a column listed
//! twice in one primary key or unique constraint (PostgreSQL: "column appears twice in primary
//! key constraint").
//!
//! Columns inherited from a declared parent (partitions, `INHERITS`) count as the table's own;
//! a table whose parent is not declared is skipped, since its columns are not all known.

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{Ident, IndexKey, ReplicaIdentity, Table};
use std::collections::BTreeSet;

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    let s = cx.schema;
    for t in s.tables.values() {
        if cx.has_unknown_parent(t) {
            continue;
        }
        let tk = table_key(&t.name);
        if let Some(pk) = &t.primary_key {
            let key = format!("{tk} primary key");
            columns(cx, t, &key, "columns", &pk.columns, "the primary key");
            columns(
                cx,
                t,
                &key,
                "include",
                &pk.include,
                "the `INCLUDE` list of the primary key",
            );
            repeated(cx, &key, &pk.columns, "the primary key");
        }
        for u in &t.uniques {
            let key = format!("{tk} unique {}", u.name);
            let what = format!("unique constraint `{}`", u.name);
            columns(cx, t, &key, "columns", &u.columns, &what);
            columns(
                cx,
                t,
                &key,
                "include",
                &u.include,
                &format!("the `INCLUDE` list of {what}"),
            );
            repeated(cx, &key, &u.columns, &what);
        }
        for i in &t.indexes {
            let key = format!("{tk} index {}", i.name);
            let what = format!("index `{}`", i.name);
            let keys: Vec<Ident> = i
                .keys
                .iter()
                .filter_map(|k| match &k.key {
                    IndexKey::Column(c) => Some(c.clone()),
                    IndexKey::Expr(_) => None,
                })
                .collect();
            columns(cx, t, &key, "columns", &keys, &what);
            columns(
                cx,
                t,
                &key,
                "include",
                &i.include,
                &format!("the `INCLUDE` list of {what}"),
            );
        }
        for f in &t.foreign_keys {
            let key = format!("{tk} foreign key {}", f.name);
            columns(
                cx,
                t,
                &key,
                "columns",
                &f.columns,
                &format!("foreign key `{}`", f.name),
            );
        }
        for tr in &t.triggers {
            let key = format!("{tk} trigger {}", tr.name);
            let what = format!("`UPDATE OF` of trigger `{}`", tr.name);
            columns(cx, t, &key, "of", &tr.events.update_columns, &what);
        }
        if let ReplicaIdentity::Index(index) = &t.replica_identity {
            let known = t.indexes.iter().any(|i| &i.name == index)
                || t.uniques.iter().any(|u| &u.name == index)
                || t.primary_key.as_ref().is_some_and(|p| &p.name == index);
            if !known {
                let origin = cx.narrow(
                    cx.origin(&format!("{tk} replica identity"), &tk),
                    index.as_str(),
                );
                let names = t
                    .indexes
                    .iter()
                    .map(|i| i.name.as_str())
                    .chain(t.uniques.iter().map(|u| u.name.as_str()))
                    .chain(t.primary_key.iter().map(|p| p.name.as_str()));
                let help = match super::suggest(index.as_str(), names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "name a unique index of the table, or use `replica_identity = \"full\"`"
                            .to_owned()
                    }
                };
                cx.push(
                    Diagnostic::error(
                        "schema::unknown_column",
                        format!(
                            "table `{}` has no index `{index}` for its replica identity",
                            t.name
                        ),
                    )
                    .at_opt(origin.as_ref(), "no such index")
                    .help(help),
                );
            }
        }
    }
    for (name, seq) in &s.sequences {
        let Some((table, column)) = &seq.owned_by else {
            continue;
        };
        let key = format!("sequence {name}");
        let Some(t) = s.tables.get(table) else {
            if !cx.is_external_schema(table.schema.as_str()) {
                let origin = cx.origin(&key, &key);
                let origin = cx
                    .find(origin.as_ref(), "owned_by", table.name.as_str())
                    .or(origin);
                cx.push(
                    Diagnostic::error(
                        "schema::unknown_table",
                        format!(
                            "sequence `{name}` is owned by table `{table}`, which is not declared"
                        ),
                    )
                    .at_opt(origin.as_ref(), "no such table")
                    .help("declare the table, fix the name, or remove `owned_by`"),
                );
            }
            continue;
        };
        if cx.has_unknown_parent(t) {
            continue;
        }
        let what = format!("`OWNED BY` of sequence `{name}`");
        columns(cx, t, &key, "owned_by", std::slice::from_ref(column), &what);
    }
}

/// Reports each name of `names` that is not a column of `table`. `marker` is the key in the
/// declaration after which the names are written (`include`, `of`), to point at the right one.
fn columns(cx: &mut Cx, table: &Table, key: &str, marker: &str, names: &[Ident], what: &str) {
    let all = cx.all_columns(table);
    for name in names {
        if all.iter().any(|c| &c.name == name) {
            continue;
        }
        let tk = table_key(&table.name);
        let whole = cx.origin(key, &tk);
        let origin = cx
            .find(whole.as_ref(), marker, name.as_str())
            .or_else(|| cx.find(whole.as_ref(), "", name.as_str()))
            .or(whole);
        let help = match super::suggest(name.as_str(), all.iter().map(|c| c.name.as_str())) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the columns of `{}` are: {}",
                table.name,
                all.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        cx.push(
            Diagnostic::error(
                "schema::unknown_column",
                format!(
                    "column `{name}` named in {what} does not exist in table `{}`",
                    table.name
                ),
            )
            .at_opt(origin.as_ref(), "no such column")
            .help(help),
        );
    }
}

/// Reports a column listed twice in one key.
fn repeated(cx: &mut Cx, key: &str, names: &[Ident], what: &str) {
    let mut seen = BTreeSet::new();
    for name in names {
        if seen.insert(name) {
            continue;
        }
        let whole = cx.origins.get(key).cloned();
        let origin = cx.find_nth(whole.as_ref(), "", name.as_str(), 1).or(whole);
        cx.push(
            Diagnostic::error(
                "schema::repeated_column",
                format!("column `{name}` appears twice in {what}"),
            )
            .at_opt(origin.as_ref(), "listed twice here")
            .help("list each column once"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{
        Index, IndexColumn, IndexKey, PrimaryKey, Trigger, TriggerEvents, TriggerFiring,
        TriggerTiming,
    };

    #[test]
    fn key_include_and_update_of_columns_must_exist() {
        let mut fx = Fx::new(concat!(
            "[table.users]\n",
            "primary_key = { columns = [\"id\", \"id\"], include = [\"emial\"] }\n",
            "index = { columns = [\"email\", \"nmae\"] }\n",
            "trigger = { of = [\"email\", \"zzz\"] }\n",
        ));
        let mut t = Fx::table(
            "users",
            &[("id", "uuid"), ("email", "text"), ("name", "text")],
        );
        t.primary_key = Some(PrimaryKey {
            name: "users_pkey".into(),
            columns: vec!["id".into(), "id".into()],
            include: vec!["emial".into()],
            deferrable: Default::default(),
            comment: None,
            renamed_from: None,
        });
        t.indexes.push(Index {
            name: "users_idx".into(),
            unique: false,
            nulls_not_distinct: false,
            method: "btree".into(),
            keys: ["email", "nmae"]
                .iter()
                .map(|c| IndexColumn {
                    key: IndexKey::Column((*c).into()),
                    collation: None,
                    opclass: None,
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
            include: vec![],
            predicate: None,
            options: vec![],
            comment: None,
            renamed_from: None,
        });
        t.triggers.push(Trigger {
            name: "t".into(),
            timing: TriggerTiming::Before,
            events: TriggerEvents {
                update: true,
                update_columns: vec!["email".into(), "zzz".into()],
                ..Default::default()
            },
            for_each_row: true,
            when: None,
            function: crate::model::QualifiedName::new("extensions", "moddatetime"),
            args: vec![],
            constraint: None,
            old_table: None,
            new_table: None,
            firing: TriggerFiring::Origin,
            comment: None,
        });
        fx.add_table(t);
        fx.key("table public.users", "users")
            .key(
                "table public.users primary key",
                "{ columns = [\"id\", \"id\"], include = [\"emial\"] }",
            )
            .key(
                "table public.users index users_idx",
                "{ columns = [\"email\", \"nmae\"] }",
            )
            .key(
                "table public.users trigger t",
                "{ of = [\"email\", \"zzz\"] }",
            );
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::repeated_column] 2:34: column `id` appears twice in the primary key
          2:34 `"id"` listed twice here
          help: list each column once
        error[schema::unknown_column] 2:52: column `emial` named in the `INCLUDE` list of the primary key does not exist in table `public.users`
          2:52 `"emial"` no such column
          help: did you mean `email`?
        error[schema::unknown_column] 3:31: column `nmae` named in index `users_idx` does not exist in table `public.users`
          3:31 `"nmae"` no such column
          help: did you mean `name`?
        error[schema::unknown_column] 4:28: column `zzz` named in `UPDATE OF` of trigger `t` does not exist in table `public.users`
          4:28 `"zzz"` no such column
          help: the columns of `public.users` are: id, email, name
        "#);
    }
}
