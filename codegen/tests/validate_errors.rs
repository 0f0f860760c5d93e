//! Schema-error snapshots: every fixture under `fixtures/schema/err/` holds one kind of mistake
//! (its first comment says which); loading it must fail (or, for warnings, load with warnings),
//! and the rendered diagnostics — message, `file:line:column`, the labelled text, help — are
//! snapshotted as the user sees them (plain, 100 columns).

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::diagnostics::RenderStyle;
use codegen::parse::load_str;

#[test]
fn schema_errors_point_at_the_offending_text() {
    insta::glob!("fixtures/schema/err/*.toml", |path| {
        let text = std::fs::read_to_string(path).expect("fixture is readable");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .expect("fixture has a file name");
        let rendered = match load_str(&format!("err/{name}"), &text) {
            Err(diags) => diags.render(RenderStyle::Plain, 100),
            Ok(loaded) if !loaded.warnings.items.is_empty() => {
                loaded.warnings.render(RenderStyle::Plain, 100)
            }
            Ok(_) => panic!("{name}: expected diagnostics, but the schema loaded cleanly"),
        };
        insta::assert_snapshot!(rendered);
    });
}
