//! `codegen migrate new NAME`: the autogenerate step. The declared schema (`schema/`, in
//! canonical form) is diffed against the state the migrations produce; the plan is checked by
//! the destructive-change guard, proven on a scratch database (up, and each down), and only
//! then written as the next migration files.

use super::state::{self, StateError};
use crate::diff::prove::{ProofDb, ProofError, ProofTimings, concurrent_index, only_relation};
use crate::diff::{DiffOptions, Loss, Plan, diff, diff_down};
use crate::introspect::Filter;
use crate::model::{Ident, Schema};
use crate::project::{self, Paths, ProjectError};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `migrate new`.
#[derive(Debug, Clone, Default)]
pub struct NewOptions {
    /// Kinds of data loss the user allows (`--allow drop-column`…).
    pub allow: Vec<Loss>,
    /// The plain forms instead of the online ones (`--no-online`).
    pub plain: bool,
}

/// Why `migrate new` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The schema or its lock.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The migrations' state.
    #[error("replaying migrations/: {0}")]
    State(#[from] StateError),
    /// The plan loses data of a kind that was not allowed.
    #[error("the migration would lose data; nothing was written:\n{}", destructive_message(.0))]
    Destructive(Vec<(String, String, Loss)>),
    /// The plan failed its proof.
    #[error("the plan failed its proof on a scratch database; nothing was written: {0}")]
    Proof(#[from] ProofError),
    /// A down plan (or a run of them) failed its proof.
    #[error(
        "the down migration{} failed its proof; nothing was written: {source}",
        steps_label(*.step, *.last)
    )]
    DownProof {
        /// Which migration of the set (1-based); the first of a run.
        step: usize,
        /// The last migration of the run whose down migrations were proven together (the
        /// downs of consecutive concurrent index builds); `step` when proven alone.
        last: usize,
        /// The failure.
        #[source]
        source: ProofError,
    },
    /// The name is not usable in a file name.
    #[error("`{0}` is not a migration name: use letters, digits and underscores")]
    BadName(String),
    /// Writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// ` of step N`, or `s of steps N to M`.
fn steps_label(step: usize, last: usize) -> String {
    if last > step {
        format!("s of steps {step} to {last}")
    } else {
        format!(" of step {step}")
    }
}

fn destructive_message(steps: &[(String, String, Loss)]) -> String {
    let mut out = String::new();
    for (object, sql, loss) in steps {
        let first = sql.lines().next().unwrap_or_default();
        out.push_str(&format!(
            "  {object}: {first}\n    allow with --allow {loss}\n"
        ));
    }
    out
}

/// What `migrate new` did.
#[derive(Debug, Clone)]
pub struct NewOutcome {
    /// The plan (empty: nothing to do, nothing written).
    pub plan: Plan,
    /// Files written, relative to the root.
    pub written: Vec<PathBuf>,
    /// Drops and adds that look like renames, with the `renamed_from` line that would make
    /// them one.
    pub rename_hints: Vec<String>,
    /// Time to get the migrations' state, and whether it was replayed.
    pub state_time: Duration,
    /// Whether the migrations were replayed (cold cache).
    pub replayed: bool,
    /// Time to diff.
    pub diff_time: Duration,
    /// Time to prove the up and down plans.
    pub proof_time: Duration,
}

/// The declared schema in canonical form: the lock when it is fresh, else rebuilt on the
/// scratch server (the lock file itself is `codegen generate`'s to write).
pub async fn declared_schema(
    paths: &Paths,
    server: &Arc<pgkit::Server>,
) -> Result<Schema, ProjectError> {
    let loaded = project::load_schema(paths)?;
    let lock = match project::read_lock(paths) {
        Ok(lock) if project::canonical_schema(&loaded, &lock).is_ok() => lock,
        _ => project::build_lock(&loaded, server).await?,
    };
    project::canonical_schema(&loaded, &lock)
}

/// A file-name form of `name`: lower case, runs of other characters as one `_`.
fn slug(name: &str) -> Result<String, NewError> {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() {
        Err(NewError::BadName(name.to_owned()))
    } else {
        Ok(out)
    }
}

/// Drops and adds in one plan that look like renames: a column dropped and one of the same
/// type added to the same table, a table dropped and one with the same columns created.
pub fn rename_hints(from: &Schema, to: &Schema) -> Vec<String> {
    let mut hints = Vec::new();
    for (name, t) in &to.tables {
        let Some(f) = from.tables.get(name) else {
            // A new table with exactly the columns of a dropped one.
            let shape = |x: &crate::model::Table| {
                x.columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.clone()))
                    .collect::<Vec<_>>()
            };
            for (old, ft) in &from.tables {
                if !to.tables.contains_key(old) && shape(ft) == shape(t) {
                    hints.push(format!(
                        "table {name} looks like {old} renamed: add `renamed_from = \"{old}\"` to [table.{}] to rename it instead of dropping it",
                        name.name
                    ));
                }
            }
            continue;
        };
        let dropped: Vec<_> = f
            .columns
            .iter()
            .filter(|c| t.column(c.name.as_str()).is_none())
            .collect();
        for c in t
            .columns
            .iter()
            .filter(|c| f.column(c.name.as_str()).is_none())
        {
            for d in dropped.iter().filter(|d| d.ty == c.ty) {
                hints.push(format!(
                    "column {name}.{} looks like {} renamed: add `renamed_from = \"{}\"` to it to rename it instead of dropping {} and its data",
                    c.name, d.name, d.name, d.name
                ));
            }
        }
    }
    hints
}

/// The next version after the existing migrations.
fn next_version(paths: &Paths) -> Result<i64, NewError> {
    Ok(state::list(&paths.migrations)?
        .last()
        .map_or(1, |m| m.version + 1))
}

/// `migrate new NAME`: see the module documentation. Writes nothing when there is nothing to
/// do, when the guard refuses, or when a proof fails.
pub async fn new_migration(
    paths: &Paths,
    name: &str,
    server: &Arc<pgkit::Server>,
    options: &NewOptions,
) -> Result<NewOutcome, NewError> {
    let slug = slug(name)?;
    let declared = declared_schema(paths, server).await?;
    let state = state::state(server, &paths.migrations).await?;
    let diff_started = Instant::now();
    let diff_options = DiffOptions {
        online: !options.plain,
        ..DiffOptions::default()
    };
    let plan = diff(&state.schema, &declared, &diff_options);
    let diff_time = diff_started.elapsed();
    let mut outcome = NewOutcome {
        plan: Plan::default(),
        written: Vec::new(),
        rename_hints: rename_hints(&state.schema, &declared),
        state_time: state.elapsed,
        replayed: state.replayed,
        diff_time,
        proof_time: Duration::ZERO,
    };
    if plan.is_empty() {
        return Ok(outcome);
    }
    let refused: Vec<(String, String, Loss)> = plan
        .disallowed_losses(&options.allow)
        .into_iter()
        .map(|(s, l)| (s.object.clone(), s.sql.clone(), l))
        .collect();
    if !refused.is_empty() {
        return Err(NewError::Destructive(refused));
    }

    let proof_started = Instant::now();
    let proven = prove_up_and_down(server, &state.schema, &plan, &declared, &diff_options).await?;
    let downs = proven.downs;
    let chunks = plan.chunks();
    let many = chunks.len() > 1;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let first = next_version(paths)?;
    for (k, (chunk, down)) in chunks.iter().zip(&downs).enumerate() {
        let version = first + i64::try_from(k).unwrap_or(0);
        let stem = if many {
            format!("{version:04}_{slug}_{}", chunk.segment.name())
        } else {
            format!("{version:04}_{slug}")
        };
        let header = format!(
            "-- {name}{}\n-- Generated by `codegen migrate new`, proven on a scratch database.\n",
            if many {
                format!(
                    " (step {} of {}: {})",
                    k + 1,
                    chunks.len(),
                    chunk.segment.name()
                )
            } else {
                String::new()
            }
        );
        let up_sql = with_header(&chunk.to_sql(), &header);
        let down_sql = if down.is_empty() {
            with_header("-- Nothing to undo.\n", &header)
        } else {
            with_header(&down.to_single_file().unwrap_or_default(), &header)
        };
        files.push((paths.migrations.join(format!("{stem}.up.sql")), up_sql));
        files.push((paths.migrations.join(format!("{stem}.down.sql")), down_sql));
    }
    outcome.proof_time = proof_started.elapsed();
    std::fs::create_dir_all(&paths.migrations).map_err(|source| NewError::Io {
        path: paths.migrations.clone(),
        source,
    })?;
    for (path, text) in &files {
        std::fs::write(path, text).map_err(|source| NewError::Io {
            path: path.clone(),
            source,
        })?;
        outcome.written.push(
            path.strip_prefix(&paths.root)
                .map(PathBuf::from)
                .unwrap_or_else(|_| path.clone()),
        );
    }
    outcome.plan = plan;
    Ok(outcome)
}

/// The up plan proven, and the down plan of each of its chunks proven back.
#[derive(Debug, Clone)]
pub struct ProvenPlan {
    /// The down plan of each chunk of the up plan, in the chunks' order.
    pub downs: Vec<Plan>,
    /// Where the proof's time went.
    pub timings: ProofTimings,
    /// Time to plan the down migrations (not part of `timings`).
    pub plan_downs: Duration,
}

/// Proves `plan` from `from` to `declared` on a scratch database; its per-chunk states give each
/// chunk's down plan (plain forms), proven in turn on the same database, last chunk first (as
/// `migrate down` runs them). The downs of a run of concurrent index builds are run one by one
/// and proven together after the last of them (the database must be back in the state before
/// the run, rows kept), or, when each only drops its index and a step precedes the run, together
/// with that step's down (the state between them is the state before the run: nothing else
/// changed); every other down is proven on its own.
pub async fn prove_up_and_down(
    server: &Arc<pgkit::Server>,
    from: &Schema,
    plan: &Plan,
    declared: &Schema,
    diff_options: &DiffOptions,
) -> Result<ProvenPlan, NewError> {
    let filter = Filter::default();
    let mut db = ProofDb::start(server, from, declared, &filter, true).await?;
    let states = db.apply(plan, declared).await?;
    let chunks = plan.chunks();
    let many = chunks.len() > 1;
    // The state before chunk `k`, whole, and only its relation `relation`.
    let before = |k: usize| -> Cow<'_, Schema> {
        match k.checked_sub(1) {
            None => Cow::Borrowed(from),
            Some(j) => states.get(j).unwrap_or_default(),
        }
    };
    let before_relation = |k: usize, relation: &crate::model::QualifiedName| -> Schema {
        match k.checked_sub(1) {
            None => only_relation(from, relation),
            Some(j) => states.relation(j, relation).unwrap_or_default(),
        }
    };
    // Plain forms: a down migration is one file, so nothing may need to run outside a
    // transaction.
    let plain = DiffOptions {
        online: false,
        ..diff_options.clone()
    };
    let planning = Instant::now();
    let mut downs: Vec<Plan> = Vec::with_capacity(chunks.len());
    // The first step's down is run last and, but for an index build, diffs the whole schema
    // (the other steps of a big plan are mostly index builds, a diff of one relation each): it
    // is planned on a thread of its own while the later steps' downs run.
    let mut first_planning = None;
    for (k, chunk) in chunks.iter().enumerate() {
        // An index build changes one table (or materialized view): its down plan is the
        // differ's on that relation alone (the rest is the same on both sides), which is
        // many times faster on a big schema. Proven like any other.
        if many && let Some((relation, _)) = concurrent_index(chunk) {
            let mut after = states.relation(k, &relation).unwrap_or_default();
            copy_renames(&mut after, declared);
            let down = diff_down(&before_relation(k, &relation), &after, &plain);
            if !down.is_empty() {
                downs.push(down);
                continue;
            }
        }
        let after = if many {
            let mut s = states.get(k).unwrap_or_default().into_owned();
            copy_renames(&mut s, declared);
            s
        } else {
            declared.clone()
        };
        if k == 0 && many {
            let (before, plain) = (from.clone(), plain.clone());
            first_planning = Some(tokio::task::spawn_blocking(move || {
                diff_down(&before, &after, &plain)
            }));
            // Filled in before it runs.
            downs.push(Plan::default());
            continue;
        }
        downs.push(diff_down(&before(k), &after, &plain));
    }
    let plan_downs = planning.elapsed();
    // The downs run from the last step back. The downs of a run of index builds that only drop
    // their indexes are not read back when a step precedes the run: the state after them is
    // the state before the run (nothing but those indexes differs), so they are proven with the
    // down of that step, by one introspection after it. Any other down is read back at once.
    // Steps whose downs ran and are not read back yet, by index into `downs`.
    let mut pending: Vec<usize> = Vec::new();
    let mut pending_last: Option<usize> = None;
    let mut end = chunks.len();
    while end > 0 {
        let last = end - 1;
        let mut first = last;
        let in_run = |k: usize| chunks.get(k).and_then(concurrent_index).is_some();
        if in_run(last) {
            while first > 0 && in_run(first - 1) {
                first -= 1;
            }
        }
        let failed = |step: usize, last: usize| {
            move |source| NewError::DownProof {
                step: step + 1,
                last: last + 1,
                source,
            }
        };
        let mut only_drops = in_run(last);
        for k in (first..=last).rev() {
            if k == 0
                && let Some(planning) = first_planning.take()
            {
                let plan = planning.await.map_err(|e| {
                    NewError::Proof(crate::diff::prove::ProofError::Interrupted(format!(
                        "planning the first step's down migration stopped: {e}"
                    )))
                })?;
                if let Some(slot) = downs.first_mut() {
                    *slot = plan;
                }
            }
            if let Some(down) = downs.get(k) {
                db.run(down).await.map_err(failed(k, k))?;
                pending.push(k);
                only_drops &= chunks
                    .get(k)
                    .and_then(concurrent_index)
                    .is_some_and(|(relation, name)| drops_only(down, &relation, &name));
            }
        }
        let top = *pending_last.get_or_insert(last);
        if !(only_drops && first > 0) {
            let ran: Vec<&Plan> = pending.iter().filter_map(|&k| downs.get(k)).collect();
            db.verify(&ran, &before(first))
                .await
                .map_err(failed(first, top))?;
            pending.clear();
            pending_last = None;
        }
        end = first;
    }
    let timings = db.timings().clone();
    // Dropping the scratch database checkpoints the server: not worth waiting for. Nor is
    // freeing the states, one model of the whole schema per step (80 ms for the 27 states of
    // the 1,000-table benchmark).
    db.discard();
    std::thread::spawn(move || drop(states));
    Ok(ProvenPlan {
        downs,
        timings,
        plan_downs,
    })
}

/// Whether `down` does nothing but drop index `name` of `relation` (session settings aside).
fn drops_only(down: &Plan, relation: &crate::model::QualifiedName, name: &Ident) -> bool {
    let drop = format!("DROP INDEX {}.{name};", relation.schema);
    let mut drops = 0;
    for step in &down.steps {
        if step.sql == drop {
            drops += 1;
        } else if !(step.object == "session" && step.sql.starts_with("SET ")) {
            return false;
        }
    }
    drops == 1
}

/// The header goes after sqlx's `-- no-transaction` marker, which must stay the first line.
fn with_header(body: &str, header: &str) -> String {
    match body.strip_prefix("-- no-transaction\n") {
        Some(rest) => format!("-- no-transaction\n{header}\n{rest}"),
        None => format!("{header}\n{body}"),
    }
}

/// Copies `renamed_from` from the declared schema onto an introspected state, so a down plan
/// computed against it renames back.
fn copy_renames(state: &mut Schema, declared: &Schema) {
    for (name, t) in &declared.tables {
        if let Some(s) = state.tables.get_mut(name) {
            s.renamed_from = t.renamed_from.clone();
            for c in &mut s.columns {
                c.renamed_from = t
                    .column(c.name.as_str())
                    .and_then(|d| d.renamed_from.clone());
            }
            for i in &mut s.indexes {
                i.renamed_from = t
                    .indexes
                    .iter()
                    .find(|d| d.name == i.name)
                    .and_then(|d| d.renamed_from.clone());
            }
        }
    }
    for (name, e) in &declared.enums {
        if let Some(s) = state.enums.get_mut(name) {
            s.renamed_from = e.renamed_from.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_file_names() {
        assert_eq!(slug("Add avatar URL").unwrap(), "add_avatar_url");
        assert_eq!(slug("  x--y  ").unwrap(), "x_y");
        assert!(slug("--").is_err());
    }

    #[test]
    fn down_proof_errors_name_the_step_or_the_run() {
        let one = NewError::DownProof {
            step: 3,
            last: 3,
            source: ProofError::Differs(vec!["x".to_owned()]),
        };
        assert!(
            one.to_string()
                .starts_with("the down migration of step 3 failed"),
            "{one}"
        );
        let run = NewError::DownProof {
            step: 2,
            last: 26,
            source: ProofError::Differs(vec!["x".to_owned()]),
        };
        assert!(
            run.to_string()
                .starts_with("the down migrations of steps 2 to 26 failed"),
            "{run}"
        );
    }

    #[test]
    fn a_down_that_only_drops_its_index_is_recognised() {
        use crate::diff::{Segment, Step};
        let step = |sql: &str, object: &str| Step {
            sql: sql.to_owned(),
            segment: Segment::Main,
            object: object.to_owned(),
            hazards: Vec::new(),
            creates_index: None,
        };
        let table = crate::model::QualifiedName::public("posts");
        let name = Ident("posts_title_idx".into());
        let plan = |steps: Vec<Step>| Plan { steps };
        let drop = step(
            "DROP INDEX public.posts_title_idx;",
            "index posts_title_idx on public.posts",
        );
        let timeout = step("SET lock_timeout = '5s';", "session");
        assert!(drops_only(&plan(vec![drop.clone()]), &table, &name));
        assert!(drops_only(
            &plan(vec![timeout.clone(), drop.clone()]),
            &table,
            &name
        ));
        // Another index, something more, or nothing at all.
        assert!(!drops_only(
            &plan(vec![drop.clone()]),
            &table,
            &Ident("posts_body_idx".into())
        ));
        let more = step(
            "ALTER TABLE public.posts DROP COLUMN body;",
            "column public.posts.body",
        );
        assert!(!drops_only(&plan(vec![drop.clone(), more]), &table, &name));
        assert!(!drops_only(&plan(vec![drop.clone(), drop]), &table, &name));
        assert!(!drops_only(&plan(vec![timeout]), &table, &name));
    }

    #[test]
    fn no_transaction_marker_stays_first() {
        let text = with_header(
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
            "-- h\n",
        );
        assert!(text.starts_with("-- no-transaction\n-- h\n"));
    }
}
