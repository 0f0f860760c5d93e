//! The schema language: TOML files under `schema/` → [`crate::model::Schema`].
//!
//! `ast` mirrors the TOML with source spans, `load` reads and merges files (the only file-system
//! access), `lower` turns the syntax tree into the IR with PostgreSQL's defaults filled in and
//! records where each object was declared ([`Origins`]), and `write` goes the other way (IR →
//! readable TOML, used by `codegen import`). Validation (`crate::validate`) runs inside
//! [`load_dir`] / [`load_str`], so a [`Loaded`] schema is a valid one.

pub mod ast;
pub mod load;
pub mod lower;
pub mod sql;
pub mod write;

pub use ast::json_schema;
pub use load::{
    Duplicate, FileId, Loaded, Origin, Origins, SourceFile, SourceMap, load_dir, load_files,
    load_str,
};
pub use write::{WriteOptions, write_schema};
