//! Reading schema files: one file or every `*.toml` of a directory (sorted by file name), each
//! parsed with source spans, then lowered and validated together.
//!
//! This is the only part of `parse` that touches the file system. It keeps every file's text in
//! a [`SourceMap`] so diagnostics can show the offending lines, and returns the lowered
//! [`Schema`] with [`Origins`], the side table that maps each declared object to its place in
//! the files.

use super::{ast, lower};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::Schema;
use std::collections::{HashMap, hash_map};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// One loaded schema file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in diagnostics (the path as given).
    pub name: String,
    /// The file's text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// Every file of a load, by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        FileId(self.files.len() - 1)
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0)
    }

    /// Every file with its id, in load order.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i), f))
    }

    /// The text at an origin.
    pub fn text(&self, origin: &Origin) -> Option<&str> {
        self.get(origin.file)?.text.get(origin.span.clone())
    }
}

/// Where something was declared: a file and a byte range in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file.
    pub file: FileId,
    /// Byte range of the declaration (a key, or a value).
    pub span: Range<usize>,
}

impl Origin {
    /// An origin.
    pub fn new(file: FileId, span: Range<usize>) -> Self {
        Origin { file, span }
    }
}

/// The same object declared twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The object key (`table public.users`).
    pub key: String,
    /// The first declaration.
    pub first: Origin,
    /// The later one.
    pub second: Origin,
}

/// The side table from object keys to declarations. Keys name an object and, optionally, an
/// attribute, in the same vocabulary as `canonical::visit_exprs`: `table public.users`,
/// `table public.users column email`, `table public.users column email default`,
/// `table public.users index users_email_idx`, `function public.f(integer)`…
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// Hashed, not ordered: a big schema has tens of thousands of keys sharing long prefixes
    /// (`table public.t column …`), which an ordered map compares again and again.
    map: HashMap<String, Origin>,
    duplicates: Vec<Duplicate>,
}

impl Origins {
    /// The declaration of `key`.
    pub fn get(&self, key: &str) -> Option<&Origin> {
        self.map.get(key)
    }

    /// The declaration of `key`, else of the object `fallback` (for attributes that were filled
    /// in by default and so have no text of their own).
    pub fn get_or<'a>(&'a self, key: &str, fallback: &str) -> Option<&'a Origin> {
        self.map.get(key).or_else(|| self.map.get(fallback))
    }

    /// Records a declaration; a second declaration of the same key is kept as a [`Duplicate`].
    pub fn insert(&mut self, key: String, origin: Origin) {
        match self.map.entry(key) {
            hash_map::Entry::Occupied(first) => self.duplicates.push(Duplicate {
                key: first.key().clone(),
                first: first.get().clone(),
                second: origin,
            }),
            hash_map::Entry::Vacant(slot) => {
                slot.insert(origin);
            }
        }
    }

    /// Records a declaration only when the key is not known yet (no duplicate check).
    pub fn insert_soft(&mut self, key: String, origin: Origin) {
        self.map.entry(key).or_insert(origin);
    }

    /// Every key and its declaration, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Origin)> {
        self.map.iter().map(|(k, o)| (k.as_str(), o))
    }

    /// Keys declared more than once.
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }
}

/// A successfully loaded schema.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The lowered schema (expressions still as declared; see `canonical`).
    pub schema: Schema,
    /// Where each object was declared.
    pub origins: Origins,
    /// The files' text.
    pub sources: SourceMap,
    /// Warnings (never errors: with errors, loading fails).
    pub warnings: Diagnostics,
}

/// Loads every `*.toml` file of `dir` (not recursive), sorted by file name, as one schema.
pub fn load_dir(dir: &Path) -> Result<Loaded, Diagnostics> {
    let mut entries = Vec::new();
    let read = std::fs::read_dir(dir).map_err(|e| {
        Diagnostics::from(vec![
            Diagnostic::error(
                "schema::io",
                format!("cannot read schema directory {}: {e}", dir.display()),
            )
            .help("pass the directory that holds the schema's *.toml files"),
        ])
    })?;
    for entry in read.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            entries.push(path);
        }
    }
    entries.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if entries.is_empty() {
        return Err(Diagnostics::from(vec![
            Diagnostic::error(
                "schema::no_files",
                format!("no *.toml files in {}", dir.display()),
            )
            .help("create a schema file, e.g. schema/tables.toml, or run `codegen import`"),
        ]));
    }
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in entries {
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.push((path.display().to_string(), text)),
                Err(_) => errors.push(
                    Diagnostic::error(
                        "schema::io",
                        format!("{} is not UTF-8 text", path.display()),
                    )
                    .help("save the file as UTF-8"),
                ),
            },
            Err(e) => errors.push(Diagnostic::error(
                "schema::io",
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics::from(errors));
    }
    load_files(files)
}

/// Loads one schema file from a string (`name` is used in diagnostics).
pub fn load_str(name: &str, text: &str) -> Result<Loaded, Diagnostics> {
    load_files(vec![(name.to_owned(), text.to_owned())])
}

/// Loads several files, given as (name, text), in the order given, as one schema.
pub fn load_files(files: Vec<(String, String)>) -> Result<Loaded, Diagnostics> {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let mut parsed = Vec::new();
    for (name, text) in files {
        let id = sources.add(name, text);
        let Some(file) = sources.get(id) else {
            continue;
        };
        let text = file.text.clone();
        let (doc, errs) = ast::read_document(id, &text);
        let had_syntax_errors = !errs.is_empty();
        diags.extend(errs);
        if !had_syntax_errors {
            parsed.push(doc);
        }
    }
    let (schema, origins, lower_diags) = lower::lower(&parsed, &sources);
    diags.extend(lower_diags);
    diags.extend(crate::validate::validate(&schema, &origins, &sources));
    let mut all = Diagnostics::from(diags);
    all.finish(&sources);
    if all.has_errors() {
        return Err(all);
    }
    Ok(Loaded {
        schema,
        origins,
        sources,
        warnings: all,
    })
}
