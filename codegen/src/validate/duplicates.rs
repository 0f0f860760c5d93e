//! Rule `schema::duplicate`: an object declared twice, or two objects whose names collide in one
//! PostgreSQL namespace.
//!
//! Declarations of the same key come from [`crate::parse::Origins::duplicates`]. Collisions
//! between different kinds of object come from the model, per namespace as PostgreSQL has them:
//! - relations of a schema: tables, views, sequences, indexes, and the indexes behind primary
//!   key, unique and exclusion constraints (`pg_class`);
//! - types of a schema: enums, domains, composite types, and the row type every table and view
//!   gets (`pg_type`);
//! - constraints of a table (`pg_constraint`, unique per relation), and of a domain;
//! - policies, triggers and columns of a table.

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::parse::Origin;
use std::collections::{BTreeMap, BTreeSet};

/// Which namespace a name lives in, for the help line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Space {
    Relation,
    Type,
    Constraint,
    Policy,
    Trigger,
    Column,
}

impl Space {
    fn help(self) -> &'static str {
        match self {
            Space::Relation => {
                "tables, views, sequences, indexes and the indexes behind primary key, unique and \
                 exclusion constraints share one namespace per schema in PostgreSQL; rename one \
                 of them"
            }
            Space::Type => {
                "every table and view also defines a row type of its name, in the namespace of \
                 enums, domains and composite types; rename one of them"
            }
            Space::Constraint => "constraint names must be unique per table; rename one of them",
            Space::Policy => "policy names must be unique per table; rename one of them",
            Space::Trigger => "trigger names must be unique per table; rename one of them",
            Space::Column => "a table cannot have two columns of the same name; rename one",
        }
    }
}

/// Text computed only when it is needed (for the few names that collide): formatting it for
/// every object of a big schema was a large part of loading it.
type Lazy<'a> = Box<dyn Fn() -> String + 'a>;

/// One named thing in a namespace.
struct Entry<'a> {
    /// What it is, for messages: "index `x` of table `public.t`".
    what: Lazy<'a>,
    /// Its origin key.
    key: Lazy<'a>,
}

/// An [`Entry`] with its texts computed.
struct Named {
    what: String,
    key: String,
}

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check<'a>(cx: &mut Cx<'a>) {
    declared_twice(cx);
    let s: &'a crate::model::Schema = cx.schema;
    let mut spaces: BTreeMap<(Space, String, String), Vec<Entry<'a>>> = BTreeMap::new();
    let mut add = |space: Space, scope: String, name: &str, what: Lazy<'a>, key: Lazy<'a>| {
        spaces
            .entry((space, scope, name.to_owned()))
            .or_default()
            .push(Entry { what, key });
    };
    // The texts are closures over references into the schema (`lazy!`), evaluated only for
    // names that collide.
    macro_rules! lazy {
        ($($fmt:tt)*) => {
            Box::new(move || format!($($fmt)*)) as Lazy<'_>
        };
    }
    for (name, t) in &s.tables {
        let schema = name.schema.to_string();
        let tk = table_key(name);
        add(
            Space::Relation,
            schema.clone(),
            name.name.as_str(),
            lazy!("table `{name}`"),
            lazy!("{}", table_key(name)),
        );
        add(
            Space::Type,
            schema.clone(),
            name.name.as_str(),
            lazy!("table `{name}`"),
            lazy!("{}", table_key(name)),
        );
        // (kind, constraint name, the origin key's part after the table's, behind an index)
        let mut constraints: Vec<(&str, &str, Lazy<'_>, bool)> = Vec::new();
        if let Some(pk) = &t.primary_key {
            constraints.push((
                "primary key",
                pk.name.as_str(),
                lazy!("{} primary key", table_key(name)),
                true,
            ));
        }
        for u in &t.uniques {
            constraints.push((
                "unique constraint",
                u.name.as_str(),
                lazy!("{} unique {}", table_key(name), u.name),
                true,
            ));
        }
        for x in &t.exclusions {
            constraints.push((
                "exclusion constraint",
                x.name.as_str(),
                lazy!("{} exclusion {}", table_key(name), x.name),
                true,
            ));
        }
        for f in &t.foreign_keys {
            constraints.push((
                "foreign key",
                f.name.as_str(),
                lazy!("{} foreign key {}", table_key(name), f.name),
                false,
            ));
        }
        for c in &t.checks {
            constraints.push((
                "check constraint",
                c.name.as_str(),
                lazy!("{} check {}", table_key(name), c.name),
                false,
            ));
        }
        for (kind, cname, key, is_index) in constraints {
            let key: std::rc::Rc<Lazy<'_>> = std::rc::Rc::new(key);
            if is_index {
                let k = std::rc::Rc::clone(&key);
                add(
                    Space::Relation,
                    schema.clone(),
                    cname,
                    lazy!("{kind} `{cname}` of table `{name}`"),
                    Box::new(move || k()),
                );
            }
            add(
                Space::Constraint,
                tk.clone(),
                cname,
                lazy!("{kind} `{cname}` of table `{name}`"),
                Box::new(move || key()),
            );
        }
        for i in &t.indexes {
            add(
                Space::Relation,
                schema.clone(),
                i.name.as_str(),
                lazy!("index `{}` of table `{name}`", i.name),
                lazy!("{} index {}", table_key(name), i.name),
            );
        }
        for p in &t.policies {
            add(
                Space::Policy,
                tk.clone(),
                p.name.as_str(),
                lazy!("policy `{}` of table `{name}`", p.name),
                lazy!("{} policy {}", table_key(name), p.name),
            );
        }
        for tr in &t.triggers {
            add(
                Space::Trigger,
                tk.clone(),
                tr.name.as_str(),
                lazy!("trigger `{}` of table `{name}`", tr.name),
                lazy!("{} trigger {}", table_key(name), tr.name),
            );
        }
        for c in &t.columns {
            add(
                Space::Column,
                tk.clone(),
                c.name.as_str(),
                lazy!("column `{}` of table `{name}`", c.name),
                lazy!("{} column {}", table_key(name), c.name),
            );
        }
    }
    for (name, v) in &s.views {
        let vk = format!("view {name}");
        let kind = if v.materialized {
            "materialized view"
        } else {
            "view"
        };
        let schema = name.schema.to_string();
        for space in [Space::Relation, Space::Type] {
            add(
                space,
                schema.clone(),
                name.name.as_str(),
                lazy!("{kind} `{name}`"),
                lazy!("view {name}"),
            );
        }
        for i in &v.indexes {
            add(
                Space::Relation,
                schema.clone(),
                i.name.as_str(),
                lazy!("index `{}` of {kind} `{name}`", i.name),
                lazy!("view {name} index {}", i.name),
            );
        }
        for tr in &v.triggers {
            add(
                Space::Trigger,
                vk.clone(),
                tr.name.as_str(),
                lazy!("trigger `{}` of {kind} `{name}`", tr.name),
                lazy!("view {name} trigger {}", tr.name),
            );
        }
    }
    for name in s.sequences.keys() {
        add(
            Space::Relation,
            name.schema.to_string(),
            name.name.as_str(),
            lazy!("sequence `{name}`"),
            lazy!("sequence {name}"),
        );
    }
    let types = s
        .enums
        .keys()
        .map(|n| ("enum", n))
        .chain(s.domains.keys().map(|n| ("domain", n)))
        .chain(s.composites.keys().map(|n| ("composite", n)));
    for (kind, name) in types {
        add(
            Space::Type,
            name.schema.to_string(),
            name.name.as_str(),
            lazy!("{kind} `{name}`"),
            lazy!("{kind} {name}"),
        );
    }
    for (name, d) in &s.domains {
        for c in &d.checks {
            add(
                Space::Constraint,
                format!("domain {name}"),
                c.name.as_str(),
                lazy!("check constraint `{}` of domain `{name}`", c.name),
                lazy!("domain {name} check {}", c.name),
            );
        }
    }
    for (name, a) in &s.attached {
        let ak = format!("attached {name}");
        for p in &a.policies {
            add(
                Space::Policy,
                ak.clone(),
                p.name.as_str(),
                lazy!("policy `{}` of table `{name}`", p.name),
                lazy!("attached {name} policy {}", p.name),
            );
        }
        for tr in &a.triggers {
            add(
                Space::Trigger,
                ak.clone(),
                tr.name.as_str(),
                lazy!("trigger `{}` of table `{name}`", tr.name),
                lazy!("attached {name} trigger {}", tr.name),
            );
        }
    }
    collisions(cx, spaces);
}

/// Reports [`crate::parse::Origins::duplicates`]: the same key declared twice.
fn declared_twice(cx: &mut Cx) {
    let dups = cx.origins.duplicates();
    for d in dups {
        // An object declared twice brings its attributes along (`table t column c` and
        // `table t column c type`): that is one mistake, reported once, at the object.
        let part_of_another = dups.iter().any(|o| {
            d.key.len() > o.key.len()
                && d.key.starts_with(&o.key)
                && d.key[o.key.len()..].starts_with(' ')
        });
        if part_of_another {
            continue;
        }
        cx.push(
            Diagnostic::error(
                "schema::duplicate",
                format!("{} is declared twice", describe(&d.key)),
            )
            .at(&d.second, "declared again here")
            .also(&d.first, "first declared here")
            .help("remove one of the declarations, or rename one of them"),
        );
    }
}

/// Reports names used twice in one namespace, once per pair.
fn collisions(cx: &mut Cx, spaces: BTreeMap<(Space, String, String), Vec<Entry<'_>>>) {
    let already: BTreeSet<&str> = cx
        .origins
        .duplicates()
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    let mut out = Vec::new();
    for ((space, _, name), entries) in spaces {
        if entries.len() < 2 {
            continue;
        }
        let mut entries: Vec<Named> = entries
            .iter()
            .map(|e| Named {
                what: (e.what)(),
                key: (e.key)(),
            })
            .collect();
        // The first declaration in the files is the one the others collide with.
        let position = |e: &Named| -> (usize, usize) {
            cx.origins
                .get(&e.key)
                .map_or((usize::MAX, usize::MAX), |o: &Origin| {
                    (o.file.0, o.span.start)
                })
        };
        entries.sort_by_key(|e| position(e));
        let first = &entries[0];
        for other in &entries[1..] {
            if other.key == first.key {
                // Same key twice: `declared_twice` reported it when the origins saw it.
                if already.contains(other.key.as_str()) {
                    continue;
                }
            }
            let pair = if first.key <= other.key {
                (first.key.clone(), other.key.clone())
            } else {
                (other.key.clone(), first.key.clone())
            };
            if !reported.insert(pair) {
                continue;
            }
            let message = if other.key == first.key {
                format!("{} is declared twice", other.what)
            } else {
                format!("{} has the same name as {}", other.what, first.what)
            };
            let there = cx.narrow(cx.origins.get(&first.key).cloned(), &name);
            let here = cx
                .narrow(cx.origins.get(&other.key).cloned(), &name)
                .or_else(|| there.clone());
            let there = there.filter(|o| Some(o) != here.as_ref());
            out.push(
                Diagnostic::error("schema::duplicate", message)
                    .at_opt(here.as_ref(), format!("`{name}` used again here"))
                    .also_opt(there.as_ref(), "first used here")
                    .help(space.help()),
            );
        }
    }
    for d in out {
        cx.push(d);
    }
}

/// An origin key in words: `table public.users column email` → "column `email` of table
/// `public.users`".
fn describe(key: &str) -> String {
    const CHILDREN: &[&str] = &[
        " column ",
        " primary key",
        " unique ",
        " foreign key ",
        " check ",
        " exclusion ",
        " index ",
        " policy ",
        " trigger ",
        " value ",
    ];
    let Some((kind, rest)) = key.split_once(' ') else {
        return format!("`{key}`");
    };
    let owner_kind = match kind {
        "attached" => "table",
        "composite" => "composite type",
        other => other,
    };
    if matches!(kind, "table" | "view" | "attached" | "enum" | "domain") {
        let child = CHILDREN
            .iter()
            .filter_map(|c| rest.find(c).map(|i| (i, *c)))
            .min_by_key(|(i, _)| *i);
        if let Some((i, marker)) = child {
            let owner = &rest[..i];
            let word = marker.trim();
            let name = rest[i + marker.len()..].trim();
            return if name.is_empty() {
                format!("the {word} of {owner_kind} `{owner}`")
            } else {
                format!("{word} `{name}` of {owner_kind} `{owner}`")
            };
        }
    }
    format!("{owner_kind} `{rest}`")
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use super::*;
    use crate::model::{
        Index, IndexColumn, IndexKey, PrimaryKey, QualifiedName, Sequence, UniqueConstraint,
    };

    #[test]
    fn describes_keys_in_words() {
        assert_eq!(describe("table public.users"), "table `public.users`");
        assert_eq!(
            describe("table public.users column email"),
            "column `email` of table `public.users`"
        );
        assert_eq!(
            describe("table public.users primary key"),
            "the primary key of table `public.users`"
        );
        assert_eq!(
            describe("enum public.s value 2"),
            "value `2` of enum `public.s`"
        );
        assert_eq!(describe("function public.f()"), "function `public.f()`");
        assert_eq!(describe("composite app.c"), "composite type `app.c`");
        assert_eq!(describe("odd"), "`odd`");
    }

    #[test]
    fn reports_keys_declared_twice_once_per_object() {
        let mut fx = Fx::new("[table.users]\nid = 1\n[table.users]\nid = 2\n");
        fx.dup("table public.users", "[table.users]", 0, 1);
        fx.dup("table public.users column id", "id", 0, 1);
        insta::assert_snapshot!(fx.run(), @"
        error[schema::duplicate] 3:1: table `public.users` is declared twice
          3:1 `[table.users]` declared again here
          1:1 `[table.users]` first declared here
          help: remove one of the declarations, or rename one of them
        ");
    }

    #[test]
    fn index_and_constraint_names_share_the_schema_namespace() {
        let mut fx = Fx::new(
            "[table.users]\nunique = users_email_key\n[table.orgs]\nindex = users_email_key\n[sequence.users]\n",
        );
        let mut users = Fx::table("users", &[("id", "uuid"), ("email", "text")]);
        users.uniques.push(UniqueConstraint {
            name: "users_email_key".into(),
            columns: vec!["email".into()],
            nulls_not_distinct: false,
            include: vec![],
            deferrable: Default::default(),
            comment: None,
            renamed_from: None,
        });
        users.primary_key = Some(PrimaryKey {
            name: "users_email_key".into(),
            columns: vec!["id".into()],
            include: vec![],
            deferrable: Default::default(),
            comment: None,
            renamed_from: None,
        });
        let mut orgs = Fx::table("orgs", &[("email", "text")]);
        orgs.indexes.push(Index {
            name: "users_email_key".into(),
            unique: false,
            nulls_not_distinct: false,
            method: "btree".into(),
            keys: vec![IndexColumn {
                key: IndexKey::Column("email".into()),
                collation: None,
                opclass: None,
                descending: false,
                nulls_first: false,
            }],
            include: vec![],
            predicate: None,
            options: vec![],
            comment: None,
            renamed_from: None,
        });
        fx.add_table(users).add_table(orgs);
        fx.schema.sequences.insert(
            QualifiedName::public("users"),
            Sequence {
                name: QualifiedName::public("users"),
                data_type: crate::model::PgType::BigInt,
                start: 1,
                increment: 1,
                min_value: 1,
                max_value: i64::MAX,
                cache: 1,
                cycle: false,
                owned_by: None,
                grants: Default::default(),
                comment: None,
            },
        );
        fx.key("table public.users", "users")
            .key("table public.users unique users_email_key", "unique")
            .key("table public.orgs index users_email_key", "index")
            .key("sequence public.users", "[sequence.users]");
        insta::assert_snapshot!(fx.run(), @"
        error[schema::duplicate] 2:1: primary key `users_email_key` of table `public.users` has the same name as unique constraint `users_email_key` of table `public.users`
          2:1 `unique` `users_email_key` used again here
          help: tables, views, sequences, indexes and the indexes behind primary key, unique and exclusion constraints share one namespace per schema in PostgreSQL; rename one of them
        error[schema::duplicate] 4:1: index `users_email_key` of table `public.orgs` has the same name as unique constraint `users_email_key` of table `public.users`
          4:1 `index` `users_email_key` used again here
          2:1 `unique` first used here
          help: tables, views, sequences, indexes and the indexes behind primary key, unique and exclusion constraints share one namespace per schema in PostgreSQL; rename one of them
        error[schema::duplicate] 5:11: sequence `public.users` has the same name as table `public.users`
          5:11 `users` `users` used again here
          1:8 `users` first used here
          help: tables, views, sequences, indexes and the indexes behind primary key, unique and exclusion constraints share one namespace per schema in PostgreSQL; rename one of them
        ");
    }
}
