//! Test helpers for the rules: a hand-built schema plus a small source text whose pieces are
//! registered as origins, and a compact rendering of the findings (code, line:column of each
//! label, message, help) for inline snapshots.

use super::validate;
use crate::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::model::{Column, PgType, QualifiedName, Schema, Table};
use crate::parse::{FileId, Origin, Origins, SourceMap};

/// A schema under test with its origins.
pub(crate) struct Fx {
    pub schema: Schema,
    pub origins: Origins,
    pub sources: SourceMap,
    file: FileId,
    text: String,
}

impl Fx {
    /// A fixture whose origins point into `text`.
    pub fn new(text: &str) -> Self {
        let mut sources = SourceMap::default();
        let file = sources.add("test.toml", text);
        Fx {
            schema: Schema::default(),
            origins: Origins::default(),
            sources,
            file,
            text: text.to_owned(),
        }
    }

    /// `public.<name>` with NOT NULL columns of the given types.
    pub fn table(name: &str, columns: &[(&str, &str)]) -> Table {
        let mut t = Table::new(QualifiedName::public(name));
        for (c, ty) in columns {
            let mut col = Column::new(*c, ty_of(ty));
            col.nullable = false;
            t.columns.push(col);
        }
        t
    }

    /// Adds a table.
    pub fn add_table(&mut self, t: Table) -> &mut Self {
        self.schema.tables.insert(t.name.clone(), t);
        self
    }

    /// Registers `key` at the first occurrence of `needle` in the text.
    pub fn key(&mut self, key: &str, needle: &str) -> &mut Self {
        self.key_nth(key, needle, 0)
    }

    /// Registers `key` at occurrence `n` (0-based) of `needle`.
    pub fn key_nth(&mut self, key: &str, needle: &str, n: usize) -> &mut Self {
        let origin = self.find(needle, n);
        self.origins.insert(key.to_owned(), origin);
        self
    }

    /// Registers `key` twice, at occurrences `first` and `second` of `needle`.
    pub fn dup(&mut self, key: &str, needle: &str, first: usize, second: usize) -> &mut Self {
        self.key_nth(key, needle, first)
            .key_nth(key, needle, second)
    }

    fn find(&self, needle: &str, n: usize) -> Origin {
        let start = self
            .text
            .match_indices(needle)
            .nth(n)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("`{needle}` #{n} is not in the fixture text"));
        Origin::new(self.file, start..start + needle.len())
    }

    /// Runs every rule and renders the findings compactly, in position order.
    pub fn run(&self) -> String {
        let mut diags = Diagnostics::from(validate(&self.schema, &self.origins, &self.sources));
        diags.finish(&self.sources);
        let mut out = String::new();
        for d in &diags.items {
            self.render(d, &mut out);
        }
        out
    }

    fn render(&self, d: &Diagnostic, out: &mut String) {
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "note",
        };
        let at = d
            .location()
            .map(|l| format!(" {}:{}", l.line, l.column))
            .unwrap_or_default();
        out.push_str(&format!("{severity}[{}]{at}: {}\n", d.code, d.message));
        let file = d.file.and_then(|f| self.sources.get(f));
        for l in &d.labels {
            let (line, col) = file.map_or((0, 0), |f| f.line_col(l.span.start));
            let text = self.text.get(l.span.clone()).unwrap_or("");
            out.push_str(&format!(
                "  {line}:{col} `{text}` {}\n",
                l.text.as_deref().unwrap_or("")
            ));
        }
        if let Some(h) = &d.help {
            out.push_str(&format!("  help: {h}\n"));
        }
    }
}

/// A type as a schema file would write it, resolved in `public`.
pub(crate) fn ty_of(text: &str) -> PgType {
    PgType::parse(text, "public").unwrap_or_else(|e| panic!("{e}"))
}
