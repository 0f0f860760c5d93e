//! Validation of a lowered schema: the checks that need the whole [`Schema`] at once.
//!
//! `parse` lowers the schema files into the IR and records where each object was declared
//! ([`Origins`]); this module then runs every rule over the IR and returns all findings as
//! [`Diagnostic`]s that point back at the offending text. One rule per file, squawk style: each
//! file has a `check(cx: &mut Cx)` that reads the schema through [`Cx`] and pushes diagnostics.
//! SQL syntax inside expressions is not checked here (lowering does it with sqlparser), and the
//! meaning of expressions is left to PostgreSQL (`canonical`).
//!
//! Rules:
//! - `duplicates`: objects declared twice, and names that collide in one PostgreSQL namespace
//!   (relations and constraint-backed indexes of a schema, types of a schema, constraints,
//!   policies, triggers and columns of a table);
//! - `types`: user-defined types that name nothing in the schema;
//! - `foreign_keys`: dangling references, column count and type mismatches, referenced columns
//!   without a unique constraint;
//! - `columns`: key, index, include and `UPDATE OF` columns that the table does not have;
//! - `enums`: empty enums, repeated labels, enum defaults that are not labels;
//! - `identifiers`: names longer than PostgreSQL keeps;
//! - `rust_names`: Rust struct, field and variant names that collide or are not identifiers;
//! - `policies`: policies without row-level security, clauses PostgreSQL rejects per command;
//! - `triggers`: trigger functions that are not declared or do not return `trigger`, and trigger
//!   shapes PostgreSQL rejects;
//! - `generated`: identity and generated columns that PostgreSQL rejects.

mod columns;
mod duplicates;
mod enums;
mod foreign_keys;
mod generated;
mod identifiers;
mod policies;
mod rust_names;
mod suggest;
mod triggers;
mod types;

#[cfg(test)]
mod test_util;

use crate::diagnostics::Diagnostic;
use crate::model::{Column, FunctionId, PgType, QualifiedName, Schema, Table};
use crate::parse::{Origin, Origins, SourceMap};
use std::collections::BTreeSet;
use std::ops::Range;

pub use suggest::suggest;

/// Validates a lowered schema: runs every rule and returns all findings (errors and warnings),
/// unsorted; [`crate::diagnostics::Diagnostics::finish`] orders them.
pub fn validate(schema: &Schema, origins: &Origins, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut cx = Cx::new(schema, origins, sources);
    duplicates::check(&mut cx);
    identifiers::check(&mut cx);
    types::check(&mut cx);
    columns::check(&mut cx);
    foreign_keys::check(&mut cx);
    enums::check(&mut cx);
    generated::check(&mut cx);
    policies::check(&mut cx);
    triggers::check(&mut cx);
    rust_names::check(&mut cx);
    cx.diags
}

/// The state every rule works on: the schema, where its objects were declared, the files'
/// text, and the findings so far.
pub(crate) struct Cx<'a> {
    /// The lowered schema.
    pub schema: &'a Schema,
    /// Where each object was declared.
    pub origins: &'a Origins,
    /// The files' text (to narrow a label to one word inside a declaration).
    pub sources: &'a SourceMap,
    /// Schemas the schema declares objects in (see [`Cx::is_declared_schema`]).
    declared_schemas: BTreeSet<String>,
    diags: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    fn new(schema: &'a Schema, origins: &'a Origins, sources: &'a SourceMap) -> Self {
        let mut declared_schemas: BTreeSet<String> = BTreeSet::new();
        declared_schemas.extend(schema.schemas.keys().map(|s| s.0.clone()));
        let qualified = schema
            .tables
            .keys()
            .chain(schema.views.keys())
            .chain(schema.enums.keys())
            .chain(schema.domains.keys())
            .chain(schema.composites.keys())
            .chain(schema.sequences.keys())
            .chain(schema.collations.keys())
            .chain(schema.functions.keys().map(|f| &f.name));
        declared_schemas.extend(qualified.map(|q| q.schema.0.clone()));
        Cx {
            schema,
            origins,
            sources,
            declared_schemas,
            diags: Vec::new(),
        }
    }

    /// Records a finding.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// The declaration of `key`, else of the object `fallback`.
    pub fn origin(&self, key: &str, fallback: &str) -> Option<Origin> {
        self.origins.get_or(key, fallback).cloned()
    }

    /// The place of `needle` inside `origin` (a quoted TOML string `"needle"` or `'needle'`,
    /// else the bare word), so that a label points at the one offending name of a list; the
    /// whole origin when it is not found.
    pub fn narrow(&self, origin: Option<Origin>, needle: &str) -> Option<Origin> {
        self.find(origin.as_ref(), "", needle).or(origin)
    }

    /// The place of `needle` inside `origin`, after the TOML key `marker` (`include = …`; from
    /// the start when `marker` is empty); `None` when not found.
    pub fn find(&self, origin: Option<&Origin>, marker: &str, needle: &str) -> Option<Origin> {
        self.find_nth(origin, marker, needle, 0)
    }

    /// Like [`Cx::find`], for occurrence `n` (0-based) of `needle`. An origin that is a table
    /// header (`[[table.users.unique]]`) or a name inside one (`[table.users]`) is searched
    /// together with the table's body, up to the next header: that is where its keys are.
    pub fn find_nth(
        &self,
        origin: Option<&Origin>,
        marker: &str,
        needle: &str,
        n: usize,
    ) -> Option<Origin> {
        let origin = origin?;
        let file = self.sources.get(origin.file)?;
        let search = |region: Range<usize>| -> Option<Origin> {
            let text = file.text.get(region.clone())?;
            let mut from = if marker.is_empty() {
                0
            } else {
                find_key(text, marker)?
            };
            for _ in 0..n {
                from += find_name(&text[from..], needle)?.end;
            }
            let r = find_name(&text[from..], needle)?;
            let start = region.start + from;
            Some(Origin::new(origin.file, start + r.start..start + r.end))
        };
        // The origin itself first: a name's own key must win over a mention in the body.
        search(origin.span.clone())
            .or_else(|| region(&file.text, origin.span.clone()).and_then(search))
    }

    /// True when the schema declares objects in schema `name` (or declares the schema itself):
    /// only there can a missing type, table or function be a mistake rather than something
    /// another party (Supabase, an extension, a hand-written migration) provides.
    pub fn is_declared_schema(&self, name: &str) -> bool {
        self.declared_schemas.contains(name)
    }

    /// True for schemas whose objects exist without being declared (Supabase's, PostgreSQL's).
    pub fn is_external_schema(&self, name: &str) -> bool {
        // Supabase's schemas and PostgreSQL's own: what is in them exists without being declared.
        crate::model::SUPABASE_SCHEMAS.contains(&name)
            || matches!(name, "pg_catalog" | "information_schema")
    }

    /// True when a declared extension is installed in schema `name` (so it may provide types
    /// and functions there that the schema does not declare).
    pub fn has_extension_in(&self, name: &str) -> bool {
        self.schema
            .extensions
            .values()
            .any(|e| e.schema.as_str() == name)
    }

    /// The columns of `table`, including those inherited from its parents (a partition or an
    /// inheritance child declares only its own columns).
    pub fn all_columns(&self, table: &'a Table) -> Vec<&'a Column> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.collect_columns(table, &mut out, &mut seen);
        out
    }

    fn collect_columns(
        &self,
        table: &'a Table,
        out: &mut Vec<&'a Column>,
        seen: &mut BTreeSet<&'a QualifiedName>,
    ) {
        if !seen.insert(&table.name) {
            return;
        }
        let parents = table
            .partition_of
            .iter()
            .map(|p| &p.parent)
            .chain(table.inherits.iter());
        for parent in parents {
            if let Some(p) = self.schema.tables.get(parent) {
                self.collect_columns(p, out, seen);
            }
        }
        for c in &table.columns {
            if !out.iter().any(|o| o.name == c.name) {
                out.push(c);
            }
        }
    }

    /// True when the table inherits columns from a parent the schema does not declare, so its
    /// column list is not known in full.
    pub fn has_unknown_parent(&self, table: &Table) -> bool {
        table
            .partition_of
            .iter()
            .map(|p| &p.parent)
            .chain(table.inherits.iter())
            .any(|p| !self.schema.tables.contains_key(p))
    }

    /// The type behind a domain (through nested domains), or the type itself.
    pub fn resolve_domains<'t>(&'t self, ty: &'t PgType) -> &'t PgType {
        let mut ty = ty;
        // A bound: domains over domains are rare, and a cycle must not loop forever.
        for _ in 0..16 {
            match ty {
                PgType::Named(name) => match self.schema.domains.get(name) {
                    Some(d) => ty = &d.base,
                    None => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }
}

/// A diagnostic builder that tolerates a missing origin (hand-built schemas have none).
pub(crate) trait DiagnosticExt: Sized {
    /// The primary label, when the origin is known.
    fn at_opt(self, origin: Option<&Origin>, text: impl Into<String>) -> Self;
    /// A secondary label, when the origin is known.
    fn also_opt(self, origin: Option<&Origin>, text: impl Into<String>) -> Self;
}

impl DiagnosticExt for Diagnostic {
    fn at_opt(self, origin: Option<&Origin>, text: impl Into<String>) -> Self {
        match origin {
            Some(o) => self.at(o, text),
            None => self,
        }
    }

    fn also_opt(self, origin: Option<&Origin>, text: impl Into<String>) -> Self {
        match origin {
            Some(o) => self.also(o, text),
            None => self,
        }
    }
}

/// Where `name` occurs in `text`: as a quoted string (`"name"`, `'name'`), else as a whole word.
fn find_name(text: &str, name: &str) -> Option<Range<usize>> {
    if name.is_empty() {
        return None;
    }
    for quote in ['"', '\''] {
        let quoted = format!("{quote}{name}{quote}");
        if let Some(i) = text.find(&quoted) {
            return Some(i..i + quoted.len());
        }
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(name)) {
        let start = from + i;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return Some(start..end);
        }
        from = end;
    }
    None
}

/// The text to search for names inside `span`: the span itself, or, when it lies on a table
/// header line, the span through the end of that table's body (the line before the next header).
fn region(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    text.get(span.clone())?;
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..].trim_start().starts_with('[') {
        return Some(span);
    }
    let mut offset = text[span.end..]
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    while offset < text.len() {
        let line_end = text[offset..]
            .find('\n')
            .map_or(text.len(), |i| offset + i + 1);
        if text[offset..line_end].trim_start().starts_with('[') {
            break;
        }
        offset = line_end;
    }
    Some(span.start..offset.max(span.end))
}

/// The offset just after `key =` (a TOML key, as a whole word) in `text`.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(key)) {
        let start = from + i;
        let end = start + key.len();
        let before = text[..start].chars().next_back();
        let rest = text[end..].trim_start_matches([' ', '\t']);
        if !before.is_some_and(is_word) && rest.starts_with('=') {
            return Some(end);
        }
        from = end;
    }
    None
}

/// `table <name>`.
pub(crate) fn table_key(name: &QualifiedName) -> String {
    format!("table {name}")
}

/// `function <id>`.
pub(crate) fn function_key(id: &FunctionId) -> String {
    format!("function {id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_name_prefers_quoted_then_whole_words() {
        assert_eq!(
            find_name(r#"columns = ["id", "user_id"]"#, "id"),
            Some(11..15)
        );
        assert_eq!(find_name("references = 'users'", "users"), Some(13..20));
        assert_eq!(find_name("users.user_id.id", "id"), Some(14..16));
        assert_eq!(find_name("user_ids", "id"), None);
        assert_eq!(find_name("", ""), None);
    }

    #[test]
    fn headers_extend_to_their_table_body() {
        let text = "[[table.t.unique]]\ncolumns = [\"a\"]\n\n[table.u]\nx = 1\n";
        assert_eq!(region(text, 0..18), Some(0..36));
        assert_eq!(region(text, 44..45), Some(44..text.len()));
        assert_eq!(region(text, 29..32), Some(29..32));
        assert_eq!(find_key("of = [1], offset = 2", "of"), Some(2));
        assert_eq!(find_key("offset = 2, of= 1", "of"), Some(14));
        assert_eq!(find_key("prof = 1", "of"), None);
    }
}
