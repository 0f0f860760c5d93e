//! `codegen docs`: the page for JobPilot's schema and for a small schema that exercises the
//! policy wording and the diagram's hard cases (a self-reference, a cycle, a composite key, two
//! keys between the same tables, another schema, Supabase's tables, a table with no links);
//! both diagrams read back and compared with the schema; the SVG's geometry; `check` on stale
//! docs; and `--database-url` on a real database.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ProjectCopy, codegen, repo_root, text};

use codegen::docs::{self, DocsSource, graph, layout};
use codegen::model::{QualifiedName, Schema};
use codegen::project::Paths;
use std::collections::BTreeSet;
use std::process::Output;

fn jobpilot() -> Schema {
    codegen::project::load_schema(&Paths::at(repo_root()))
        .unwrap()
        .schema
}

/// A schema made for the hard cases of the wording and of the layout.
const ZOO: &str = r#"
[schema.app]

[table.accounts]
comment = "People | teams"
rls = true
[table.accounts.columns]
id = { type = "uuid", primary_key = true, references = "auth.users.id", on_delete = "cascade" }
favorite_project_id = { type = "uuid", nullable = true, references = "projects.id", on_delete = "set_null" }
name = "text"

[[table.accounts.policy]]
name = "accounts_self"
to = ["authenticated"]
using = "id = auth.uid()"

[table.projects]
rls = true
[table.projects.columns]
id = { type = "uuid", primary_key = true }
owner_id = { type = "uuid", references = "accounts.id" }
parent_id = { type = "uuid", nullable = true, references = "projects.id" }
is_public = { type = "boolean", default = false }
status = { type = "text", default = "'open'" }

[[table.projects.policy]]
name = "projects_owner_all"
to = ["authenticated"]
using = "owner_id = (select auth.uid())"
with_check = "owner_id = (select auth.uid())"

[[table.projects.policy]]
name = "projects_public_read"
for = "select"
to = ["anon", "authenticated"]
using = "is_public AND status = 'open'"

[[table.projects.policy]]
name = "projects_only_open"
for = "select"
restrictive = true
using = "status <> 'archived'"

[[table.projects.policy]]
name = "projects_backend"
to = ["service_role"]
using = "true"
with_check = "true"

[table.tasks]
rls = true
unique = [{ columns = ["project_id", "number"] }]
[table.tasks.columns]
id = { type = "uuid", primary_key = true }
project_id = { type = "uuid", references = "projects.id", on_delete = "cascade" }
number = "integer"
assignee_id = { type = "uuid", nullable = true, references = "accounts.id" }
reviewer_id = { type = "uuid", nullable = true, references = "accounts.id" }

[[table.tasks.policy]]
name = "tasks_of_own_projects"
for = "select"
to = ["authenticated"]
using = "EXISTS (SELECT 1 FROM projects p WHERE p.id = tasks.project_id AND p.owner_id = auth.uid())"

[[table.tasks.policy]]
name = "tasks_assigned_or_reviewing"
for = "update"
to = ["authenticated"]
using = "assignee_id = auth.uid() OR reviewer_id = auth.uid()"

[[table.tasks.policy]]
name = "tasks_signed_in_insert"
for = "insert"
with_check = "auth.uid() IS NOT NULL"

[table.task_links]
foreign_key = [{ columns = ["project_id", "task_number"], references = "tasks", referenced_columns = ["project_id", "number"] }]
[table.task_links.columns]
id = { type = "bigint", primary_key = true, identity = "always" }
project_id = "uuid"
task_number = "integer"
url = "text"

[table."app.audit_log"]
[table."app.audit_log".columns]
id = { type = "bigint", primary_key = true, identity = "by_default" }
account_id = { type = "uuid", references = "accounts.id" }
at = { type = "timestamptz", default = "now()" }

[table.settings]
[table.settings.columns]
key = { type = "text", primary_key = true }
value = "jsonb"

[bucket.avatars]
public = true
file_size_limit = "1 MiB"
allowed_mime_types = ["image/png", "image/jpeg"]

[[attached."storage.objects".policy]]
name = "avatars_public_read"
for = "select"
using = "bucket_id = 'avatars'"
"#;

fn zoo() -> Schema {
    match codegen::parse::load_str("zoo.toml", ZOO) {
        Ok(l) => l.schema,
        Err(d) => panic!(
            "{}",
            d.render(codegen::diagnostics::RenderStyle::Plain, 100)
        ),
    }
}

#[test]
fn jobpilot_page() {
    let d = docs::render(&jobpilot(), DocsSource::SchemaDir).unwrap();
    insta::assert_snapshot!("jobpilot_schema_md", d.markdown);
}

#[test]
fn policy_zoo_page() {
    let d = docs::render(&zoo(), DocsSource::SchemaDir).unwrap();
    insta::assert_snapshot!("zoo_schema_md", d.markdown);
}

#[test]
fn checked_in_docs_are_what_the_schema_renders() {
    let d = docs::render(&jobpilot(), DocsSource::SchemaDir).unwrap();
    for (name, text) in d.files() {
        let path = repo_root().join("docs").join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{} is stale: run `cargo run -p codegen -- docs`",
            path.display()
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    let a = docs::render(&zoo(), DocsSource::SchemaDir).unwrap();
    let b = docs::render(&zoo(), DocsSource::SchemaDir).unwrap();
    assert_eq!(a, b);
}

/// What the diagrams must show: every table and every foreign key (from, to, columns),
/// computed from the schema itself, not from the graph the diagrams are drawn from.
struct Expected {
    tables: BTreeSet<String>,
    foreign_keys: BTreeSet<(String, String, String)>,
}

fn shown(name: &QualifiedName) -> String {
    if name.schema.as_str() == "public" {
        name.name.as_str().to_owned()
    } else {
        name.to_string()
    }
}

fn expected(schema: &Schema) -> Expected {
    let mut tables: BTreeSet<String> = schema.tables.keys().map(shown).collect();
    let mut foreign_keys = BTreeSet::new();
    for (name, t) in &schema.tables {
        for fk in &t.foreign_keys {
            tables.insert(shown(&fk.references));
            let cols = |c: &[codegen::model::Ident]| {
                c.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(", ")
            };
            foreign_keys.insert((
                shown(name),
                shown(&fk.references),
                format!("{} → {}", cols(&fk.columns), cols(&fk.referenced_columns)),
            ));
        }
    }
    Expected {
        tables,
        foreign_keys,
    }
}

/// The `erDiagram` block of a page, read back: its entities and its relationships
/// (first entity, second entity, label).
fn read_mermaid(markdown: &str) -> (BTreeSet<String>, Vec<(String, String, String)>) {
    let start = markdown.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let end = markdown[start..].find("```").expect("end of the block") + start;
    let mut lines = markdown[start..end].lines();
    assert_eq!(lines.next(), Some("erDiagram"));
    // One entity name (bare word or quoted) at the start of `s`; returns it and the rest.
    fn entity(s: &str) -> (String, &str) {
        let s = s.trim_start();
        if let Some(rest) = s.strip_prefix('"') {
            let close = rest.find('"').expect("closing quote");
            (rest[..close].to_owned(), &rest[close + 1..])
        } else {
            let end = s.find(' ').unwrap_or(s.len());
            (s[..end].to_owned(), &s[end..])
        }
    }
    let mut entities = BTreeSet::new();
    let mut relationships = Vec::new();
    let mut in_block = false;
    for line in lines {
        let line = line.trim();
        if in_block {
            if line == "}" {
                in_block = false;
            } else {
                let words: Vec<&str> = line.split_whitespace().collect();
                assert!(words.len() >= 2, "attribute `{line}`");
            }
            continue;
        }
        let (first, rest) = entity(line);
        let rest = rest.trim();
        if rest == "{" {
            entities.insert(first);
            in_block = true;
        } else if rest.is_empty() {
            entities.insert(first);
        } else {
            let (card, rest) = rest.split_once(' ').expect("a cardinality");
            assert!(
                ["}o--||", "}o--o|", "|o--||", "|o--o|"].contains(&card),
                "cardinality `{card}`"
            );
            let (second, rest) = entity(rest);
            let label = rest
                .trim()
                .strip_prefix(": \"")
                .and_then(|l| l.strip_suffix('"'))
                .expect("a quoted label");
            relationships.push((first, second, label.to_owned()));
        }
    }
    assert!(!in_block, "unclosed entity block");
    (entities, relationships)
}

/// The SVG read back as XML: its table boxes and its foreign keys (from, to, label text).
fn read_svg(svg: &str) -> (BTreeSet<String>, Vec<(String, String, String)>) {
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let mut tables = BTreeSet::new();
    let mut fks = Vec::new();
    for g in doc.descendants().filter(|n| n.has_tag_name("g")) {
        match g.attribute("class") {
            Some("table") => {
                let name = g.attribute("data-table").expect("data-table");
                let q = QualifiedName::parse(name, "public").expect("a qualified name");
                let title = g
                    .descendants()
                    .find(|n| n.attribute("class") == Some("name"))
                    .and_then(|n| n.text())
                    .expect("a name");
                assert_eq!(title, shown(&q), "the box shows its table's name");
                tables.insert(shown(&q));
            }
            Some("fk") => {
                let from =
                    QualifiedName::parse(g.attribute("data-from").unwrap(), "public").unwrap();
                let to = QualifiedName::parse(g.attribute("data-to").unwrap(), "public").unwrap();
                assert!(
                    g.descendants().any(|n| n.has_tag_name("path")),
                    "a foreign key has a line"
                );
                let label = g
                    .descendants()
                    .find(|n| n.attribute("class") == Some("label"))
                    .and_then(|n| n.text())
                    .expect("every foreign key is labelled");
                fks.push((shown(&from), shown(&to), label.to_owned()));
            }
            _ => {}
        }
    }
    (tables, fks)
}

fn assert_diagrams_show_everything(schema: &Schema) {
    let want = expected(schema);
    let d = docs::render(schema, DocsSource::SchemaDir).unwrap();

    let (entities, relationships) = read_mermaid(&d.markdown);
    assert_eq!(entities, want.tables, "Mermaid entities");
    let got: BTreeSet<_> = relationships.iter().cloned().collect();
    assert_eq!(got, want.foreign_keys, "Mermaid relationships");
    assert_eq!(
        relationships.len(),
        schema
            .tables
            .values()
            .map(|t| t.foreign_keys.len())
            .sum::<usize>(),
        "one relationship per foreign key"
    );

    let (boxes, fks) = read_svg(&d.svg);
    assert_eq!(boxes, want.tables, "SVG boxes");
    let got: BTreeSet<_> = fks.iter().cloned().collect();
    assert_eq!(got, want.foreign_keys, "SVG foreign keys");
    assert_eq!(fks.len(), relationships.len(), "one line per foreign key");
}

#[test]
fn every_table_and_foreign_key_is_in_both_diagrams() {
    assert_diagrams_show_everything(&jobpilot());
    assert_diagrams_show_everything(&zoo());
}

fn assert_nothing_overlaps(schema: &Schema) {
    let g = graph::er_graph(schema);
    let lay = layout::layout(&g);
    let boxes: Vec<(String, layout::Rect)> = g
        .nodes
        .iter()
        .zip(&lay.boxes)
        .map(|(n, b)| (n.label.clone(), b.rect))
        .collect();
    let labels: Vec<(String, layout::Rect)> = g
        .edges
        .iter()
        .zip(&lay.edges)
        .map(|(e, p)| (format!("{} {}", e.name, e.label()), p.label_rect))
        .collect();
    for (i, (a, ra)) in boxes.iter().enumerate() {
        for (b, rb) in &boxes[i + 1..] {
            assert!(!ra.overlaps(rb), "boxes {a} {ra:?} and {b} {rb:?} overlap");
        }
        for (l, rl) in &labels {
            assert!(
                !ra.overlaps(rl),
                "box {a} {ra:?} and label {l} {rl:?} overlap"
            );
        }
    }
    for (i, (a, ra)) in labels.iter().enumerate() {
        assert!(ra.w > 0.0, "label {a} has a size");
        for (b, rb) in &labels[i + 1..] {
            assert!(!ra.overlaps(rb), "labels {a} {ra:?} and {b} {rb:?} overlap");
        }
    }
    for (name, r) in boxes.iter().chain(&labels) {
        assert!(
            r.x >= 0.0 && r.y >= 0.0 && r.x + r.w <= lay.width && r.y + r.h <= lay.height,
            "{name} {r:?} is outside the {}×{} drawing",
            lay.width,
            lay.height
        );
    }
}

#[test]
fn svg_boxes_and_labels_do_not_overlap() {
    assert_nothing_overlaps(&jobpilot());
    assert_nothing_overlaps(&zoo());
}

/// A random schema: `tables` tables, each with an id and up to three foreign keys to any
/// table (itself included), so cycles, self-references and parallel keys all occur.
fn random_schema(rng: &mut fastrand::Rng, tables: usize) -> Schema {
    let mut toml = String::new();
    for t in 0..tables {
        toml.push_str(&format!(
            "[table.t{t}]\n[table.t{t}.columns]\nid = {{ type = \"uuid\", primary_key = true }}\n"
        ));
        for k in 0..rng.usize(0..4) {
            let target = rng.usize(0..tables);
            toml.push_str(&format!(
                "ref_{k}_to_t{target} = {{ type = \"uuid\", nullable = {}, references = \"t{target}.id\" }}\n",
                rng.bool()
            ));
        }
    }
    match codegen::parse::load_str("random.toml", &toml) {
        Ok(l) => l.schema,
        Err(d) => panic!(
            "{}",
            d.render(codegen::diagnostics::RenderStyle::Plain, 100)
        ),
    }
}

#[test]
fn random_schemas_are_drawn_completely_without_overlaps() {
    let mut rng = fastrand::Rng::with_seed(8);
    for round in 0..60 {
        let schema = random_schema(&mut rng, 1 + round % 20);
        assert_nothing_overlaps(&schema);
        assert_diagrams_show_everything(&schema);
    }
}

#[test]
fn svg_text_fits_its_box() {
    // Every row's text (markers, name, type) is inside the box, with the font's advance.
    for schema in [jobpilot(), zoo()] {
        let g = graph::er_graph(&schema);
        let lay = layout::layout(&g);
        for (n, b) in g.nodes.iter().zip(&lay.boxes) {
            let inner = b.rect.w - 2.0 * layout::PAD;
            assert!(layout::text_width(&n.label) <= inner, "{}", n.label);
            for c in &n.columns {
                let marker = if b.marker_chars > 0 {
                    b.marker_chars + 1
                } else {
                    0
                };
                let ty = if c.ty.is_empty() {
                    0
                } else {
                    c.ty.chars().count() + 2
                };
                let chars = marker + b.name_chars + ty;
                assert!(
                    chars as f64 * layout::CHAR_W <= inner + 0.01,
                    "{}.{} does not fit",
                    n.label,
                    c.name
                );
            }
        }
    }
}

// ---------------------------------------------------------------- the CLI

#[test]
fn check_fails_when_docs_are_stale_or_missing_and_docs_fixes_it() {
    // Only the docs/ lines are asserted: the rest of `check` has its own tests.
    let docs_lines = |o: &Output| -> Vec<String> {
        text(o)
            .lines()
            .filter(|l| l.contains("docs/"))
            .map(str::to_owned)
            .collect()
    };
    let p = ProjectCopy::new("stale");
    let out = codegen(&p.0, &["check"]);
    assert_eq!(docs_lines(&out), Vec::<String>::new(), "{}", text(&out));

    let page = p.0.join("docs/schema.md");
    let edited = std::fs::read_to_string(&page).unwrap() + "\nedited by hand\n";
    std::fs::write(&page, edited).unwrap();
    std::fs::remove_file(p.0.join("docs/schema.svg")).unwrap();
    let out = codegen(&p.0, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        docs_lines(&out),
        vec![
            "error: docs/schema.md is out of date; run `cargo run -p codegen -- docs` (or `codegen generate`)",
            "error: docs/schema.svg is missing; run `cargo run -p codegen -- docs` (or `codegen generate`)",
        ],
        "{}",
        text(&out)
    );

    let out = codegen(&p.0, &["docs"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "wrote docs/schema.md\nwrote docs/schema.svg\n"
    );
    let out = codegen(&p.0, &["check"]);
    assert_eq!(docs_lines(&out), Vec::<String>::new(), "{}", text(&out));
    let out = codegen(&p.0, &["docs"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "up to date: nothing to write\n"
    );

    // A whole docs/ missing is stale too.
    std::fs::remove_dir_all(p.0.join("docs")).unwrap();
    let out = codegen(&p.0, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(docs_lines(&out).len(), 2, "{}", text(&out));
    assert!(
        text(&out).contains("docs/schema.md is missing"),
        "{}",
        text(&out)
    );
}

#[test]
fn docs_reports_schema_errors_and_writes_nothing() {
    let p = ProjectCopy::new("broken");
    std::fs::remove_dir_all(p.0.join("docs")).unwrap();
    let file = p.0.join("schema/20_jobs.toml");
    let broken = std::fs::read_to_string(&file).unwrap()
        + "\n[table.broken]\ncolumns.a = \"no_such_type\"\n";
    std::fs::write(&file, broken).unwrap();
    let out = codegen(&p.0, &["docs"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no_such_type"), "{}", text(&out));
    assert!(!p.0.join("docs").exists());
}

#[test]
fn database_url_needs_out() {
    let out = codegen(
        &repo_root(),
        &[
            "docs",
            "--database-url",
            "postgres://u:secret@127.0.0.1:1/db",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("--database-url needs --out DIR"), "{all}");
    assert!(!all.contains("secret"), "{all}");
}

#[test]
fn unreachable_database_is_an_error_without_the_password() {
    let dir = std::env::temp_dir().join(format!("jp_docs_unreachable_{}", std::process::id()));
    let out = codegen(
        &repo_root(),
        &[
            "docs",
            "--database-url",
            "postgres://u:secret@127.0.0.1:1/db",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("secret"), "{}", text(&out));
    assert!(!dir.exists(), "nothing written");
}

#[tokio::test]
async fn database_url_documents_a_live_database() {
    let server = pgkit::Server::shared().await.unwrap();
    let db = server.create_database("jp_docs_live").await.unwrap();
    db.apply_bootstrap().await.unwrap();
    let baseline =
        std::fs::read_to_string(repo_root().join("migrations/0001_baseline.up.sql")).unwrap();
    db.execute_script(&baseline).await.unwrap();

    let out_dir = std::env::temp_dir().join(format!(
        "jp_docs_live_{}_{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let url = db.url();
    let root = repo_root();
    let out_arg = out_dir.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        codegen(&root, &["docs", "--database-url", &url, "--out", &out_arg])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let page = std::fs::read_to_string(out_dir.join("schema.md")).unwrap();
    let svg = std::fs::read_to_string(out_dir.join("schema.svg")).unwrap();
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(page.contains("as read from a live database."), "{page}");

    // The same tables and foreign keys as schema/, in both diagrams.
    let want = expected(&jobpilot());
    let (entities, relationships) = read_mermaid(&page);
    assert_eq!(entities, want.tables);
    assert_eq!(
        relationships.into_iter().collect::<BTreeSet<_>>(),
        want.foreign_keys
    );
    let (boxes, fks) = read_svg(&svg);
    assert_eq!(boxes, want.tables);
    assert_eq!(fks.into_iter().collect::<BTreeSet<_>>(), want.foreign_keys);
    // The diagram does not depend on where the schema came from.
    let declared = docs::render(&jobpilot(), DocsSource::SchemaDir).unwrap();
    assert_eq!(svg, declared.svg);

    // PostgreSQL's canonical text of every policy is put into words too.
    assert!(!page.contains("not put into words"), "{page}");
    assert_eq!(
        page.matches("A signed-in user can read their own rows (`user_id` is their user id).")
            .count(),
        4,
        "{page}"
    );
    assert!(
        page.contains("USING ((user_id = ( SELECT auth.uid() AS uid)))"),
        "{page}"
    );
    assert!(
        page.contains(
            "A signed-in user can add their own files in the `documents` bucket (`owner` is their user id)."
        ),
        "{page}"
    );
}
