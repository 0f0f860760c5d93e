//! `schema!("dir")`: the generated crate's items, rendered at compile time by the same
//! `codegen::render::rust` code that writes `generated/` (`render_inline`: the modules inline,
//! the same re-exports as `lib.rs`).

use crate::paths;
use codegen::render::rust::render_inline;
use proc_macro2::TokenStream;
use std::path::Path;
use syn::LitStr;

/// The macro: one string literal in, the items (or a `compile_error!`) out.
pub fn expand(input: TokenStream) -> TokenStream {
    let lit: LitStr = match syn::parse2(input) {
        Ok(lit) => lit,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "expected the schema directory as a string literal: `schema!(\"../schema\")`",
            )
            .to_compile_error();
        }
    };
    let written = lit.value();
    let dir = match paths::resolve(&written) {
        Ok(dir) => dir,
        Err(message) => return syn::Error::new(lit.span(), message).to_compile_error(),
    };
    // Tracked even when the schema has errors, so that fixing them recompiles.
    let mut out = paths::track(&dir);
    match render_dir(&dir, &written) {
        Ok(items) => out.extend(items),
        Err(message) => out.extend(syn::Error::new(lit.span(), message).to_compile_error()),
    }
    out
}

/// The items for the schema in `dir` (`written`: the path as written, for messages).
pub fn render_dir(dir: &Path, written: &str) -> Result<TokenStream, String> {
    let loaded = paths::load(dir, written)?;
    // The Rust code needs only the declared schema (types, keys, whether defaults exist), not
    // PostgreSQL's canonical text, so the canonical lock is not applied: `codegen generate`
    // renders `generated/` from the same `loaded.schema`.
    render_inline(&loaded.schema).map_err(|e| format!("the schema in `{written}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen::render::rust::{GeneratedFile, RustOptions, format_file};
    use quote::quote;
    use std::path::PathBuf;

    fn workspace() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// A module of the expansion as a file: its inner attributes (the `//!` docs) and items.
    fn module_tokens(file: &syn::File, name: &str) -> TokenStream {
        let module = file
            .items
            .iter()
            .find_map(|i| match i {
                syn::Item::Mod(m) if m.ident == name => Some(m),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no module `{name}` in the expansion"));
        let attrs = module
            .attrs
            .iter()
            .filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
        let items = module.content.as_ref().map(|(_, items)| items.as_slice());
        let items = items.unwrap_or_default();
        quote!(#(#attrs)* #(#items)*)
    }

    /// What `schema!` expands to for `schema/` is the checked-in `generated/` crate: each
    /// inline module, formatted by the CLI's formatter (`format_file`, prettyplease, so token
    /// spelling such as `r"…"` doc strings or trailing commas does not matter), is the text of
    /// `generated/src/<module>.rs`, and the re-exports are `lib.rs`'s.
    #[test]
    fn expansion_equals_the_generated_crate() {
        let root = workspace();
        let loaded = paths::load(&root.join("schema"), "schema").unwrap();
        let options = RustOptions {
            fingerprint: codegen::project::fingerprint(&loaded),
        };
        let inline = render_dir(&root.join("schema"), "schema").unwrap();
        let expanded: syn::File = syn::parse2(inline).unwrap();
        for module in ["enums", "ids", "models", "repos", "db", "storage"] {
            let name = format!("{module}.rs");
            let path = root.join("generated/src").join(&name);
            let on_disk = std::fs::read_to_string(&path).unwrap();
            let file = GeneratedFile {
                name,
                module: None,
                tokens: module_tokens(&expanded, module),
            };
            let formatted = format_file(&file, &options).unwrap();
            assert!(
                formatted == on_disk,
                "module `{module}` of schema! differs from {} (run `codegen generate` if \
                 `codegen check` fails too)",
                path.display()
            );
        }
        let lib = std::fs::read_to_string(root.join("generated/src/lib.rs")).unwrap();
        let lib: syn::File = syn::parse_file(&lib).unwrap();
        let uses = |items: &[syn::Item]| -> Vec<String> {
            items
                .iter()
                .filter(|i| matches!(i, syn::Item::Use(_) | syn::Item::Mod(_)))
                .map(|i| match i {
                    syn::Item::Mod(m) => format!("mod {}", m.ident),
                    other => quote!(#other).to_string(),
                })
                .collect()
        };
        assert_eq!(uses(&expanded.items), uses(&lib.items));
    }

    #[test]
    fn a_missing_directory_names_the_path_as_written() {
        let err = render_dir(&workspace().join("no-such-dir"), "no-such-dir").unwrap_err();
        assert!(
            err.starts_with("schema directory `no-such-dir` not found"),
            "{err}"
        );
    }
}
