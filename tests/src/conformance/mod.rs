//! The conformance run: every start and target state of the three peer suites in
//! `../shared/conformance/` (sqldef, migra, pg-schema-diff) and a generated 1,000-table schema,
//! each taken through the whole round trip of the toolkit:
//!
//! ```text
//! SQL ─apply─► database ─introspect─► S1 ─write TOML─► text ─load─► S2        (S2 must equal S1)
//!                                                          S2 ─render─► SQL ─apply─► database
//!                                                             ─introspect─► S3 (S3 must equal S1)
//! ```
//!
//! [`corpus`] reads the suites into deduplicated [`corpus::State`]s (skipping what stock
//! PostgreSQL 15 cannot run), [`roundtrip`] judges one SQL text, [`roles`] creates the roles the
//! suites expect, and [`report`] clusters the failures and writes `CONFORMANCE.md`. The
//! `conformance` binary drives them.
//!
//! The differ is judged on pairs of states: [`cases`] pairs the corpus occurrences (start and
//! target of each peer case, both ways where the peer checks both) and [`migration`] judges one
//! pair (plan applied to the start database, result compared with the target, second diff
//! empty). The `conformance_diff` binary drives them and writes `CONFORMANCE-DIFF.md`.

pub mod cases;
pub mod corpus;
pub mod migration;
pub mod report;
pub mod roles;
pub mod roundtrip;

use crate::synthetic::Size;

/// The generated schema of the conformance run: 1,000 tables, each with the object kinds of a
/// real application table.
pub const SYNTHETIC_SIZE: Size = Size {
    tables: 1000,
    extra_columns: 2,
};
