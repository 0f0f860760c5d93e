//! `codegen docs`: the schema as documentation, computed from the one model every command uses
//! (DESIGN.md, "docs: Markdown + Mermaid ER diagram + SVG").
//!
//! Two files: `schema.md`, a page per the minijinja template in `templates/` (each table's
//! comment, columns, keys, indexes, row-level security with every policy in plain words beside
//! its SQL, grants and triggers; enums, functions, storage buckets, and what the schema attaches
//! to Supabase's tables), with the ER diagram in Mermaid; and `schema.svg`, the same diagram
//! laid out here in plain Rust for viewers that do not render Mermaid. Both come from one
//! [`graph::ErGraph`], so they show the same tables and foreign keys. The output is a pure
//! function of the schema: `codegen generate` writes it with the other derived files and
//! `codegen check` fails when `docs/` differs.

pub mod graph;
pub mod layout;
pub mod mermaid;
pub mod page;
pub mod policy;
pub mod svg;

use crate::model::Schema;

/// The directory of the documentation, under the project root.
pub const DIR: &str = "docs";
/// The page's file name.
pub const PAGE: &str = "schema.md";
/// The diagram's file name.
pub const DIAGRAM: &str = "schema.svg";
/// The command that rewrites `docs/` (what `codegen check` tells people to run).
pub const FIX_COMMAND: &str = "cargo run -p codegen -- docs";

/// What the documentation describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocsSource {
    /// The declared schema, `schema/`.
    SchemaDir,
    /// A live database read with `--database-url`.
    Database,
}

impl DocsSource {
    /// Where the page says it comes from.
    fn described(self) -> &'static str {
        match self {
            DocsSource::SchemaDir => "`schema/`",
            DocsSource::Database => "a live database (`codegen docs --database-url`)",
        }
    }

    /// The end of the page's summary line.
    fn summary_tail(self) -> &'static str {
        match self {
            DocsSource::SchemaDir => "as declared in `schema/`",
            DocsSource::Database => "as read from a live database",
        }
    }

    fn fix(self) -> String {
        match self {
            DocsSource::SchemaDir => {
                format!("change `schema/` and run `{FIX_COMMAND}` (or `codegen generate`)")
            }
            DocsSource::Database => "run `codegen docs --database-url URL` again".to_owned(),
        }
    }
}

/// The rendered documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Docs {
    /// `schema.md`.
    pub markdown: String,
    /// `schema.svg`.
    pub svg: String,
}

impl Docs {
    /// The files, by name, in a fixed order.
    pub fn files(&self) -> [(&'static str, &str); 2] {
        [(PAGE, &self.markdown), (DIAGRAM, &self.svg)]
    }
}

/// Why the documentation could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// The page template failed (a bug in the template, reported with its line).
    #[error("docs template: {0}")]
    Template(#[from] minijinja::Error),
}

/// Renders the page and the diagram for `schema`.
pub fn render(schema: &Schema, source: DocsSource) -> Result<Docs, DocsError> {
    let graph = graph::er_graph(schema);
    let mermaid = mermaid::render(&graph);
    let text = page::PageText {
        source: source.described(),
        summary_tail: source.summary_tail(),
        fix: &source.fix(),
    };
    let markdown = page::render(schema, &text, &mermaid)?;
    Ok(Docs {
        markdown,
        svg: svg::render(&graph),
    })
}
