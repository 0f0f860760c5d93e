//! A layered ("Sugiyama") layout of the ER graph for the SVG, in plain Rust and deterministic
//! to the byte: no hash maps, no randomness, ties broken by the graph's own order.
//!
//! 1. Ranks: referenced tables above the tables that reference them (longest path over the
//!    graph with cycles broken; a table only referenced sits just above its highest child).
//! 2. Layers: rank r becomes layer 2r; every foreign key crossing layers gets a point in each
//!    layer between its two tables, and the one just above the lower table carries the
//!    edge's label as a node of its own. So labels take space in the layout like boxes do and
//!    can overlap neither boxes nor each other.
//! 3. Order within layers: barycenter sweeps, keeping the order with the fewest crossings.
//! 4. Coordinates: each layer placed as close as the order and the minimum gaps allow to the
//!    mean position of its neighbours (isotonic regression, pool-adjacent-violators), swept
//!    down and up.
//! 5. Edges: vertical through each layer's band (where nothing else is at that x) and a
//!    vertical-tangent curve across the gap between two layers, where there are no boxes.
//!    A foreign key to its own table is a loop on the box's right, inside the box's reserved
//!    width.
//!
//! Tables without foreign keys in either direction are laid out in rows below the graph.

use super::graph::ErGraph;

/// Font size of all text, in pixels.
pub const FONT_SIZE: f64 = 12.0;
/// Advance of one character of the monospace font at [`FONT_SIZE`] (DejaVu Sans Mono, Menlo
/// and Courier are 7.2 px; a little more keeps the text inside its box everywhere).
pub const CHAR_W: f64 = 7.4;
/// Height of a column row.
pub const ROW_H: f64 = 18.0;
/// Height of a table's name band.
pub const HEADER_H: f64 = 24.0;
/// Horizontal padding inside a box.
pub const PAD: f64 = 8.0;
/// Height of an edge label.
pub const LABEL_H: f64 = 16.0;
/// Outer margin.
pub const MARGIN: f64 = 20.0;
/// Minimum horizontal gap between two boxes.
const BOX_GAP: f64 = 28.0;
/// Minimum horizontal gap next to an edge point or label.
const POINT_GAP: f64 = 10.0;
/// Vertical gap between two layers (where edges curve).
const LAYER_GAP: f64 = 34.0;
/// Space between a self-referencing loop and the next one.
const LOOP_STEP: f64 = 10.0;

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// True when the two rectangles share any area (touching edges do not count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }
}

/// The geometry of the whole diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
    /// One box per graph node, in the graph's node order.
    pub boxes: Vec<PlacedBox>,
    /// One entry per graph edge, in the graph's edge order.
    pub edges: Vec<PlacedEdge>,
}

/// A table box.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedBox {
    /// The box.
    pub rect: Rect,
    /// Width of the marker column (`PK`, `FK`, `UK`), in characters.
    pub marker_chars: usize,
    /// Width of the name column, in characters.
    pub name_chars: usize,
}

/// A foreign key's line and label.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedEdge {
    /// The line from the referencing table to the referenced one, as SVG path data.
    pub path: String,
    /// Where the label's text starts (left end of its baseline).
    pub label_at: (f64, f64),
    /// The area the label's text takes.
    pub label_rect: Rect,
}

/// Width of `text` in the diagram's font.
pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_W
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table(usize),
    Point,
    Label(usize),
}

#[derive(Debug, Clone)]
struct LNode {
    kind: Kind,
    layer: usize,
    /// Extent left of the anchor x.
    left: f64,
    /// Extent right of the anchor x.
    right: f64,
    height: f64,
    x: f64,
}

/// A piece of an edge between two adjacent layers.
#[derive(Debug, Clone, Copy)]
struct Seg {
    upper: usize,
    lower: usize,
}

/// Per table: the box size without loops.
fn box_size(graph: &ErGraph, n: usize) -> (f64, f64, usize, usize) {
    let node = &graph.nodes[n];
    let marker_chars = node
        .columns
        .iter()
        .map(|c| markers(c).chars().count())
        .max()
        .unwrap_or(0);
    let name_chars = node
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let type_chars = node
        .columns
        .iter()
        .map(|c| c.ty.chars().count())
        .max()
        .unwrap_or(0);
    let marker_w = if marker_chars > 0 {
        marker_chars + 1
    } else {
        0
    };
    let type_w = if type_chars > 0 { type_chars + 2 } else { 0 };
    let row_w = (marker_w + name_chars + type_w) as f64 * CHAR_W;
    let header_w = text_width(&node.label) + 4.0;
    let w = (2.0 * PAD + row_w.max(header_w)).max(80.0).ceil();
    let h = HEADER_H + node.columns.len() as f64 * ROW_H + 6.0;
    (w, h, marker_chars, name_chars)
}

/// The markers of a column row: `PK`, `FK`, `UK`, space-separated.
pub fn markers(c: &super::graph::NodeColumn) -> String {
    let mut m = Vec::new();
    if c.primary_key {
        m.push("PK");
    }
    if c.foreign_key {
        m.push("FK");
    }
    if c.unique && !c.primary_key {
        m.push("UK");
    }
    m.join(" ")
}

/// The y of a column row's middle, relative to the box top.
pub fn row_middle(row: usize) -> f64 {
    HEADER_H + 3.0 + row as f64 * ROW_H + ROW_H / 2.0
}

/// Lays the graph out.
pub fn layout(graph: &ErGraph) -> Layout {
    let n = graph.nodes.len();
    let sizes: Vec<(f64, f64, usize, usize)> = (0..n).map(|i| box_size(graph, i)).collect();

    // Self loops: reserved width on the right of their box.
    let mut loops: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, edge) in graph.edges.iter().enumerate() {
        if edge.from == edge.to {
            loops[edge.from].push(e);
        }
    }
    // Each loop's label beside its referencing column's row, pushed down when two would touch;
    // a box whose labels run past its bottom gets taller in the layout.
    let loop_tops: Vec<Vec<f64>> = loops
        .iter()
        .map(|ls| self_loop_label_tops(graph, ls))
        .collect();
    let loop_below: Vec<f64> = (0..n)
        .map(|t| {
            let bottom = loop_tops[t].iter().map(|y| y + LABEL_H).fold(0.0, f64::max);
            (bottom - sizes[t].1).max(0.0)
        })
        .collect();
    let loop_extra: Vec<f64> = loops
        .iter()
        .map(|ls| {
            if ls.is_empty() {
                0.0
            } else {
                let widest = ls
                    .iter()
                    .map(|&e| text_width(&graph.edges[e].label()))
                    .fold(0.0, f64::max);
                ls.len() as f64 * LOOP_STEP + 8.0 + widest + 4.0
            }
        })
        .collect();

    // 1. Ranks over the edges between different tables (parent above child).
    let links: Vec<(usize, usize, usize)> = graph
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.from != e.to)
        .map(|(i, e)| (i, e.to, e.from))
        .collect();
    let dag = break_cycles(n, &links);
    let mut connected = vec![false; n];
    for &(_, a, b) in &dag {
        connected[a] = true;
        connected[b] = true;
    }
    let rank = ranks(n, &dag);

    // 2. Layered nodes.
    let mut lnodes: Vec<LNode> = Vec::new();
    let mut table_lnode = vec![usize::MAX; n];
    for t in 0..n {
        if connected[t] {
            let (w, h, _, _) = sizes[t];
            table_lnode[t] = lnodes.len();
            lnodes.push(LNode {
                kind: Kind::Table(t),
                layer: 2 * rank[t],
                left: w / 2.0,
                right: w / 2.0 + loop_extra[t],
                height: h + loop_below[t],
                x: 0.0,
            });
        }
    }
    let mut segs: Vec<Seg> = Vec::new();
    // Per edge: its layered nodes from the upper table to the lower one.
    let mut chains: Vec<Vec<usize>> = vec![Vec::new(); graph.edges.len()];
    for &(e, a, b) in &dag {
        let (upper, lower) = (table_lnode[a], table_lnode[b]);
        let (lu, ll) = (lnodes[upper].layer, lnodes[lower].layer);
        let mut chain = vec![upper];
        for layer in lu + 1..ll {
            let kind = if layer + 1 == ll {
                Kind::Label(e)
            } else {
                Kind::Point
            };
            let right = match kind {
                Kind::Label(_) => 6.0 + text_width(&graph.edges[e].label()),
                _ => 3.0,
            };
            chain.push(lnodes.len());
            lnodes.push(LNode {
                kind,
                layer,
                left: 3.0,
                right,
                height: if matches!(kind, Kind::Label(_)) {
                    LABEL_H
                } else {
                    0.0
                },
                x: 0.0,
            });
        }
        chain.push(lower);
        for pair in chain.windows(2) {
            segs.push(Seg {
                upper: pair[0],
                lower: pair[1],
            });
        }
        chains[e] = chain;
    }
    let layer_count = lnodes.iter().map(|l| l.layer + 1).max().unwrap_or(0);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for (i, l) in lnodes.iter().enumerate() {
        layers[l.layer].push(i);
    }

    // 3. Order.
    let mut ups: Vec<Vec<usize>> = vec![Vec::new(); lnodes.len()];
    let mut downs: Vec<Vec<usize>> = vec![Vec::new(); lnodes.len()];
    for s in &segs {
        downs[s.upper].push(s.lower);
        ups[s.lower].push(s.upper);
    }
    order_layers(&mut layers, &ups, &downs, &segs, &lnodes);
    let mut pos = vec![0usize; lnodes.len()];
    for layer in &layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }

    // Ports: where each segment meets a table, spread along the box's top or bottom edge in
    // the order of the other ends.
    let mut port: Vec<(f64, f64)> = vec![(0.0, 0.0); segs.len()]; // (offset at upper, at lower)
    for (v, l) in lnodes.iter().enumerate() {
        let Kind::Table(t) = l.kind else { continue };
        let w = sizes[t].0;
        let mut below: Vec<usize> = (0..segs.len()).filter(|&s| segs[s].upper == v).collect();
        below.sort_by_key(|&s| pos[segs[s].lower]);
        for (k, &s) in below.iter().enumerate() {
            port[s].0 = -w / 2.0 + w * (k + 1) as f64 / (below.len() + 1) as f64;
        }
        let mut above: Vec<usize> = (0..segs.len()).filter(|&s| segs[s].lower == v).collect();
        above.sort_by_key(|&s| pos[segs[s].upper]);
        for (k, &s) in above.iter().enumerate() {
            port[s].1 = -w / 2.0 + w * (k + 1) as f64 / (above.len() + 1) as f64;
        }
    }

    // 4. Coordinates.
    place(&mut lnodes, &layers, &segs, &port);

    // Vertical bands.
    let mut top = vec![0.0; layer_count];
    let mut band = vec![0.0; layer_count];
    let mut y = MARGIN;
    for (i, layer) in layers.iter().enumerate() {
        top[i] = y;
        band[i] = layer.iter().map(|&v| lnodes[v].height).fold(0.0, f64::max);
        y += band[i] + LAYER_GAP;
    }
    let graph_bottom = if layer_count > 0 {
        y - LAYER_GAP
    } else {
        MARGIN
    };
    let min_x = lnodes
        .iter()
        .map(|l| l.x - l.left)
        .fold(f64::INFINITY, f64::min);
    let shift = if min_x.is_finite() {
        MARGIN - min_x
    } else {
        0.0
    };
    for l in &mut lnodes {
        l.x += shift;
    }
    let mut width = lnodes.iter().map(|l| l.x + l.right).fold(0.0, f64::max) + MARGIN;

    let mut boxes: Vec<PlacedBox> = (0..n)
        .map(|t| PlacedBox {
            rect: Rect {
                x: 0.0,
                y: 0.0,
                w: sizes[t].0,
                h: sizes[t].1,
            },
            marker_chars: sizes[t].2,
            name_chars: sizes[t].3,
        })
        .collect();
    for l in &lnodes {
        if let Kind::Table(t) = l.kind {
            boxes[t].rect.x = l.x - l.left;
            boxes[t].rect.y = top[l.layer];
        }
    }

    // Tables without links: rows below the graph, no wider than the graph (or 900 px).
    let row_limit = (width - MARGIN).max(900.0);
    let mut x = MARGIN;
    let mut y = if layer_count > 0 {
        graph_bottom + LAYER_GAP * 1.5
    } else {
        MARGIN
    };
    let mut row_h: f64 = 0.0;
    for t in 0..n {
        if connected[t] {
            continue;
        }
        let w = sizes[t].0 + loop_extra[t];
        if x > MARGIN && x + w > row_limit {
            x = MARGIN;
            y += row_h + LAYER_GAP;
            row_h = 0.0;
        }
        boxes[t].rect.x = x;
        boxes[t].rect.y = y;
        x += w + BOX_GAP;
        row_h = row_h.max(sizes[t].1 + loop_below[t]);
        width = width.max(x - BOX_GAP + MARGIN);
    }
    let height = if row_h > 0.0 { y + row_h } else { graph_bottom } + MARGIN;

    // 5. Edges.
    let mut edges: Vec<PlacedEdge> = Vec::with_capacity(graph.edges.len());
    for (e, edge) in graph.edges.iter().enumerate() {
        if edge.from == edge.to {
            let k = loops[edge.from].iter().position(|&x| x == e).unwrap_or(0);
            let top = loop_tops[edge.from].get(k).copied().unwrap_or(0.0);
            edges.push(self_loop(graph, &boxes, e, k, loops[edge.from].len(), top));
            continue;
        }
        let chain = &chains[e];
        // Points from the upper table to the lower one.
        let mut pts: Vec<(f64, f64)> = Vec::new();
        let mut label = None;
        for (i, &v) in chain.iter().enumerate() {
            let l = &lnodes[v];
            match l.kind {
                Kind::Table(_) if i == 0 => {
                    let seg = segs
                        .iter()
                        .position(|s| s.upper == v && s.lower == chain[1]);
                    let off = seg.map_or(0.0, |s| port[s].0);
                    pts.push((l.x + off, top[l.layer] + l.height));
                    pts.push((l.x + off, top[l.layer] + band[l.layer]));
                }
                Kind::Table(_) => {
                    let seg = segs
                        .iter()
                        .position(|s| s.lower == v && s.upper == chain[i - 1]);
                    let off = seg.map_or(0.0, |s| port[s].1);
                    pts.push((l.x + off, top[l.layer]));
                }
                Kind::Point | Kind::Label(_) => {
                    pts.push((l.x, top[l.layer]));
                    pts.push((l.x, top[l.layer] + band[l.layer]));
                    if matches!(l.kind, Kind::Label(_)) {
                        label = Some((l.x, top[l.layer]));
                    }
                }
            }
        }
        // Drawn from the referencing table (the child) to the referenced one.
        let child_is_lower = chain
            .last()
            .is_some_and(|&v| lnodes[v].kind == Kind::Table(edge.from));
        if child_is_lower {
            pts.reverse();
        }
        let text = edge.label();
        let (lx, ly) = label.unwrap_or((0.0, 0.0));
        let label_rect = Rect {
            x: lx + 6.0,
            y: ly,
            w: text_width(&text),
            h: LABEL_H,
        };
        edges.push(PlacedEdge {
            path: path_data(&pts),
            label_at: (lx + 6.0, ly + LABEL_H - 4.0),
            label_rect,
        });
    }

    Layout {
        width: width.ceil(),
        height: height.ceil(),
        boxes,
        edges,
    }
}

/// The row a foreign key's first column (or first referenced column) is in.
fn row_of(graph: &ErGraph, node: usize, name: Option<&String>) -> usize {
    name.and_then(|n| graph.nodes[node].columns.iter().position(|c| &c.name == n))
        .unwrap_or(0)
}

/// The tops of the labels of a table's self-referencing keys (relative to the box's top), in
/// the order of `loops`: each beside its referencing column's row, moved down below the label
/// above when they would touch.
fn self_loop_label_tops(graph: &ErGraph, loops: &[usize]) -> Vec<f64> {
    let mut wanted: Vec<(f64, usize)> = loops
        .iter()
        .enumerate()
        .map(|(k, &e)| {
            let edge = &graph.edges[e];
            let row = row_of(graph, edge.from, edge.columns.first());
            (row_middle(row) - LABEL_H / 2.0, k)
        })
        .collect();
    wanted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut tops = vec![0.0; loops.len()];
    let mut next_free = f64::NEG_INFINITY;
    for (y, k) in wanted {
        let top = y.max(next_free);
        tops[k] = top;
        next_free = top + LABEL_H;
    }
    tops
}

/// A foreign key from a table to itself: out of the referencing column's row on the right,
/// back into the referenced column's row; the label to the right of all loops, its top at
/// `label_top` below the box's top.
fn self_loop(
    graph: &ErGraph,
    boxes: &[PlacedBox],
    e: usize,
    k: usize,
    of: usize,
    label_top: f64,
) -> PlacedEdge {
    let edge = &graph.edges[e];
    let r = boxes[edge.from].rect;
    let from_y = r.y + row_middle(row_of(graph, edge.from, edge.columns.first()));
    let mut to_y = r.y + row_middle(row_of(graph, edge.from, edge.referenced_columns.first()));
    if (to_y - from_y).abs() < 1.0 {
        to_y = from_y - ROW_H / 2.0;
    }
    let right = r.x + r.w;
    let out = right + (k + 1) as f64 * LOOP_STEP;
    let pts = [(right, from_y), (out, from_y), (out, to_y), (right, to_y)];
    let mut d = format!("M{} {}", num(pts[0].0), num(pts[0].1));
    for p in &pts[1..] {
        d.push_str(&format!(" L{} {}", num(p.0), num(p.1)));
    }
    let text = edge.label();
    let lx = right + of as f64 * LOOP_STEP + 8.0;
    let ly = r.y + label_top;
    PlacedEdge {
        path: d,
        label_at: (lx, ly + LABEL_H - 4.0),
        label_rect: Rect {
            x: lx,
            y: ly,
            w: text_width(&text),
            h: LABEL_H,
        },
    }
}

/// SVG path data through `pts`: straight where x does not change, else a curve that leaves
/// and arrives vertically (so it stays between the two y's).
fn path_data(pts: &[(f64, f64)]) -> String {
    let mut d = String::new();
    let mut prev: Option<(f64, f64)> = None;
    for &(x, y) in pts {
        match prev {
            None => d.push_str(&format!("M{} {}", num(x), num(y))),
            Some((px, py)) if (px - x).abs() < 0.05 => {
                if (py - y).abs() >= 0.05 {
                    d.push_str(&format!(" L{} {}", num(x), num(y)));
                }
            }
            Some((px, py)) => {
                let my = (py + y) / 2.0;
                d.push_str(&format!(
                    " C{} {} {} {} {} {}",
                    num(px),
                    num(my),
                    num(x),
                    num(my),
                    num(x),
                    num(y)
                ));
            }
        }
        prev = Some((x, y));
    }
    d
}

/// A coordinate as written in the SVG: one decimal, no trailing `.0`.
pub fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    let r = if r == 0.0 { 0.0 } else { r }; // no "-0"
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Edges (parent, child) with cycles broken: a depth-first search in node order reverses
/// every edge that closes a cycle. Returns (edge index, upper node, lower node).
fn break_cycles(n: usize, links: &[(usize, usize, usize)]) -> Vec<(usize, usize, usize)> {
    let mut out_edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for &(e, a, b) in links {
        out_edges[a].push((e, b));
    }
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; n];
    let mut reversed = vec![false; links.len()];
    let index_of = |e: usize| links.iter().position(|l| l.0 == e).unwrap_or(0);
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(top) = stack.last_mut() {
            let v = top.0;
            if top.1 < out_edges[v].len() {
                let (e, w) = out_edges[v][top.1];
                top.1 += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[index_of(e)] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    links
        .iter()
        .zip(reversed)
        .map(|(&(e, a, b), r)| if r { (e, b, a) } else { (e, a, b) })
        .collect()
}

/// Longest-path ranks (0 at the top); a node with children and no parents moves down to just
/// above its highest child.
fn ranks(n: usize, dag: &[(usize, usize, usize)]) -> Vec<usize> {
    let mut rank = vec![0usize; n];
    // Relaxation terminates: the graph is acyclic, so no rank exceeds n.
    for _ in 0..n {
        let mut changed = false;
        for &(_, a, b) in dag {
            if rank[b] < rank[a] + 1 {
                rank[b] = rank[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for v in 0..n {
        let has_parent = dag.iter().any(|&(_, _, b)| b == v);
        let lowest = dag
            .iter()
            .filter(|&&(_, a, _)| a == v)
            .map(|&(_, _, b)| rank[b])
            .min();
        if let (false, Some(r)) = (has_parent, lowest)
            && r > 0
        {
            rank[v] = r - 1;
        }
    }
    rank
}

fn crossings(layers: &[Vec<usize>], segs: &[Seg], pos: &[usize], lnodes: &[LNode]) -> usize {
    let mut by_layer: Vec<Vec<(usize, usize)>> = vec![Vec::new(); layers.len()];
    for s in segs {
        by_layer[lnodes[s.upper].layer].push((pos[s.upper], pos[s.lower]));
    }
    let mut count = 0;
    for list in &by_layer {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    count += 1;
                }
            }
        }
    }
    count
}

fn positions(layers: &[Vec<usize>], len: usize) -> Vec<usize> {
    let mut pos = vec![0usize; len];
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Barycenter ordering, down and up, keeping the best order seen.
fn order_layers(
    layers: &mut [Vec<usize>],
    ups: &[Vec<usize>],
    downs: &[Vec<usize>],
    segs: &[Seg],
    lnodes: &[LNode],
) {
    let mut pos = positions(layers, lnodes.len());
    let mut best = layers.to_vec();
    let mut best_count = crossings(layers, segs, &pos, lnodes);
    for iteration in 0..24 {
        let down = iteration % 2 == 0;
        let order: Vec<usize> = if down {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        for li in order {
            let neighbours = if down { ups } else { downs };
            let mut keyed: Vec<(f64, usize, usize)> = layers[li]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let ns = &neighbours[v];
                    let key = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, i, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            layers[li] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in layers[li].iter().enumerate() {
                pos[v] = i;
            }
        }
        let count = crossings(layers, segs, &pos, lnodes);
        if count < best_count {
            best_count = count;
            best = layers.to_vec();
        }
    }
    for (layer, b) in layers.iter_mut().zip(best) {
        *layer = b;
    }
}

/// Minimum distance between the anchors of two neighbours in a layer.
fn separation(a: &LNode, b: &LNode) -> f64 {
    let gap = match (a.kind, b.kind) {
        (Kind::Table(_), Kind::Table(_)) => BOX_GAP,
        // A line passing a box keeps clear of its border.
        (Kind::Table(_), _) | (_, Kind::Table(_)) => BOX_GAP / 2.0,
        _ => POINT_GAP,
    };
    a.right + gap + b.left
}

/// x coordinates: sweeps that pull every node toward the mean of its neighbours' ports.
fn place(lnodes: &mut [LNode], layers: &[Vec<usize>], segs: &[Seg], port: &[(f64, f64)]) {
    // Start packed to the left.
    for layer in layers {
        let mut x = 0.0;
        let mut prev: Option<usize> = None;
        for &v in layer {
            x = match prev {
                None => lnodes[v].left,
                Some(p) => x + separation(&lnodes[p], &lnodes[v]),
            };
            lnodes[v].x = x;
            prev = Some(v);
        }
    }
    // Where segment s meets node v, relative to v's anchor.
    let offset = |s: usize, v: usize| {
        if segs[s].upper == v {
            port[s].0
        } else {
            port[s].1
        }
    };
    let mut touching: Vec<Vec<usize>> = vec![Vec::new(); lnodes.len()];
    for (s, seg) in segs.iter().enumerate() {
        touching[seg.upper].push(s);
        touching[seg.lower].push(s);
    }
    for round in 0..16 {
        // Down (neighbours above), up (neighbours below), and at last both.
        let (list, use_up, use_down): (Vec<usize>, bool, bool) = match round {
            15 => ((0..layers.len()).collect(), true, true),
            r if r % 2 == 0 => ((0..layers.len()).collect(), true, false),
            _ => ((0..layers.len()).rev().collect(), false, true),
        };
        for li in list {
            let layer = &layers[li];
            let desired: Vec<f64> = layer
                .iter()
                .map(|&v| {
                    let mut sum = 0.0;
                    let mut count = 0.0;
                    for &s in &touching[v] {
                        let (other, is_up) = if segs[s].lower == v {
                            (segs[s].upper, true)
                        } else {
                            (segs[s].lower, false)
                        };
                        if (is_up && use_up) || (!is_up && use_down) {
                            sum += lnodes[other].x + offset(s, other) - offset(s, v);
                            count += 1.0;
                        }
                    }
                    if count > 0.0 {
                        sum / count
                    } else {
                        lnodes[v].x
                    }
                })
                .collect();
            let weights: Vec<f64> = layer
                .iter()
                .map(|&v| match lnodes[v].kind {
                    Kind::Table(_) => 1.0,
                    _ => 2.0,
                })
                .collect();
            let seps: Vec<f64> = layer
                .windows(2)
                .map(|p| separation(&lnodes[p[0]], &lnodes[p[1]]))
                .collect();
            let xs = isotonic_place(&desired, &weights, &seps);
            for (&v, x) in layer.iter().zip(xs) {
                lnodes[v].x = x;
            }
        }
    }
}

/// Positions as close as possible (weighted least squares) to `desired`, keeping the order and
/// at least `seps[i]` between positions i and i+1: pool-adjacent-violators on the positions
/// shifted by the cumulative separations.
fn isotonic_place(desired: &[f64], weights: &[f64], seps: &[f64]) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(desired.len());
    let mut acc = 0.0;
    for i in 0..desired.len() {
        if i > 0 {
            acc += seps.get(i - 1).copied().unwrap_or(0.0);
        }
        offsets.push(acc);
    }
    // Blocks of (weighted mean, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for i in 0..desired.len() {
        let w = weights.get(i).copied().unwrap_or(1.0);
        blocks.push((desired[i] - offsets[i], w, 1));
        while blocks.len() > 1 {
            let (m2, w2, c2) = blocks[blocks.len() - 1];
            let (m1, w1, c1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = ((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2);
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (m, _, c) in blocks {
        for _ in 0..c {
            let i = out.len();
            out.push(m + offsets[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_placement_keeps_order_and_gaps() {
        let xs = isotonic_place(&[10.0, 0.0, 50.0], &[1.0, 1.0, 1.0], &[20.0, 20.0]);
        assert_eq!(xs, vec![-5.0, 15.0, 50.0]);
    }

    #[test]
    fn numbers_are_short_and_never_negative_zero() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.25), "12.3");
        assert_eq!(num(-0.01), "0");
    }

    #[test]
    fn cycles_are_broken_and_ranks_put_parents_above() {
        // 0 -> 1 -> 2 -> 0, and 0 -> 3.
        let links = [(0, 0, 1), (1, 1, 2), (2, 2, 0), (3, 0, 3)];
        let dag = break_cycles(4, &links);
        let rank = ranks(4, &dag);
        for &(_, a, b) in &dag {
            assert!(rank[a] < rank[b], "{dag:?} {rank:?}");
        }
    }
}
