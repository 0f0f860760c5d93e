//! The README's reference example of every construct of the schema language loads, and means
//! what the README says it means.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::model::{FkAction, Ident, PolicyCommand, QualifiedName};
use std::path::Path;

fn readme_example() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let section = readme
        .split("## The schema language")
        .nth(1)
        .expect("a schema language section");
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = section[start..].find("```").expect("end of the block") + start;
    section[start..end].to_owned()
}

#[test]
fn the_readme_example_loads() {
    let text = readme_example();
    let loaded = match codegen::parse::load_str("README.md", &text) {
        Ok(l) => l,
        Err(d) => panic!(
            "{}",
            d.render(codegen::diagnostics::RenderStyle::Plain, 100)
        ),
    };
    assert!(
        !loaded.warnings.has_errors(),
        "{}",
        loaded
            .warnings
            .render(codegen::diagnostics::RenderStyle::Plain, 100)
    );
    let s = &loaded.schema;
    let users = &s.tables[&QualifiedName::public("users")];
    assert_eq!(
        users.primary_key.as_ref().unwrap().name.as_str(),
        "users_pkey"
    );
    assert!(
        users
            .uniques
            .iter()
            .any(|u| u.name.as_str() == "users_email_key")
    );
    assert!(
        users
            .checks
            .iter()
            .any(|c| c.name.as_str() == "users_age_check")
    );
    assert!(users.row_security.enabled);
    // Renames: of an enum label and of a constraint.
    assert_eq!(
        s.enums[&QualifiedName::public("application_status")].renamed_labels,
        vec![("offer".to_owned(), "offered".to_owned())]
    );
    let adult = users
        .checks
        .iter()
        .find(|c| c.name.as_str() == "users_adult_check")
        .unwrap();
    assert_eq!(adult.renamed_from, Some(Ident::new("users_age_18_check")));
    assert_eq!(users.policies[0].command, PolicyCommand::Select);
    assert!(
        s.sequences
            .contains_key(&QualifiedName::public("users_legacy_no_seq"))
    );
    let jobs = &s.tables[&QualifiedName::public("jobs")];
    let fk = jobs
        .foreign_keys
        .iter()
        .find(|f| f.name.as_str() == "jobs_user_id_fkey")
        .unwrap();
    assert_eq!(fk.referenced_columns, vec![Ident::new("id")]);
    assert_eq!(fk.on_delete, FkAction::Cascade);
    assert_eq!(
        s.buckets["documents"].file_size_limit,
        Some(10 * 1024 * 1024)
    );
    assert!(
        s.attached
            .contains_key(&QualifiedName::new("storage", "objects"))
    );
    assert!(s.views[&QualifiedName::public("user_counts")].materialized);
    assert_eq!(s.functions.len(), 3);
    assert!(!s.default_privileges.is_empty());
}

/// PostgreSQL takes the example and gives back exactly the declared schema (the canonical-forms
/// lock refuses to build when anything but expression text changed on the way).
#[tokio::test]
async fn the_readme_example_survives_postgresql() {
    let loaded = codegen::parse::load_str("README.md", &readme_example()).unwrap();
    let server = pgkit::Server::shared().await.unwrap();
    match codegen::project::build_lock(&loaded, &server).await {
        Ok(lock) => assert!(!lock.expressions.is_empty()),
        Err(e) => panic!("{e}"),
    }
}
