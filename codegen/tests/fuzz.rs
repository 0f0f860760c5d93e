//! Property tests: no input makes the schema loader or the SQL importer panic. Every input is
//! either accepted or rejected with diagnostics that point inside the input.
//!
//! Case counts are the proptest defaults below; `PROPTEST_CASES=N` runs longer campaigns (the
//! figures in BENCHMARKS.md).

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use std::path::Path;

fn shipped_schema() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn fixture_sql() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/supabase/00001_initial_schema.sql"),
    )
    .unwrap_or_else(|_| "CREATE TABLE t (id int PRIMARY KEY, n text DEFAULT 'x');".to_owned())
}

/// Loads `text`; on failure every diagnostic must carry a location inside the text.
fn load_checked(text: &str) {
    match codegen::parse::load_str("fuzz.toml", text) {
        Ok(_) => {}
        Err(d) => {
            assert!(d.has_errors());
            let rendered = d.render(codegen::diagnostics::RenderStyle::Plain, 100);
            assert!(!rendered.is_empty());
            let lines = text.lines().count().max(1) + 1;
            for item in &d.items {
                if let Some(loc) = item.location() {
                    assert!(loc.line <= lines, "{loc} beyond {lines} lines");
                }
            }
        }
    }
}

/// Fragments of the schema language, valid and not, to build plausible files from.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[table.t]\n".to_owned()),
        Just("[table.t.columns]\n".to_owned()),
        Just("[[table.t.index]]\n".to_owned()),
        Just("[[table.t.policy]]\n".to_owned()),
        Just("[enum.e]\n".to_owned()),
        Just("[[function]]\n".to_owned()),
        Just("[bucket.b]\n".to_owned()),
        Just("[attached.\"storage.objects\"]\n".to_owned()),
        "[a-z_]{1,8} = \"[a-z0-9 ()'=<>:,.\\[\\]]{0,20}\"\n",
        "[a-z_]{1,8} = \\{ type = \"[a-z0-9()\\[\\], ]{0,16}\"(, nullable = (true|false))?(, default = \"[a-z0-9'():+ ]{0,12}\")? \\}\n",
        "(columns|values|to|events|keys) = \\[(\"[a-z_ ]{0,8}\"(, )?){0,3}\\]\n",
        "(name|expr|using|with_check|where|when|for|function|returns|language|body|references|on_delete|file_size_limit) = \"[^\"\\\\\\n]{0,24}\"\n",
        "(unique|primary_key|rls|public|nullable) = (true|false|1|\"x\")\n",
        ".{0,12}\n",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn loader_survives_arbitrary_text(text in "\\PC{0,200}") {
        load_checked(&text);
    }

    #[test]
    fn loader_survives_plausible_files(parts in prop::collection::vec(fragment(), 0..24)) {
        load_checked(&parts.concat());
    }

    #[test]
    fn loader_survives_mutations_of_the_shipped_schema(
        cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..40, "\\PC{0,6}"), 1..4)
    ) {
        let mut text = shipped_schema();
        for (at, len, insert) in cuts {
            let mut start = at.index(text.len().max(1));
            while !text.is_char_boundary(start) { start -= 1; }
            let mut end = (start + len).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(start..end, &insert);
        }
        load_checked(&text);
    }

    #[test]
    fn splitter_survives_arbitrary_sql(text in "\\PC{0,300}") {
        if let Ok(statements) = codegen::sqlscript::split(&text) {
            for s in statements {
                let (line, _) = codegen::sqlscript::line_col(&text, s.offset);
                prop_assert!(line >= 1);
            }
        }
    }
}

/// Mutated SQL through the whole importer (scratch database, statement-by-statement apply,
/// introspection): an error or a schema, never a panic. Fewer cases: each one is a database.
#[test]
fn importer_survives_mutated_sql() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = fixture_sql();
    let cases: usize = std::env::var("JP_IMPORT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let server = runtime.block_on(pgkit::Server::shared()).unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for _ in 0..cases {
        let mut text = base.clone();
        for _ in 0..rng.usize(1..4) {
            let mut start = rng.usize(0..text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + rng.usize(0..30)).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let insert: String = (0..rng.usize(0..5))
                .map(|_| {
                    *rng.choice(&['(', ')', ';', '\'', '$', ',', 'x', ' ', '"', '-'])
                        .unwrap()
                })
                .collect();
            text.replace_range(start..end, &insert);
        }
        let source = codegen::source::SqlSource {
            path: "mutated.sql".into(),
            text,
        };
        let result = runtime.block_on(codegen::source::load_sql_files_on(
            &server,
            std::slice::from_ref(&source),
            &codegen::source::LoadOptions::default(),
        ));
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
        }
    }
}
