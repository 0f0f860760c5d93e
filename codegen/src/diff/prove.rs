//! Every plan is proven before it is written or applied: on a scratch database, the start
//! state is built and seeded with rows, the plan applied chunk by chunk (transactions where the
//! plan says so), the result introspected and compared with the target, the differ run again
//! (it must find nothing), and the seeded rows counted where the plan keeps their table.
//!
//! A plan that fails its proof is an error naming the statement or the difference, never a
//! file on disk.

use super::{DiffOptions, Loss, Plan, diff};
use crate::introspect::{Filter, IntrospectError, introspect_parallel};
use crate::model::{PgType, QualifiedName, Schema, Table};
use crate::render::{quote_literal, render_schema, table_order};
use std::collections::BTreeMap;
use std::sync::Arc;
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
    /// The state after each chunk of the plan, introspected (the last is the target).
    pub states: Vec<Schema>,
}

/// A scratch database in a known state, on which plans are proven one after the other (the up
/// plan, then the down plans back).
pub struct ProofDb {
    // Declared before `db`, so the connections close before the guard drops the database.
    client: Client,
    /// A second session, for reading the catalogs on two sessions (`introspect_parallel`).
    second: Client,
    _db: pgkit::TempDb,
    filter: Filter,
    /// The seeded rows, by table.
    seeded: BTreeMap<QualifiedName, i64>,
    /// The state the database is in.
    state: Schema,
}

impl ProofDb {
    /// A fresh scratch database holding `from` (with the Supabase bootstrap first when
    /// `bootstrap`), seeded with a row per table where simple values will do; values of enums
    /// prefer labels `to` keeps.
    pub async fn start(
        server: &Arc<pgkit::Server>,
        from: &Schema,
        to: &Schema,
        filter: &Filter,
        bootstrap: bool,
    ) -> Result<ProofDb, ProofError> {
        let db = server.create_database("jp_proof").await?;
        if bootstrap {
            db.apply_bootstrap().await?;
        }
        let client = db.connect().await?;
        let second = db.connect().await?;
        build(&client, from).await?;
        let seeded = seed(&client, from, to).await?;
        Ok(ProofDb {
            client,
            second,
            _db: db,
            filter: filter.clone(),
            seeded,
            state: from.clone(),
        })
    }

    /// Applies `plan` (each transactional chunk in a transaction, each concurrent statement on
    /// its own) and proves the result is `to`: the same database, nothing left to diff, the
    /// seeded rows still there in the tables the plan keeps. Returns the state after each chunk.
    pub async fn apply(&mut self, plan: &Plan, to: &Schema) -> Result<Vec<Schema>, ProofError> {
        let client = &self.client;
        let mut states = Vec::new();
        let chunks = plan.chunks();
        let mut index = 0;
        for chunk in &chunks {
            let transactional = chunk.segment.transactional();
            if transactional {
                client.batch_execute("BEGIN").await?;
            }
            for step in &chunk.steps {
                index += 1;
                if let Err(e) = client.batch_execute(&step.sql).await {
                    if transactional {
                        let _ = client.batch_execute("ROLLBACK").await;
                    }
                    return Err(ProofError::Statement {
                        index,
                        object: step.object.clone(),
                        message: describe(&e),
                        statement: step.sql.clone(),
                    });
                }
            }
            if transactional {
                client.batch_execute("COMMIT").await?;
            }
            if chunks.len() > 1 {
                states.push(self.introspect().await?);
            }
        }
        let result = match states.last() {
            Some(s) if chunks.len() > 1 => s.clone(),
            _ => {
                let s = self.introspect().await?;
                states.push(s.clone());
                s
            }
        };
        let differences = same_database(&result, to);
        if !differences.is_empty() {
            return Err(ProofError::Differs(differences));
        }
        let again = diff(&result, &to.database_view(), &DiffOptions::default());
        if !again.is_empty() {
            return Err(ProofError::NotIdempotent(again.to_sql()));
        }
        let lost = count_lost(client, &self.seeded, plan, to).await?;
        if !lost.is_empty() {
            return Err(ProofError::RowsLost(lost));
        }
        // Rows in tables the plan dropped are gone for good.
        self.seeded.retain(|name, _| {
            to.tables
                .values()
                .any(|t| t.name == *name || t.renamed_from.as_ref() == Some(name))
        });
        self.seeded = self
            .seeded
            .iter()
            .map(|(name, n)| {
                let renamed = to
                    .tables
                    .values()
                    .find(|t| {
                        t.renamed_from.as_ref() == Some(name) && !to.tables.contains_key(name)
                    })
                    .map_or_else(|| name.clone(), |t| t.name.clone());
                (renamed, *n)
            })
            .collect();
        self.state = result;
        Ok(states)
    }

    /// Reads the scratch database back.
    async fn introspect(&self) -> Result<Schema, IntrospectError> {
        Ok(
            introspect_parallel(&self.client, &self.second, &self.filter)
                .await?
                .schema,
        )
    }

    /// The tables seeded with a row.
    pub fn seeded(&self) -> usize {
        self.seeded.len()
    }

    /// The state the database is in (introspected after the last plan).
    pub fn state(&self) -> &Schema {
        &self.state
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
    crate::canonical::structural_differences(&normalise(a), &normalise(b))
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

/// Builds `schema` on the scratch database, statement by statement.
async fn build(client: &Client, schema: &Schema) -> Result<(), ProofError> {
    let script = render_schema(&schema.database_view());
    let statements = crate::sqlscript::split(&script).map_err(|e| ProofError::Start {
        message: e.to_string(),
        statement: String::new(),
    })?;
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

/// Inserts one row into every table that takes one (referenced tables first), each in a
/// savepoint so a table whose constraints the simple values do not satisfy is just skipped.
/// Returns the seeded tables with their row counts.
async fn seed(
    client: &Client,
    schema: &Schema,
    target: &Schema,
) -> Result<BTreeMap<QualifiedName, i64>, ProofError> {
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
    let mut seeded = BTreeMap::new();
    client.batch_execute("BEGIN").await?;
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
        // One round trip per table; a row the values do not satisfy only skips the table.
        let batch = format!("SAVEPOINT jp_seed; {sql}; RELEASE SAVEPOINT jp_seed");
        match client.batch_execute(&batch).await {
            Ok(()) => {
                seeded.insert(name.clone(), 1);
            }
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
    client: &Client,
    seeded: &BTreeMap<QualifiedName, i64>,
    plan: &Plan,
    to: &Schema,
) -> Result<Vec<String>, ProofError> {
    let mut lost = Vec::new();
    for (name, before) in seeded {
        // Find the table under its name in the target (or the name it was renamed to).
        let target = to
            .tables
            .values()
            .find(|t| t.name == *name || t.renamed_from.as_ref() == Some(name));
        let Some(target) = target else { continue };
        let dropped = plan.steps.iter().any(|s| {
            s.losses().any(|l| l == Loss::DropTable) && s.object == format!("table {}", target.name)
        });
        if dropped {
            continue;
        }
        let row = client
            .query_one(&format!("SELECT count(*) FROM {}", target.name), &[])
            .await?;
        let after: i64 = row.get(0);
        if after < *before {
            lost.push(format!(
                "{}: {before} row(s) before, {after} after",
                target.name
            ));
        }
    }
    Ok(lost)
}
