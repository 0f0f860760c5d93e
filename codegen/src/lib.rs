//! The JobPilot schema toolkit.
//!
//! Data flows left to right: sources (schema files, SQL, migrations, live databases) become one
//! [`model::Schema`]; outputs (SQL, Rust, reports) are computed from it. See `DESIGN.md` and the
//! README for the whole picture.

pub mod model;
pub mod sqlscript;
pub mod canonical;
