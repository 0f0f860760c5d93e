//! Every plan is proven before it is written or applied: on a scratch database, the start
//! state is built and seeded with rows, the plan applied chunk by chunk (transactions where the
//! plan says so), the result introspected and compared with the target, the differ run again
//! (it must find nothing), and the seeded rows counted where the plan keeps their table.
//!
//! A plan that fails its proof is an error naming the statement or the difference, never a
//! file on disk.
//!
//! Speed. The seeded start state is built once per server and kept as a template database
//! (`jp_tpl_<hash>`, the hash of everything that shapes it: see [`template_name`]); each proof
//! clones it or, for start states of [`SPARE_MIN_TABLES`] tables or more, claims the spare
//! clone the previous proof started in the background ([`SPARE_PREFIX`]). Around the
//! concurrent index builds of a plan the states are derived, not read: the database is
//! introspected after the last build of a run, and the states in between are
//! the state before the run plus the indexes built so far (checked: the state before the run
//! plus all of them must be the introspected state after the run). The state before a run is
//! not read either when a transactional chunk precedes the run: it is the state after the run
//! without the indexes it built (each build is checked to have built its index, and the final
//! state is compared with the target).

use super::plan::{Chunk, Segment};
use super::{DiffOptions, Loss, Plan, diff};
use crate::introspect::{Filter, IntrospectError, introspect_parallel, introspect_reach};
use crate::model::{Ident, Index, PgType, QualifiedName, Schema, Table};
use crate::render::{quote_literal, render_schema, table_order};
use crate::sqlscript::Statement;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// Why a plan is not proven.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// No scratch database.
    #[error("no scratch database for the proof: {0}")]
    Server(#[from] pgkit::Error),
    /// The start state itself does not build (a bug in the renderer, or an input that is not
    /// a schema PostgreSQL accepts).
    #[error("the start state does not build on the scratch database: {message}\n{statement}")]
    Start {
        /// PostgreSQL's message.
        message: String,
        /// The statement.
        statement: String,
    },
    /// A statement of the plan fails.
    #[error("the plan fails at statement {index} ({object}): {message}\n{statement}")]
    Statement {
        /// 1-based position of the statement in the plan.
        index: usize,
        /// The object it changes.
        object: String,
        /// PostgreSQL's message.
        message: String,
        /// The statement.
        statement: String,
    },
    /// The plan applies, but the result is not the target.
    #[error("the plan applies but the result differs from the target:\n  {}", .0.join("\n  "))]
    Differs(Vec<String>),
    /// The plan applies and reaches the target, but diffing again finds more to do.
    #[error("the plan is not idempotent: after it, the differ still finds:\n{0}")]
    NotIdempotent(String),
    /// Rows seeded before the plan are gone from a table the plan keeps.
    #[error("rows lost: {}", .0.join("; "))]
    RowsLost(Vec<String>),
    /// Statements `first`..=`last` of the plan are concurrent index builds, and the state
    /// before them plus the indexes they name is not the state after them.
    #[error(
        "the concurrent index builds at statements {first} to {last} changed more (or less) than \
         the indexes they build:\n  {}", .differences.join("\n  ")
    )]
    IndexRun {
        /// 1-based position of the first statement of the run in the plan.
        first: usize,
        /// 1-based position of the last.
        last: usize,
        /// What differs.
        differences: Vec<String>,
    },
    /// The proof's own work stopped (the runtime shutting down).
    #[error("the proof was interrupted: {0}")]
    Interrupted(String),
    /// Reading the result failed.
    #[error("introspection after the plan: {0}")]
    Introspect(#[from] IntrospectError),
    /// The connection failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

/// What a proof established.
#[derive(Debug, Clone)]
pub struct Proof {
    /// Tables seeded with a row before the plan.
    pub seeded: usize,
    /// The state after each chunk of the plan (the last is the target): introspected, except
    /// around the concurrent index builds of a run, where it is derived (see the module
    /// documentation).
    pub states: States,
}

/// The state after each chunk of a plan ([`ProofDb::apply`]): read back, or, around the
/// concurrent index builds of a run, derived (a state read back plus the indexes built so far)
/// and kept as such: a derived state is made into a whole [`Schema`] only when asked for
/// ([`States::get`]), and [`States::relation`] gives one relation of it without that. (Each
/// whole state of a 1,000-table schema is a copy of the model: the 25 derived states of the
/// 1,000-table benchmark took 0.1 s to make.)
#[derive(Debug, Clone, Default)]
pub struct States {
    /// The states derived ones start from.
    bases: Vec<Schema>,
    states: Vec<StateAt>,
}

/// One state of [`States`].
#[derive(Debug, Clone)]
enum StateAt {
    Read(Box<Schema>),
    /// `bases[base]` plus `indexes` (relation, index), in the order they were built.
    Derived {
        base: usize,
        indexes: Arc<[(QualifiedName, Index)]>,
        count: usize,
    },
}

impl States {
    /// How many states (one per chunk of the plan).
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// The state after chunk `k` (0-based), whole.
    pub fn get(&self, k: usize) -> Option<Cow<'_, Schema>> {
        match self.states.get(k)? {
            StateAt::Read(s) => Some(Cow::Borrowed(s)),
            StateAt::Derived {
                base,
                indexes,
                count,
            } => {
                let mut s = self.bases.get(*base)?.clone();
                for (relation, index) in indexes.iter().take(*count) {
                    add_index(&mut s, relation, index.clone());
                }
                Some(Cow::Owned(s))
            }
        }
    }

    /// The state after the last chunk, whole.
    pub fn last(&self) -> Option<Cow<'_, Schema>> {
        self.get(self.len().checked_sub(1)?)
    }

    /// Of the state after chunk `k`, only the table or view `relation` (and what the
    /// application attaches to it), without making the whole state.
    pub fn relation(&self, k: usize, relation: &QualifiedName) -> Option<Schema> {
        match self.states.get(k)? {
            StateAt::Read(s) => Some(only_relation(s, relation)),
            StateAt::Derived {
                base,
                indexes,
                count,
            } => {
                let mut s = only_relation(self.bases.get(*base)?, relation);
                for (r, index) in indexes.iter().take(*count).filter(|(r, _)| r == relation) {
                    add_index(&mut s, r, index.clone());
                }
                Some(s)
            }
        }
    }

    fn push(&mut self, state: Schema) {
        self.states.push(StateAt::Read(Box::new(state)));
    }
}

/// Of `schema`, only the table or view `relation` and what the application attaches to it.
pub fn only_relation(schema: &Schema, relation: &QualifiedName) -> Schema {
    let mut out = Schema::default();
    if let Some(t) = schema.tables.get(relation) {
        out.tables.insert(relation.clone(), t.clone());
    }
    if let Some(v) = schema.views.get(relation) {
        out.views.insert(relation.clone(), v.clone());
    }
    if let Some(a) = schema.attached.get(relation) {
        out.attached.insert(relation.clone(), a.clone());
    }
    out
}

/// Where a proof's time went (summed over the plans a [`ProofDb`] proved).
#[derive(Debug, Clone, Default)]
pub struct ProofTimings {
    /// Whether the start state came from an existing template (no build).
    pub template_hit: bool,
    /// Whether the scratch database was the template's spare copy (claimed, not copied).
    pub spare_hit: bool,
    /// Building the template: bootstrap, build, seed, keep (zero on a hit).
    pub build: Duration,
    /// Cloning the template into the scratch database (or claiming its spare copy).
    pub clone: Duration,
    /// Running the plans' statements.
    pub apply: Duration,
    /// Introspecting the scratch database.
    pub introspect: Duration,
    /// How many introspections.
    pub introspections: usize,
    /// Comparing with the targets, diffing again, deriving states (all of it). Comparing and
    /// diffing again run on a thread of their own while the rows are counted: these durations
    /// overlap `count`.
    pub verify: Duration,
    /// Of `verify`: comparing with the targets ([`same_database`]).
    pub compare: Duration,
    /// Of `verify`: diffing again.
    pub rediff: Duration,
    /// Counting the seeded rows (on the reading sessions, after the introspection, while the
    /// result is compared and diffed again).
    pub count: Duration,
    /// Of `verify`: deriving the states between concurrent index builds.
    pub derive: Duration,
    /// Rendering the start state and the seed statements, and hashing them (the template's
    /// name).
    pub prepare: Duration,
    /// When the proof reads back only what the plans can reach ([`ProofDb::limit_to_reach`]):
    /// the tables and views read by its last introspection.
    pub reached: Option<usize>,
    /// Whether the start state's fingerprints came from the cache
    /// ([`ProofDb::limit_to_reach`]).
    pub fingerprints_cached: bool,
}

/// A scratch database in a known state, on which plans are proven one after the other (the up
/// plan, then the down plans back).
pub struct ProofDb {
    // Declared before `db`, so the connections close before the guard drops the database.
    client: Client,
    /// A second session, for reading the catalogs on two sessions (`introspect_parallel`) and
    /// counting the seeded rows.
    second: Client,
    _db: pgkit::TempDb,
    filter: Filter,
    /// The seeded rows, by table.
    seeded: BTreeMap<QualifiedName, i64>,
    /// The state the database is in.
    state: Schema,
    /// Whether `state` was introspected (else it is the `from` the proof started with).
    introspected: bool,
    /// The template the database was cloned from, and when it was built.
    template: String,
    template_created: u64,
    /// Where the start state's fingerprints are kept ([`ProofDb::cache_in`]).
    cache_dir: std::path::PathBuf,
    timings: ProofTimings,
    /// When only what the plans can reach is read back: see [`Reach`].
    reach: Option<Reach>,
}

/// What a proof reads back when it reads only what its plans can reach
/// ([`ProofDb::limit_to_reach`]).
struct Reach {
    /// The tables and views (by name, on either side) that differ between the start state and
    /// the target, and those that a change to them could reach in the start state
    /// (`introspect/queries/reach.sql`): read back after each plan, with whatever the server
    /// finds depending on them then. Every other relation is the start state's.
    seeds: BTreeSet<QualifiedName>,
    /// The start state, whose relations outside the reach are the database's.
    start: Schema,
    /// The fingerprint of each relation's catalog rows in the start state
    /// ([`crate::introspect::fingerprint::relation_fingerprints`]): a relation whose fingerprint is not the
    /// same after a plan was changed by it (named by a statement, say) and is read back too.
    fingerprints: BTreeMap<QualifiedName, (i64, i64)>,
    /// The seeds and the relations (and attachments) the last introspection read.
    scope: BTreeSet<QualifiedName>,
}

/// The format of the cached start-state fingerprints ([`ProofDb::start_fingerprints`]).
const FINGERPRINT_CACHE_FORMAT: &str = "proof-start-fingerprints-v1";

/// The size of schema (tables and views) from which a proof reads back only what the plan can
/// reach ([`ProofDb::limit_to_reach`]): below it, reading everything takes a few milliseconds
/// more and also checks the rest of the start state.
pub const REACH_MIN_RELATIONS: usize = 100;

/// How long [`ProofDb::discard`] waits at most for its `DROP DATABASE` to be on its way.
const DISCARD_WAIT: Duration = Duration::from_secs(2);

/// Prefix of the names of template databases (`jp_tpl_<hash>`): not pgkit's naming scheme, so
/// pgkit's sweeper never takes them for leftovers.
pub const TEMPLATE_PREFIX: &str = "jp_tpl_";

/// Prefix of the names of spare copies of templates (`jp_spr_<hash>`, the hash of the template
/// `jp_tpl_<hash>`). Each proof claims the spare of its template when there is one (a rename,
/// milliseconds, where copying a 1,000-table start state takes most of a second) and starts the
/// next spare in the background, on the server, while it runs (also when it built the template
/// just now).
pub const SPARE_PREFIX: &str = "jp_spr_";

/// The size of schema from which proofs use spare copies of their template. A small start
/// state is copied in milliseconds, and back-to-back proofs (a test suite, `migrate new` on
/// JobPilot's schema in `bench_migrate`) then waited for the spare their predecessor started
/// more than a copy takes: on JobPilot's 8 tables, 47–525 ms from start to a claimed spare,
/// where the whole proof otherwise takes about 130 ms.
pub const SPARE_MIN_TABLES: usize = 100;

/// How long [`ProofDb::start`] waits at most for a spare still being made (a copy of the
/// 1,000-table start state takes about a second, several while a checkpoint runs), and for the
/// `CREATE DATABASE` of the next one to be on its way to the server.
const SPARE_WAIT: Duration = Duration::from_secs(5);

/// The name of the spare copy of template `template` ([`SPARE_PREFIX`]).
pub fn spare_name(template: &str) -> String {
    let hash = template.strip_prefix(TEMPLATE_PREFIX).unwrap_or(template);
    format!("{SPARE_PREFIX}{hash}")
}

/// Start of the comment of every template database, followed by `; created=<unix seconds>;
/// seeded=<indexes of the seed statements that inserted their row>`.
const TEMPLATE_MARKER: &str = "jobpilot proof template";

/// What a template holds (v2: its catalogs are analysed), how its comment reads and how its name
/// is made (v3: from the start state's model, not its rendered script); part of the key, so a
/// change of any makes other names.
const TEMPLATE_FORMAT: &str = "proof-template-v3";

/// How many template databases are kept on a server: building one drops the oldest beyond
/// this (by creation time), best effort.
pub const KEEP_TEMPLATES: usize = 8;

/// How a template is cloned. Measured on the 1,000-table start state (109 MB; PostgreSQL 15, 2
/// cores, another build running): `WAL_LOG` (the default) 1.3 to 3.3 s, `FILE_COPY` 19 s (it
/// checkpoints the whole server before and after copying, and the server is shared).
const CLONE_STRATEGY: pgkit::CopyStrategy = pgkit::CopyStrategy::WalLog;

/// The name of the template database holding `from` built (after the Supabase bootstrap when
/// `bootstrap`) and seeded for a proof towards `to`: `jp_tpl_` and a hash of the format, the
/// bootstrap flag and script, the start state's model, the fingerprint of the renderer's source
/// (which turns that model into the build script) and the seed statements, so a template is
/// never used for anything but the state it holds.
pub fn template_name(from: &Schema, to: &Schema, bootstrap: bool) -> String {
    template_name_of(from, &seed_statements(from, to), bootstrap)
}

/// [`template_name`] with the seeds already made. The model stands for the build script
/// (`render_schema` of its database view, a function of the model and of the renderer's source,
/// both in the hash): hashing its binary form takes a few milliseconds where rendering the
/// script of a 1,000-table state took 20–30 ms on every proof, and the script is only needed
/// when the template is built.
fn template_name_of(from: &Schema, seeds: &[Seed], bootstrap: bool) -> String {
    let flag = [u8::from(bootstrap)];
    // The binary form cannot fail for the model's types; if it ever did, the script stands in.
    let model = postcard::to_stdvec(from)
        .unwrap_or_else(|_| render_schema(&from.database_view()).into_bytes());
    let parts = [
        &flag[..],
        pgkit::supabase_bootstrap_sql().as_bytes(),
        env!("CODEGEN_RENDER_FINGERPRINT").as_bytes(),
        &model,
    ]
    .into_iter()
    .chain(seeds.iter().map(|s| s.sql.as_bytes()));
    let key = crate::cache::key(TEMPLATE_FORMAT, parts);
    // 7 + 56 bytes: PostgreSQL's 63-byte limit on names.
    let hash: String = key.hash().chars().take(56).collect();
    format!("{TEMPLATE_PREFIX}{hash}")
}

/// The comment of a template.
fn template_comment(seeded: &[usize]) -> String {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let seeded: Vec<String> = seeded.iter().map(usize::to_string).collect();
    format!(
        "{TEMPLATE_MARKER}; created={created}; seeded={}",
        seeded.join(",")
    )
}

/// A template's comment read back: its creation time and seeded statements (indexes into
/// `seeds`, checked). `None` when it is not a template's comment.
fn parse_template_comment(comment: &str, seeds: usize) -> Option<(u64, Vec<usize>)> {
    let rest = comment.strip_prefix(TEMPLATE_MARKER)?.strip_prefix("; ")?;
    let (created, seeded) = rest.split_once("; ")?;
    let created = created.strip_prefix("created=")?.parse().ok()?;
    let seeded = seeded.strip_prefix("seeded=")?;
    let mut out = Vec::new();
    for i in seeded.split(',').filter(|s| !s.is_empty()) {
        let i: usize = i.parse().ok()?;
        if i >= seeds {
            return None;
        }
        out.push(i);
    }
    Some((created, out))
}

impl ProofDb {
    /// A fresh scratch database holding `from` (with the Supabase bootstrap first when
    /// `bootstrap`), seeded with a row per table where simple values will do; values of enums
    /// prefer labels `to` keeps. It is a clone of the template of that state
    /// ([`template_name`]), built first when the server does not have it, or the spare copy
    /// of the template an earlier proof started ([`SPARE_PREFIX`]) when `from` has at least
    /// [`SPARE_MIN_TABLES`] tables.
    pub async fn start(
        server: &Arc<pgkit::Server>,
        from: &Schema,
        to: &Schema,
        filter: &Filter,
        bootstrap: bool,
    ) -> Result<ProofDb, ProofError> {
        let spares = from.tables.len() >= SPARE_MIN_TABLES;
        let mut db = Self::start_with_spares(server, from, to, filter, bootstrap, spares).await?;
        if from.tables.len() + from.views.len() >= REACH_MIN_RELATIONS {
            db.limit_to_reach(to).await?;
        }
        Ok(db)
    }

    /// From now on, reads back only what the plans from the start state to `to` can reach,
    /// when they change nothing but tables and views (their columns, constraints, indexes,
    /// triggers, policies, grants, comments) and the policies and triggers the application
    /// attaches to the platform's tables; false (everything is read back, as before) when
    /// anything else differs. Call it before the first plan.
    ///
    /// What is read back: every object that is not a relation, as always, and of the relations
    /// those that differ between the start state and `to`, those whose catalog rows the plans
    /// wrote or removed (a fingerprint of each relation's rows taken before the first plan and
    /// again before each read: [`crate::introspect::fingerprint::relation_fingerprints`]), and every relation
    /// with an object that the server's dependency records show to depend directly on one of
    /// those (a foreign key, a view, a policy, a trigger, a default, an index, a partition),
    /// before the plans and after each ([`crate::introspect::introspect_reach`]). Every other
    /// relation is the same in the start state and in `to`, none of its catalog rows changed,
    /// and nothing it names changed either (a renamed column writes its table's rows), so the
    /// database holds it as the start state describes it; the states read back take it from
    /// there. Seeded rows are counted in the relations read back. On a 1,000-table schema with
    /// a change to 100 tables this reads about a tenth of the relations and counts a tenth of
    /// the tables.
    pub async fn limit_to_reach(&mut self, to: &Schema) -> Result<bool, ProofError> {
        let Some(seeds) = differing_relations(&self.state, to) else {
            return Ok(false);
        };
        let started = Instant::now();
        let (before, (fingerprints, cached)) = futures_util::future::try_join(
            crate::introspect::reachable_relations(&self.client, &seeds),
            self.start_fingerprints(),
        )
        .await?;
        self.timings.introspect += started.elapsed();
        self.timings.fingerprints_cached = cached;
        let mut seeds: BTreeSet<QualifiedName> = seeds.into_iter().collect();
        seeds.extend(before);
        self.reach = Some(Reach {
            scope: seeds.clone(),
            seeds,
            start: self.state.clone(),
            fingerprints,
        });
        Ok(true)
    }

    /// [`ProofDb::start`], with spare copies of the template (claimed, and the next one
    /// started) whatever the size of `from` when `spares`, never when not.
    pub async fn start_with_spares(
        server: &Arc<pgkit::Server>,
        from: &Schema,
        to: &Schema,
        filter: &Filter,
        bootstrap: bool,
        spares: bool,
    ) -> Result<ProofDb, ProofError> {
        let prepare = Instant::now();
        let seeds = seed_statements(from, to);
        let template = template_name_of(from, &seeds, bootstrap);
        let mut timings = ProofTimings {
            prepare: prepare.elapsed(),
            ..ProofTimings::default()
        };
        // A template can vanish between reading its comment and cloning it (another process
        // evicting it): then it is built again.
        let mut taken = false;
        for _ in 0..3 {
            let comment = server.database_comment(&template).await?;
            if taken && comment.is_none() {
                return Err(ProofError::Start {
                    message: format!(
                        "a database named {template} exists but is not a proof template (it has no comment); drop it"
                    ),
                    statement: String::new(),
                });
            }
            let parsed = comment
                .as_deref()
                .and_then(|c| parse_template_comment(c, seeds.len()));
            if let Some((created, seeded)) = parsed {
                let started = Instant::now();
                // The spare copy an earlier proof left, else a copy made now.
                let spare = spare_name(&template);
                let claimed = if spares {
                    server
                        .claim_database_when_made(&spare, &template, "jp_proof", SPARE_WAIT)
                        .await?
                } else {
                    None
                };
                timings.spare_hit = claimed.is_some();
                let cloned = match claimed {
                    Some(db) => Some(db),
                    None => {
                        server
                            .create_database_from("jp_proof", &template, CLONE_STRATEGY)
                            .await?
                    }
                };
                if let Some(db) = cloned {
                    timings.clone = started.elapsed();
                    timings.template_hit = timings.build.is_zero();
                    // The next proof's copy, made while this one runs, also of a template
                    // built just now: `migrate new` is run again on the same start state until
                    // its plan is right, and the first run after the build otherwise waited for
                    // a copy (0.5-0.7 s of the 1,000-table start state).
                    if spares {
                        server.create_database_in_background(&spare, &template, SPARE_WAIT);
                    }
                    let client = db.connect().await?;
                    let second = db.connect().await?;
                    let seeded = seeded
                        .iter()
                        .filter_map(|&i| seeds.get(i))
                        .map(|s| (s.table.clone(), 1))
                        .collect();
                    return Ok(ProofDb {
                        client,
                        second,
                        _db: db,
                        filter: filter.clone(),
                        seeded,
                        state: from.clone(),
                        introspected: false,
                        template,
                        template_created: created,
                        cache_dir: crate::cache::dir(),
                        timings,
                        reach: None,
                    });
                }
            } else if comment.is_some() {
                // Not a template's comment (an older format, or edited by hand): not ours to
                // trust. Dropped if nobody uses it; a build then takes its name.
                server.drop_kept_database(&template).await?;
            }
            let started = Instant::now();
            // Not kept when the name is taken: by another process's build (cloned next time
            // round), or by a database that is no template (an error next time round).
            let script = render_schema(&from.database_view());
            taken = !build_template(server, &template, &script, &seeds, bootstrap).await?;
            timings.build += started.elapsed();
        }
        Err(ProofError::Start {
            message: format!("the template database {template} vanished after each build"),
            statement: String::new(),
        })
    }

    /// Applies `plan` (each transactional chunk in a transaction, each concurrent statement on
    /// its own) and proves the result is `to`: the same database, nothing left to diff, the
    /// seeded rows still there in the tables the plan keeps. Returns the state after each chunk
    /// (introspected, except around the concurrent index builds of a run: see
    /// [`Proof::states`]).
    pub async fn apply(&mut self, plan: &Plan, to: &Schema) -> Result<States, ProofError> {
        let chunks = plan.chunks();
        let many = chunks.len() > 1;
        let mut states = States::default();
        let mut index = 0;
        let mut k = 0;
        // The rows are counted when the final state is read.
        let mut lost = None;
        // Whether the state after the last chunk run is still unread: a chunk followed by
        // concurrent index builds is not read back, its state is the state after the builds
        // without their indexes (derived when they are read).
        let mut unread = false;
        while k < chunks.len() {
            let end = index_run_end(&chunks, k).max(k + 1);
            let run = chunks.get(k..end).unwrap_or_default();
            let builds_indexes = run.first().and_then(concurrent_index).is_some();
            if many && builds_indexes && (run.len() > 1 || unread) {
                // The state before the run: one PostgreSQL described, or (unread) derived from
                // the state after it.
                let base = if unread {
                    None
                } else {
                    Some(match states.last() {
                        Some(s) => s.into_owned(),
                        None if self.introspected => self.state.clone(),
                        None => self.introspect().await?,
                    })
                };
                let first = index + 1;
                for chunk in run {
                    self.execute(chunk, &mut index).await?;
                    self.check_index_built(chunk, index).await?;
                }
                let after = if end == chunks.len() {
                    let (after, counted) = self.introspect_and_count(&[plan], to).await?;
                    lost = Some(counted);
                    after
                } else {
                    self.introspect().await?
                };
                let started = Instant::now();
                // The state before the run is one of the states when it was not read.
                let (base, base_is_a_state) = match base {
                    Some(base) => (base, false),
                    None => (state_before_run(&after, run, first, index)?, true),
                };
                let derived =
                    derive_run(&mut states, base, base_is_a_state, run, after, first, index);
                self.timings.verify += started.elapsed();
                self.timings.derive += started.elapsed();
                derived?;
                unread = false;
            } else {
                for chunk in run {
                    self.execute(chunk, &mut index).await?;
                    let next_builds_index = chunks.get(k + 1).and_then(concurrent_index).is_some();
                    if many && end == chunks.len() {
                        let (state, counted) = self.introspect_and_count(&[plan], to).await?;
                        lost = Some(counted);
                        states.push(state);
                    } else if many && next_builds_index {
                        unread = true;
                    } else if many {
                        states.push(self.introspect().await?);
                    }
                }
            }
            k = end;
        }
        let (result, lost) = match (states.last(), lost) {
            (Some(s), Some(lost)) => (s.into_owned(), lost),
            _ => {
                let (s, lost) = self.introspect_and_count(&[plan], to).await?;
                if states.is_empty() {
                    states.push(s.clone());
                }
                (s, lost)
            }
        };
        self.check(result, lost, to)?;
        Ok(states)
    }

    /// Runs `plan`'s statements as [`ProofDb::apply`] does, without reading the result: for
    /// plans proven together by [`ProofDb::verify`] after the last of them. A statement that
    /// fails is named as in `apply`.
    pub async fn run(&mut self, plan: &Plan) -> Result<(), ProofError> {
        let mut index = 0;
        for chunk in &plan.chunks() {
            self.execute(chunk, &mut index).await?;
        }
        self.introspected = false;
        Ok(())
    }

    /// Proves that the plans run since the last proof (with [`ProofDb::run`]) took the database
    /// to `to`, as [`ProofDb::apply`] does for one plan: the same database, nothing left to
    /// diff, the seeded rows still there in the tables none of `plans` drops.
    pub async fn verify(&mut self, plans: &[&Plan], to: &Schema) -> Result<(), ProofError> {
        let (result, lost) = self.introspect_and_count(plans, to).await?;
        self.check(result, lost, to)
    }

    /// Reads the database back, then judges it: compared with `to` and diffed again on a
    /// thread of its own while the two reading sessions find the seeded tables `plans` keep that
    /// lost rows (the client's work and the server's overlap). The verdict is acted on by
    /// [`ProofDb::check`], so a database that differs is reported as such before lost rows. The
    /// rows are counted on the two sessions that read the catalogs, after them: those sessions
    /// have just opened every table (deparsing its expressions), where a third session counting
    /// meanwhile opened them all again and competed for the CPU (1,000 tables, 4 reads:
    /// introspecting and counting 2.5 s at once, 2.1 s one after the other).
    async fn introspect_and_count(
        &mut self,
        plans: &[&Plan],
        to: &Schema,
    ) -> Result<(Schema, Verdict), ProofError> {
        let schema = self.introspect().await?;
        // With a reach, the relations outside it are the start state's on both sides: the
        // verdict is on the rest.
        let scope = self.reach.as_ref().map(|reach| reach.scope.clone());
        let judging = match &scope {
            None => {
                let target = to.clone();
                tokio::task::spawn_blocking(move || {
                    let verdict = judge(&schema, &target);
                    (schema, verdict)
                })
            }
            Some(scope) => {
                let (result, target) = (within(&schema, scope), within(to, scope));
                tokio::task::spawn_blocking(move || {
                    let verdict = judge(&result, &target);
                    (schema, verdict)
                })
            }
        };
        let started = Instant::now();
        let seeded: BTreeMap<QualifiedName, i64> = match &scope {
            None => self.seeded.clone(),
            Some(scope) => {
                let renamed = renamed_tables(to);
                self.seeded
                    .iter()
                    .filter(|(name, _)| {
                        scope.contains(*name)
                            || renamed.get(*name).is_some_and(|new| scope.contains(*new))
                    })
                    .map(|(name, n)| (name.clone(), *n))
                    .collect()
            }
        };
        let lost = count_lost([&self.client, &self.second], &seeded, plans, to).await;
        self.timings.count += started.elapsed();
        let (schema, mut verdict) = match judging.await {
            Ok(judged) => judged,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(ProofError::Interrupted(e.to_string())),
        };
        verdict.lost = lost;
        Ok((schema, verdict))
    }

    /// Acts on the verdict on `result`, the database introspected after the plans (see
    /// [`ProofDb::introspect_and_count`]).
    fn check(&mut self, result: Schema, verdict: Verdict, to: &Schema) -> Result<(), ProofError> {
        let started = Instant::now();
        let Verdict {
            differences,
            again,
            lost,
            compare,
            rediff,
        } = verdict;
        self.timings.compare += compare;
        self.timings.rediff += rediff;
        self.timings.verify += compare + rediff;
        if !differences.is_empty() {
            return Err(ProofError::Differs(differences));
        }
        if let Some(again) = again {
            return Err(ProofError::NotIdempotent(again));
        }
        let lost = lost?;
        if !lost.is_empty() {
            return Err(ProofError::RowsLost(lost));
        }
        // Rows in tables the plan dropped are gone for good; a renamed table's rows are under
        // its new name.
        let renamed = renamed_tables(to);
        self.seeded = std::mem::take(&mut self.seeded)
            .into_iter()
            .filter_map(|(name, n)| match renamed.get(&name) {
                Some(new) if !to.tables.contains_key(&name) => Some(((*new).clone(), n)),
                _ if to.tables.contains_key(&name) || renamed.contains_key(&name) => {
                    Some((name, n))
                }
                _ => None,
            })
            .collect();
        self.state = result;
        self.introspected = true;
        self.timings.verify += started.elapsed();
        Ok(())
    }

    /// Runs one chunk (in a transaction when it is transactional); `index` counts the plan's
    /// statements, for the error.
    async fn execute(&mut self, chunk: &Chunk<'_>, index: &mut usize) -> Result<(), ProofError> {
        let started = Instant::now();
        let client = &self.client;
        let failed = |k: usize, e: &tokio_postgres::Error| {
            let step = chunk.steps.get(k);
            ProofError::Statement {
                index: *index + k + 1,
                object: step.map(|s| s.object.clone()).unwrap_or_default(),
                message: describe(e),
                statement: step.map(|s| s.sql.clone()).unwrap_or_default(),
            }
        };
        if chunk.segment.transactional() {
            // Pipelined: `BEGIN` and every statement are sent at once, without waiting for each
            // answer (75 statements on the 1,000-table benchmark, a round trip each otherwise).
            // In the transaction block a failing statement makes every later one fail with
            // "current transaction is aborted", so the first error in order is the statement's.
            let sent = std::iter::once("BEGIN")
                .chain(chunk.steps.iter().map(|s| s.sql.as_str()))
                .map(|sql| client.batch_execute(sql));
            let results = futures_util::future::join_all(sent).await;
            let mut results = results.into_iter();
            let begun = results.next().unwrap_or(Ok(()));
            let first_error = results
                .enumerate()
                .find_map(|(k, r)| r.err().map(|e| (k, e)));
            if begun.is_err() || first_error.is_some() {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            begun?;
            if let Some((k, e)) = first_error {
                return Err(failed(k, &e));
            }
            client.batch_execute("COMMIT").await?;
        } else {
            // One at a time: outside a transaction block a statement after a failing one would
            // still run.
            for (k, step) in chunk.steps.iter().enumerate() {
                if let Err(e) = client.batch_execute(&step.sql).await {
                    return Err(failed(k, &e));
                }
            }
        }
        *index += chunk.steps.len();
        self.introspected = false;
        self.timings.apply += started.elapsed();
        Ok(())
    }

    /// After the index build `chunk` (statement `index` of the plan): the index it names is
    /// an index of the relation it names (one catalog query). With the check that the state
    /// before the run plus the named indexes is the state after it, each build is known to
    /// have built exactly its index.
    async fn check_index_built(&self, chunk: &Chunk<'_>, index: usize) -> Result<(), ProofError> {
        let Some((relation, name)) = concurrent_index(chunk) else {
            return Ok(());
        };
        let qualified = QualifiedName {
            schema: relation.schema.clone(),
            name: name.clone(),
        };
        // language=PostgreSQL
        let sql = "SELECT EXISTS (SELECT FROM pg_catalog.pg_index \
                   WHERE indexrelid = to_regclass($1) AND indrelid = to_regclass($2))";
        let row = self
            .client
            .query_one(sql, &[&qualified.to_string(), &relation.to_string()])
            .await?;
        if row.get::<_, bool>(0) {
            Ok(())
        } else {
            Err(ProofError::IndexRun {
                first: index,
                last: index,
                differences: vec![format!(
                    "statement {index} does not build index {name} on {relation}"
                )],
            })
        }
    }

    /// The fingerprint of each relation's catalog rows in the start state
    /// ([`crate::introspect::fingerprint::relation_fingerprints`]). Every copy of a template holds the same
    /// row versions (`CREATE DATABASE` copies the pages as they are), so they are read once per
    /// template (its name and build time: a template built again is another key) and kept in
    /// the cache directory ([`crate::cache::dir`]); reading them on a new session of a
    /// 1,000-table clone takes 35–50 ms. A wrong entry could only make relations look changed
    /// (read back for nothing), never the reverse.
    async fn start_fingerprints(
        &self,
    ) -> Result<(BTreeMap<QualifiedName, (i64, i64)>, bool), IntrospectError> {
        let created = self.template_created.to_le_bytes();
        let key = crate::cache::key(
            FINGERPRINT_CACHE_FORMAT,
            [
                self.template.as_bytes(),
                &created[..],
                crate::introspect::Q_TOUCHED.sql.as_bytes(),
            ],
        );
        if let Some(hit) = crate::cache::read_in(&self.cache_dir, &key) {
            return Ok((hit, true));
        }
        let read =
            crate::introspect::fingerprint::relation_fingerprints(&self.second, None).await?;
        crate::cache::write_in(&self.cache_dir, &key, &read);
        Ok((read, false))
    }

    /// Keeps the start state's fingerprints in `dir` instead of the cache directory
    /// ([`crate::cache::dir`]).
    pub fn cache_in(&mut self, dir: &std::path::Path) {
        self.cache_dir = dir.to_path_buf();
    }

    /// Reads the scratch database back: all of it, or what the plans can reach, completed with
    /// the start state's other relations ([`ProofDb::limit_to_reach`]).
    async fn introspect(&mut self) -> Result<Schema, IntrospectError> {
        let started = Instant::now();
        let schema = match &mut self.reach {
            None => {
                introspect_parallel(&self.client, &self.second, &self.filter)
                    .await?
                    .schema
            }
            Some(reach) => {
                // The seeds, and every relation the plans changed.
                let now = crate::introspect::fingerprint::relation_fingerprints(
                    &self.client,
                    Some(&self.second),
                )
                .await?;
                let mut seeds = reach.seeds.clone();
                seeds.extend(
                    now.iter()
                        .filter(|(name, f)| reach.fingerprints.get(*name) != Some(*f))
                        .map(|(name, _)| name.clone()),
                );
                seeds.extend(
                    reach
                        .fingerprints
                        .keys()
                        .filter(|name| !now.contains_key(*name))
                        .cloned(),
                );
                let names: Vec<QualifiedName> = seeds.iter().cloned().collect();
                let read = introspect_reach(&self.client, &self.second, &self.filter, &names)
                    .await?
                    .schema;
                self.timings.reached = Some(read.tables.len() + read.views.len());
                let complete = complete(read, &reach.start, &mut seeds);
                reach.scope = seeds;
                complete
            }
        };
        self.timings.introspect += started.elapsed();
        self.timings.introspections += 1;
        Ok(schema)
    }

    /// The tables seeded with a row.
    pub fn seeded(&self) -> usize {
        self.seeded.len()
    }

    /// The state the database is in (introspected after the last plan).
    pub fn state(&self) -> &Schema {
        &self.state
    }

    /// The template database the scratch database was cloned from ([`template_name`]).
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Where the time went so far.
    pub fn timings(&self) -> &ProofTimings {
        &self.timings
    }

    /// Closes the scratch database and drops it without waiting for PostgreSQL's checkpoint
    /// (see [`pgkit::TempDb::drop_in_background`]); dropping a `ProofDb` waits.
    pub fn discard(self) {
        let ProofDb {
            client,
            second,
            _db: db,
            ..
        } = self;
        drop((client, second));
        db.drop_in_background(DISCARD_WAIT);
    }
}

/// Proves `plan` takes `from` to `to` on a fresh scratch database: see the module
/// documentation. `filter` says which schemas are read back; `bootstrap` applies the Supabase
/// bootstrap first.
pub async fn prove(
    server: &Arc<pgkit::Server>,
    from: &Schema,
    plan: &Plan,
    to: &Schema,
    filter: &Filter,
    bootstrap: bool,
) -> Result<Proof, ProofError> {
    let mut db = ProofDb::start(server, from, to, filter, bootstrap).await?;
    let states = db.apply(plan, to).await?;
    Ok(Proof {
        seeded: db.seeded(),
        states,
    })
}

/// The index a chunk builds, when it is one concurrent index build (the differ names the
/// table and index of each).
pub fn concurrent_index(chunk: &Chunk<'_>) -> Option<(QualifiedName, Ident)> {
    match chunk.steps.as_slice() {
        [step] if chunk.segment == Segment::Concurrent => step.creates_index.clone(),
        _ => None,
    }
}

/// The end (exclusive) of the run of concurrent index builds starting at chunk `k`; `k` when
/// chunk `k` is not one.
fn index_run_end(chunks: &[Chunk<'_>], k: usize) -> usize {
    let mut end = k;
    while chunks.get(end).and_then(concurrent_index).is_some() {
        end += 1;
    }
    end
}

/// The states after each index build of `run`, derived and pushed onto `states`: `base` (the
/// state before the run, itself pushed first when `base_is_a_state`) plus each index as `after`
/// (introspected after the run) describes it; the last is `after`. Checked: `base` plus all of
/// them must be `after`. `first` and `last` are the run's statements, for the error. No whole
/// state is copied: the check compares relation by relation.
fn derive_run(
    states: &mut States,
    base: Schema,
    base_is_a_state: bool,
    run: &[Chunk<'_>],
    after: Schema,
    first: usize,
    last: usize,
) -> Result<(), ProofError> {
    let fail = |differences: Vec<String>| ProofError::IndexRun {
        first,
        last,
        differences,
    };
    let mut seen = BTreeSet::new();
    let mut added: Vec<(QualifiedName, Index)> = Vec::with_capacity(run.len());
    // The relations the run builds indexes on, as `base` holds them plus those indexes.
    let mut built: BTreeMap<QualifiedName, Schema> = BTreeMap::new();
    for chunk in run {
        let Some((relation, name)) = concurrent_index(chunk) else {
            return Err(fail(vec!["a step of the run builds no index".to_owned()]));
        };
        if !seen.insert((relation.schema.clone(), name.clone())) {
            return Err(fail(vec![format!(
                "index {name} on {relation} is built twice"
            )]));
        }
        let Some(index) = find_index(&after, &relation, &name).cloned() else {
            return Err(fail(vec![format!(
                "index {name} on {relation} is not there after the run"
            )]));
        };
        let working = built
            .entry(relation.clone())
            .or_insert_with(|| only_relation(&base, &relation));
        if !add_index(working, &relation, index.clone()) {
            return Err(fail(vec![format!(
                "index {name} on {relation} cannot be added to the state before the run (no such table or view, or the index is there already)"
            )]));
        }
        added.push((relation, index));
    }
    let differences = run_differences(&base, &built, &after);
    if !differences.is_empty() {
        return Err(fail(differences));
    }
    let b = states.bases.len();
    states.bases.push(base);
    let indexes: Arc<[(QualifiedName, Index)]> = added.into();
    let from = usize::from(!base_is_a_state);
    for count in from..indexes.len() {
        states.states.push(StateAt::Derived {
            base: b,
            indexes: Arc::clone(&indexes),
            count,
        });
    }
    states.push(after);
    Ok(())
}

/// Where `base` with the relations of `built` replaced by those copies differs from `after`
/// ([`same_database`]), compared part by part and relation by relation (no whole copy).
fn run_differences(
    base: &Schema,
    built: &BTreeMap<QualifiedName, Schema>,
    after: &Schema,
) -> Vec<String> {
    let none = BTreeSet::new();
    let mut differences = same_database(&within(base, &none), &within(after, &none));
    let names: BTreeSet<&QualifiedName> = [base, after]
        .iter()
        .flat_map(|s| {
            s.tables
                .keys()
                .chain(s.views.keys())
                .chain(s.attached.keys())
        })
        .collect();
    for name in names {
        match built.get(name) {
            Some(working) => {
                differences.extend(same_database(working, &only_relation(after, name)));
            }
            None => {
                let same = base.tables.get(name) == after.tables.get(name)
                    && base.views.get(name) == after.views.get(name)
                    && base.attached.get(name) == after.attached.get(name);
                if !same {
                    differences.extend(same_database(
                        &only_relation(base, name),
                        &only_relation(after, name),
                    ));
                }
            }
        }
    }
    differences
}

/// The state before the concurrent index builds of `run`, derived from `after`, the state
/// read after them: `after` without the indexes they built. Sound because each build was
/// checked to build its index ([`ProofDb::check_index_built`]) and `CREATE INDEX CONCURRENTLY`
/// changes nothing else; the final state is read and compared with the target all the same.
/// `first` and `last` are the run's statements, for the error.
fn state_before_run(
    after: &Schema,
    run: &[Chunk<'_>],
    first: usize,
    last: usize,
) -> Result<Schema, ProofError> {
    let mut base = after.clone();
    for chunk in run {
        let removed = concurrent_index(chunk)
            .is_some_and(|(relation, name)| remove_index(&mut base, &relation, &name));
        if !removed {
            let what = concurrent_index(chunk).map_or_else(
                || "a step of the run builds no index".to_owned(),
                |(relation, name)| format!("index {name} on {relation} is not there after the run"),
            );
            return Err(ProofError::IndexRun {
                first,
                last,
                differences: vec![what],
            });
        }
    }
    Ok(base)
}

/// Removes index `name` from the table or view `relation` of `schema`; false when there is no
/// such index.
fn remove_index(schema: &mut Schema, relation: &QualifiedName, name: &Ident) -> bool {
    let indexes = match schema.tables.get_mut(relation) {
        Some(t) => &mut t.indexes,
        None => match schema.views.get_mut(relation) {
            Some(v) => &mut v.indexes,
            None => return false,
        },
    };
    let before = indexes.len();
    indexes.retain(|i| i.name != *name);
    indexes.len() < before
}

/// Index `name` of the table or view `relation` in `schema`.
fn find_index<'a>(schema: &'a Schema, relation: &QualifiedName, name: &Ident) -> Option<&'a Index> {
    let indexes = match (schema.tables.get(relation), schema.views.get(relation)) {
        (Some(t), _) => &t.indexes,
        (None, Some(v)) => &v.indexes,
        (None, None) => return None,
    };
    indexes.iter().find(|i| i.name == *name)
}

/// Adds `index` to the table or view `relation` of `schema`, in introspection's order (by
/// name). False when there is no such relation or it has an index of that name already.
fn add_index(schema: &mut Schema, relation: &QualifiedName, index: Index) -> bool {
    let indexes = match schema.tables.get_mut(relation) {
        Some(t) => &mut t.indexes,
        None => match schema.views.get_mut(relation) {
            Some(v) => &mut v.indexes,
            None => return false,
        },
    };
    if indexes.iter().any(|i| i.name == index.name) {
        return false;
    }
    indexes.push(index);
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    true
}

/// Builds and seeds `script` on a new database and keeps it as the template `name`, then drops
/// the oldest templates beyond [`KEEP_TEMPLATES`]. False when the name was taken (another
/// process kept its build first): the new database is dropped then.
async fn build_template(
    server: &Arc<pgkit::Server>,
    name: &str,
    script: &str,
    seeds: &[Seed],
    bootstrap: bool,
) -> Result<bool, ProofError> {
    let db = server.create_database("jp_proof_build").await?;
    if bootstrap {
        db.apply_bootstrap().await?;
    }
    let statements = crate::sqlscript::split(script).map_err(|e| ProofError::Start {
        message: e.to_string(),
        statement: String::new(),
    })?;
    let seeded = {
        let client = db.connect().await?;
        build(&client, &statements).await?;
        let seeded = seed(&client, seeds).await?;
        analyze_catalogs(&client).await?;
        seeded
        // The connection closes here: nobody may be connected to a template.
    };
    let kept = db.keep_as(name, &template_comment(&seeded)).await?;
    if kept {
        // Each DROP DATABASE checkpoints the server: not on the proof's way. A process that
        // ends first leaves the rest to the next build.
        let server = Arc::clone(server);
        pgkit::on_own_thread(async move { evict_templates(&server).await });
    }
    Ok(kept)
}

/// Gathers the planner's statistics on the system catalogs of the template (clones inherit
/// them). A live database has them (autovacuum); a freshly built one has none, and without
/// them the planner picks poor plans for the introspection's catalog queries: on the
/// 1,000-table start state, the catalog queries of one introspection took 690–760 ms on a
/// clone of an unanalysed template and 260–340 ms on a clone of an analysed one. Only the
/// catalogs: the seeded tables hold a row each, and nothing the proof runs depends on their
/// statistics.
async fn analyze_catalogs(client: &Client) -> Result<(), ProofError> {
    // language=PostgreSQL
    let sql = "SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ') \
               FROM pg_catalog.pg_class c \
               WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace AND c.relkind = 'r'";
    let tables: Option<String> = client.query_one(sql, &[]).await?.get(0);
    if let Some(tables) = tables {
        client.batch_execute(&format!("ANALYZE {tables}")).await?;
    }
    Ok(())
}

/// Drops the oldest templates beyond [`KEEP_TEMPLATES`] and the spares of templates that are
/// gone, best effort (one in use stays).
async fn evict_templates(server: &pgkit::Server) {
    let Ok(kept) = server.kept_databases(TEMPLATE_MARKER).await else {
        return;
    };
    let mut templates: Vec<(u64, String)> = kept
        .into_iter()
        .filter(|k| k.name.starts_with(TEMPLATE_PREFIX))
        .map(|k| {
            let created = parse_template_comment(&k.comment, usize::MAX).map_or(0, |(c, _)| c);
            (created, k.name)
        })
        .collect();
    templates.sort_by(|a, b| b.cmp(a));
    let mut kept = BTreeSet::new();
    for (i, (_, name)) in templates.into_iter().enumerate() {
        if i >= KEEP_TEMPLATES && server.drop_kept_database(&name).await.unwrap_or(false) {
            continue;
        }
        kept.insert(spare_name(&name));
    }
    // The spares of templates that are gone (a spare is only ever made from its template, and
    // named after it).
    let Ok(spares) = server.database_names(SPARE_PREFIX).await else {
        return;
    };
    for spare in spares.iter().filter(|s| !kept.contains(*s)) {
        let _ = server.drop_kept_database(spare).await;
    }
}

/// Where two schemas differ as databases (Rust hints, `renamed_from` and column order aside:
/// `ALTER TABLE` can only append columns). Empty when they are the same database.
pub fn same_database(a: &Schema, b: &Schema) -> Vec<String> {
    let normalise = |s: &Schema| {
        let mut s = s.database_view();
        for t in s.tables.values_mut() {
            t.columns.sort_by(|x, y| x.name.cmp(&y.name));
        }
        s
    };
    let (a, b) = (normalise(a), normalise(b));
    // Equal values serialise alike: the comparison through JSON (which names the differences)
    // is only needed when they are not equal.
    if a == b {
        return Vec::new();
    }
    crate::canonical::structural_differences(&a, &b)
}

/// What [`ProofDb::check`] acts on: the database read back compared with the target and
/// diffed again (by [`judge`]), and the seeded tables that lost rows.
struct Verdict {
    /// Where the database differs from the target ([`same_database`]).
    differences: Vec<String>,
    /// The SQL of what the differ still finds to do, when it finds anything.
    again: Option<String>,
    /// The seeded tables that lost rows.
    lost: Result<Vec<String>, ProofError>,
    /// How long the comparison took.
    compare: Duration,
    /// How long diffing again took.
    rediff: Duration,
}

/// Compares `result` with `to` and, when they are the same database, diffs them again.
fn judge(result: &Schema, to: &Schema) -> Verdict {
    let started = Instant::now();
    let differences = same_database(result, to);
    let compare = started.elapsed();
    let started = Instant::now();
    let again = if differences.is_empty() {
        let plan = diff(result, &to.database_view(), &DiffOptions::default());
        (!plan.is_empty()).then(|| plan.to_sql())
    } else {
        None
    };
    Verdict {
        differences,
        again,
        lost: Ok(Vec::new()),
        compare,
        rediff: started.elapsed(),
    }
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                m.push_str(&format!("; {d}"));
            }
            m
        }
        None => e.to_string(),
    }
}

/// Builds the start state's script (split into statements) on the scratch database.
async fn build(client: &Client, statements: &[Statement]) -> Result<(), ProofError> {
    // Batches of statements, each one transaction in one round trip: a 1,000-table schema
    // builds many times faster than statement by statement, and the batches keep the locks a
    // transaction holds well inside the server's lock table. When a batch fails it is run again
    // statement by statement, to name the statement.
    for batch in statements.chunks(BUILD_BATCH) {
        let mut text = String::from("BEGIN;\n");
        for st in batch {
            text.push_str(&st.text);
            text.push_str("\n;\n");
        }
        text.push_str("COMMIT;");
        let Err(first) = client.batch_execute(&text).await else {
            continue;
        };
        let _ = client.batch_execute("ROLLBACK").await;
        client.batch_execute("BEGIN").await?;
        for st in batch {
            if let Err(e) = client.batch_execute(&st.text).await {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(ProofError::Start {
                    message: describe(&e),
                    statement: st.text.clone(),
                });
            }
        }
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(ProofError::Start {
            message: describe(&first),
            statement: String::new(),
        });
    }
    Ok(())
}

/// Statements per transaction when a proof builds its start state.
const BUILD_BATCH: usize = 400;

/// A literal of `ty` for seed row `n`, or `None` when no simple literal will do. Enum values
/// are labels the target keeps, when there is one: the proof is about the plan, and rows that
/// a removed label would lose are the plan's declared hazard.
fn seed_value(ty: &PgType, schema: &Schema, target: &Schema, n: u32) -> Option<String> {
    Some(match ty {
        PgType::SmallInt | PgType::Integer | PgType::BigInt => n.to_string(),
        PgType::Real | PgType::DoublePrecision | PgType::Numeric { .. } => format!("{n}"),
        PgType::Text | PgType::Varchar(_) => quote_literal(&format!("s{n}")),
        PgType::Char(len) => {
            let len = len.unwrap_or(1).min(8) as usize;
            quote_literal(&format!("{n:0len$}").chars().take(len).collect::<String>())
        }
        PgType::Boolean => "true".to_owned(),
        PgType::Uuid => quote_literal(&format!("00000000-0000-4000-8000-{n:012}")),
        PgType::Json | PgType::Jsonb => "'{}'".to_owned(),
        PgType::Bytea => "'\\x00'".to_owned(),
        PgType::Date => "'2026-01-01'".to_owned(),
        PgType::Time { .. } => "'12:00'".to_owned(),
        PgType::Timestamp { .. } => "'2026-01-01 12:00'".to_owned(),
        PgType::Interval { .. } => "'1 day'".to_owned(),
        PgType::Array(inner) => {
            let v = seed_value(inner, schema, target, n)?;
            return Some(format!("ARRAY[{v}]::{ty}"));
        }
        PgType::Named(name) => {
            let e = schema.enums.get(name)?;
            let kept = target
                .enums
                .get(name)
                .and_then(|t| e.labels.iter().find(|l| t.labels.contains(l)));
            quote_literal(kept.or(e.labels.first())?)
        }
        PgType::Bit(_) | PgType::VarBit(_) | PgType::Builtin(_) => return None,
    })
}

/// One seed row: the table and the `INSERT`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seed {
    table: QualifiedName,
    sql: String,
}

/// The `INSERT`s of one row into every table that takes one, referenced tables first (a pure
/// function of the two schemas: the seed is part of a template's key).
fn seed_statements(schema: &Schema, target: &Schema) -> Vec<Seed> {
    let mut names = table_order(&schema.tables);
    // Referenced tables first.
    let deps = |t: &Table| -> Vec<QualifiedName> {
        t.foreign_keys
            .iter()
            .map(|f| f.references.clone())
            .collect()
    };
    names = crate::render::stable_topo_sort(&names, |n| {
        schema.tables.get(n).map(deps).unwrap_or_default()
    });
    let mut seeds = Vec::new();
    for name in names {
        let Some(t) = schema.tables.get(&name) else {
            continue;
        };
        if t.partitioned_by.is_some() || t.partition_of.is_some() || !t.inherits.is_empty() {
            continue;
        }
        let mut columns = Vec::new();
        let mut values = Vec::new();
        let mut possible = true;
        for c in &t.columns {
            if c.generated.is_some() || c.identity.is_some() {
                continue;
            }
            if let Some(fk) = t.foreign_keys.iter().find(|f| f.columns.contains(&c.name)) {
                let pos = fk.columns.iter().position(|x| *x == c.name).unwrap_or(0);
                if let Some(rc) = fk.referenced_columns.get(pos) {
                    columns.push(c.name.to_string());
                    values.push(format!("(SELECT {rc} FROM {} LIMIT 1)", fk.references));
                    continue;
                }
            }
            if c.default.is_some() {
                continue;
            }
            // Nullable columns get values too: a later SET NOT NULL must not trip over the
            // seed row (real NULLs are the plan's validation hazard, not the proof's concern).
            match seed_value(&c.ty, schema, target, 1) {
                Some(v) => {
                    columns.push(c.name.to_string());
                    values.push(v);
                }
                None if c.nullable => {}
                None => possible = false,
            }
        }
        if !possible {
            continue;
        }
        let sql = if columns.is_empty() {
            format!("INSERT INTO {name} DEFAULT VALUES")
        } else {
            format!(
                "INSERT INTO {name} ({}) VALUES ({})",
                columns.join(", "),
                values.join(", ")
            )
        };
        seeds.push(Seed { table: name, sql });
    }
    seeds
}

/// Runs the seed `INSERT`s in one transaction, each in a savepoint so a table whose
/// constraints the simple values do not satisfy is just skipped. Returns the positions of the
/// statements that inserted their row.
async fn seed(client: &Client, seeds: &[Seed]) -> Result<Vec<usize>, ProofError> {
    let mut seeded = Vec::new();
    client.batch_execute("BEGIN").await?;
    for (i, s) in seeds.iter().enumerate() {
        // One round trip per table; a row the values do not satisfy only skips the table.
        let batch = format!("SAVEPOINT jp_seed; {}; RELEASE SAVEPOINT jp_seed", s.sql);
        match client.batch_execute(&batch).await {
            Ok(()) => seeded.push(i),
            Err(_) => {
                client
                    .batch_execute("ROLLBACK TO SAVEPOINT jp_seed")
                    .await?;
            }
        }
    }
    client.batch_execute("COMMIT").await?;
    Ok(seeded)
}

/// Seeded tables that the plan keeps (no data-loss step on them) but whose rows are gone.
async fn count_lost(
    clients: [&Client; 2],
    seeded: &BTreeMap<QualifiedName, i64>,
    plans: &[&Plan],
    to: &Schema,
) -> Result<Vec<String>, ProofError> {
    let renamed = renamed_tables(to);
    // The objects of the steps that drop a table.
    let dropped: BTreeSet<&str> = plans
        .iter()
        .flat_map(|p| &p.steps)
        .filter(|s| s.losses().any(|l| l == Loss::DropTable))
        .map(|s| s.object.as_str())
        .collect();
    let mut kept: Vec<(&QualifiedName, i64)> = Vec::new();
    for (name, before) in seeded {
        // Find the table under its name in the target (or the name it was renamed to).
        let target = match to.tables.get(name) {
            Some(t) => &t.name,
            None => match renamed.get(name) {
                Some(new) => *new,
                None => continue,
            },
        };
        if !dropped.contains(format!("table {target}").as_str()) {
            kept.push((target, *before));
        }
    }
    // One round trip per batch of tables (a 1,000-table schema is counted in a few statements,
    // not a thousand), the batches shared between the two sessions, which count in parallel.
    let mut even = Vec::new();
    let mut odd = Vec::new();
    // An even number of batches of about the same size (102 tables: 51 and 51, not 100 and 2).
    let batches = kept.len().div_ceil(COUNT_BATCH).max(1).next_multiple_of(2);
    let size = kept.len().div_ceil(batches).max(1);
    for (i, batch) in kept.chunks(size).enumerate() {
        if i % 2 == 0 {
            even.push(batch);
        } else {
            odd.push(batch);
        }
    }
    let [first, second] = clients;
    let (mut lost, more) =
        futures_util::future::try_join(count_on(first, &even), count_on(second, &odd)).await?;
    lost.extend(more);
    lost.sort();
    Ok(lost)
}

/// [`count_batch`] for each of `batches` on `client`, pipelined (sent without waiting for the
/// previous one's rows).
async fn count_on(
    client: &Client,
    batches: &[&[(&QualifiedName, i64)]],
) -> Result<Vec<String>, ProofError> {
    let counted =
        futures_util::future::try_join_all(batches.iter().map(|b| count_batch(client, b))).await?;
    Ok(counted.into_iter().flatten().collect())
}

/// The tables of `batch` with fewer rows than before, counted in one statement.
async fn count_batch(
    client: &Client,
    batch: &[(&QualifiedName, i64)],
) -> Result<Vec<String>, ProofError> {
    let sql = batch
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("SELECT {i}, count(*) FROM {name}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut counts = vec![0_i64; batch.len()];
    for row in client.query(&sql, &[]).await? {
        let i: i32 = row.get(0);
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
            *slot = row.get(1);
        }
    }
    let mut lost = Vec::new();
    for ((name, before), after) in batch.iter().zip(counts) {
        if after < *before {
            lost.push(format!("{name}: {before} row(s) before, {after} after"));
        }
    }
    Ok(lost)
}

/// The tables and views (on either side) that differ between `from` and `to`, as databases,
/// when nothing else does (schemas, extensions, types, sequences, functions, default privileges
/// and buckets are the same); `None` when anything else differs. A relation to which the
/// application attaches policies or triggers that differ is one of them.
fn differing_relations(from: &Schema, to: &Schema) -> Option<Vec<QualifiedName>> {
    // Everything but the relations, as databases (no relation is copied).
    let none = BTreeSet::new();
    if within(from, &none).into_database_view() != within(to, &none).into_database_view() {
        return None;
    }
    fn differing<T: PartialEq>(
        names: &mut BTreeSet<QualifiedName>,
        m: &BTreeMap<QualifiedName, T>,
        n: &BTreeMap<QualifiedName, T>,
        same: impl Fn(&T, &T) -> bool,
    ) {
        for (name, value) in m {
            if !n.get(name).is_some_and(|other| same(value, other)) {
                names.insert(name.clone());
            }
        }
        for name in n.keys() {
            if !m.contains_key(name) {
                names.insert(name.clone());
            }
        }
    }
    let mut names = BTreeSet::new();
    // Tables equal as written are equal as databases; the others are compared without the
    // Rust hints and renames (a declared schema has them, a state read back does not).
    differing(&mut names, &from.tables, &to.tables, |a, b| {
        a == b || a.database_view() == b.database_view()
    });
    differing(&mut names, &from.views, &to.views, |a, b| a == b);
    differing(&mut names, &from.attached, &to.attached, |a, b| a == b);
    Some(names.into_iter().collect())
}

/// `read` (what the plans can reach, read back) completed with `start`'s relations and
/// attachments outside it, which the database holds as `start` describes them; `seeds` (which
/// `read` was read from) is extended with the relations read: the scope of the verdict.
fn complete(mut read: Schema, start: &Schema, seeds: &mut BTreeSet<QualifiedName>) -> Schema {
    seeds.extend(
        read.tables
            .keys()
            .chain(read.views.keys())
            .chain(read.attached.keys())
            .cloned(),
    );
    for (name, table) in &start.tables {
        if !seeds.contains(name) {
            read.tables.insert(name.clone(), table.clone());
        }
    }
    for (name, view) in &start.views {
        if !seeds.contains(name) {
            read.views.insert(name.clone(), view.clone());
        }
    }
    for (name, attached) in &start.attached {
        if !seeds.contains(name) {
            read.attached.insert(name.clone(), attached.clone());
        }
    }
    read
}

/// `schema` with only the relations (and attachments) named in `scope`; everything else kept.
fn within(schema: &Schema, scope: &BTreeSet<QualifiedName>) -> Schema {
    fn pick<T: Clone>(
        map: &BTreeMap<QualifiedName, T>,
        scope: &BTreeSet<QualifiedName>,
    ) -> BTreeMap<QualifiedName, T> {
        scope
            .iter()
            .filter_map(|name| Some((name.clone(), map.get(name)?.clone())))
            .collect()
    }
    Schema {
        schemas: schema.schemas.clone(),
        extensions: schema.extensions.clone(),
        collations: schema.collations.clone(),
        enums: schema.enums.clone(),
        domains: schema.domains.clone(),
        composites: schema.composites.clone(),
        sequences: schema.sequences.clone(),
        tables: pick(&schema.tables, scope),
        views: pick(&schema.views, scope),
        functions: schema.functions.clone(),
        attached: pick(&schema.attached, scope),
        default_privileges: schema.default_privileges.clone(),
        buckets: schema.buckets.clone(),
    }
}

/// The tables of `to` renamed from another name: old name → new name.
fn renamed_tables(to: &Schema) -> BTreeMap<&QualifiedName, &QualifiedName> {
    to.tables
        .values()
        .filter_map(|t| Some((t.renamed_from.as_ref()?, &t.name)))
        .collect()
}

/// Tables counted per statement after a plan. Planning a `UNION ALL` of counts costs more per
/// branch the more branches it has: 1,000 one-row tables counted on a new session (PostgreSQL
/// 15) took 410–435 ms in batches of 250 and 200–245 ms in batches of 100 (200–220 and
/// 65–80 ms on a session that had counted them before); smaller batches gained nothing more.
const COUNT_BATCH: usize = 100;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::model::{Column, IndexColumn, IndexKey};

    fn index(name: &str, column: &str) -> Index {
        Index {
            name: Ident::new(name),
            unique: false,
            nulls_not_distinct: false,
            method: "btree".to_owned(),
            keys: vec![IndexColumn {
                key: IndexKey::Column(Ident::new(column)),
                collation: None,
                opclass: None,
                descending: false,
                nulls_first: false,
            }],
            include: Vec::new(),
            predicate: None,
            options: Vec::new(),
            comment: None,
            renamed_from: None,
        }
    }

    fn posts(indexes: &[(&str, &str)]) -> Schema {
        let mut s = Schema::default();
        let mut t = Table::new(QualifiedName::public("posts"));
        for c in ["id", "title", "body"] {
            t.columns.push(Column::new(c, PgType::Text));
        }
        for (name, column) in indexes {
            t.indexes.push(index(name, column));
        }
        t.sort_children();
        s.tables.insert(t.name.clone(), t);
        s
    }

    fn online() -> DiffOptions {
        DiffOptions {
            online: true,
            lock_timeout: None,
        }
    }

    #[test]
    fn states_between_index_builds_are_the_state_before_plus_each_index() {
        let before = posts(&[]);
        let after = posts(&[("posts_title_idx", "title"), ("posts_body_idx", "body")]);
        let plan = diff(&before, &after, &online());
        let chunks = plan.chunks();
        assert_eq!(chunks.len(), 2, "{}", plan.to_sql());
        assert_eq!(index_run_end(&chunks, 0), 2);
        let mut states = States::default();
        derive_run(
            &mut states,
            before.clone(),
            false,
            &chunks,
            after.clone(),
            1,
            2,
        )
        .unwrap();
        assert_eq!(states.len(), 2);
        let first = concurrent_index(&chunks[0]).unwrap().1;
        let posts = QualifiedName::public("posts");
        let state = states.get(0).unwrap();
        let names: Vec<&str> = state.tables[&posts]
            .indexes
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, [first.as_str()]);
        assert_eq!(
            states.relation(0, &posts).unwrap().tables[&posts],
            state.tables[&posts]
        );
        assert_eq!(*states.get(1).unwrap(), after);
        // With the state before the run as the first state.
        let mut states = States::default();
        derive_run(
            &mut states,
            before.clone(),
            true,
            &chunks,
            after.clone(),
            1,
            2,
        )
        .unwrap();
        assert_eq!(states.len(), 3);
        assert_eq!(*states.get(0).unwrap(), before);
    }

    #[test]
    fn a_run_that_changed_more_or_less_than_its_indexes_is_an_error() {
        let before = posts(&[]);
        let after = posts(&[("posts_title_idx", "title"), ("posts_body_idx", "body")]);
        let plan = diff(&before, &after, &online());
        let chunks = plan.chunks();
        // Something else changed meanwhile.
        let mut more = after.clone();
        more.tables
            .values_mut()
            .for_each(|t| t.columns.push(Column::new("extra", PgType::Text)));
        let run = |base: &Schema, after: Schema, first, last| {
            derive_run(
                &mut States::default(),
                base.clone(),
                false,
                &chunks,
                after,
                first,
                last,
            )
        };
        let err = run(&before, more, 3, 4).unwrap_err();
        assert!(
            matches!(&err, ProofError::IndexRun { first: 3, last: 4, differences } if !differences.is_empty()),
            "{err}"
        );
        // An index is missing after the run.
        let less = posts(&[("posts_title_idx", "title")]);
        let err = run(&before, less, 1, 2).unwrap_err();
        assert!(err.to_string().contains("posts_body_idx"), "{err}");
        // An index that was there before the run.
        let err = run(&posts(&[("posts_body_idx", "body")]), after, 1, 2).unwrap_err();
        assert!(matches!(err, ProofError::IndexRun { .. }), "{err}");
    }

    #[test]
    fn template_comments_round_trip_and_foreign_ones_do_not_parse() {
        let comment = template_comment(&[0, 2, 5]);
        let (created, seeded) = parse_template_comment(&comment, 6).unwrap();
        assert!(created > 0);
        assert_eq!(seeded, [0, 2, 5]);
        assert_eq!(
            parse_template_comment(&comment, 5),
            None,
            "index out of range"
        );
        let none = template_comment(&[]);
        assert_eq!(
            parse_template_comment(&none, 0).unwrap().1,
            Vec::<usize>::new()
        );
        for foreign in [
            "pgkit temporary database; pid=1; host=x",
            "jobpilot proof template",
            "jobpilot proof template; created=x; seeded=1",
            "",
        ] {
            assert_eq!(parse_template_comment(foreign, 10), None, "{foreign}");
        }
    }

    #[test]
    fn template_names_depend_on_the_state_the_seed_and_the_bootstrap() {
        let a = posts(&[]);
        let b = posts(&[("posts_title_idx", "title")]);
        let name = template_name(&a, &b, true);
        assert!(
            name.starts_with(TEMPLATE_PREFIX) && name.len() <= 63,
            "{name}"
        );
        assert_eq!(name, template_name(&a, &b, true));
        assert_ne!(name, template_name(&b, &b, true));
        assert_ne!(name, template_name(&a, &b, false));
        let seeds = seed_statements(&a, &b);
        assert_eq!(seeds.len(), 1);
        let mut other = seeds.clone();
        other[0].sql.push_str(" -- another row");
        assert_ne!(
            template_name_of(&a, &seeds, true),
            template_name_of(&a, &other, true)
        );
    }

    #[test]
    fn same_database_names_differences_and_nothing_for_equal_states() {
        let a = posts(&[]);
        assert!(same_database(&a, &a.clone()).is_empty());
        let b = posts(&[("posts_title_idx", "title")]);
        assert!(!same_database(&a, &b).is_empty());
    }
}
