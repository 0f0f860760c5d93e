//! Compile-time access to JobPilot's declarative schema (`schema/*.toml`).
//!
//! Two macros, both thin: they parse their input with syn, call the codegen library (the same
//! `parse` → `validate` → `render::rust` path that `codegen generate` runs) and turn every
//! problem into a `compile_error!` at the right span.
//!
//! - [`schema!`] expands to the items of the generated crate (`jobpilot-db`): the modules
//!   `enums`, `ids`, `models`, `repos` and `db`, inline, with the same glob re-exports as
//!   `generated/src/lib.rs`.
//! - [`macro@table`] checks a hand-written struct against one table: every field must be a
//!   column of it, with the type the generated row struct gives that column (its typed id's
//!   inner type is accepted too) and `Option<…>` exactly when the column is nullable.
//!
//! Relative paths resolve from the calling crate's `CARGO_MANIFEST_DIR` (sqlx's
//! `resolve_path` rule), or from `JOBPILOT_MANIFEST_DIR` when that is set (for tools that
//! compile a crate's code from elsewhere, such as trybuild). Both macros emit
//! `include_str!` of every schema file they read, so editing a schema file recompiles the
//! code that uses it; a schema file *added* to the directory is only seen on the next build
//! that recompiles the caller for another reason (stable Rust cannot track a directory).

mod paths;
mod schema;
mod table;

use proc_macro::TokenStream;

/// Expands to the generated crate's items for a schema directory.
///
/// ```ignore
/// jobpilot_macros::schema!("../schema");
///
/// let status = ApplicationStatus::Applied;
/// let id = UserId(uuid::Uuid::nil());
/// ```
///
/// The path is relative to the calling crate's directory (`CARGO_MANIFEST_DIR`). The expansion
/// uses the generated crate's dependencies (`sqlx`, `serde`, `serde_json`, `uuid`, `chrono`,
/// `rust_decimal`), which the calling crate must depend on. Schema errors become
/// `compile_error!`s with the rendered diagnostic (`file:line:column`, the offending text and
/// how to fix it).
#[proc_macro]
pub fn schema(input: TokenStream) -> TokenStream {
    schema::expand(input.into()).into()
}

/// Checks at compile time that a hand-written struct matches a table of the schema, and emits
/// the struct unchanged.
///
/// ```ignore
/// #[jobpilot_macros::table("users")]
/// struct UserSummary {
///     id: jobpilot_db::UserId, // or uuid::Uuid, the id's inner type
///     email: String,
///     display_name: Option<String>, // nullable column
///     #[column("is_active")]
///     active: bool,
/// }
/// ```
///
/// Each field must name a column (by the generated field name, or by
/// `#[column("column_name")]`, which this attribute removes), have the Rust type the generated
/// row struct gives that column (compared by the last segment of each path, so `DateTime<Utc>`
/// and `chrono::DateTime<chrono::Utc>` are the same; a typed id's inner type is accepted), and
/// be `Option<…>` exactly when the column is nullable. A struct may leave columns out.
///
/// The schema directory is `schema/` in the calling crate's directory or the nearest parent
/// directory that has one with `*.toml` files; `#[table("users", schema = "path")]` names it
/// (relative to the calling crate's directory). A table outside `public` is written
/// `"schema.table"`.
#[proc_macro_attribute]
pub fn table(args: TokenStream, item: TokenStream) -> TokenStream {
    table::expand(args.into(), item.into()).into()
}
