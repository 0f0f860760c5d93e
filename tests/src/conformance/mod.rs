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

/// How an isolated run ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupted {
    /// It ran out of time.
    TimedOut(std::time::Duration),
    /// It panicked (with its message), or its task failed.
    Panicked(String),
}

/// Runs `work` in a task of its own, within `limit`, so that a panic anywhere in the toolkit
/// becomes one failed state or case instead of ending the run.
pub async fn isolated<T, F>(limit: std::time::Duration, work: F) -> Result<T, Interrupted>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let task = tokio::spawn(tokio::time::timeout(limit, work));
    match task.await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(Interrupted::TimedOut(limit)),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            Err(Interrupted::Panicked(
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panic with a non-text payload".to_owned()),
            ))
        }
        Err(e) => Err(Interrupted::Panicked(format!("task failed: {e}"))),
    }
}
