//! Lowering: the schema language's syntax tree ([`super::ast`]) → the IR ([`Schema`]).
//!
//! Lowering fills in what PostgreSQL fills in (the names it gives unnamed constraints and indexes,
//! `NOT NULL` on primary-key columns, default foreign-key actions and index methods, identity
//! sequence bounds, serial sequences), so that a declared schema and the database built from it
//! lower to equal values. It records where each object was declared in [`Origins`], under the
//! keys of `canonical::visit_exprs`, and checks the syntax of every SQL expression with
//! sqlparser (`super::sql`), reporting each error at its file:line:column. Meaning is checked by
//! `crate::validate` afterwards and, for expressions, by PostgreSQL itself (`canonical`).
//!
//! Several files may declare parts of one table (columns in one, policies in another): list-valued
//! parts are merged; declaring the columns of a table twice is a duplicate.

mod objects;
mod routine;
mod table;

pub(crate) use routine::{ARG_MODES, MULTI_WORD_TYPE_STARTS};

use super::ast::{Document, Either, Grants, OptionsMap, Scalar, Sp};
use super::{FileId, Origin, Origins, SourceMap};
use crate::diagnostics::Diagnostic;
use crate::model::{
    Grant, Ident, MAX_IDENT_BYTES, PgType, Privilege, QualifiedName, Schema, SqlExpr,
};
use std::collections::{BTreeMap, BTreeSet};

/// Lowers parsed documents (in load order) into one schema, with the origins of its objects and
/// every problem found on the way.
pub fn lower(docs: &[Document], sources: &SourceMap) -> (Schema, Origins, Vec<Diagnostic>) {
    let mut cx = Lowerer {
        schema: Schema::default(),
        origins: Origins::default(),
        diags: Vec::new(),
        sources,
        file: FileId(0),
        taken: BTreeMap::new(),
        pending_fks: Vec::new(),
    };
    // Names written out are reserved first, so that a derived name never takes one that a later
    // declaration states explicitly (PostgreSQL would have failed on that order of creation).
    for doc in docs {
        cx.reserve_explicit_names(doc);
    }
    for doc in docs {
        cx.file = doc.file;
        cx.lower_document(doc);
    }
    cx.resolve_foreign_keys();
    for table in cx.schema.tables.values_mut() {
        normalize_index_collations(table);
        table.sort_children();
    }
    for view in cx.schema.views.values_mut() {
        view.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        view.triggers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    for a in cx.schema.attached.values_mut() {
        a.policies.sort_by(|x, y| x.name.cmp(&y.name));
        a.triggers.sort_by(|x, y| x.name.cmp(&y.name));
    }
    cx.schema.default_privileges.sort();
    cx.schema.default_privileges.dedup();
    (cx.schema, cx.origins, cx.diags)
}

/// An index key on a column takes the column's collation unless it says otherwise, and the
/// catalog cannot tell "said the same" from "said nothing": both become "nothing".
fn normalize_index_collations(table: &mut crate::model::Table) {
    let columns = table.columns.clone();
    for index in &mut table.indexes {
        for key in &mut index.keys {
            if let crate::model::IndexKey::Column(name) = &key.key {
                let own = columns
                    .iter()
                    .find(|c| &c.name == name)
                    .and_then(|c| c.collation.as_ref());
                if key.collation.is_some() && key.collation.as_ref() == own {
                    key.collation = None;
                }
            }
        }
    }
}

/// What kind of SQL a text must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SqlKind {
    /// A value expression (`now()`, `amount >= 0`).
    Expr,
    /// A query (`SELECT …`).
    Query,
    /// Not checked here (partition bounds, exclusion definitions): PostgreSQL checks them.
    Unchecked,
}

/// A foreign key whose referenced columns are the referenced table's primary key, resolved once
/// every table is lowered.
struct PendingFk {
    table: QualifiedName,
    name: Ident,
    origin: Origin,
}

/// The lowering state.
pub(super) struct Lowerer<'a> {
    schema: Schema,
    origins: Origins,
    diags: Vec<Diagnostic>,
    sources: &'a SourceMap,
    file: FileId,
    /// Relation and constraint names in use, per schema (PostgreSQL's namespace for derived
    /// names: `ChooseRelationName` and `ChooseConstraintName` look in the whole schema).
    taken: BTreeMap<Ident, BTreeSet<String>>,
    pending_fks: Vec<PendingFk>,
}

impl Lowerer<'_> {
    fn lower_document(&mut self, doc: &Document) {
        for e in &doc.extensions {
            self.extension(e);
        }
        for s in &doc.schemas {
            self.schema_decl(s);
        }
        for c in &doc.collations {
            self.collation(c);
        }
        for e in &doc.enums {
            self.enum_type(e);
        }
        for d in &doc.domains {
            self.domain(d);
        }
        for c in &doc.composites {
            self.composite(c);
        }
        for s in &doc.sequences {
            self.sequence(s);
        }
        for t in &doc.tables {
            self.table(t);
        }
        for v in &doc.views {
            self.view(v);
        }
        for f in &doc.functions {
            self.function(f, crate::model::FunctionKind::Function);
        }
        for p in &doc.procedures {
            self.function(p, crate::model::FunctionKind::Procedure);
        }
        for b in &doc.buckets {
            self.bucket(b);
        }
        for a in &doc.attached {
            self.attached(a);
        }
        for (i, d) in doc.default_privileges.iter().enumerate() {
            self.default_privileges(i, d);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Small helpers shared by the object kinds

    /// The origin of a span in the current file.
    fn origin(&self, span: &std::ops::Range<usize>) -> Origin {
        Origin::new(self.file, span.clone())
    }

    /// Records an error.
    fn error(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        at: &Origin,
        label: &str,
        help: &str,
    ) {
        let mut d = Diagnostic::error(code, message).at(at, label);
        if !help.is_empty() {
            d = d.help(help);
        }
        self.diags.push(d);
    }

    /// Parses an object name (`users`, `app.users`, `"MixedCase"`), defaulting to `public`.
    fn qname(&mut self, text: &Sp<String>, what: &str) -> Option<QualifiedName> {
        match QualifiedName::parse(&text.value, "public") {
            Some(q) => Some(q),
            None => {
                let at = self.origin(&text.span);
                self.error(
                    "schema::invalid_name",
                    format!("`{}` is not a valid {what} name", text.value),
                    &at,
                    "not a name",
                    "write `name` or `schema.name`; double-quote parts that need it (`\"MyTable\"`)",
                );
                None
            }
        }
    }

    /// An exact name (a column, a constraint…), checked for length.
    fn ident(&mut self, text: &Sp<String>) -> Ident {
        self.check_length(&text.value, &text.span);
        Ident::new(text.value.clone())
    }

    /// Reports a name longer than PostgreSQL keeps (it would silently truncate it).
    fn check_length(&mut self, name: &str, span: &std::ops::Range<usize>) {
        if name.len() > MAX_IDENT_BYTES {
            let at = self.origin(span);
            let keep = crate::naming::make_object_name(name, None, None);
            self.error(
                "schema::name_too_long",
                format!(
                    "`{name}` is {} bytes long; PostgreSQL keeps only {MAX_IDENT_BYTES}",
                    name.len()
                ),
                &at,
                "too long",
                &format!("shorten it (PostgreSQL would truncate it to `{keep}`)"),
            );
        }
    }

    /// Parses a type.
    fn ty(&mut self, text: &str, span: &std::ops::Range<usize>) -> Option<PgType> {
        match PgType::parse(text, "public") {
            Ok(t) => Some(t),
            Err(e) => {
                let at = self.origin(span);
                self.error(
                    "schema::invalid_type",
                    e.to_string(),
                    &at,
                    "not a type",
                    "write a PostgreSQL type: `text`, `varchar(120)`, `numeric(12,2)`, `text[]`, an enum's name…",
                );
                None
            }
        }
    }

    /// SQL text from the schema file, its syntax checked.
    fn sql(&mut self, text: &str, span: &std::ops::Range<usize>, kind: SqlKind) -> SqlExpr {
        let result = match kind {
            SqlKind::Expr => super::sql::parse_expr(text).map(|_| ()),
            SqlKind::Query => super::sql::parse_query(text),
            SqlKind::Unchecked => Ok(()),
        };
        if let Err(e) = result {
            let start = self.content_start(span) + e.offset;
            let end = (start + 1).min(span.end.max(start + 1));
            let at = Origin::new(self.file, start..end);
            let what = if kind == SqlKind::Query {
                "query"
            } else {
                "expression"
            };
            self.error(
                "schema::invalid_sql",
                format!("invalid SQL {what}: {}", e.message),
                &at,
                "here",
                "write the SQL as PostgreSQL accepts it after `DEFAULT`, `CHECK (…)`, `USING (…)`…",
            );
        }
        // Kept exactly as written: a view query's text is PostgreSQL's own (it starts with a
        // space), and declared text is mapped to the canonical form by the lock anyway.
        SqlExpr::new(text.to_owned())
    }

    /// SQL given as a TOML scalar (`default = 0`, `default = "now()"`).
    fn scalar_sql(&mut self, s: &Sp<Scalar>) -> SqlExpr {
        self.sql(&s.value.0, &s.span, SqlKind::Expr)
    }

    /// The byte offset where the text of a TOML string value starts (after its opening quotes
    /// and, for multi-line strings, the newline TOML trims).
    fn content_start(&self, span: &std::ops::Range<usize>) -> usize {
        let Some(file) = self.sources.get(self.file) else {
            return span.start;
        };
        let rest = file.text.get(span.start..).unwrap_or("");
        let skip = if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
            let after = &rest[3..];
            3 + if after.starts_with("\r\n") {
                2
            } else if after.starts_with('\n') {
                1
            } else {
                0
            }
        } else if rest.starts_with('\'') || rest.starts_with('"') {
            1
        } else {
            0
        };
        span.start + skip
    }

    /// `name=value` option strings, sorted as the catalog lists them.
    fn options(&mut self, map: &Sp<OptionsMap>) -> Vec<String> {
        let mut out: Vec<String> = map
            .value
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", k.value, v.value.0))
            .collect();
        out.sort();
        out
    }

    /// Grants of an object whose `all` means `all` (the privileges that kind of object has).
    fn grants(&mut self, grants: &Sp<Grants>, all: &[Privilege]) -> BTreeSet<Grant> {
        let mut out = BTreeSet::new();
        for (role, spec) in &grants.value.0 {
            let grantee = Ident::new(role.value.clone());
            let (words, with_grant_option) = match &spec.value {
                Either::Short(words) => (words.clone(), false),
                Either::Long(d) => (d.privileges.clone(), d.with_grant_option),
            };
            for word in &words {
                if word.value.eq_ignore_ascii_case("all")
                    || word.value.eq_ignore_ascii_case("all privileges")
                {
                    for p in all {
                        out.insert(Grant {
                            grantee: grantee.clone(),
                            privilege: *p,
                            with_grant_option,
                        });
                    }
                    continue;
                }
                match Privilege::parse(&word.value) {
                    Some(p) if all.contains(&p) => {
                        out.insert(Grant {
                            grantee: grantee.clone(),
                            privilege: p,
                            with_grant_option,
                        });
                    }
                    other => {
                        let at = self.origin(&word.span);
                        let allowed: Vec<String> =
                            all.iter().map(|p| p.sql().to_ascii_lowercase()).collect();
                        let message = match other {
                            Some(_) => {
                                format!("`{}` cannot be granted on this kind of object", word.value)
                            }
                            None => format!("`{}` is not a privilege", word.value),
                        };
                        self.error(
                            "schema::invalid_privilege",
                            message,
                            &at,
                            "here",
                            &format!("use one of: {}, or `all`", allowed.join(", ")),
                        );
                    }
                }
            }
        }
        out
    }

    /// Parses a keyword from a fixed list (`on_delete = "cascade"`), reporting the others.
    fn keyword<T: Clone>(
        &mut self,
        text: &Sp<String>,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let norm = text
            .value
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_");
        if let Some((_, v)) = choices.iter().find(|(k, _)| *k == norm) {
            return Some(v.clone());
        }
        let at = self.origin(&text.span);
        let names: Vec<String> = choices.iter().map(|(k, _)| format!("`{k}`")).collect();
        let suggestion = crate::validate::suggest(&norm, choices.iter().map(|(k, _)| *k));
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`? {what} is one of {}", names.join(", ")),
            None => format!("{what} is one of {}", names.join(", ")),
        };
        self.error(
            "schema::invalid_value",
            format!("`{}` is not a valid {what}", text.value),
            &at,
            "here",
            &help,
        );
        None
    }

    /// Marks a derived or explicit name as used in `schema`.
    fn take_name(&mut self, schema: &Ident, name: &str) {
        self.taken
            .entry(schema.clone())
            .or_default()
            .insert(name.to_owned());
    }

    /// PostgreSQL's `ChooseRelationName`/`ChooseConstraintName` for a name left out.
    fn choose_name(
        &mut self,
        schema: &Ident,
        name1: &str,
        name2: Option<&str>,
        label: &str,
    ) -> Ident {
        // Borrowed, not cloned: a schema has a name per relation and constraint, and naming
        // happens once per constraint (cloning the set each time made loading quadratic).
        let name = crate::naming::choose_name(name1, name2, label, &|n| {
            self.taken.get(schema).is_some_and(|t| t.contains(n))
        });
        self.take_name(schema, &name);
        Ident::new(name)
    }
}

/// Privileges that `all` stands for, per kind of object.
pub(super) mod all {
    use crate::model::Privilege::{self, *};

    /// Tables, views, materialized views.
    pub const TABLE: &[Privilege] = &[
        Select, Insert, Update, Delete, Truncate, References, Trigger,
    ];
    /// Columns.
    pub const COLUMN: &[Privilege] = &[Select, Insert, Update, References];
    /// Sequences.
    pub const SEQUENCE: &[Privilege] = &[Usage, Select, Update];
    /// Functions and procedures.
    pub const FUNCTION: &[Privilege] = &[Execute];
    /// Schemas.
    pub const SCHEMA: &[Privilege] = &[Usage, Create];
    /// Types and domains.
    pub const TYPE: &[Privilege] = &[Usage];
}

#[cfg(test)]
mod tests {
    use crate::model::{FkAction, Ident, QualifiedName};
    use crate::parse::load_str;

    const SAMPLE: &str = r#"
[enum.application_status]
values = ["draft", "submitted"]

[table.users]
comment = "People"
columns.id = { type = "uuid", primary_key = true, default = "gen_random_uuid()" }
columns.email = { type = "varchar(320)", unique = true }
columns.age = { type = "int", nullable = true, check = "age >= 0" }
columns.n = "serial"

[table.applications]
columns.id = { type = "bigint", identity = "always", primary_key = true }
columns.user_id = { type = "uuid", references = "users", on_delete = "cascade" }
columns.status = { type = "application_status", default = "'draft'" }
check = [{ expr = "id > 0 AND user_id IS NOT NULL" }]
index = [{ columns = ["user_id", "status DESC"] }, { keys = [{ expr = "lower(status::text)" }], unique = true }]
policy = [{ name = "own", for = "select", to = ["authenticated"], using = "user_id = auth.uid()" }]
rls = true
"#;

    #[test]
    fn postgres_defaults_are_filled_in() {
        let loaded = match load_str("sample.toml", SAMPLE) {
            Ok(l) => l,
            Err(d) => panic!("{}", d.render(crate::diagnostics::RenderStyle::Plain, 100)),
        };
        let s = &loaded.schema;
        let users = &s.tables[&QualifiedName::public("users")];
        assert_eq!(
            users.primary_key.as_ref().map(|p| p.name.as_str()),
            Some("users_pkey")
        );
        assert_eq!(users.uniques[0].name.as_str(), "users_email_key");
        assert_eq!(users.checks[0].name.as_str(), "users_age_check");
        assert!(!users.columns[1].nullable);
        assert!(users.columns[2].nullable);
        assert!(
            s.sequences
                .contains_key(&QualifiedName::public("users_n_seq"))
        );
        let apps = &s.tables[&QualifiedName::public("applications")];
        let fk = &apps.foreign_keys[0];
        assert_eq!(fk.name.as_str(), "applications_user_id_fkey");
        assert_eq!(fk.referenced_columns, vec![Ident::new("id")]);
        assert_eq!(fk.on_delete, FkAction::Cascade);
        assert_eq!(apps.checks[0].name.as_str(), "applications_check");
        let names: Vec<&str> = apps.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            ["applications_lower_idx", "applications_user_id_status_idx"]
        );
        assert!(apps.indexes[1].keys[1].descending && apps.indexes[1].keys[1].nulls_first);
        assert!(apps.row_security.enabled);
        assert!(
            loaded
                .origins
                .get("table public.applications policy own using")
                .is_some()
        );
    }

    #[test]
    fn bad_sql_is_reported_at_its_position() {
        let text = "[table.t]\ncolumns.a = { type = \"int\", check = \"a >= \" }\n";
        let Err(d) = load_str("bad.toml", text) else {
            panic!("loaded");
        };
        let first = &d.items[0];
        assert_eq!(first.code, "schema::invalid_sql");
        let loc = first.location().map(|l| (l.line, l.column));
        assert_eq!(loc, Some((2, 43)), "the end of the expression");
    }
}
