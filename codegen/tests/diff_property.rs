//! Property: for random pairs of schemas A and B (proptest), the plan A → B applied to a real
//! database in state A (seeded with rows) introspects equal to B, diffing again finds nothing,
//! and the down plan brings it back to A. Both states come from SQL through a scratch database.
//!
//! The pairs share names, so the plans alter rather than drop and recreate: tables and columns
//! come and go, types change within a family that converts (integers and numerics, text
//! lengths), nullability, defaults, uniques, indexes, checks, foreign keys and enum labels
//! (added, removed, reordered) change. `PROPTEST_CASES` sets the number of pairs (default 12).

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codegen::diff::prove::{ProofError, prove};
use codegen::diff::{DiffOptions, diff, diff_down};
use codegen::introspect::Filter;
use codegen::model::Schema;
use codegen::source::{LoadOptions, SqlSource, load_sql_files_on};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::fmt::Write as _;
use std::path::PathBuf;

const FAMILIES: &[&[&str]] = &[
    &["integer", "bigint", "numeric(12,2)"],
    &["varchar(20)", "varchar(50)", "text"],
    &["boolean"],
    &["timestamptz"],
    &["jsonb"],
    &["public.mood"],
];

const LABELS: &[&str] = &["calm", "happy", "sad", "angry"];

#[derive(Debug, Clone)]
struct Side {
    present: bool,
    ty: usize,
    nullable: bool,
    default: bool,
}

#[derive(Debug, Clone)]
struct ColumnSpec {
    family: usize,
    a: Side,
    b: Side,
}

#[derive(Debug, Clone)]
struct TableSpec {
    a: bool,
    b: bool,
    columns: Vec<ColumnSpec>,
    /// Index on the first column: (in A, in B, unique in A, unique in B).
    index: (bool, bool, bool, bool),
    /// `parent_id` referencing table 0 (for tables after the first): in A, in B.
    fk: (bool, bool),
    /// A CHECK on the first column when it is numeric: in A, in B.
    check: (bool, bool),
}

#[derive(Debug, Clone)]
struct PairSpec {
    tables: Vec<TableSpec>,
    labels_a: Vec<usize>,
    labels_b: Vec<usize>,
}

fn side(family: usize) -> impl Strategy<Value = Side> {
    let types = FAMILIES[family].len();
    (any::<bool>(), 0..types, any::<bool>(), any::<bool>()).prop_map(
        |(p, ty, nullable, default)| Side {
            present: p,
            ty,
            nullable,
            default,
        },
    )
}

fn column() -> impl Strategy<Value = ColumnSpec> {
    (0..FAMILIES.len()).prop_flat_map(|family| {
        (side(family), side(family), any::<bool>(), any::<bool>()).prop_map(
            move |(mut a, mut b, pa, pb)| {
                a.present = pa || !pb;
                b.present = pb || !pa;
                // A NOT NULL column without a default cannot be added to a table with rows (the
                // proof seeds rows, and the plan then fails, rightly): give such columns a default.
                if !a.present && !b.nullable {
                    b.default = true;
                }
                if !b.present && !a.nullable {
                    a.default = true;
                }
                ColumnSpec { family, a, b }
            },
        )
    })
}

fn table() -> impl Strategy<Value = TableSpec> {
    (
        any::<(bool, bool)>(),
        prop::collection::vec(column(), 1..4),
        any::<(bool, bool, bool, bool)>(),
        any::<(bool, bool)>(),
        any::<(bool, bool)>(),
    )
        .prop_map(|((a, b), columns, index, fk, check)| TableSpec {
            a: a || !b,
            b: b || !a,
            columns,
            index,
            fk,
            check,
        })
}

fn labels() -> impl Strategy<Value = Vec<usize>> {
    Just((0..LABELS.len()).collect::<Vec<usize>>())
        .prop_shuffle()
        .prop_flat_map(|all| (1..=all.len()).prop_map(move |n| all[..n].to_vec()))
}

fn pair() -> impl Strategy<Value = PairSpec> {
    (prop::collection::vec(table(), 1..4), labels(), labels()).prop_map(
        |(mut tables, labels_a, labels_b)| {
            // Table 0 is the parent of the foreign keys: present on both sides.
            tables[0].a = true;
            tables[0].b = true;
            PairSpec {
                tables,
                labels_a,
                labels_b,
            }
        },
    )
}

fn default_for(ty: &str, labels: &[usize]) -> String {
    match ty {
        "integer" | "bigint" | "numeric(12,2)" => "7".to_owned(),
        "boolean" => "false".to_owned(),
        "timestamptz" => "now()".to_owned(),
        "jsonb" => "'{}'::jsonb".to_owned(),
        "public.mood" => format!("'{}'", LABELS[labels[0]]),
        _ => "'x'".to_owned(),
    }
}

/// The SQL of one side.
fn render(spec: &PairSpec, side_a: bool) -> String {
    let labels = if side_a {
        &spec.labels_a
    } else {
        &spec.labels_b
    };
    let mut sql = String::new();
    let list: Vec<String> = labels.iter().map(|l| format!("'{}'", LABELS[*l])).collect();
    let _ = writeln!(
        sql,
        "CREATE TYPE public.mood AS ENUM ({});",
        list.join(", ")
    );
    for (i, t) in spec.tables.iter().enumerate() {
        if !(if side_a { t.a } else { t.b }) {
            continue;
        }
        let mut items = vec!["id bigint PRIMARY KEY".to_owned()];
        let mut first: Option<(String, &str)> = None;
        for (j, c) in t.columns.iter().enumerate() {
            let s = if side_a { &c.a } else { &c.b };
            if !s.present {
                continue;
            }
            let ty = FAMILIES[c.family][s.ty];
            let name = format!("c{j}");
            let mut def = format!("{name} {ty}");
            if s.default {
                let _ = write!(def, " DEFAULT {}", default_for(ty, labels));
            }
            if !s.nullable {
                def.push_str(" NOT NULL");
            }
            if first.is_none() {
                first = Some((name.clone(), ty));
            }
            items.push(def);
        }
        let fk = if side_a { t.fk.0 } else { t.fk.1 };
        if i > 0 && fk {
            items.push("parent_id bigint REFERENCES public.t0 (id) ON DELETE CASCADE".to_owned());
        }
        if let Some((name, ty)) = &first
            && (if side_a { t.check.0 } else { t.check.1 })
            && FAMILIES[0].contains(ty)
        {
            items.push(format!("CONSTRAINT t{i}_positive CHECK ({name} > 0)"));
        }
        let _ = writeln!(sql, "CREATE TABLE public.t{i} ({});", items.join(", "));
        let (ia, ib, ua, ub) = t.index;
        let (present, unique) = if side_a { (ia, ua) } else { (ib, ub) };
        if let Some((name, ty)) = &first
            && present
            && *ty != "jsonb"
        {
            let u = if unique { "UNIQUE " } else { "" };
            let _ = writeln!(
                sql,
                "CREATE {u}INDEX t{i}_first_idx ON public.t{i} ({name});"
            );
        }
    }
    sql
}

async fn load(server: &std::sync::Arc<pgkit::Server>, sql: &str) -> Schema {
    let source = SqlSource {
        path: PathBuf::from("state.sql"),
        text: sql.to_owned(),
    };
    load_sql_files_on(server, &[source], &LoadOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .schema
}

/// A plan that fails on the very statement whose data-loss hazard it declared (a removed enum
/// label still in use, a value that does not fit a narrower type) did what it said it would:
/// the guard refuses it unless that loss is allowed.
fn hazard_came_true(e: &ProofError, plan: &codegen::diff::Plan) -> bool {
    match e {
        ProofError::Statement { index, .. } => plan
            .steps
            .get(index - 1)
            .is_some_and(|s| s.losses().next().is_some()),
        _ => false,
    }
}

#[test]
fn random_pairs_migrate_both_ways() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(pgkit::Server::shared()).unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        // Each case runs four scratch databases: shrinking is affordable but slow.
        max_shrink_iters: 64,
        ..Config::default()
    });
    let result = runner.run(&pair(), |spec| {
        let (a_sql, b_sql) = (render(&spec, true), render(&spec, false));
        runtime.block_on(async {
            let a = load(&server, &a_sql).await;
            let b = load(&server, &b_sql).await;
            let options = DiffOptions::default();
            let filter = Filter::default();
            let up = diff(&a, &b, &options);
            if let Err(e) = prove(&server, &a, &up, &b, &filter, true).await
                && !hazard_came_true(&e, &up)
            {
                return Err(TestCaseError::fail(format!(
                    "up: {e}\n-- A\n{a_sql}\n-- B\n{b_sql}\n-- plan\n{}",
                    up.to_sql()
                )));
            }
            let down = diff_down(&a, &b, &options);
            if let Err(e) = prove(&server, &b, &down, &a, &filter, true).await
                && !hazard_came_true(&e, &down)
            {
                return Err(TestCaseError::fail(format!(
                    "down: {e}\n-- A\n{a_sql}\n-- B\n{b_sql}\n-- plan\n{}",
                    down.to_sql()
                )));
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
