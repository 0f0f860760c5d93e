//! Where the schema is, loading it, and tracking its files: the only file-system access of the
//! macros.
//!
//! Relative paths resolve from the calling crate's directory (sqlx's `resolve_path`);
//! loading goes through `codegen::parse::load_dir` (parse and validate), so the macros accept
//! exactly the schemas `codegen generate` accepts, and its diagnostics come back rendered as
//! plain text for `compile_error!`.

use codegen::diagnostics::RenderStyle;
use codegen::parse::Loaded;
use proc_macro2::TokenStream;
use quote::quote;
use std::path::{Path, PathBuf};

/// The environment variable that, when set, replaces `CARGO_MANIFEST_DIR` as the directory
/// relative paths resolve from (trybuild compiles test files in a crate of its own).
pub const MANIFEST_DIR_OVERRIDE: &str = "JOBPILOT_MANIFEST_DIR";

/// The width diagnostics are rendered at.
const DIAGNOSTIC_WIDTH: usize = 100;

/// The calling crate's directory.
pub fn manifest_dir() -> Result<PathBuf, String> {
    std::env::var_os(MANIFEST_DIR_OVERRIDE)
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .ok_or_else(|| {
            "CARGO_MANIFEST_DIR is not set: build with cargo, or set JOBPILOT_MANIFEST_DIR to \
             the directory schema paths are relative to"
                .to_owned()
        })
}

/// `path` as written in the macro call, resolved from the calling crate's directory unless it
/// is absolute.
pub fn resolve(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(manifest_dir()?.join(p))
}

/// Whether `dir` is a directory with at least one `*.toml` file.
fn has_schema_files(dir: &Path) -> bool {
    !schema_files(dir).is_empty()
}

/// The `*.toml` files of `dir`, sorted (what `load_dir` reads).
pub fn schema_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    files.sort();
    files
}

/// The default schema directory: `schema/` in the calling crate's directory or in the nearest
/// parent directory where it holds `*.toml` files.
pub fn find_schema_dir() -> Result<PathBuf, String> {
    let start = manifest_dir()?;
    start
        .ancestors()
        .map(|dir| dir.join("schema"))
        .find(|dir| has_schema_files(dir))
        .ok_or_else(|| {
            format!(
                "no `schema/` directory with *.toml files in {} or any parent directory; name \
                 it with `#[table(\"…\", schema = \"path/to/schema\")]`",
                start.display()
            )
        })
}

/// Loads, parses and validates the schema in `dir` (`written`: the path as the user wrote
/// it, for messages). Schema errors come back as their rendered diagnostics.
pub fn load(dir: &Path, written: &str) -> Result<Loaded, String> {
    if !dir.is_dir() {
        return Err(format!(
            "schema directory `{written}` not found (looked for {}); paths are relative to the \
             crate's directory (CARGO_MANIFEST_DIR)",
            dir.display()
        ));
    }
    codegen::parse::load_dir(dir).map_err(|diagnostics| {
        format!(
            "the schema in `{written}` has errors:\n\n{}",
            diagnostics.render(RenderStyle::Plain, DIAGNOSTIC_WIDTH)
        )
    })
}

/// `const _: &str = include_str!("…");` for every schema file of `dir`, so that editing one
/// recompiles the caller. Files whose path is not UTF-8 cannot be named in `include_str!` and
/// are left out.
pub fn track(dir: &Path) -> TokenStream {
    let files = schema_files(dir);
    let paths = files.iter().filter_map(|p| p.to_str());
    quote! {
        #( const _: &str = include_str!(#paths); )*
    }
}
