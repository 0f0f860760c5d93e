//! Foreign-key rules, each a reason PostgreSQL refuses `ADD FOREIGN KEY`:
//! - `schema::dangling_fk`: the referenced table is not declared (or is a view);
//! - `schema::unknown_column`: a referenced column does not exist;
//! - `schema::fk_column_count`: referencing and referenced column counts differ;
//! - `schema::fk_type_mismatch`: a referencing column's type cannot be compared with the
//!   referenced one's;
//! - `schema::fk_not_unique`: the referenced columns are not exactly the columns of a primary
//!   key, unique constraint or (non-partial) unique index ("there is no unique constraint
//!   matching given keys for referenced table").
//!
//! Tables outside the schemas this schema declares objects in, in Supabase's schemas (`auth`,
//! `storage`…) or listed under `attached` exist without being declared: references to them are
//! accepted as they are. Referencing columns are checked by `columns`.

use super::{Cx, DiagnosticExt, table_key};
use crate::diagnostics::Diagnostic;
use crate::model::{ForeignKey, Ident, IndexKey, PgType, QualifiedName, Table};
use crate::parse::Origin;
use std::collections::BTreeSet;

/// Runs this rule over `cx.schema`, pushing its findings into `cx`.
pub(super) fn check(cx: &mut Cx) {
    for t in cx.schema.tables.values() {
        for f in &t.foreign_keys {
            check_fk(cx, t, f);
        }
    }
}

fn check_fk(cx: &mut Cx, t: &Table, f: &ForeignKey) {
    // Lowering fills in the referenced table's primary key when the schema names none; when it
    // could not (no such table, no primary key), it has reported that already.
    if f.referenced_columns.is_empty() {
        return;
    }
    let tk = table_key(&t.name);
    let fk_key = format!("{tk} foreign key {}", f.name);
    let fk_origin = cx.origin(&fk_key, &tk);
    let ref_origin = cx
        .origin(&format!("{fk_key} references"), &fk_key)
        .or(fk_origin.clone());
    let target_name = &f.references;
    let Some(target) = cx.schema.tables.get(target_name) else {
        dangling(cx, t, f, ref_origin);
        return;
    };
    if f.columns.len() != f.referenced_columns.len() {
        cx.push(
            Diagnostic::error(
                "schema::fk_column_count",
                format!(
                    "foreign key `{}` of table `{}` has {} referencing column{} but {} referenced column{}",
                    f.name,
                    t.name,
                    f.columns.len(),
                    plural(f.columns.len()),
                    f.referenced_columns.len(),
                    plural(f.referenced_columns.len()),
                ),
            )
            .at_opt(fk_origin.as_ref(), "the column lists differ in length")
            .help("list one referenced column for each referencing column, in the same order"),
        );
    }
    if cx.has_unknown_parent(target) {
        return;
    }
    let target_columns = cx.all_columns(target);
    let mut all_exist = true;
    for rc in &f.referenced_columns {
        if target_columns.iter().any(|c| &c.name == rc) {
            continue;
        }
        all_exist = false;
        let origin = cx
            .find(fk_origin.as_ref(), "referenced_columns", rc.as_str())
            .or_else(|| cx.find(ref_origin.as_ref(), "", rc.as_str()))
            .or(ref_origin.clone());
        let names = target_columns.iter().map(|c| c.name.as_str());
        let help = match super::suggest(rc.as_str(), names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the columns of `{target_name}` are: {}",
                target_columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        cx.push(
            Diagnostic::error(
                "schema::unknown_column",
                format!(
                    "foreign key `{}` of table `{}` references column `{rc}`, which table `{target_name}` does not have",
                    f.name, t.name
                ),
            )
            .at_opt(origin.as_ref(), "no such column")
            .help(help),
        );
    }
    if !all_exist {
        return;
    }
    let own_columns = cx.all_columns(t);
    for (c, rc) in f.columns.iter().zip(&f.referenced_columns) {
        let (Some(col), Some(rcol)) = (
            own_columns.iter().find(|x| &x.name == c),
            target_columns.iter().find(|x| &x.name == rc),
        ) else {
            continue;
        };
        if compatible(cx, &col.ty, &rcol.ty) {
            continue;
        }
        let col_key = format!("{tk} column {c}");
        // The referencing column's type is what to change; else the column in the key list.
        let origin = cx
            .origins
            .get(&format!("{col_key} type"))
            .cloned()
            .or_else(|| cx.find(fk_origin.as_ref(), "columns", c.as_str()))
            .or_else(|| cx.origins.get(&col_key).cloned())
            .or(fk_origin.clone());
        let target_key = format!("{} column {rc}", table_key(target_name));
        let target_origin = cx.origin(&format!("{target_key} type"), &target_key);
        cx.push(
            Diagnostic::error(
                "schema::fk_type_mismatch",
                format!(
                    "foreign key `{}`: column `{c}` ({}) cannot reference `{target_name}.{rc}` ({})",
                    f.name, col.ty, rcol.ty
                ),
            )
            .at_opt(origin.as_ref(), format!("`{c}` is {}", col.ty))
            .also_opt(target_origin.as_ref(), format!("`{rc}` is {}", rcol.ty))
            .help(format!(
                "declare `{c}` as `{}`, the type of the referenced column",
                rcol.ty
            )),
        );
    }
    if f.columns.len() == f.referenced_columns.len()
        && !std::iter::successors(Some(target), |t| {
            t.partition_of
                .as_ref()
                .and_then(|p| cx.schema.tables.get(&p.parent))
        })
        .any(|t| is_unique_key(t, &f.referenced_columns))
    {
        let list = f
            .referenced_columns
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let help = match f.referenced_columns.as_slice() {
            [one] => format!(
                "make `{target_name}.{one}` unique (`unique = true` on the column), or reference the primary key"
            ),
            _ => format!(
                "add a unique constraint on ({list}) to `{target_name}` (`[[table.{}.unique]]`), or reference the primary key",
                target_name.name
            ),
        };
        let target_key = table_key(target_name);
        let target_origin = cx.origins.get(&target_key).cloned();
        cx.push(
            Diagnostic::error(
                "schema::fk_not_unique",
                format!(
                    "foreign key `{}` of table `{}` references ({list}) of `{target_name}`, which is not a primary key or unique constraint",
                    f.name, t.name
                ),
            )
            .at_opt(ref_origin.as_ref(), "referenced columns are not unique")
            .also_opt(target_origin.as_ref(), "referenced table declared here")
            .help(help),
        );
    }
}

/// The referenced table is not declared.
fn dangling(cx: &mut Cx, t: &Table, f: &ForeignKey, origin: Option<Origin>) {
    let target = &f.references;
    let schema = target.schema.as_str();
    if cx.schema.attached.contains_key(target)
        || cx.is_external_schema(schema)
        || !cx.is_declared_schema(schema)
    {
        return;
    }
    let origin = cx.narrow(origin, target.name.as_str());
    if cx.schema.views.contains_key(target) {
        cx.push(
            Diagnostic::error(
                "schema::dangling_fk",
                format!(
                    "foreign key `{}` of table `{}` references `{target}`, which is a view",
                    f.name, t.name
                ),
            )
            .at_opt(origin.as_ref(), "a view, not a table")
            .help("a foreign key can only reference a table; reference the table behind the view"),
        );
        return;
    }
    let names: Vec<String> = cx
        .schema
        .tables
        .keys()
        .filter(|q| q.schema == target.schema)
        .map(|q| q.name.to_string())
        .collect();
    let help = match super::suggest(target.name.as_str(), names.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "declare `[table.{}]`, or reference a table the platform provides (`auth.users`)",
            target.name
        ),
    };
    cx.push(
        Diagnostic::error(
            "schema::dangling_fk",
            format!(
                "foreign key `{}` of table `{}` references table `{target}`, which is not declared",
                f.name, t.name
            ),
        )
        .at_opt(origin.as_ref(), "unknown table")
        .help(help),
    );
}

/// True when `columns` are, as a set, the columns of the primary key, a unique constraint or a
/// unique index without predicate and expressions: what PostgreSQL accepts as a referenced key.
fn is_unique_key(table: &Table, columns: &[Ident]) -> bool {
    let wanted: BTreeSet<&Ident> = columns.iter().collect();
    let same = |cols: &[Ident]| {
        cols.len() == columns.len() && cols.iter().collect::<BTreeSet<_>>() == wanted
    };
    if table
        .primary_key
        .as_ref()
        .is_some_and(|pk| same(&pk.columns))
    {
        return true;
    }
    if table.uniques.iter().any(|u| same(&u.columns)) {
        return true;
    }
    table.indexes.iter().any(|i| {
        if !i.unique || i.predicate.is_some() {
            return false;
        }
        let cols: Option<Vec<Ident>> = i
            .keys
            .iter()
            .map(|k| match &k.key {
                IndexKey::Column(c) => Some(c.clone()),
                IndexKey::Expr(_) => None,
            })
            .collect();
        cols.is_some_and(|c| same(&c))
    })
}

/// A coarse type family: types of one family compare through PostgreSQL's implicit casts
/// (`integer` references `bigint`, `varchar` references `text`); types of two different families
/// never do. `None` for types the rule does not judge (extension and composite types, rarer
/// built-ins), which are never flagged.
#[derive(Debug, PartialEq, Eq)]
enum Family<'a> {
    Number,
    Text,
    Uuid,
    Boolean,
    Bytes,
    Json,
    Jsonb,
    DateTime,
    Time,
    Interval,
    Bits,
    Enum(&'a QualifiedName),
}

fn family<'a>(cx: &'a Cx, ty: &'a PgType) -> Option<Family<'a>> {
    Some(match cx.resolve_domains(ty) {
        PgType::SmallInt
        | PgType::Integer
        | PgType::BigInt
        | PgType::Real
        | PgType::DoublePrecision
        | PgType::Numeric { .. } => Family::Number,
        PgType::Text | PgType::Varchar(_) | PgType::Char(_) => Family::Text,
        PgType::Uuid => Family::Uuid,
        PgType::Boolean => Family::Boolean,
        PgType::Bytea => Family::Bytes,
        PgType::Json => Family::Json,
        PgType::Jsonb => Family::Jsonb,
        PgType::Date | PgType::Timestamp { .. } => Family::DateTime,
        PgType::Time { .. } => Family::Time,
        PgType::Interval { .. } => Family::Interval,
        PgType::Bit(_) | PgType::VarBit(_) => Family::Bits,
        PgType::Named(n) if cx.schema.enums.contains_key(n) => Family::Enum(n),
        PgType::Named(_) | PgType::Builtin(_) | PgType::Array(_) => return None,
    })
}

/// False only for clearly incompatible types (see [`Family`]).
fn compatible(cx: &Cx, a: &PgType, b: &PgType) -> bool {
    let (a, b) = (cx.resolve_domains(a), cx.resolve_domains(b));
    match (a, b) {
        (PgType::Array(x), PgType::Array(y)) => compatible(cx, x, y),
        (PgType::Array(x), other) | (other, PgType::Array(x)) => {
            // An array never equals a scalar; only judge when the element is a known family.
            family(cx, x).is_none() || family(cx, other).is_none()
        }
        _ => match (family(cx, a), family(cx, b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        },
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Fx;
    use crate::model::{ForeignKey, QualifiedName, Table};

    fn fk(name: &str, cols: &[&str], target: &str, refs: &[&str]) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: cols.iter().map(|c| (*c).into()).collect(),
            references: QualifiedName::parse(target, "public")
                .unwrap_or_else(|| QualifiedName::public(target)),
            referenced_columns: refs.iter().map(|c| (*c).into()).collect(),
            on_delete: Default::default(),
            on_update: Default::default(),
            match_type: Default::default(),
            deferrable: Default::default(),
            not_valid: false,
            comment: None,
            renamed_from: None,
        }
    }

    fn users() -> Table {
        let mut users = Fx::table(
            "users",
            &[("id", "uuid"), ("email", "text"), ("org", "bigint")],
        );
        users.primary_key = Some(crate::model::PrimaryKey {
            name: "users_pkey".into(),
            columns: vec!["id".into()],
            include: vec![],
            deferrable: Default::default(),
            comment: None,
            renamed_from: None,
        });
        users
    }

    const TEXT: &str = concat!(
        "[table.users]\n",
        "[table.jobs.columns]\n",
        "owner = { type = \"text\", references = \"users.id\" }\n",
        "author = { type = \"uuid\", references = \"usres.id\" }\n",
        "mail = { type = \"text\", references = \"users.email\" }\n",
        "org = { type = \"integer\", references = \"users.org\" }\n",
        "uid = { type = \"uuid\", references = \"auth.users.id\" }\n",
        "x = { type = \"uuid\", references = \"users.nope\" }\n",
    );

    #[test]
    fn foreign_key_rules() {
        let mut fx = Fx::new(TEXT);
        let mut jobs = Fx::table(
            "jobs",
            &[
                ("owner", "text"),
                ("author", "uuid"),
                ("mail", "text"),
                ("org", "integer"),
                ("uid", "uuid"),
                ("x", "uuid"),
            ],
        );
        jobs.foreign_keys = vec![
            fk("jobs_owner_fkey", &["owner"], "users", &["id"]),
            fk("jobs_author_fkey", &["author"], "usres", &["id"]),
            fk("jobs_mail_fkey", &["mail"], "users", &["email"]),
            fk("jobs_org_fkey", &["org"], "users", &["org", "id"]),
            fk("jobs_uid_fkey", &["uid"], "auth.users", &["id"]),
            fk("jobs_x_fkey", &["x"], "users", &["nope"]),
        ];
        fx.add_table(users()).add_table(jobs);
        fx.key("table public.users", "users")
            .key("table public.jobs", "jobs")
            .key("table public.jobs column owner type", "\"text\"")
            .key("table public.users column id type", "uuid")
            .key(
                "table public.jobs foreign key jobs_owner_fkey references",
                "\"users.id\"",
            )
            .key(
                "table public.jobs foreign key jobs_author_fkey references",
                "\"usres.id\"",
            )
            .key(
                "table public.jobs foreign key jobs_mail_fkey references",
                "\"users.email\"",
            )
            .key(
                "table public.jobs foreign key jobs_org_fkey",
                "\"users.org\"",
            )
            .key(
                "table public.jobs foreign key jobs_x_fkey references",
                "\"users.nope\"",
            );
        insta::assert_snapshot!(fx.run(), @r#"
        error[schema::fk_type_mismatch] 3:18: foreign key `jobs_owner_fkey`: column `owner` (text) cannot reference `public.users.id` (uuid)
          3:18 `"text"` `owner` is text
          4:20 `uuid` `id` is uuid
          help: declare `owner` as `uuid`, the type of the referenced column
        error[schema::dangling_fk] 4:41: foreign key `jobs_author_fkey` of table `public.jobs` references table `public.usres`, which is not declared
          4:41 `usres` unknown table
          help: did you mean `users`?
        error[schema::fk_not_unique] 5:38: foreign key `jobs_mail_fkey` of table `public.jobs` references (email) of `public.users`, which is not a primary key or unique constraint
          5:38 `"users.email"` referenced columns are not unique
          1:8 `users` referenced table declared here
          help: make `public.users.email` unique (`unique = true` on the column), or reference the primary key
        error[schema::fk_column_count] 6:40: foreign key `jobs_org_fkey` of table `public.jobs` has 1 referencing column but 2 referenced columns
          6:40 `"users.org"` the column lists differ in length
          help: list one referenced column for each referencing column, in the same order
        error[schema::unknown_column] 8:42: foreign key `jobs_x_fkey` of table `public.jobs` references column `nope`, which table `public.users` does not have
          8:42 `nope` no such column
          help: the columns of `public.users` are: id, email, org
        "#);
    }
}
