//! The introspection run: which queries run when, and the state their rows are mapped into.
//!
//! Two rounds of queries: the server version and the list of schemas first (the governed schemas'
//! oids are the parameter of everything else), then every other query at once, pipelined on the
//! connection. Rows are then mapped kind by kind into a [`Builder`], whose maps are keyed by oid so
//! that attaching columns, constraints, indexes… to their parents costs one hash lookup each.

use super::filter::PUBLIC_SCHEMA_DEFAULT_COMMENT;
use super::rows::RowReader;
use super::{
    Filter, IntrospectError, Lane, Q_ACL, Q_BUCKETS, Q_COLLATIONS, Q_COLUMNS, Q_CONSTRAINTS,
    Q_DATABASE, Q_DEFAULT_ACL, Q_EXTENSIONS, Q_FUNCTIONS, Q_INDEX_KEYS, Q_INDEXES, Q_NAMESPACES,
    Q_OTHER, Q_POLICIES, Q_REACH, Q_RELATIONS, Q_TRIGGERS, Q_TYPES, Runner,
};
use crate::model::{
    Attachments, Bucket, CompositeType, Domain, EnumType, Extension, Function, Ident, Index,
    QualifiedName, Schema, SchemaDef, Sequence, Table, Unsupported, View,
};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

/// The oldest `server_version_num` whose catalogs the queries read (`indnullsnotdistinct`).
const MIN_SERVER_VERSION: i32 = 150_000;

/// How a schema takes part in introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NamespaceRole {
    /// Its objects are read into the model.
    Governed,
    /// Supabase's: only what the application attaches to its tables is read.
    Platform,
    /// Not read at all.
    Ignored,
}

/// A schema of the database.
#[derive(Debug, Clone)]
pub(super) struct Namespace {
    /// How it takes part.
    pub role: NamespaceRole,
}

/// An index waiting for its keys and its parent.
#[derive(Debug)]
pub(super) struct PendingIndex {
    /// The table or materialized view it belongs to.
    pub relation: u32,
    /// Its number of key columns (the rest are `INCLUDE` columns).
    pub key_count: i32,
    /// The index.
    pub index: Index,
}

/// Everything read so far, keyed by oid.
pub(super) struct Builder {
    /// Which schemas count (a copy: the builder is moved to the thread that maps rows).
    pub filter: Filter,
    pub namespaces: HashMap<u32, Namespace>,
    pub schemas: HashMap<u32, SchemaDef>,
    pub tables: HashMap<u32, Table>,
    pub views: HashMap<u32, View>,
    pub sequences: HashMap<u32, Sequence>,
    /// Composite types by the oid of their `pg_class` row (`typrelid`), where their attributes
    /// live.
    pub composites: HashMap<u32, CompositeType>,
    pub enums: HashMap<u32, EnumType>,
    pub domains: HashMap<u32, Domain>,
    /// Names of the types above by type oid, for reporting type grants.
    pub type_names: HashMap<u32, String>,
    pub functions: HashMap<u32, Function>,
    /// `(table oid, attnum)` → position in `Table::columns`.
    pub column_slots: HashMap<(u32, i16), usize>,
    /// `(relation oid, attnum)` → name of every column of the tables read (inherited ones
    /// included) and of the governed schemas' relations the model leaves out, for naming the
    /// columns of constraints, which catalog rows give by number.
    pub column_names: HashMap<(u32, i16), Ident>,
    /// `(view oid, attnum)` → column name, for reporting column grants on views.
    pub view_columns: HashMap<(u32, i16), String>,
    /// Indexes that back a constraint (they are the constraint, not an index of their own).
    pub constraint_indexes: HashSet<u32>,
    pub indexes: HashMap<u32, PendingIndex>,
    /// Tables with `REPLICA IDENTITY USING INDEX` whose index is not found yet.
    pub replica_identity_pending: HashSet<u32>,
    pub attached: BTreeMap<QualifiedName, Attachments>,
    pub schema: Schema,
    pub unsupported: Vec<Unsupported>,
}

/// Maps the rows of one catalog query into the builder.
type Reader = fn(&mut Builder, &[Row]) -> Result<(), IntrospectError>;

/// Reads everything, or, with `reach`, every object that is not a relation and only the
/// relations a change to the relations `reach` names can reach ([`reached`]); the caller holds
/// the snapshot transaction.
pub(super) async fn load(
    runner: &Runner<'_>,
    filter: &Filter,
    reach: Option<&[String]>,
) -> Result<(Schema, Vec<Unsupported>, String), IntrospectError> {
    let (database, namespaces, reached) = tokio::try_join!(
        runner.run(&Q_DATABASE, &[]),
        runner.run(&Q_NAMESPACES, &[]),
        reached(runner, reach)
    )?;
    let (has_buckets, server_version) = check_server(&database)?;
    let mut b = Builder::new(filter);
    b.read_namespaces(&namespaces)?;
    let governed = b.namespace_oids(NamespaceRole::Governed);
    let platform = b.namespace_oids(NamespaceRole::Platform);
    let g: (&(dyn ToSql + Sync), Type) = (&governed, Type::OID_ARRAY);
    let p: (&(dyn ToSql + Sync), Type) = (&platform, Type::OID_ARRAY);
    // NULL: every relation.
    let r: (&(dyn ToSql + Sync), Type) = (&reached, Type::OID_ARRAY);
    let by_governed = [g.clone()];
    let relations_of_governed = [g.clone(), r.clone()];
    let relations_of_both = [g, p, r];
    // Every other query is sent at once (pipelined on its session) and the results are taken in
    // the order they are mapped in, each as soon as it has arrived, while the server still works
    // on the later ones. Order matters: parents before children (relations before columns,
    // constraints before indexes, indexes before their keys), and grants last, when every object
    // exists. With a second session (`introspect_parallel`) the heaviest queries are split
    // between the two so that each server process does about half of the work (measured per
    // query: BENCHMARKS.md, "Where the time goes").
    let mut order = vec![
        (
            Lane::First,
            &Q_EXTENSIONS,
            &[][..],
            Builder::read_extensions as Reader,
        ),
        (
            Lane::First,
            &Q_COLLATIONS,
            &by_governed[..],
            Builder::read_collations as Reader,
        ),
        (
            Lane::First,
            &Q_TYPES,
            &by_governed[..],
            Builder::read_types as Reader,
        ),
        (
            Lane::Second,
            &Q_RELATIONS,
            &relations_of_governed[..],
            Builder::read_relations as Reader,
        ),
        (
            Lane::First,
            &Q_COLUMNS,
            &relations_of_governed[..],
            Builder::read_columns as Reader,
        ),
        (
            Lane::First,
            &Q_CONSTRAINTS,
            &relations_of_governed[..],
            Builder::read_constraints as Reader,
        ),
        (
            Lane::Second,
            &Q_INDEXES,
            &relations_of_governed[..],
            Builder::read_indexes as Reader,
        ),
        (
            Lane::Second,
            &Q_INDEX_KEYS,
            &relations_of_governed[..],
            Builder::read_index_keys as Reader,
        ),
        (
            Lane::Second,
            &Q_TRIGGERS,
            &relations_of_both[..],
            Builder::read_triggers as Reader,
        ),
        (
            Lane::Second,
            &Q_POLICIES,
            &relations_of_both[..],
            Builder::read_policies as Reader,
        ),
        (
            Lane::First,
            &Q_FUNCTIONS,
            &by_governed[..],
            Builder::read_functions as Reader,
        ),
        (
            Lane::First,
            &Q_ACL,
            &relations_of_governed[..],
            Builder::read_acl as Reader,
        ),
        (
            Lane::Second,
            &Q_DEFAULT_ACL,
            &[][..],
            Builder::read_default_acl as Reader,
        ),
        (
            Lane::First,
            &Q_OTHER,
            &by_governed[..],
            Builder::read_other as Reader,
        ),
    ];
    if has_buckets {
        order.push((
            Lane::First,
            &Q_BUCKETS,
            &[][..],
            Builder::read_buckets as Reader,
        ));
    }
    let mut results: FuturesOrdered<_> = order
        .iter()
        .map(|(lane, query, params, _)| runner.run_on(*lane, query, params))
        .collect();
    // The rows are mapped on a thread of their own, in order, while this task keeps receiving
    // the later results (the driver stops reading a session while a received result waits to be
    // taken, so mapping here would hold the sessions up).
    let (send, receive) = std::sync::mpsc::channel::<(Reader, Vec<Row>)>();
    let mapper = tokio::task::spawn_blocking(move || {
        for (read, rows) in receive {
            read(&mut b, &rows)?;
        }
        Ok::<_, IntrospectError>(b)
    });
    let mut received = Ok(());
    for (_, query, _, read) in &order {
        let rows = match results.next().await {
            Some(Ok(rows)) => rows,
            Some(Err(e)) => {
                received = Err(e);
                break;
            }
            None => {
                received = Err(IntrospectError::Row {
                    query: query.name,
                    object: "the result".into(),
                    message: "missing".into(),
                });
                break;
            }
        };
        if send.send((*read, rows)).is_err() {
            // The mapper stopped at an error of its own: it is reported below.
            break;
        }
    }
    drop(send);
    let mapped = mapper.await.map_err(|e| IntrospectError::Row {
        query: "(mapping)",
        object: "the catalog rows".into(),
        message: format!("the mapping thread stopped: {e}"),
    })?;
    received?;
    let b = mapped?;
    let (schema, unsupported) = b.finish();
    Ok((schema, unsupported, server_version))
}

/// The oids of the tables, views and foreign tables a change to the relations `reach` names
/// (qualified, quoted where needed) can reach, from the server's own dependency records
/// (`queries/reach.sql`); `None` without `reach` (every relation is read).
async fn reached(
    runner: &Runner<'_>,
    reach: Option<&[String]>,
) -> Result<Option<Vec<u32>>, IntrospectError> {
    let Some(names) = reach else {
        return Ok(None);
    };
    let names = names.to_vec();
    let rows = runner.run(&Q_REACH, &[(&names, Type::TEXT_ARRAY)]).await?;
    let mut oids = Vec::new();
    for row in &rows {
        let r = RowReader::new(&Q_REACH, row);
        oids.push(r.get::<u32>("oid")?);
    }
    Ok(Some(oids))
}

/// Checks the server version; returns whether `storage.buckets` exists and `server_version`.
fn check_server(rows: &[Row]) -> Result<(bool, String), IntrospectError> {
    let row = rows.first().ok_or_else(|| IntrospectError::Row {
        query: Q_DATABASE.name,
        object: "the database".into(),
        message: "no row".into(),
    })?;
    let mut r = RowReader::new(&Q_DATABASE, row);
    r.describe("the database");
    let version: i32 = r.get("server_version_num")?;
    if version < MIN_SERVER_VERSION {
        return Err(IntrospectError::UnsupportedServer {
            version: r.get("server_version")?,
        });
    }
    let has_buckets: bool = r.get("has_storage_buckets")?;
    // Rows hidden by a policy would read as buckets that do not exist: refuse instead.
    if has_buckets && r.get::<bool>("storage_buckets_hidden")? {
        return Err(IntrospectError::RowsHidden {
            table: "storage.buckets".into(),
            role: r.get("role")?,
        });
    }
    Ok((has_buckets, r.get("server_version")?))
}

impl Builder {
    fn new(filter: &Filter) -> Self {
        Builder {
            filter: filter.clone(),
            namespaces: HashMap::new(),
            schemas: HashMap::new(),
            tables: HashMap::new(),
            views: HashMap::new(),
            sequences: HashMap::new(),
            composites: HashMap::new(),
            enums: HashMap::new(),
            domains: HashMap::new(),
            type_names: HashMap::new(),
            functions: HashMap::new(),
            column_slots: HashMap::new(),
            column_names: HashMap::new(),
            view_columns: HashMap::new(),
            constraint_indexes: HashSet::new(),
            indexes: HashMap::new(),
            replica_identity_pending: HashSet::new(),
            attached: BTreeMap::new(),
            schema: Schema::default(),
            unsupported: Vec::new(),
        }
    }

    /// Records an object the model cannot represent.
    pub(super) fn unsupported(
        &mut self,
        kind: &str,
        name: impl ToString,
        reason: impl Into<String>,
    ) {
        self.unsupported.push(item(kind, name, reason));
    }

    /// The role of the schema with oid `oid` (`Ignored` when unknown).
    pub(super) fn role(&self, oid: u32) -> NamespaceRole {
        self.namespaces
            .get(&oid)
            .map_or(NamespaceRole::Ignored, |n| n.role)
    }

    fn namespace_oids(&self, role: NamespaceRole) -> Vec<u32> {
        let mut oids: Vec<u32> = self
            .namespaces
            .iter()
            .filter(|(_, n)| n.role == role)
            .map(|(oid, _)| *oid)
            .collect();
        oids.sort_unstable();
        oids
    }

    fn read_namespaces(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_NAMESPACES, row);
            let name: String = r.get("name")?;
            r.describe(format!("schema {name}"));
            let oid: u32 = r.get("oid")?;
            let role = if r.get::<bool>("extension_member")? {
                NamespaceRole::Ignored
            } else if self.filter.governs(&name) {
                NamespaceRole::Governed
            } else if self.filter.is_platform_schema(&name) {
                NamespaceRole::Platform
            } else {
                NamespaceRole::Ignored
            };
            if role == NamespaceRole::Governed {
                let mut comment: Option<String> = r.get("comment")?;
                if name == "public" && comment.as_deref() == Some(PUBLIC_SCHEMA_DEFAULT_COMMENT) {
                    comment = None;
                }
                self.schemas.insert(
                    oid,
                    SchemaDef {
                        name: Ident::new(name.clone()),
                        grants: BTreeSet::new(),
                        comment,
                    },
                );
            }
            self.namespaces.insert(oid, Namespace { role });
        }
        Ok(())
    }

    fn read_extensions(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_EXTENSIONS, row);
            let name: String = r.get("name")?;
            r.describe(format!("extension {name}"));
            let schema: String = r.get("schema")?;
            if !self.filter.governs_extension(&name, &schema) {
                continue;
            }
            let comment: Option<String> = r.get("comment")?;
            let default_comment: Option<String> = r.get("default_comment")?;
            let comment = comment.filter(|c| Some(c) != default_comment.as_ref());
            self.schema.extensions.insert(
                Ident::new(name.clone()),
                Extension {
                    name: Ident::new(name),
                    schema: Ident::new(schema),
                    version: Some(r.get("version")?),
                    comment,
                },
            );
        }
        Ok(())
    }

    fn read_other(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_OTHER, row);
            let kind: String = r.get("kind")?;
            let name: String = r.get("name")?;
            r.describe(format!("{kind} {name}"));
            let reason: String = r.get("reason")?;
            if kind == "publication" {
                let has_tables: bool = r.get("has_governed_tables")?;
                let bare = crate::model::split_qualified(&name)
                    .and_then(|parts| parts.into_iter().next())
                    .unwrap_or_default();
                if self.filter.is_platform_publication(&bare, has_tables) {
                    continue;
                }
            }
            if kind == "event trigger" && self.filter.supabase {
                // Supabase's own event triggers (pg_graphql, pg_net, pg_cron access hooks) run
                // functions in its schemas.
                let function_namespace: Option<u32> = r.get("function_namespace")?;
                if function_namespace.is_some_and(|oid| self.role(oid) != NamespaceRole::Governed) {
                    continue;
                }
            }
            self.unsupported(&kind, name, reason);
        }
        Ok(())
    }

    fn read_buckets(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let r = RowReader::new(&Q_BUCKETS, row);
            let text: String = r.get("bucket")?;
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| r.error(format!("bucket JSON: {e}")))?;
            let bucket = bucket_from_json(&value).map_err(|m| r.error(m))?;
            self.schema.buckets.insert(bucket.id.clone(), bucket);
        }
        Ok(())
    }

    /// Moves everything into the model, in its canonical order.
    fn finish(mut self) -> (Schema, Vec<Unsupported>) {
        for (_, mut def) in std::mem::take(&mut self.schemas) {
            if def.name.as_str() == "public" {
                let filter = &self.filter;
                def.grants
                    .retain(|g| !filter.is_default_public_schema_grant(g));
                if def.grants.is_empty() && def.comment.is_none() {
                    continue;
                }
            }
            self.schema.schemas.insert(def.name.clone(), def);
        }
        for (_, pending) in std::mem::take(&mut self.indexes) {
            if let Some(table) = self.tables.get_mut(&pending.relation) {
                table.indexes.push(pending.index);
            } else if let Some(view) = self.views.get_mut(&pending.relation) {
                view.indexes.push(pending.index);
            }
        }
        for (_, mut table) in std::mem::take(&mut self.tables) {
            // The migrator's history table is bookkeeping, not part of the application's
            // schema (the migrations do not create it; `migrate` does).
            if table.name.name.as_str() == crate::migrate::HISTORY_TABLE {
                continue;
            }
            table.sort_children();
            self.schema.tables.insert(table.name.clone(), table);
        }
        for (_, mut view) in std::mem::take(&mut self.views) {
            view.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            view.triggers.sort_by(|a, b| a.name.cmp(&b.name));
            self.schema.views.insert(view.name.clone(), view);
        }
        for (_, seq) in std::mem::take(&mut self.sequences) {
            self.schema.sequences.insert(seq.name.clone(), seq);
        }
        for (_, c) in std::mem::take(&mut self.composites) {
            self.schema.composites.insert(c.name.clone(), c);
        }
        for (_, e) in std::mem::take(&mut self.enums) {
            self.schema.enums.insert(e.name.clone(), e);
        }
        for (_, mut d) in std::mem::take(&mut self.domains) {
            d.checks.sort_by(|a, b| a.name.cmp(&b.name));
            self.schema.domains.insert(d.name.clone(), d);
        }
        for (_, f) in std::mem::take(&mut self.functions) {
            self.schema.functions.insert(f.id.clone(), f);
        }
        let mut attached = std::mem::take(&mut self.attached);
        for a in attached.values_mut() {
            a.policies.sort_by(|x, y| x.name.cmp(&y.name));
            a.triggers.sort_by(|x, y| x.name.cmp(&y.name));
        }
        self.schema.attached = attached;
        self.schema.default_privileges.sort();
        self.schema.default_privileges.dedup();
        self.unsupported.sort();
        self.unsupported.dedup();
        (self.schema, self.unsupported)
    }
}

/// An object the model cannot represent (for pushing while a field of the builder is borrowed).
pub(super) fn item(kind: &str, name: impl ToString, reason: impl Into<String>) -> Unsupported {
    Unsupported {
        kind: kind.to_owned(),
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// A `storage.buckets` row, as `to_jsonb` gives it.
fn bucket_from_json(value: &serde_json::Value) -> Result<Bucket, String> {
    let text = |key: &str| -> Result<String, String> {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("bucket without a text `{key}`"))
    };
    let id = text("id")?;
    let name = text("name")?;
    let public = match value.get("public") {
        None | Some(serde_json::Value::Null) => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| format!("bucket {id}: `public` is not a boolean"))?,
    };
    let file_size_limit = match value.get("file_size_limit") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| format!("bucket {id}: `file_size_limit` is not an integer"))?,
        ),
    };
    let allowed_mime_types = match value.get("allowed_mime_types") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("bucket {id}: a MIME type is not text"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(format!("bucket {id}: `allowed_mime_types` is not an array")),
    };
    Ok(Bucket {
        id,
        name,
        public,
        file_size_limit,
        allowed_mime_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_read_from_json() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"id":"docs","name":"docs","public":null,"file_size_limit":1024,
                "allowed_mime_types":["image/*"],"owner":null}"#,
        )
        .unwrap();
        let b = bucket_from_json(&v).unwrap();
        assert_eq!(b.id, "docs");
        assert!(!b.public);
        assert_eq!(b.file_size_limit, Some(1024));
        assert_eq!(b.allowed_mime_types, Some(vec!["image/*".to_owned()]));
        let old: serde_json::Value =
            serde_json::from_str(r#"{"id":"a","name":"a","public":true}"#).unwrap();
        let b = bucket_from_json(&old).unwrap();
        assert!(b.public);
        assert_eq!(b.file_size_limit, None);
        assert_eq!(b.allowed_mime_types, None);
        let bad: serde_json::Value =
            serde_json::from_str(r#"{"id":"a","name":"a","file_size_limit":"x"}"#).unwrap();
        assert!(bucket_from_json(&bad).is_err());
    }
}
