//! The ER diagram as Mermaid `erDiagram` text, for the Markdown page (GitHub renders it).
//!
//! Mermaid's grammar is narrow: an attribute's type and name are single words of
//! `[A-Za-z0-9_()[\]-]`, an entity name with other characters goes in double quotes, and a
//! relationship label is a quoted string. Types with a comma (`numeric(12,2)`) lose their
//! modifiers here; the page's column tables give the full type.

use super::graph::{ErGraph, Node};
use std::fmt::Write as _;

/// The Mermaid source (without the surrounding code fence), ending with a newline.
pub fn render(graph: &ErGraph) -> String {
    let mut out = String::from("erDiagram\n");
    for node in &graph.nodes {
        let name = entity_name(node);
        if node.external {
            // Only referenced: the schema does not know its columns' types.
            let _ = writeln!(out, "    {name}");
            continue;
        }
        let _ = writeln!(out, "    {name} {{");
        for c in &node.columns {
            let mut keys = Vec::new();
            if c.primary_key {
                keys.push("PK");
            }
            if c.foreign_key {
                keys.push("FK");
            }
            if c.unique && !c.primary_key {
                keys.push("UK");
            }
            let keys = if keys.is_empty() {
                String::new()
            } else {
                format!(" {}", keys.join(", "))
            };
            let _ = writeln!(out, "        {} {}{keys}", type_word(&c.ty), word(&c.name));
        }
        out.push_str("    }\n");
    }
    for edge in &graph.edges {
        let (Some(from), Some(to)) = (graph.nodes.get(edge.from), graph.nodes.get(edge.to)) else {
            continue;
        };
        // Read left to right: zero or more (or at most one) children per parent, and exactly
        // one (or zero or one, when the key is nullable) parent per child.
        let child = if edge.one_to_one { "|o" } else { "}o" };
        let parent = if edge.optional { "o|" } else { "||" };
        let _ = writeln!(
            out,
            "    {} {child}--{parent} {} : \"{}\"",
            entity_name(from),
            entity_name(to),
            edge.label().replace('"', "'")
        );
    }
    out
}

/// An entity's name as Mermaid reads it: bare when it is a plain word, else quoted.
pub fn entity_name(node: &Node) -> String {
    let label = &node.label;
    let plain = label
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        label.clone()
    } else {
        // Mermaid's quoted entity names take anything but `"`, `%`, `\` and line breaks.
        let cleaned: String = label
            .chars()
            .map(|c| match c {
                '"' | '%' | '\\' | '\n' | '\r' => '_',
                c => c,
            })
            .collect();
        format!("\"{cleaned}\"")
    }
}

fn word(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-()[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        out.insert(0, '_');
    }
    out
}

fn type_word(ty: &str) -> String {
    // `numeric(12,2)` → `numeric`: a comma cannot appear in a Mermaid attribute type.
    let ty = match (ty.find('('), ty.contains(',')) {
        (Some(open), true) => {
            let close = ty[open..].find(')').map_or(ty.len(), |i| open + i + 1);
            format!("{}{}", &ty[..open], &ty[close..])
        }
        _ => ty.to_owned(),
    };
    word(&ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fit_mermaid_grammar() {
        assert_eq!(type_word("numeric(12,2)"), "numeric");
        assert_eq!(type_word("numeric(12,2)[]"), "numeric[]");
        assert_eq!(type_word("varchar(120)"), "varchar(120)");
        assert_eq!(type_word("app.status"), "app_status");
        assert_eq!(word("2fa"), "_2fa");
    }
}
