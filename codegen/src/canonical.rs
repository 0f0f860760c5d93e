//! Canonical forms: declared expression text mapped to the text PostgreSQL prints back.
//!
//! A schema file says `default = "'saved'"`; the catalog says `'saved'::public.application_status`.
//! Both mean the same database, and the only judge of that is PostgreSQL (STYLE.md §2.4). So
//! `codegen generate` loads the declared schema into a scratch database, introspects it, and records
//! for every expression slot the pair (declared text, canonical text) in `schema/canonical.lock.json`.
//! Commands that compare the declared schema with a database then apply the lock
//! ([`CanonicalLock::apply`]) instead of needing a second database on their hot path, and
//! `codegen check` fails when the lock no longer matches the schema files (like sqlx's offline data).
//!
//! Every slot has a stable key naming the object and the attribute
//! (`table public.users column id default`), built by [`visit_exprs`], the one list of where
//! expressions live in the IR.

use crate::model::{Extension, Schema, SqlExpr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The lock file's name inside the schema directory.
pub const LOCK_FILE: &str = "canonical.lock.json";

/// Visits every expression slot of `schema` with its stable key.
pub fn visit_exprs(schema: &mut Schema, f: &mut dyn FnMut(String, &mut SqlExpr)) {
    for (name, d) in &mut schema.domains {
        if let Some(e) = &mut d.default {
            f(format!("domain {name} default"), e);
        }
        for c in &mut d.checks {
            f(format!("domain {name} check {}", c.name), &mut c.expr);
        }
    }
    for (name, t) in &mut schema.tables {
        let p = format!("table {name}");
        for c in &mut t.columns {
            if let Some(e) = &mut c.default {
                f(format!("{p} column {} default", c.name), e);
            }
            if let Some(e) = &mut c.generated {
                f(format!("{p} column {} generated", c.name), e);
            }
        }
        for c in &mut t.checks {
            f(format!("{p} check {}", c.name), &mut c.expr);
        }
        for x in &mut t.exclusions {
            f(format!("{p} exclusion {}", x.name), &mut x.definition);
        }
        visit_indexes(&p, &mut t.indexes, f);
        visit_triggers(&p, &mut t.triggers, f);
        visit_policies(&p, &mut t.policies, f);
        if let Some(pb) = &mut t.partitioned_by {
            f(format!("{p} partition key"), &mut pb.key);
        }
        if let Some(po) = &mut t.partition_of {
            f(format!("{p} partition bound"), &mut po.bound);
        }
    }
    for (name, a) in &mut schema.attached {
        let p = format!("attached {name}");
        visit_triggers(&p, &mut a.triggers, f);
        visit_policies(&p, &mut a.policies, f);
    }
    for (name, v) in &mut schema.views {
        let p = format!("view {name}");
        f(format!("{p} definition"), &mut v.definition);
        visit_indexes(&p, &mut v.indexes, f);
        visit_triggers(&p, &mut v.triggers, f);
    }
    for (id, func) in &mut schema.functions {
        let p = format!("function {id}");
        for (i, arg) in func.args.iter_mut().enumerate() {
            if let Some(e) = &mut arg.default {
                f(format!("{p} argument {} default", i + 1), e);
            }
        }
        if let crate::model::FunctionBody::Atomic(e) = &mut func.body {
            f(format!("{p} body"), e);
        }
    }
}

fn visit_indexes(
    prefix: &str,
    indexes: &mut [crate::model::Index],
    f: &mut dyn FnMut(String, &mut SqlExpr),
) {
    for i in indexes {
        for (n, k) in i.keys.iter_mut().enumerate() {
            if let crate::model::IndexKey::Expr(e) = &mut k.key {
                f(format!("{prefix} index {} key {}", i.name, n + 1), e);
            }
        }
        if let Some(e) = &mut i.predicate {
            f(format!("{prefix} index {} predicate", i.name), e);
        }
    }
}

fn visit_triggers(
    prefix: &str,
    triggers: &mut [crate::model::Trigger],
    f: &mut dyn FnMut(String, &mut SqlExpr),
) {
    for t in triggers {
        if let Some(e) = &mut t.when {
            f(format!("{prefix} trigger {} when", t.name), e);
        }
    }
}

fn visit_policies(
    prefix: &str,
    policies: &mut [crate::model::Policy],
    f: &mut dyn FnMut(String, &mut SqlExpr),
) {
    for p in policies {
        if let Some(e) = &mut p.using {
            f(format!("{prefix} policy {} using", p.name), e);
        }
        if let Some(e) = &mut p.with_check {
            f(format!("{prefix} policy {} with check", p.name), e);
        }
    }
}

/// All expression slots of a schema, by key.
pub fn expressions(schema: &Schema) -> BTreeMap<String, String> {
    let mut copy = schema.clone();
    let mut out = BTreeMap::new();
    visit_exprs(&mut copy, &mut |key, e| {
        out.insert(key, e.0.clone());
    });
    out
}

/// One recorded expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    /// The text in the schema files.
    pub declared: String,
    /// The text PostgreSQL prints for it.
    pub canonical: String,
}

/// The contents of `schema/canonical.lock.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalLock {
    /// The PostgreSQL version that produced the canonical forms (`server_version`).
    pub postgres: String,
    /// Every expression slot of the declared schema.
    pub expressions: BTreeMap<String, LockEntry>,
    /// Versions of extensions declared without one, as the server installed them.
    pub extension_versions: BTreeMap<String, String>,
}

/// Why a lock cannot be built or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The lock does not match the schema files any more.
    #[error(
        "the canonical forms in schema/{LOCK_FILE} are out of date ({} expression(s) changed, \
         first: {}); run `codegen generate`",
        .0.len(),
        .0.first().map(String::as_str).unwrap_or("?")
    )]
    Stale(Vec<String>),
    /// Loading the declared schema into PostgreSQL did not give back the declared schema: the
    /// model or the SQL renderer lost or changed something.
    #[error(
        "PostgreSQL does not store the declared schema as declared:\n  {}",
        .0.join("\n  ")
    )]
    Mismatch(Vec<String>),
    /// The lock file is not valid JSON of the expected shape.
    #[error("schema/{LOCK_FILE} is not readable: {0}; delete it and run `codegen generate`")]
    Malformed(String),
}

impl CanonicalLock {
    /// Records the canonical form of every declared expression, given the schema PostgreSQL gave
    /// back after loading the declared one, and checks that nothing else changed on the way.
    pub fn build(
        declared: &Schema,
        canonical: &Schema,
        postgres: &str,
    ) -> Result<CanonicalLock, CanonicalError> {
        let declared_exprs = expressions(declared);
        let canonical_exprs = expressions(canonical);
        let mut lock = CanonicalLock {
            postgres: postgres.to_owned(),
            ..CanonicalLock::default()
        };
        let mut problems = Vec::new();
        for (key, text) in declared_exprs {
            match canonical_exprs.get(&key) {
                Some(canon) => {
                    lock.expressions.insert(
                        key,
                        LockEntry {
                            declared: text,
                            canonical: canon.clone(),
                        },
                    );
                }
                None => problems.push(format!("{key}: declared, but PostgreSQL has none")),
            }
        }
        for (name, ext) in &declared.extensions {
            if ext.version.is_none() {
                if let Some(Extension {
                    version: Some(v), ..
                }) = canonical.extensions.get(name)
                {
                    lock.extension_versions
                        .insert(name.as_str().to_owned(), v.clone());
                }
            }
        }
        if !problems.is_empty() {
            return Err(CanonicalError::Mismatch(problems));
        }
        let mut applied = declared.clone();
        lock.apply(&mut applied)?;
        let differences =
            structural_differences(&applied.database_view(), &canonical.database_view());
        if differences.is_empty() {
            Ok(lock)
        } else {
            Err(CanonicalError::Mismatch(differences))
        }
    }

    /// Replaces every declared expression of `schema` by its canonical form, and fills in
    /// extension versions. Fails, listing the slots, when the lock does not know an expression
    /// as declared (the schema files changed since `codegen generate`).
    pub fn apply(&self, schema: &mut Schema) -> Result<(), CanonicalError> {
        let mut stale = Vec::new();
        visit_exprs(schema, &mut |key, e| match self.expressions.get(&key) {
            Some(entry) if entry.declared == e.0 => e.0.clone_from(&entry.canonical),
            _ => stale.push(key),
        });
        for (name, ext) in &mut schema.extensions {
            if ext.version.is_none() {
                match self.extension_versions.get(name.as_str()) {
                    Some(v) => ext.version = Some(v.clone()),
                    None => stale.push(format!("extension {name} version")),
                }
            }
        }
        if stale.is_empty() {
            Ok(())
        } else {
            Err(CanonicalError::Stale(stale))
        }
    }

    /// Parses the lock file's text.
    pub fn from_json(text: &str) -> Result<CanonicalLock, CanonicalError> {
        serde_json::from_str(text).map_err(|e| CanonicalError::Malformed(e.to_string()))
    }

    /// The lock file's text: pretty JSON, keys sorted, ending in a newline.
    pub fn to_json(&self) -> String {
        // Serialising plain maps of strings cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Where two schemas differ, as `path: left != right` lines (for messages and tests; the differ
/// proper is `diff`). Empty when they are equal.
pub fn structural_differences(left: &Schema, right: &Schema) -> Vec<String> {
    let (Ok(l), Ok(r)) = (serde_json::to_value(left), serde_json::to_value(right)) else {
        return vec!["the schemas cannot be compared (not serialisable)".to_owned()];
    };
    let mut out = Vec::new();
    diff_values("", &l, &r, &mut out);
    out
}

fn diff_values(path: &str, l: &serde_json::Value, r: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (l, r) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(vb) => diff_values(&p, va, vb, out),
                    None => out.push(format!("{p}: only on the left")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.push(format!("{p}: only on the right"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if l != r => out.push(format!("{path}: {l} != {r}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, PgType, QualifiedName, Table};

    fn schema_with_default(text: &str) -> Schema {
        let mut s = Schema::default();
        let mut t = Table::new(QualifiedName::public("t"));
        let mut c = Column::new("status", PgType::Text);
        c.default = Some(SqlExpr::new(text));
        t.columns.push(c);
        s.tables.insert(t.name.clone(), t);
        s
    }

    #[test]
    fn lock_maps_declared_text_to_canonical_text() {
        let declared = schema_with_default("'x'");
        let canonical = schema_with_default("'x'::text");
        let lock = CanonicalLock::build(&declared, &canonical, "15").unwrap();
        assert_eq!(
            lock.expressions["table public.t column status default"],
            LockEntry {
                declared: "'x'".into(),
                canonical: "'x'::text".into()
            }
        );
        let mut applied = declared.clone();
        lock.apply(&mut applied).unwrap();
        assert_eq!(applied, canonical);
        assert_eq!(CanonicalLock::from_json(&lock.to_json()).unwrap(), lock);
    }

    #[test]
    fn edited_expression_makes_the_lock_stale() {
        let lock = CanonicalLock::build(
            &schema_with_default("'x'"),
            &schema_with_default("'x'::text"),
            "15",
        )
        .unwrap();
        let mut edited = schema_with_default("'y'");
        let err = lock.apply(&mut edited).unwrap_err();
        assert_eq!(
            err,
            CanonicalError::Stale(vec!["table public.t column status default".into()])
        );
        assert!(err.to_string().contains("run `codegen generate`"));
    }

    #[test]
    fn structural_change_on_the_way_is_a_mismatch() {
        let declared = schema_with_default("'x'");
        let mut canonical = schema_with_default("'x'::text");
        if let Some(t) = canonical.tables.values_mut().next() {
            t.columns[0].nullable = false;
        }
        let err = CanonicalLock::build(&declared, &canonical, "15").unwrap_err();
        let CanonicalError::Mismatch(lines) = err else {
            panic!("expected a mismatch")
        };
        assert_eq!(
            lines,
            vec!["tables.public.t.columns[0].nullable: true != false"]
        );
    }
}
