//! JobPilot's shipped schema: the SQL it renders to (reviewed snapshot) and its shape.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::project::{self, Paths};
use std::path::Path;

fn paths() -> Paths {
    Paths::at(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

#[test]
fn jobpilot_schema_renders_to_reviewed_sql() {
    let paths = paths();
    let loaded = project::load_schema(&paths).unwrap();
    let lock = project::read_lock(&paths).unwrap();
    let canonical = project::canonical_schema(&loaded, &lock).unwrap();
    insta::assert_snapshot!(codegen::render::render_schema(&canonical.database_view()));
}

#[test]
fn jobpilot_schema_has_every_table_of_the_adr() {
    let loaded = project::load_schema(&paths()).unwrap();
    let names: Vec<String> = loaded
        .schema
        .tables
        .keys()
        .map(|q| q.name.as_str().to_owned())
        .collect();
    // ADR-2's eight application tables, all under row-level security.
    assert_eq!(
        names,
        [
            "agent_actions",
            "agent_outputs",
            "applications",
            "documents",
            "jobs",
            "matches",
            "profiles",
            "users"
        ]
    );
    assert!(
        loaded
            .schema
            .tables
            .values()
            .all(|t| t.row_security.enabled)
    );
    assert!(loaded.warnings.items.is_empty(), "{:?}", loaded.warnings);
}
