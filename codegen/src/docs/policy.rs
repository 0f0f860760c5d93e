//! Row-level security policies in plain words, for the documentation page.
//!
//! A policy's `USING` / `WITH CHECK` expression is read with sqlparser (a reading aid only: the
//! page always shows the SQL beside the sentence) and matched against the patterns Supabase
//! projects use: `user_id = auth.uid()` in its spellings (`(select auth.uid())`, PostgreSQL's
//! `( SELECT auth.uid() AS uid)`, either side of the `=`), `true`, equality with a constant
//! (`bucket_id = 'documents'`), a boolean column, `auth.uid() IS NOT NULL`, conjunctions of
//! those, and `EXISTS (SELECT 1 FROM parent p WHERE p.id = child.parent_id AND p.user_id =
//! auth.uid())`. Anything else gets an honest generic sentence: the wording never claims what
//! the SQL does not say.

use crate::model::{Policy, PolicyCommand, QualifiedName, Schema, SqlExpr};
use sqlparser::ast::{
    BinaryOperator, Expr, Ident as SqlIdent, ObjectNamePart, Query, Select, SelectItem, SetExpr,
    TableFactor,
};

/// A policy described in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// One or two sentences of Markdown (identifiers in backticks).
    pub text: String,
    /// False when the condition matched no known pattern and `text` is the generic sentence.
    pub recognized: bool,
}

/// Describes `policy`, defined on `table`. `schema` resolves unqualified column names inside
/// `EXISTS` subqueries the way PostgreSQL does (the subquery's table first).
pub fn describe(policy: &Policy, table: &QualifiedName, schema: &Schema) -> Wording {
    let ctx = Ctx { table, schema };
    let subject = subject(&policy.roles);
    let noun = Noun::for_table(table);
    let using = policy.using.as_ref().map(|e| ctx.condition(e));
    let check = policy.with_check.as_ref().map(|e| ctx.condition(e));
    // (verb, rows, what follows the rows)
    let phrase: Option<(&str, String, String)> = match (policy.command, &using, &check) {
        (PolicyCommand::Select | PolicyCommand::Delete, Some(Some(u)), _) => {
            Some((verb(policy.command), u.rows(noun), String::new()))
        }
        (PolicyCommand::Insert, _, Some(Some(c))) => Some((
            verb(policy.command),
            match c {
                Cond::All => format!("any {}", noun.singular),
                // "can add every row while signed in" reads as a promise; "any" is meant.
                c => {
                    let rows = c.rows(noun);
                    match rows.strip_prefix("every ") {
                        Some(rest) => format!("any {rest}"),
                        None => rows,
                    }
                }
            },
            String::new(),
        )),
        // Without WITH CHECK, PostgreSQL checks new rows with USING.
        (PolicyCommand::Update | PolicyCommand::All, Some(Some(u)), None) => Some((
            verb(policy.command),
            u.rows(noun),
            update_tail(policy.command, u, noun),
        )),
        (PolicyCommand::Update | PolicyCommand::All, Some(Some(u)), Some(Some(c))) if u == c => {
            Some((
                verb(policy.command),
                u.rows(noun),
                update_tail(policy.command, u, noun),
            ))
        }
        _ => None,
    };
    match phrase {
        Some((verb, rows, tail)) if policy.permissive => Wording {
            text: format!("{subject} {verb} {rows}{tail}."),
            recognized: true,
        },
        Some((verb, rows, tail)) => Wording {
            text: format!(
                "Restrictive: whatever other policies allow, {} {verb} only {rows}{tail}.",
                lower_first(&subject)
            ),
            recognized: true,
        },
        None => Wording {
            text: generic(policy, &subject),
            recognized: false,
        },
    }
}

/// After an UPDATE's rows: the new version of a row is checked too.
fn update_tail(command: PolicyCommand, u: &Cond, noun: Noun) -> String {
    match (command, u) {
        (PolicyCommand::Update, Cond::Atoms(_)) if u.has_owner() => {
            format!("; a changed {} must still be theirs", noun.singular)
        }
        (PolicyCommand::Update, Cond::Atoms(_)) => {
            format!("; a changed {} must still be one of them", noun.singular)
        }
        _ => String::new(),
    }
}

fn verb(command: PolicyCommand) -> &'static str {
    match command {
        PolicyCommand::Select => "can read",
        PolicyCommand::Insert => "can add",
        PolicyCommand::Update => "can change",
        PolicyCommand::Delete => "can delete",
        PolicyCommand::All => "can read, add, change and delete",
    }
}

fn generic(policy: &Policy, subject: &str) -> String {
    let (kind, subject, verb) = if policy.permissive {
        ("", subject.to_owned(), verb(policy.command).to_owned())
    } else {
        (
            "Restrictive: whatever other policies allow, ",
            lower_first(subject),
            format!("{} only", verb(policy.command)),
        )
    };
    let rows = match (policy.command, &policy.using, &policy.with_check) {
        (PolicyCommand::Insert, _, Some(_)) => {
            "rows for which the `WITH CHECK` condition holds".to_owned()
        }
        (PolicyCommand::Update | PolicyCommand::All, Some(_), Some(_)) => {
            "rows for which the `USING` condition holds, and the new rows must meet the \
             `WITH CHECK` condition"
                .to_owned()
        }
        (_, Some(_), _) => "rows for which the `USING` condition holds".to_owned(),
        (PolicyCommand::Update | PolicyCommand::All, None, Some(_)) => {
            "rows for which the `WITH CHECK` condition holds".to_owned()
        }
        (_, None, _) => {
            return format!(
                "This policy has no condition for {}; it is shown as SQL only.",
                policy.command.sql()
            );
        }
    };
    format!("{kind}{subject} {verb} {rows} (not put into words: see the SQL).")
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Who a policy is for, as the subject of a sentence.
fn subject(roles: &[crate::model::Ident]) -> String {
    let named: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    match named.as_slice() {
        [] | ["public"] => "Anyone".to_owned(),
        ["authenticated"] => "A signed-in user".to_owned(),
        ["anon"] => "An anonymous visitor (`anon`)".to_owned(),
        ["service_role"] => "The backend (`service_role`)".to_owned(),
        [one] => format!("Role `{one}`"),
        many => {
            let quoted: Vec<String> = many.iter().map(|r| format!("`{r}`")).collect();
            let (last, rest) = quoted
                .split_last()
                .map_or((String::new(), &[][..]), |(l, r)| (l.clone(), r));
            format!("A user in role {} or {last}", rest.join(", "))
        }
    }
}

/// What the rows of a table are called.
#[derive(Debug, Clone, Copy)]
struct Noun {
    singular: &'static str,
    plural: &'static str,
    /// Supabase Storage: `bucket_id = 'x'` reads "in the `x` bucket".
    storage: bool,
}

impl Noun {
    fn for_table(table: &QualifiedName) -> Noun {
        if table.schema.as_str() == "storage" && table.name.as_str() == "objects" {
            Noun {
                singular: "file",
                plural: "files",
                storage: true,
            }
        } else {
            Noun {
                singular: "row",
                plural: "rows",
                storage: false,
            }
        }
    }
}

/// A condition that matched a known pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cond {
    /// `true`.
    All,
    /// A conjunction.
    Atoms(Vec<Atom>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    /// `column = auth.uid()`.
    Owner(String),
    /// `EXISTS (SELECT … FROM parent WHERE parent.x = table.y … AND parent.owner = auth.uid())`.
    ParentOwner {
        parent: String,
        /// (this table's column, the parent's column).
        join: Vec<(String, String)>,
        owner: String,
    },
    /// `column = constant`.
    Equals(String, String),
    /// `column <> constant`; true when the column may be null (then null rows fail too).
    NotEquals(String, String, bool),
    /// A boolean column on its own.
    IsTrue(String),
    /// `auth.uid() IS NOT NULL`.
    SignedIn,
}

impl Cond {
    fn has_owner(&self) -> bool {
        matches!(self, Cond::Atoms(atoms) if atoms.iter().any(|a| matches!(a, Atom::Owner(_) | Atom::ParentOwner { .. })))
    }

    /// The rows the condition selects, as a noun phrase.
    fn rows(&self, noun: Noun) -> String {
        let atoms = match self {
            Cond::All => return format!("every {}", noun.singular),
            Cond::Atoms(atoms) => atoms,
        };
        let owners: Vec<&str> = atoms
            .iter()
            .filter_map(|a| match a {
                Atom::Owner(c) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        let mut head = if owners.is_empty() {
            noun.plural.to_owned()
        } else {
            format!("their own {}", noun.plural)
        };
        let mut notes = Vec::new();
        if !owners.is_empty() {
            let cols: Vec<String> = owners.iter().map(|c| format!("`{c}`")).collect();
            notes.push(format!(
                "{} {} their user id",
                cols.join(" and "),
                if cols.len() == 1 { "is" } else { "are" }
            ));
        }
        let mut quals = Vec::new();
        let mut signed_in = false;
        for atom in atoms {
            match atom {
                Atom::Owner(_) => {}
                Atom::ParentOwner {
                    parent,
                    join,
                    owner,
                } => {
                    head.push_str(&format!(" of their own `{parent}`"));
                    let joins: Vec<String> = join
                        .iter()
                        .map(|(c, p)| format!("`{c}` → `{parent}.{p}`"))
                        .collect();
                    notes.push(format!(
                        "{}, whose `{owner}` is their user id",
                        joins.join(", ")
                    ));
                }
                Atom::Equals(c, v) if noun.storage && c == "bucket_id" => {
                    quals.push(format!("in the `{}` bucket", v.trim_matches('\'')));
                }
                Atom::Equals(c, v) => quals.push(format!("whose `{c}` is `{v}`")),
                // NULL <> 'x' is not true: a nullable column must also be set.
                Atom::NotEquals(c, v, true) => {
                    quals.push(format!("whose `{c}` is set and is not `{v}`"));
                }
                Atom::NotEquals(c, v, false) => quals.push(format!("whose `{c}` is not `{v}`")),
                Atom::IsTrue(c) => quals.push(format!("whose `{c}` is true")),
                Atom::SignedIn => signed_in = true,
            }
        }
        if owners.is_empty()
            && quals.is_empty()
            && !atoms.iter().any(|a| matches!(a, Atom::ParentOwner { .. }))
        {
            head = format!("every {}", noun.singular);
        }
        let mut out = head;
        if !quals.is_empty() {
            out.push(' ');
            out.push_str(&quals.join(" and "));
        }
        if signed_in {
            out.push_str(" while signed in");
        }
        if !notes.is_empty() {
            out.push_str(&format!(" ({})", notes.join("; ")));
        }
        out
    }
}

struct Ctx<'a> {
    table: &'a QualifiedName,
    schema: &'a Schema,
}

impl Ctx<'_> {
    /// The condition, when it matches a known pattern.
    fn condition(&self, expr: &SqlExpr) -> Option<Cond> {
        let parsed = crate::parse::sql::parse_expr(expr.as_str()).ok()?;
        let parsed = strip(&parsed);
        if is_true(parsed) {
            return Some(Cond::All);
        }
        let mut parts = Vec::new();
        conjuncts(parsed, &mut parts);
        let atoms = parts
            .into_iter()
            .map(|p| self.atom(p))
            .collect::<Option<Vec<_>>>()?;
        Some(Cond::Atoms(atoms))
    }

    fn atom(&self, e: &Expr) -> Option<Atom> {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let (l, r) = (strip(left), strip(right));
                if is_uid(r)
                    && let Some(c) = self.outer_column(l)
                {
                    return Some(Atom::Owner(c));
                }
                if is_uid(l)
                    && let Some(c) = self.outer_column(r)
                {
                    return Some(Atom::Owner(c));
                }
                if let (Some(c), Some(v)) = (self.outer_column(l), literal(r)) {
                    return Some(Atom::Equals(c, v));
                }
                if let (Some(v), Some(c)) = (literal(l), self.outer_column(r)) {
                    return Some(Atom::Equals(c, v));
                }
                None
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::NotEq,
                right,
            } => {
                let (l, r) = (strip(left), strip(right));
                let (c, v) = match (self.outer_column(l), literal(r)) {
                    (Some(c), Some(v)) => (c, v),
                    _ => (self.outer_column(r)?, literal(l)?),
                };
                let nullable = self
                    .schema
                    .tables
                    .get(self.table)
                    .and_then(|t| t.column(&c))
                    .is_none_or(|col| col.nullable);
                Some(Atom::NotEquals(c, v, nullable))
            }
            Expr::IsNotNull(inner) if is_uid(strip(inner)) => Some(Atom::SignedIn),
            Expr::Exists {
                subquery,
                negated: false,
            } => self.exists(subquery),
            other => {
                let c = self.outer_column(other)?;
                let is_bool = self
                    .schema
                    .tables
                    .get(self.table)
                    .and_then(|t| t.column(&c))
                    .is_some_and(|col| col.ty == crate::model::PgType::Boolean);
                is_bool.then_some(Atom::IsTrue(c))
            }
        }
    }

    /// A column of the policy's own table: `col`, `table.col` or `schema.table.col`.
    fn outer_column(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Identifier(i) => Some(ident(i)),
            Expr::CompoundIdentifier(parts) => self.qualified_outer(parts),
            _ => None,
        }
    }

    fn qualified_outer(&self, parts: &[SqlIdent]) -> Option<String> {
        let names: Vec<String> = parts.iter().map(ident).collect();
        match names.as_slice() {
            [t, c] if t == self.table.name.as_str() => Some(c.clone()),
            [s, t, c] if s == self.table.schema.as_str() && t == self.table.name.as_str() => {
                Some(c.clone())
            }
            _ => None,
        }
    }

    /// `EXISTS (SELECT … FROM parent [alias] WHERE <joins to this table> AND parent.owner =
    /// auth.uid())`.
    fn exists(&self, query: &Query) -> Option<Atom> {
        let select = bare_select(query)?;
        let [from] = select.from.as_slice() else {
            return None;
        };
        if !from.joins.is_empty() {
            return None;
        }
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &from.relation
        else {
            return None;
        };
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(ident(i)),
                ObjectNamePart::Function(_) => None,
            })
            .collect::<Option<_>>()?;
        let parent = match parts.as_slice() {
            [t] => QualifiedName::new(self.table.schema.as_str(), t.clone()),
            [s, t] => QualifiedName::new(s.clone(), t.clone()),
            _ => return None,
        };
        let parent_table = self.schema.tables.get(&parent)?;
        let alias = alias.as_ref().map(|a| ident(&a.name));
        if alias.is_none() && parent == *self.table {
            // `FROM same_table WHERE …`: which side is which cannot be told apart.
            return None;
        }
        let inner = |e: &Expr| -> Option<String> {
            match e {
                // Unqualified: the subquery's table first, as PostgreSQL resolves it.
                Expr::Identifier(i) => {
                    let c = ident(i);
                    parent_table.column(&c).is_some().then_some(c)
                }
                Expr::CompoundIdentifier(p) => {
                    let names: Vec<String> = p.iter().map(ident).collect();
                    let qualifier_ok = |q: &str| match &alias {
                        Some(a) => q == a,
                        None => q == parent.name.as_str(),
                    };
                    match names.as_slice() {
                        [q, c] if qualifier_ok(q) => Some(c.clone()),
                        [s, t, c]
                            if alias.is_none()
                                && s == parent.schema.as_str()
                                && t == parent.name.as_str() =>
                        {
                            Some(c.clone())
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        let outer = |e: &Expr| -> Option<String> {
            match e {
                // An unqualified name belongs to the subquery's table when it has one.
                Expr::Identifier(i) => {
                    let c = ident(i);
                    (parent_table.column(&c).is_none()
                        && self
                            .schema
                            .tables
                            .get(self.table)
                            .is_some_and(|t| t.column(&c).is_some()))
                    .then_some(c)
                }
                Expr::CompoundIdentifier(p) => {
                    if alias
                        .as_ref()
                        .is_some_and(|a| p.first().is_some_and(|q| ident(q) == *a))
                    {
                        return None;
                    }
                    self.qualified_outer(p)
                }
                _ => None,
            }
        };
        let mut parts = Vec::new();
        conjuncts(strip(select.selection.as_ref()?), &mut parts);
        let mut join = Vec::new();
        let mut owner = None;
        for p in parts {
            let Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } = p
            else {
                return None;
            };
            let (l, r) = (strip(left), strip(right));
            if let (Some(pc), true) = (inner(l), is_uid(r)) {
                owner.get_or_insert(pc);
            } else if let (true, Some(pc)) = (is_uid(l), inner(r)) {
                owner.get_or_insert(pc);
            } else if let (Some(pc), Some(oc)) = (inner(l), outer(r)) {
                join.push((oc, pc));
            } else if let (Some(oc), Some(pc)) = (outer(l), inner(r)) {
                join.push((oc, pc));
            } else {
                return None;
            }
        }
        let owner = owner?;
        if join.is_empty() {
            return None;
        }
        Some(Atom::ParentOwner {
            parent: super::graph::display_name(&parent),
            join,
            owner,
        })
    }
}

/// A name as PostgreSQL stores it: unquoted names fold to lower case.
fn ident(i: &SqlIdent) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

fn conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match strip(e) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        other => out.push(other),
    }
}

fn is_true(e: &Expr) -> bool {
    matches!(strip(e), Expr::Value(v) if v.to_string().eq_ignore_ascii_case("true"))
}

/// A constant, as written: `'documents'` (a cast such as `'documents'::text` dropped), `42`,
/// `true`.
fn literal(e: &Expr) -> Option<String> {
    let text = match strip(e) {
        Expr::Value(v) => v.to_string(),
        Expr::Cast { expr, .. } => match strip(expr) {
            Expr::Value(v) => v.to_string(),
            _ => return None,
        },
        _ => return None,
    };
    // `col = NULL` is never true: not a constant to compare with.
    (!text.eq_ignore_ascii_case("null")).then_some(text)
}

/// `auth.uid()`, `(select auth.uid())`, `( SELECT auth.uid() AS uid)`, possibly cast.
fn is_uid(e: &Expr) -> bool {
    match strip(e) {
        Expr::Function(f) => f.to_string().eq_ignore_ascii_case("auth.uid()"),
        Expr::Cast { expr, .. } => is_uid(expr),
        Expr::Subquery(q) => bare_select(q).is_some_and(|s| {
            s.from.is_empty()
                && s.selection.is_none()
                && match s.projection.as_slice() {
                    [SelectItem::UnnamedExpr(e)] | [SelectItem::ExprWithAlias { expr: e, .. }] => {
                        is_uid(e)
                    }
                    _ => false,
                }
        }),
        _ => false,
    }
}

/// The `SELECT` of a query that is nothing but `SELECT projection [FROM …] [WHERE …]`: no
/// `WITH`, grouping, ordering, limit or anything else that would change what it means.
fn bare_select(q: &Query) -> Option<&Select> {
    if q.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    // Rebuild the statement from the parts this module reads; any other clause makes the
    // texts differ.
    let mut rebuilt = String::from("SELECT ");
    rebuilt.push_str(
        &select
            .projection
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    if !select.from.is_empty() {
        rebuilt.push_str(" FROM ");
        rebuilt.push_str(
            &select
                .from
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if let Some(w) = &select.selection {
        rebuilt.push_str(" WHERE ");
        rebuilt.push_str(&w.to_string());
    }
    (q.to_string() == rebuilt).then_some(select.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Ident;

    fn schema() -> Schema {
        let text = r#"
[table.users]
columns.id = { type = "uuid", primary_key = true }

[table.jobs]
rls = true
columns.id = { type = "uuid", primary_key = true }
columns.user_id = { type = "uuid", references = "users.id" }
columns.is_public = { type = "boolean", default = false }
columns.status = { type = "text", nullable = true }

[table.applications]
rls = true
columns.id = { type = "uuid", primary_key = true }
columns.job_id = { type = "uuid", references = "jobs.id" }
"#;
        match crate::parse::load_str("test.toml", text) {
            Ok(l) => l.schema,
            Err(d) => panic!("{}", d.render(crate::diagnostics::RenderStyle::Plain, 100)),
        }
    }

    fn policy(
        command: PolicyCommand,
        roles: &[&str],
        using: Option<&str>,
        check: Option<&str>,
    ) -> Policy {
        Policy {
            name: Ident::new("p"),
            command,
            permissive: true,
            roles: roles.iter().map(|r| Ident::new(*r)).collect(),
            using: using.map(SqlExpr::new),
            with_check: check.map(SqlExpr::new),
            comment: None,
        }
    }

    fn say(table: &str, p: &Policy) -> Wording {
        let name = QualifiedName::parse(table, "public").unwrap();
        describe(p, &name, &schema())
    }

    fn text(table: &str, p: &Policy) -> String {
        let w = say(table, p);
        assert!(w.recognized, "not recognised: {}", w.text);
        w.text
    }

    #[test]
    fn owner_in_every_spelling() {
        for using in [
            "user_id = auth.uid()",
            "auth.uid() = user_id",
            "user_id = (SELECT auth.uid())",
            "(user_id = ( SELECT auth.uid() AS uid))",
            "((( SELECT auth.uid() AS uid) = jobs.user_id))",
            "public.jobs.user_id = (select auth.uid())",
        ] {
            let p = policy(PolicyCommand::Select, &["authenticated"], Some(using), None);
            assert_eq!(
                text("jobs", &p),
                "A signed-in user can read their own rows (`user_id` is their user id).",
                "{using}"
            );
        }
    }

    #[test]
    fn each_command_has_its_verb() {
        let own = Some("user_id = (SELECT auth.uid())");
        let p = policy(PolicyCommand::All, &["authenticated"], own, own);
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can read, add, change and delete their own rows (`user_id` is their user id)."
        );
        let p = policy(PolicyCommand::Insert, &["authenticated"], None, own);
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can add their own rows (`user_id` is their user id)."
        );
        let p = policy(PolicyCommand::Update, &["authenticated"], own, own);
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can change their own rows (`user_id` is their user id); a changed row must still be theirs."
        );
        let p = policy(PolicyCommand::Update, &["authenticated"], own, None);
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can change their own rows (`user_id` is their user id); a changed row must still be theirs.",
            "without WITH CHECK, PostgreSQL checks new rows with USING"
        );
        let p = policy(PolicyCommand::Delete, &["authenticated"], own, None);
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can delete their own rows (`user_id` is their user id)."
        );
    }

    #[test]
    fn true_means_every_row_for_the_roles() {
        let p = policy(
            PolicyCommand::Select,
            &["anon", "authenticated"],
            Some("true"),
            None,
        );
        assert_eq!(
            text("jobs", &p),
            "A user in role `anon` or `authenticated` can read every row."
        );
        let p = policy(PolicyCommand::Insert, &[], None, Some("true"));
        assert_eq!(text("jobs", &p), "Anyone can add any row.");
        let p = policy(
            PolicyCommand::All,
            &["service_role"],
            Some("true"),
            Some("true"),
        );
        assert_eq!(
            text("jobs", &p),
            "The backend (`service_role`) can read, add, change and delete every row."
        );
    }

    #[test]
    fn constants_booleans_and_signed_in() {
        let p = policy(
            PolicyCommand::Select,
            &["anon"],
            Some("is_public AND status = 'open'::text"),
            None,
        );
        assert_eq!(
            text("jobs", &p),
            "An anonymous visitor (`anon`) can read rows whose `is_public` is true and whose `status` is `'open'`."
        );
        let p = policy(
            PolicyCommand::Select,
            &["public"],
            Some("auth.uid() IS NOT NULL"),
            None,
        );
        assert_eq!(
            text("jobs", &p),
            "Anyone can read every row while signed in."
        );
    }

    #[test]
    fn storage_objects_read_as_files_in_a_bucket() {
        let p = policy(
            PolicyCommand::Select,
            &["authenticated"],
            Some("bucket_id = 'documents' AND owner = (SELECT auth.uid())"),
            None,
        );
        assert_eq!(
            text("storage.objects", &p),
            "A signed-in user can read their own files in the `documents` bucket (`owner` is their user id)."
        );
        // PostgreSQL's canonical text of the same policy.
        let p = policy(
            PolicyCommand::Insert,
            &["authenticated"],
            None,
            Some("((bucket_id = 'documents'::text) AND (owner = ( SELECT auth.uid() AS uid)))"),
        );
        assert_eq!(
            text("storage.objects", &p),
            "A signed-in user can add their own files in the `documents` bucket (`owner` is their user id)."
        );
    }

    #[test]
    fn exists_over_a_parent_owned_by_the_user() {
        for using in [
            "EXISTS (SELECT 1 FROM jobs j WHERE j.id = applications.job_id AND j.user_id = auth.uid())",
            "EXISTS (SELECT 1 FROM jobs WHERE jobs.id = job_id AND jobs.user_id = (select auth.uid()))",
            "(EXISTS ( SELECT 1 FROM public.jobs j WHERE ((j.id = applications.job_id) AND (j.user_id = ( SELECT auth.uid() AS uid)))))",
        ] {
            let p = policy(PolicyCommand::Select, &["authenticated"], Some(using), None);
            assert_eq!(
                text("applications", &p),
                "A signed-in user can read rows of their own `jobs` (`job_id` → `jobs.id`, whose `user_id` is their user id).",
                "{using}"
            );
        }
    }

    #[test]
    fn anything_else_gets_the_generic_sentence() {
        for (using, why) in [
            ("user_id = auth.uid() OR is_public", "a disjunction"),
            ("user_id <> auth.uid()", "not equality"),
            (
                "NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = applications.job_id AND j.user_id = auth.uid())",
                "negated",
            ),
            (
                "EXISTS (SELECT 1 FROM jobs j WHERE j.id = applications.job_id AND j.user_id = auth.uid() LIMIT 1)",
                "an extra clause",
            ),
            (
                "EXISTS (SELECT 1 FROM jobs j WHERE j.user_id = auth.uid())",
                "no join: any job of theirs",
            ),
            ("user_id = auth.jwt() ->> 'sub'", "another function"),
            ("status", "not a boolean column"),
            ("status = NULL", "never true"),
            (
                "user_id = (SELECT auth.uid() FROM jobs)",
                "not a bare select",
            ),
        ] {
            let table = if using.contains("applications") {
                "applications"
            } else {
                "jobs"
            };
            let p = policy(PolicyCommand::Select, &["authenticated"], Some(using), None);
            let w = say(table, &p);
            assert!(!w.recognized, "{why}: {}", w.text);
            assert_eq!(
                w.text,
                "A signed-in user can read rows for which the `USING` condition holds (not put into words: see the SQL).",
                "{why}"
            );
        }
        let own = Some("user_id = auth.uid()");
        let p = policy(PolicyCommand::Update, &["authenticated"], own, Some("true"));
        assert!(!say("jobs", &p).recognized, "USING and WITH CHECK differ");
    }

    #[test]
    fn not_equal_says_what_happens_to_nulls() {
        let p = policy(
            PolicyCommand::Select,
            &["authenticated"],
            Some("status <> 'archived'::text"),
            None,
        );
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can read rows whose `status` is set and is not `'archived'`."
        );
        let p = policy(
            PolicyCommand::Select,
            &["authenticated"],
            Some("id <> '00000000-0000-0000-0000-000000000000'"),
            None,
        );
        assert_eq!(
            text("jobs", &p),
            "A signed-in user can read rows whose `id` is not `'00000000-0000-0000-0000-000000000000'`."
        );
    }

    #[test]
    fn restrictive_policies_say_they_restrict() {
        let mut p = policy(
            PolicyCommand::Select,
            &["authenticated"],
            Some("user_id = auth.uid()"),
            None,
        );
        p.permissive = false;
        assert_eq!(
            text("jobs", &p),
            "Restrictive: whatever other policies allow, a signed-in user can read only their own rows (`user_id` is their user id)."
        );
        p.using = Some(SqlExpr::new("user_id = auth.uid() OR is_public"));
        let w = say("jobs", &p);
        assert!(!w.recognized);
        assert_eq!(
            w.text,
            "Restrictive: whatever other policies allow, a signed-in user can read only rows for which the `USING` condition holds (not put into words: see the SQL)."
        );
    }
}
