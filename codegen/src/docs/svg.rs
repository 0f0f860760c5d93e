//! The ER diagram as a standalone SVG, for viewers that do not render Mermaid. Pure Rust, no
//! external program, the same bytes for the same schema (`codegen check` compares them).
//!
//! Every table box is a `<g class="table" data-table="schema.name">` and every foreign key a
//! `<g class="fk" data-from=… data-to=… data-constraint=…>` holding its line and its label, so
//! tools (and the tests) can read the diagram back.

use super::graph::ErGraph;
use super::layout::{self, FONT_SIZE, HEADER_H, Layout, PAD, num};
use std::fmt::Write as _;

/// Line colours, one per referenced table in turn, so crossing lines can be told apart.
const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// The SVG document for `graph`, laid out by [`layout::layout`].
pub fn render(graph: &ErGraph) -> String {
    render_with(graph, &layout::layout(graph))
}

/// The SVG document for `graph` with a given layout.
pub fn render_with(graph: &ErGraph, lay: &Layout) -> String {
    let legend_y = lay.height + 4.0;
    let height = legend_y + 24.0;
    let legend = "PK primary key · FK foreign key · UK unique · arrow: to the referenced table · \
                  dashed line: nullable · dashed box: outside the schema";
    let width = lay
        .width
        .max(layout::MARGIN * 2.0 + layout::text_width(legend))
        .ceil();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{fs}\">",
        w = num(width),
        h = num(height),
        fs = num(FONT_SIZE)
    );
    out.push_str("<title>Entity-relationship diagram: tables and foreign keys</title>\n");
    // One arrowhead per line colour (`context-stroke` is not understood everywhere).
    out.push_str("<defs>");
    for (i, color) in COLORS.iter().enumerate() {
        let _ = write!(
            out,
            "<marker id=\"arrow{i}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" \
             markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">\
             <path d=\"M0 0 L10 5 L0 10 z\" fill=\"{color}\"/></marker>"
        );
    }
    out.push_str("</defs>\n");
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
        num(width),
        num(height)
    );

    // One colour per referenced table: the lines into one box share it.
    let mut targets: Vec<usize> = graph.edges.iter().map(|e| e.to).collect();
    targets.sort_unstable();
    targets.dedup();
    // Lines first, under the boxes.
    for (edge, placed) in graph.edges.iter().zip(&lay.edges) {
        let i = targets.iter().position(|&t| t == edge.to).unwrap_or(0);
        let (Some(from), Some(to)) = (graph.nodes.get(edge.from), graph.nodes.get(edge.to)) else {
            continue;
        };
        let color = COLORS[i % COLORS.len()];
        let arrow = i % COLORS.len();
        let _ = writeln!(
            out,
            "<g class=\"fk\" data-from=\"{}\" data-to=\"{}\" data-constraint=\"{}\">",
            esc(&from.name.to_string()),
            esc(&to.name.to_string()),
            esc(&edge.name)
        );
        let dash = if edge.optional {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"{dash} \
             marker-end=\"url(#arrow{arrow})\"/>",
            placed.path
        );
        let r = placed.label_rect;
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\"/>",
            num(r.x - 1.0),
            num(r.y),
            num(r.w + 2.0),
            num(r.h)
        );
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"{}\" y=\"{}\" fill=\"{color}\">{}</text>",
            num(placed.label_at.0),
            num(placed.label_at.1),
            esc(&edge.label())
        );
        out.push_str("</g>\n");
    }

    for (node, placed) in graph.nodes.iter().zip(&lay.boxes) {
        let r = placed.rect;
        let (fill, head, border, dash) = if node.external {
            ("#f7f7f7", "#e0e0e0", "#888888", " stroke-dasharray=\"4 3\"")
        } else {
            ("#ffffff", "#dbe8f6", "#3b5b7d", "")
        };
        let _ = writeln!(
            out,
            "<g class=\"table\" data-table=\"{}\">",
            esc(&node.name.to_string())
        );
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>",
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h)
        );
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{head}\"/>",
            num(r.x),
            num(r.y),
            num(r.w),
            num(HEADER_H)
        );
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{border}\"/>",
            num(r.x),
            num(r.x + r.w),
            y = num(r.y + HEADER_H)
        );
        let _ = writeln!(
            out,
            "<text class=\"name\" x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            num(r.x + PAD),
            num(r.y + HEADER_H - 7.0),
            esc(&node.label)
        );
        let marker_w = if placed.marker_chars > 0 {
            (placed.marker_chars + 1) as f64 * layout::CHAR_W
        } else {
            0.0
        };
        for (row, c) in node.columns.iter().enumerate() {
            let baseline = r.y + layout::row_middle(row) + 4.0;
            let markers = layout::markers(c);
            if !markers.is_empty() {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" fill=\"#8a5a00\" font-weight=\"bold\">{}</text>",
                    num(r.x + PAD),
                    num(baseline),
                    esc(&markers)
                );
            }
            let name_x = r.x + PAD + marker_w;
            let _ = writeln!(
                out,
                "<text class=\"column\" x=\"{}\" y=\"{}\">{}</text>",
                num(name_x),
                num(baseline),
                esc(&c.name)
            );
            if !c.ty.is_empty() {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" fill=\"#666666\">{}</text>",
                    num(name_x + (placed.name_chars + 2) as f64 * layout::CHAR_W),
                    num(baseline),
                    esc(&c.ty)
                );
            }
        }
        // The outline last, over the header band.
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{border}\"{dash}/>",
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h)
        );
        out.push_str("</g>\n");
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" fill=\"#555555\">{}</text>",
        num(layout::MARGIN),
        num(legend_y + 14.0),
        esc(legend)
    );
    out.push_str("</svg>\n");
    out
}

/// Escapes text for XML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
