//! How one module of a generated file names types: which paths it `use`s and which it spells
//! out, so that the code reads like hand-written code (`DateTime<Utc>`, `UserId`) without ever
//! importing a name twice or shadowing a local item.
//!
//! Paths to other generated modules are relative (`super::ids::UserId`), never `crate::…`:
//! the same tokens then work as the files of `generated/` and inside whatever module
//! `jobpilot-macros` expands them in.

use super::RustRenderError;
use super::type_map::{ItemPath, Module, RustType, TypePath};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use std::collections::{BTreeMap, BTreeSet};

/// A module being rendered: the top of a generated file (`depth` 0) or a schema's module
/// inside it (`depth` 1).
#[derive(Debug, Clone)]
pub struct Scope {
    module: Module,
    schema: Option<String>,
    depth: usize,
    /// Names the module defines itself.
    locals: BTreeSet<String>,
    /// Imported names and their full paths.
    imports: BTreeMap<String, Vec<String>>,
}

impl Scope {
    /// A scope for the items of `schema` (a schema module name, `None` for the top level) in
    /// `module`, which defines `locals` and mentions `used`. Each used path is imported when
    /// its last segment names nothing else in the module.
    pub fn new<'p>(
        module: Module,
        schema: Option<String>,
        locals: BTreeSet<String>,
        used: impl IntoIterator<Item = &'p TypePath>,
    ) -> Scope {
        let depth = usize::from(schema.is_some());
        let mut scope = Scope {
            module,
            schema,
            depth,
            locals,
            imports: BTreeMap::new(),
        };
        let mut by_name: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
        for path in used {
            let importable = match path {
                TypePath::Builtin(_) => false,
                TypePath::External { import, .. } => *import,
                TypePath::Generated(item) => !scope.is_local(item),
            };
            if importable {
                let full = scope.full_path(path);
                if let Some(last) = full.last() {
                    by_name.entry(last.clone()).or_default().insert(full);
                }
            }
        }
        for (name, paths) in by_name {
            if paths.len() == 1 && !scope.locals.contains(&name) {
                if let Some(path) = paths.into_iter().next() {
                    scope.imports.insert(name, path);
                }
            }
        }
        scope
    }

    fn is_local(&self, item: &ItemPath) -> bool {
        item.module == self.module && item.schema == self.schema
    }

    /// The path of `path` from this module, segment by segment.
    fn full_path(&self, path: &TypePath) -> Vec<String> {
        match path {
            TypePath::Builtin(name) => vec![(*name).to_owned()],
            TypePath::External { path, .. } => path.iter().map(|s| (*s).to_owned()).collect(),
            TypePath::Generated(item) if self.is_local(item) => vec![item.name.clone()],
            TypePath::Generated(item) => {
                let mut out = vec!["super".to_owned(); self.depth + 1];
                out.push(item.module.name().to_owned());
                out.extend(item.schema.iter().cloned());
                out.push(item.name.clone());
                out
            }
        }
    }

    /// The tokens naming `path` here: its last segment when imported, else the whole path.
    pub fn path(&self, path: &TypePath) -> Result<TokenStream, RustRenderError> {
        let full = self.full_path(path);
        let segments = match full.last() {
            Some(last) if self.imports.get(last) == Some(&full) => std::slice::from_ref(last),
            _ => full.as_slice(),
        };
        path_tokens(segments)
    }

    /// The tokens of a type.
    pub fn ty(&self, ty: &RustType) -> Result<TokenStream, RustRenderError> {
        match ty {
            RustType::Custom(text) => syn::parse_str::<syn::Type>(text)
                .map(|t| quote!(#t))
                .map_err(|e| RustRenderError::Syntax {
                    file: format!("the Rust type `{text}`"),
                    message: e.to_string(),
                }),
            RustType::Path { path, args } => {
                let head = self.path(path)?;
                if args.is_empty() {
                    return Ok(head);
                }
                let args = args
                    .iter()
                    .map(|a| self.ty(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(quote!(#head<#(#args),*>))
            }
        }
    }

    /// The `use` items, one per path prefix: dependencies first, then the crate's own modules.
    pub fn uses(&self) -> Result<TokenStream, RustRenderError> {
        let mut groups: BTreeMap<(bool, Vec<String>), BTreeSet<String>> = BTreeMap::new();
        for path in self.imports.values() {
            if let Some((last, prefix)) = path.split_last() {
                let own = prefix.first().is_some_and(|s| s == "super");
                groups
                    .entry((own, prefix.to_vec()))
                    .or_default()
                    .insert(last.clone());
            }
        }
        let mut out = TokenStream::new();
        for ((_, prefix), names) in groups {
            let prefix = path_tokens(&prefix)?;
            let names = names
                .iter()
                .map(|n| ident(n))
                .collect::<Result<Vec<_>, _>>()?;
            out.extend(if names.len() == 1 {
                quote!(use #prefix::#(#names)*;)
            } else {
                quote!(use #prefix::{#(#names),*};)
            });
        }
        Ok(out)
    }
}

/// `a::b::C` from its segments.
fn path_tokens(segments: &[String]) -> Result<TokenStream, RustRenderError> {
    let idents = segments
        .iter()
        .map(|s| ident(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quote!(#(#idents)::*))
}

/// An identifier from a name the renderer computed (`r#type` gives a raw identifier). Never
/// panics, unlike `Ident::new`: a name that is not an identifier is an error naming it.
pub fn ident(name: &str) -> Result<Ident, RustRenderError> {
    if name == "super" {
        return Ok(Ident::new("super", proc_macro2::Span::call_site()));
    }
    syn::parse_str::<Ident>(name).map_err(|_| RustRenderError::InvalidIdent {
        name: name.to_owned(),
    })
}

/// The width doc text is wrapped to, so that a `///` line, indented once, stays within 100
/// columns.
const DOC_WIDTH: usize = 92;

/// `#[doc = " line"]` per line of `text`, wrapped (prettyplease prints them as `///`
/// comments).
pub fn doc(text: &str) -> TokenStream {
    let lines = wrap(text).into_iter().map(|l| doc_line(&l));
    quote!(#(#[doc = #lines])*)
}

/// `#![doc = " line"]` per line of `text`, wrapped (a module's `//!` comment).
pub fn inner_doc(text: &str) -> TokenStream {
    let lines = wrap(text).into_iter().map(|l| doc_line(&l));
    quote!(#(#![doc = #lines])*)
}

/// Greedy word wrap of each line of `text` at [`DOC_WIDTH`] characters; empty lines stay.
fn wrap(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        for word in line.split_whitespace() {
            let width = current.chars().count();
            if width > 0 && width + 1 + word.chars().count() > DOC_WIDTH {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out
}

fn doc_line(line: &str) -> String {
    if line.is_empty() {
        String::new()
    } else {
        format!(" {line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE_TIME: &[&str] = &["chrono", "DateTime"];
    const UTC: &[&str] = &["chrono", "Utc"];

    fn ext(path: &'static [&'static str], import: bool) -> TypePath {
        TypePath::External { path, import }
    }

    fn id(name: &str, schema: Option<&str>) -> TypePath {
        TypePath::Generated(ItemPath {
            module: Module::Ids,
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    fn text(ts: TokenStream) -> String {
        ts.to_string()
    }

    #[test]
    fn imports_unambiguous_names_and_spells_out_the_rest() {
        let used = [
            ext(DATE_TIME, true),
            ext(UTC, true),
            ext(&["serde_json", "Value"], false),
            id("UserId", None),
            id("UserId", Some("app")),
            id("JobId", None),
        ];
        let locals = ["JobId".to_owned()].into_iter().collect();
        let scope = Scope::new(Module::Models, None, locals, &used);
        assert_eq!(
            text(scope.uses().unwrap()),
            "use chrono :: { DateTime , Utc } ;"
        );
        assert_eq!(text(scope.path(&used[0]).unwrap()), "DateTime");
        assert_eq!(text(scope.path(&used[2]).unwrap()), "serde_json :: Value");
        // Two `UserId`s: neither is imported.
        assert_eq!(
            text(scope.path(&used[3]).unwrap()),
            "super :: ids :: UserId"
        );
        assert_eq!(
            text(scope.path(&used[4]).unwrap()),
            "super :: ids :: app :: UserId"
        );
        // A local `JobId` shadows the id.
        assert_eq!(text(scope.path(&used[5]).unwrap()), "super :: ids :: JobId");
    }

    #[test]
    fn schema_modules_reach_up_two_levels() {
        let used = [id("UserId", Some("app"))];
        let scope = Scope::new(Module::Models, Some("app".into()), BTreeSet::new(), &used);
        assert_eq!(
            text(scope.uses().unwrap()),
            "use super :: super :: ids :: app :: UserId ;"
        );
        assert_eq!(text(scope.path(&used[0]).unwrap()), "UserId");
    }

    #[test]
    fn docs_wrap_at_word_boundaries() {
        let long = "word ".repeat(30);
        let lines = wrap(&format!("{long}\n\nshort"));
        assert!(lines.iter().all(|l| l.chars().count() <= DOC_WIDTH));
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2], "");
        assert_eq!(lines[3], "short");
    }

    #[test]
    fn identifiers_never_panic() {
        assert_eq!(ident("r#type").unwrap().to_string(), "r#type");
        assert!(ident("not an ident").is_err());
        assert!(ident("").is_err());
    }
}
