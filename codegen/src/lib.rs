//! The JobPilot schema toolkit.
//!
//! Data flows left to right: sources (schema files, SQL, migrations, live databases) become one
//! [`model::Schema`]; outputs (SQL, Rust, reports) are computed from it. See `DESIGN.md` and the
//! README for the whole picture.

pub mod cache;
pub mod canonical;
pub mod diagnostics;
pub mod diff;
pub mod docs;
pub mod introspect;
pub mod migrate;
pub mod model;
pub mod naming;
pub mod output;
pub mod parse;
pub mod project;
pub mod render;
pub mod source;
pub mod sqlscript;
pub mod validate;
pub mod verify;
