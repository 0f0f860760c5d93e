//! The comparison: both schemas flattened into [`Node`]s (one per object, each with its
//! attributes rendered as text), then matched by kind and name.
//!
//! Every object kind of the IR has a node kind, and every attribute that exists in the database
//! is one of its node's attributes, so a difference always names the object and the attribute
//! with the expected and actual values. Children of an object that is missing or unexpected as a
//! whole are not listed again. As a safety net, two top-level objects that are unequal in the
//! model but produced no difference (a field added to the IR after this walk was written) are
//! reported with the path of the field, never passed as equal.

use super::{Change, Difference, ObjectRef};
use crate::model::{
    ArgMode, Bucket, CheckConstraint, Collation, Column, CompositeType, DefaultPrivilege,
    Deferrable, Domain, EnumType, Extension, FkMatch, ForeignKey, Function, FunctionBody,
    FunctionKind, Grant, Ident, Index, IndexColumn, IndexKey, ParallelSafety, PartitionStrategy,
    Policy, PolicyCommand, PrimaryKey, QualifiedName, ReplicaIdentity, Schema, SchemaDef, Sequence,
    Table, Trigger, TriggerFiring, TriggerTiming, UniqueConstraint, View, Volatility,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Display;

/// The text of an absent value.
pub const NONE: &str = "(none)";

/// Ranks of top-level object kinds, for the order of the report (types before the tables that
/// use them, functions after).
const RANK_SCHEMA: u8 = 0;
const RANK_EXTENSION: u8 = 1;
const RANK_COLLATION: u8 = 2;
const RANK_ENUM: u8 = 3;
const RANK_DOMAIN: u8 = 4;
const RANK_COMPOSITE: u8 = 5;
const RANK_SEQUENCE: u8 = 6;
const RANK_TABLE: u8 = 7;
const RANK_VIEW: u8 = 8;
const RANK_FUNCTION: u8 = 9;
const RANK_ATTACHED: u8 = 10;
const RANK_DEFAULT_PRIVILEGE: u8 = 11;
const RANK_BUCKET: u8 = 12;

/// One object of a flattened schema.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The object.
    pub object: ObjectRef,
    /// The key of the object it belongs to (a column's table), if any.
    pub parent: Option<String>,
    /// Its declaration's key in [`crate::parse::Origins`].
    pub origin: String,
    /// The declaration key of the object it is defined on (a table, or `attached <table>`).
    pub owner: Option<String>,
    /// Attributes in a fixed order; an absent attribute is [`NONE`].
    pub attrs: Vec<(String, String)>,
    /// A one-line description for missing and unexpected objects.
    pub summary: Option<String>,
    /// Sort key: top-level kind rank and name, then the child's.
    pub order: (u8, String, u8, String),
}

impl Node {
    fn key(&self) -> String {
        self.object.key()
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Builds the nodes of one schema.
#[derive(Default)]
struct Flattener {
    nodes: Vec<Node>,
}

/// A node under construction.
struct NodeBuilder<'f> {
    f: &'f mut Flattener,
    node: Node,
}

impl NodeBuilder<'_> {
    fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.node.attrs.push((name.into(), value.into()));
        self
    }

    fn opt(self, name: &str, value: Option<impl Display>) -> Self {
        match value {
            Some(v) => self.attr(name, v.to_string()),
            None => self,
        }
    }

    fn comment(self, comment: &Option<String>) -> Self {
        let c = comment.as_deref().map(literal);
        self.opt("comment", c)
    }

    fn grants(mut self, grants: &BTreeSet<Grant>) -> Self {
        for (grantee, list) in grants_by_grantee(grants) {
            self.node.attrs.push((format!("grants to {grantee}"), list));
        }
        self
    }

    fn owner(mut self, okey: &str) -> Self {
        self.node.owner = Some(okey.to_owned());
        self
    }

    fn summary(mut self, summary: impl Into<String>) -> Self {
        self.node.summary = Some(summary.into());
        self
    }

    fn done(self) {
        self.f.nodes.push(self.node);
    }
}

impl Flattener {
    fn node(
        &mut self,
        kind: &'static str,
        name: String,
        origin: String,
        parent: Option<String>,
        order: (u8, String, u8, String),
    ) -> NodeBuilder<'_> {
        NodeBuilder {
            f: self,
            node: Node {
                object: ObjectRef { kind, name },
                owner: parent.clone(),
                parent,
                origin,
                attrs: Vec::new(),
                summary: None,
                order,
            },
        }
    }

    fn top(
        &mut self,
        kind: &'static str,
        rank: u8,
        name: String,
        origin: String,
    ) -> NodeBuilder<'_> {
        let order = (rank, name.clone(), 0, String::new());
        self.node(kind, name, origin, None, order)
    }

    fn schema(&mut self, s: &Schema) {
        for (name, d) in &s.schemas {
            self.schema_def(name, d);
        }
        for (name, e) in &s.extensions {
            self.extension(name, e);
        }
        for (name, c) in &s.collations {
            self.collation(name, c);
        }
        for (name, e) in &s.enums {
            self.enum_type(name, e);
        }
        for (name, d) in &s.domains {
            self.domain(name, d);
        }
        for (name, c) in &s.composites {
            self.composite(name, c);
        }
        for (name, q) in &s.sequences {
            self.sequence(name, q);
        }
        for (name, t) in &s.tables {
            self.table(name, t);
        }
        for (name, v) in &s.views {
            self.view(name, v);
        }
        for f in s.functions.values() {
            self.function(f);
        }
        for (name, a) in &s.attached {
            let origin = format!("attached {name}");
            let order =
                |rank: u8, n: &Ident| (RANK_ATTACHED, name.to_string(), rank, n.to_string());
            for t in &a.triggers {
                self.trigger(name, &origin, None, order(4, &t.name), t);
            }
            for p in &a.policies {
                self.policy(name, &origin, None, order(5, &p.name), p);
            }
        }
        for d in &s.default_privileges {
            self.default_privilege(d);
        }
        for (id, b) in &s.buckets {
            self.bucket(id, b);
        }
    }

    fn schema_def(&mut self, name: &Ident, d: &SchemaDef) {
        self.top(
            "schema",
            RANK_SCHEMA,
            name.to_string(),
            format!("schema {name}"),
        )
        .grants(&d.grants)
        .comment(&d.comment)
        .done();
    }

    fn extension(&mut self, name: &Ident, e: &Extension) {
        self.top(
            "extension",
            RANK_EXTENSION,
            name.to_string(),
            format!("extension {name}"),
        )
        .attr("schema", e.schema.to_string())
        .opt("version", e.version.as_deref())
        .comment(&e.comment)
        .summary(format!("in schema {}", e.schema))
        .done();
    }

    fn collation(&mut self, name: &QualifiedName, c: &Collation) {
        self.top(
            "collation",
            RANK_COLLATION,
            name.to_string(),
            format!("collation {name}"),
        )
        .attr("provider", c.provider.clone())
        .opt("locale", c.locale.as_deref())
        .opt("lc_ctype", c.lc_ctype.as_deref())
        .attr("deterministic", yes_no(c.deterministic))
        .comment(&c.comment)
        .done();
    }

    fn enum_type(&mut self, name: &QualifiedName, e: &EnumType) {
        let labels = labels(&e.labels);
        self.top("enum", RANK_ENUM, name.to_string(), format!("enum {name}"))
            .attr("labels", labels.clone())
            .comment(&e.comment)
            .summary(format!("labels {labels}"))
            .done();
    }

    fn domain(&mut self, name: &QualifiedName, d: &Domain) {
        let key = format!("domain {name}");
        self.top("domain", RANK_DOMAIN, name.to_string(), key.clone())
            .attr("type", d.base.to_string())
            .opt("collation", d.collation.as_ref())
            .opt("default", d.default.as_ref())
            .attr("nullable", nullable(!d.not_null))
            .comment(&d.comment)
            .summary(d.base.to_string())
            .done();
        for c in &d.checks {
            let order = (RANK_DOMAIN, name.to_string(), 1, c.name.to_string());
            self.check(name, &key, Some(key.clone()), order, c);
        }
    }

    fn composite(&mut self, name: &QualifiedName, c: &CompositeType) {
        let attributes = c
            .attributes
            .iter()
            .map(|a| {
                let mut s = format!("{} {}", a.name, a.ty);
                if let Some(coll) = &a.collation {
                    s.push_str(&format!(" COLLATE {coll}"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.top(
            "composite type",
            RANK_COMPOSITE,
            name.to_string(),
            format!("composite {name}"),
        )
        .attr("attributes", format!("({attributes})"))
        .comment(&c.comment)
        .summary(format!("({attributes})"))
        .done();
    }

    fn sequence(&mut self, name: &QualifiedName, q: &Sequence) {
        self.top(
            "sequence",
            RANK_SEQUENCE,
            name.to_string(),
            format!("sequence {name}"),
        )
        .attr("type", q.data_type.to_string())
        .attr("start", q.start.to_string())
        .attr("increment", q.increment.to_string())
        .attr("minvalue", q.min_value.to_string())
        .attr("maxvalue", q.max_value.to_string())
        .attr("cache", q.cache.to_string())
        .attr("cycle", yes_no(q.cycle))
        .opt(
            "owned by",
            q.owned_by.as_ref().map(|(t, c)| format!("{t}.{c}")),
        )
        .grants(&q.grants)
        .comment(&q.comment)
        .summary(q.data_type.to_string())
        .done();
    }

    fn table(&mut self, name: &QualifiedName, t: &Table) {
        let key = format!("table {name}");
        let tname = name.to_string();
        let columns = t
            .columns
            .iter()
            .map(|c| c.name.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        self.top("table", RANK_TABLE, tname.clone(), key.clone())
            .opt(
                "partition by",
                t.partitioned_by
                    .as_ref()
                    .map(|p| format!("{} ({})", strategy(p.strategy), p.key)),
            )
            .opt(
                "partition of",
                t.partition_of
                    .as_ref()
                    .map(|p| format!("{} {}", p.parent, p.bound)),
            )
            .opt(
                "inherits",
                (!t.inherits.is_empty()).then(|| join(&t.inherits)),
            )
            .attr("unlogged", yes_no(t.unlogged))
            .opt(
                "options",
                (!t.options.is_empty()).then(|| t.options.join(", ")),
            )
            .attr("replica identity", replica_identity(&t.replica_identity))
            .attr("row level security", enabled(t.row_security.enabled))
            .attr("force row level security", enabled(t.row_security.forced))
            .grants(&t.grants)
            .comment(&t.comment)
            .summary(format!("({columns})"))
            .done();
        let child = |rank: u8, n: &str| (RANK_TABLE, tname.clone(), rank, n.to_owned());
        for c in &t.columns {
            self.column(name, &key, child(1, c.name.as_str()), c);
        }
        if let Some(pk) = &t.primary_key {
            self.primary_key(name, &key, child(2, pk.name.as_str()), pk);
        }
        for u in &t.uniques {
            self.unique(name, &key, child(2, u.name.as_str()), u);
        }
        for c in &t.checks {
            self.check(name, &key, Some(key.clone()), child(2, c.name.as_str()), c);
        }
        for fk in &t.foreign_keys {
            self.foreign_key(name, &key, child(2, fk.name.as_str()), fk);
        }
        for x in &t.exclusions {
            let n = format!("{name}.{}", x.name);
            self.node(
                "exclusion constraint",
                n,
                format!("{key} exclusion {}", x.name),
                Some(key.clone()),
                child(2, x.name.as_str()),
            )
            .attr("definition", x.definition.to_string())
            .attr("deferrable", deferrable(x.deferrable))
            .comment(&x.comment)
            .summary(x.definition.to_string())
            .done();
        }
        for i in &t.indexes {
            self.index(name, &key, child(3, i.name.as_str()), i);
        }
        for tr in &t.triggers {
            self.trigger(
                name,
                &key,
                Some(key.clone()),
                child(4, tr.name.as_str()),
                tr,
            );
        }
        for p in &t.policies {
            self.policy(name, &key, Some(key.clone()), child(5, p.name.as_str()), p);
        }
    }

    fn column(
        &mut self,
        table: &QualifiedName,
        tkey: &str,
        order: (u8, String, u8, String),
        c: &Column,
    ) {
        let mut summary = c.ty.to_string();
        if !c.nullable {
            summary.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            summary.push_str(&format!(" DEFAULT {d}"));
        }
        self.node(
            "column",
            format!("{table}.{}", c.name),
            format!("{tkey} column {}", c.name),
            Some(tkey.to_owned()),
            order,
        )
        .attr("type", c.ty.to_string())
        .attr("nullable", nullable(c.nullable))
        .opt("default", c.default.as_ref())
        .opt(
            "identity",
            c.identity.as_ref().map(|i| {
                format!(
                    "GENERATED {} AS IDENTITY (START WITH {} INCREMENT BY {} MINVALUE {} MAXVALUE {} CACHE {}{})",
                    if i.always { "ALWAYS" } else { "BY DEFAULT" },
                    i.start,
                    i.increment,
                    i.min_value,
                    i.max_value,
                    i.cache,
                    if i.cycle { " CYCLE" } else { "" }
                )
            }),
        )
        .opt(
            "generated",
            c.generated
                .as_ref()
                .map(|g| format!("GENERATED ALWAYS AS ({g}) STORED")),
        )
        .opt("collation", c.collation.as_ref())
        .grants(&c.grants)
        .comment(&c.comment)
        .summary(summary)
        .done();
    }

    fn primary_key(
        &mut self,
        table: &QualifiedName,
        tkey: &str,
        order: (u8, String, u8, String),
        pk: &PrimaryKey,
    ) {
        let columns = format!("({})", join(&pk.columns));
        self.node(
            "primary key",
            format!("{table}.{}", pk.name),
            format!("{tkey} primary key"),
            Some(tkey.to_owned()),
            order,
        )
        .attr("columns", columns.clone())
        .opt(
            "include",
            (!pk.include.is_empty()).then(|| format!("({})", join(&pk.include))),
        )
        .attr("deferrable", deferrable(pk.deferrable))
        .comment(&pk.comment)
        .summary(format!("PRIMARY KEY {columns}"))
        .done();
    }

    fn unique(
        &mut self,
        table: &QualifiedName,
        tkey: &str,
        order: (u8, String, u8, String),
        u: &UniqueConstraint,
    ) {
        let columns = format!("({})", join(&u.columns));
        self.node(
            "unique constraint",
            format!("{table}.{}", u.name),
            format!("{tkey} unique {}", u.name),
            Some(tkey.to_owned()),
            order,
        )
        .attr("columns", columns.clone())
        .attr("nulls not distinct", yes_no(u.nulls_not_distinct))
        .opt(
            "include",
            (!u.include.is_empty()).then(|| format!("({})", join(&u.include))),
        )
        .attr("deferrable", deferrable(u.deferrable))
        .comment(&u.comment)
        .summary(format!("UNIQUE {columns}"))
        .done();
    }

    fn check(
        &mut self,
        owner: &QualifiedName,
        okey: &str,
        parent: Option<String>,
        order: (u8, String, u8, String),
        c: &CheckConstraint,
    ) {
        self.node(
            "check constraint",
            format!("{owner}.{}", c.name),
            format!("{okey} check {}", c.name),
            parent,
            order,
        )
        .owner(okey)
        .attr("expression", c.expr.to_string())
        .attr("no inherit", yes_no(c.no_inherit))
        .attr("validated", yes_no(!c.not_valid))
        .comment(&c.comment)
        .summary(format!("CHECK ({})", c.expr))
        .done();
    }

    fn foreign_key(
        &mut self,
        table: &QualifiedName,
        tkey: &str,
        order: (u8, String, u8, String),
        fk: &ForeignKey,
    ) {
        let columns = format!("({})", join(&fk.columns));
        let references = format!("{}({})", fk.references, join(&fk.referenced_columns));
        self.node(
            "foreign key",
            format!("{table}.{}", fk.name),
            format!("{tkey} foreign key {}", fk.name),
            Some(tkey.to_owned()),
            order,
        )
        .attr("columns", columns.clone())
        .attr("references", references.clone())
        .attr("on delete", fk.on_delete.sql())
        .attr("on update", fk.on_update.sql())
        .attr(
            "match",
            match fk.match_type {
                FkMatch::Simple => "SIMPLE",
                FkMatch::Full => "FULL",
            },
        )
        .attr("deferrable", deferrable(fk.deferrable))
        .attr("validated", yes_no(!fk.not_valid))
        .comment(&fk.comment)
        .summary(format!(
            "FOREIGN KEY {columns} REFERENCES {references} ON DELETE {}",
            fk.on_delete.sql()
        ))
        .done();
    }

    fn index(
        &mut self,
        owner: &QualifiedName,
        okey: &str,
        order: (u8, String, u8, String),
        i: &Index,
    ) {
        let keys = format!(
            "({})",
            i.keys.iter().map(index_key).collect::<Vec<_>>().join(", ")
        );
        let mut summary = format!(
            "{}USING {} {keys}",
            if i.unique { "UNIQUE " } else { "" },
            i.method
        );
        if let Some(p) = &i.predicate {
            summary.push_str(&format!(" WHERE {p}"));
        }
        self.node(
            "index",
            format!("{owner}.{}", i.name),
            format!("{okey} index {}", i.name),
            Some(okey.to_owned()),
            order,
        )
        .attr("unique", yes_no(i.unique))
        .attr("nulls not distinct", yes_no(i.nulls_not_distinct))
        .attr("method", i.method.clone())
        .attr("keys", keys)
        .opt(
            "include",
            (!i.include.is_empty()).then(|| format!("({})", join(&i.include))),
        )
        .opt("predicate", i.predicate.as_ref())
        .opt(
            "options",
            (!i.options.is_empty()).then(|| i.options.join(", ")),
        )
        .comment(&i.comment)
        .summary(summary)
        .done();
    }

    fn trigger(
        &mut self,
        owner: &QualifiedName,
        okey: &str,
        parent: Option<String>,
        order: (u8, String, u8, String),
        t: &Trigger,
    ) {
        let timing = match t.timing {
            TriggerTiming::Before => "BEFORE",
            TriggerTiming::After => "AFTER",
            TriggerTiming::InsteadOf => "INSTEAD OF",
        };
        let events = trigger_events(t);
        let for_each = if t.for_each_row { "ROW" } else { "STATEMENT" };
        self.node(
            "trigger",
            format!("{owner}.{}", t.name),
            format!("{okey} trigger {}", t.name),
            parent,
            order,
        )
        .owner(okey)
        .attr("timing", timing)
        .attr("events", events.clone())
        .attr("for each", for_each)
        .opt("when", t.when.as_ref())
        .attr("function", t.function.to_string())
        .opt(
            "arguments",
            (!t.args.is_empty()).then(|| {
                t.args
                    .iter()
                    .map(|a| literal(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
        )
        .opt("constraint trigger", t.constraint.map(deferrable))
        .opt("referencing old table", t.old_table.as_ref())
        .opt("referencing new table", t.new_table.as_ref())
        .attr(
            "enabled",
            match t.firing {
                TriggerFiring::Origin => "enabled",
                TriggerFiring::Disabled => "disabled",
                TriggerFiring::Replica => "replica",
                TriggerFiring::Always => "always",
            },
        )
        .comment(&t.comment)
        .summary(format!(
            "{timing} {events} FOR EACH {for_each} EXECUTE FUNCTION {}()",
            t.function
        ))
        .done();
    }

    fn policy(
        &mut self,
        owner: &QualifiedName,
        okey: &str,
        parent: Option<String>,
        order: (u8, String, u8, String),
        p: &Policy,
    ) {
        let roles = join(&p.roles);
        self.node(
            "policy",
            format!("{owner}.{}", p.name),
            format!("{okey} policy {}", p.name),
            parent,
            order,
        )
        .owner(okey)
        .attr("command", command(p.command))
        .attr(
            "as",
            if p.permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            },
        )
        .attr("roles", roles.clone())
        .opt("using", p.using.as_ref())
        .opt("with check", p.with_check.as_ref())
        .comment(&p.comment)
        .summary(format!("FOR {} TO {roles}", command(p.command)))
        .done();
    }

    fn view(&mut self, name: &QualifiedName, v: &View) {
        let key = format!("view {name}");
        let vname = name.to_string();
        let mut b = self
            .top("view", RANK_VIEW, vname.clone(), key.clone())
            .attr("materialized", yes_no(v.materialized))
            .attr("definition", v.definition.to_string())
            .opt(
                "options",
                (!v.options.is_empty()).then(|| v.options.join(", ")),
            )
            .grants(&v.grants)
            .comment(&v.comment);
        for (column, comment) in &v.column_comments {
            b = b.attr(format!("comment on column {column}"), literal(comment));
        }
        b.summary(if v.materialized {
            "materialized view"
        } else {
            "view"
        })
        .done();
        for i in &v.indexes {
            let order = (RANK_VIEW, vname.clone(), 3, i.name.to_string());
            self.index(name, &key, order, i);
        }
        for t in &v.triggers {
            let order = (RANK_VIEW, vname.clone(), 4, t.name.to_string());
            self.trigger(name, &key, Some(key.clone()), order, t);
        }
    }

    fn function(&mut self, f: &Function) {
        let id = f.id.to_string();
        let arguments = f
            .args
            .iter()
            .map(|a| {
                let mode = match a.mode {
                    ArgMode::In => "",
                    ArgMode::Out => "OUT ",
                    ArgMode::InOut => "INOUT ",
                    ArgMode::Variadic => "VARIADIC ",
                    ArgMode::Table => "TABLE ",
                };
                let mut s = String::from(mode);
                if let Some(n) = &a.name {
                    s.push_str(&format!("{n} "));
                }
                s.push_str(&a.ty.to_string());
                if let Some(d) = &a.default {
                    s.push_str(&format!(" DEFAULT {d}"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", ");
        let returns = f
            .returns
            .as_ref()
            .map(|r| format!("{}{}", if r.setof { "SETOF " } else { "" }, r.ty));
        let body = match &f.body {
            FunctionBody::Source(s) => s.clone(),
            FunctionBody::Atomic(e) => e.to_string(),
        };
        self.top(
            "function",
            RANK_FUNCTION,
            id.clone(),
            format!("function {id}"),
        )
        .attr(
            "kind",
            match f.kind {
                FunctionKind::Function => "function",
                FunctionKind::Procedure => "procedure",
            },
        )
        .attr("arguments", format!("({arguments})"))
        .opt("returns", returns.clone())
        .attr("language", f.language.clone())
        .attr("body", body)
        .attr(
            "volatility",
            match f.volatility {
                Volatility::Immutable => "IMMUTABLE",
                Volatility::Stable => "STABLE",
                Volatility::Volatile => "VOLATILE",
            },
        )
        .attr("strict", yes_no(f.strict))
        .attr(
            "security",
            if f.security_definer {
                "DEFINER"
            } else {
                "INVOKER"
            },
        )
        .attr("leakproof", yes_no(f.leakproof))
        .attr(
            "parallel",
            match f.parallel {
                ParallelSafety::Unsafe => "UNSAFE",
                ParallelSafety::Restricted => "RESTRICTED",
                ParallelSafety::Safe => "SAFE",
            },
        )
        .attr("cost", f.cost.to_string())
        .attr("rows", f.rows.to_string())
        .opt(
            "settings",
            (!f.config.is_empty()).then(|| f.config.join(", ")),
        )
        .grants(&f.grants)
        .attr("execute by public", yes_no(f.public_execute))
        .comment(&f.comment)
        .summary(match returns {
            Some(r) => format!("({arguments}) RETURNS {r} LANGUAGE {}", f.language),
            None => format!("({arguments}) LANGUAGE {}", f.language),
        })
        .done();
    }

    fn default_privilege(&mut self, d: &DefaultPrivilege) {
        let name = default_privilege_name(d);
        self.top(
            "default privilege",
            RANK_DEFAULT_PRIVILEGE,
            name.clone(),
            format!("default privilege {name}"),
        )
        .done();
    }

    fn bucket(&mut self, id: &str, b: &Bucket) {
        let mime = b
            .allowed_mime_types
            .as_ref()
            .map(|m| m.iter().map(|t| literal(t)).collect::<Vec<_>>().join(", "));
        self.top("bucket", RANK_BUCKET, id.to_owned(), format!("bucket {id}"))
            .attr("name", b.name.clone())
            .attr("public", yes_no(b.public))
            .opt("file size limit", b.file_size_limit)
            .opt("allowed MIME types", mime)
            .summary(if b.public { "public" } else { "private" })
            .done();
    }
}

/// `FOR ROLE r IN SCHEMA s GRANT p ON TABLES TO g`: the whole entry is its name.
pub(crate) fn default_privilege_name(d: &DefaultPrivilege) -> String {
    let mut s = format!("FOR ROLE {}", d.for_role);
    if let Some(schema) = &d.schema {
        s.push_str(&format!(" IN SCHEMA {schema}"));
    }
    s.push_str(&format!(
        " GRANT {} ON {} TO {}",
        d.grant.privilege.sql(),
        d.objects.sql(),
        d.grant.grantee
    ));
    if d.grant.with_grant_option {
        s.push_str(" WITH GRANT OPTION");
    }
    s
}

fn trigger_events(t: &Trigger) -> String {
    let mut events = Vec::new();
    if t.events.insert {
        events.push("INSERT".to_owned());
    }
    if t.events.update {
        if t.events.update_columns.is_empty() {
            events.push("UPDATE".to_owned());
        } else {
            events.push(format!("UPDATE OF {}", join(&t.events.update_columns)));
        }
    }
    if t.events.delete {
        events.push("DELETE".to_owned());
    }
    if t.events.truncate {
        events.push("TRUNCATE".to_owned());
    }
    events.join(" OR ")
}

fn index_key(k: &IndexColumn) -> String {
    let mut s = match &k.key {
        IndexKey::Column(c) => c.to_string(),
        IndexKey::Expr(e) => format!("({e})"),
    };
    if let Some(c) = &k.collation {
        s.push_str(&format!(" COLLATE {c}"));
    }
    if let Some(o) = &k.opclass {
        s.push_str(&format!(" {o}"));
    }
    if k.descending {
        s.push_str(" DESC");
    }
    // NULLS LAST is the default for ASC, NULLS FIRST for DESC: only the other one is shown.
    if k.nulls_first != k.descending {
        s.push_str(if k.nulls_first {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        });
    }
    s
}

/// Grants grouped by grantee: `anon` → `SELECT, INSERT`.
fn grants_by_grantee(grants: &BTreeSet<Grant>) -> BTreeMap<String, String> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in grants {
        let mut p = g.privilege.sql().to_owned();
        if g.with_grant_option {
            p.push_str(" WITH GRANT OPTION");
        }
        by.entry(g.grantee.to_string()).or_default().push(p);
    }
    by.into_iter().map(|(k, v)| (k, v.join(", "))).collect()
}

fn join<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn labels(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| literal(l))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A SQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn enabled(b: bool) -> &'static str {
    if b { "enabled" } else { "disabled" }
}

fn nullable(b: bool) -> &'static str {
    if b { "NULL" } else { "NOT NULL" }
}

fn deferrable(d: Deferrable) -> &'static str {
    match d {
        Deferrable::No => "NOT DEFERRABLE",
        Deferrable::InitiallyImmediate => "DEFERRABLE INITIALLY IMMEDIATE",
        Deferrable::InitiallyDeferred => "DEFERRABLE INITIALLY DEFERRED",
    }
}

fn strategy(s: PartitionStrategy) -> &'static str {
    s.sql()
}

fn command(c: PolicyCommand) -> &'static str {
    c.sql()
}

fn replica_identity(r: &ReplicaIdentity) -> String {
    match r {
        ReplicaIdentity::Default => "DEFAULT".to_owned(),
        ReplicaIdentity::Full => "FULL".to_owned(),
        ReplicaIdentity::Nothing => "NOTHING".to_owned(),
        ReplicaIdentity::Index(i) => format!("USING INDEX {i}"),
    }
}

/// Every object of `schema` as a node, in the report's order.
pub(crate) fn flatten(schema: &Schema) -> Vec<Node> {
    let mut f = Flattener::default();
    f.schema(schema);
    f.nodes
}

/// The differences between the declared schema and the live one (both as `database_view()`,
/// both already normalised: see `super::normalize`).
pub fn compare(declared: &Schema, live: &Schema) -> Vec<Difference> {
    // Every object is flattened on its own, so an object equal on both sides yields the same
    // nodes on both and no difference: only the rest is flattened and compared (on a clean
    // database, nothing). What follows would find the same differences on the whole schemas.
    let (mut declared, mut live) = unequal_parts(declared, live);
    // Schema `public` always exists; the model lists it only when it carries grants or a
    // comment, so on one side it stands for "public with nothing of the application's".
    let public = Ident::new("public");
    let empty_public = SchemaDef {
        name: public.clone(),
        grants: BTreeSet::new(),
        comment: None,
    };
    match (
        declared.schemas.contains_key(&public),
        live.schemas.contains_key(&public),
    ) {
        (true, false) => {
            live.schemas.insert(public, empty_public);
        }
        (false, true) => {
            declared.schemas.insert(public, empty_public);
        }
        _ => {}
    }
    let declared = &declared;
    // An extension declared without a version accepts whatever version is installed.
    for (name, e) in &declared.extensions {
        if e.version.is_none()
            && let Some(l) = live.extensions.get_mut(name)
        {
            l.version = None;
        }
    }
    let d_nodes = flatten(declared);
    let l_nodes = flatten(&live);
    let d_keys: HashMap<String, &Node> = d_nodes.iter().map(|n| (n.key(), n)).collect();
    let l_keys: HashMap<String, &Node> = l_nodes.iter().map(|n| (n.key(), n)).collect();
    let mut found: Vec<(&Node, Difference)> = Vec::new();
    for d in &d_nodes {
        // A child of an object missing as a whole is not listed again.
        if d.parent.as_ref().is_some_and(|p| !l_keys.contains_key(p)) {
            continue;
        }
        match l_keys.get(&d.key()) {
            None => found.push((d, difference(d, Change::Missing))),
            Some(l) => {
                for (attribute, expected, actual) in changed_attrs(d, l) {
                    found.push((
                        d,
                        difference(
                            d,
                            Change::Changed {
                                attribute,
                                expected,
                                actual,
                            },
                        ),
                    ));
                }
            }
        }
    }
    for l in &l_nodes {
        if l.parent.as_ref().is_some_and(|p| !d_keys.contains_key(p)) {
            continue;
        }
        if !d_keys.contains_key(&l.key()) {
            found.push((l, difference(l, Change::Unexpected)));
        }
    }
    column_order(declared, &live, &d_keys, &mut found);
    safety_net(declared, &live, &d_keys, &mut found);
    found.sort_by(|(a, _), (b, _)| a.order.cmp(&b.order));
    found.into_iter().map(|(_, d)| d).collect()
}

/// Copies of both schemas without the top-level objects that are equal on both sides.
fn unequal_parts(declared: &Schema, live: &Schema) -> (Schema, Schema) {
    fn split<K: Ord + Clone, V: PartialEq + Clone>(
        a: &BTreeMap<K, V>,
        b: &BTreeMap<K, V>,
    ) -> (BTreeMap<K, V>, BTreeMap<K, V>) {
        let only = |x: &BTreeMap<K, V>, y: &BTreeMap<K, V>| {
            x.iter()
                .filter(|(k, v)| y.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        (only(a, b), only(b, a))
    }
    // Every field is listed, so that a field added to `Schema` does not compile until it is
    // handled here.
    let Schema {
        schemas,
        extensions,
        collations,
        enums,
        domains,
        composites,
        sequences,
        tables,
        views,
        functions,
        attached,
        default_privileges,
        buckets,
    } = declared;
    let mut d = Schema {
        default_privileges: default_privileges.clone(),
        ..Schema::default()
    };
    let mut l = Schema {
        default_privileges: live.default_privileges.clone(),
        ..Schema::default()
    };
    (d.schemas, l.schemas) = split(schemas, &live.schemas);
    (d.extensions, l.extensions) = split(extensions, &live.extensions);
    (d.collations, l.collations) = split(collations, &live.collations);
    (d.enums, l.enums) = split(enums, &live.enums);
    (d.domains, l.domains) = split(domains, &live.domains);
    (d.composites, l.composites) = split(composites, &live.composites);
    (d.sequences, l.sequences) = split(sequences, &live.sequences);
    (d.tables, l.tables) = split(tables, &live.tables);
    (d.views, l.views) = split(views, &live.views);
    (d.functions, l.functions) = split(functions, &live.functions);
    (d.attached, l.attached) = split(attached, &live.attached);
    (d.buckets, l.buckets) = split(buckets, &live.buckets);
    (d, l)
}

fn difference(node: &Node, change: Change) -> Difference {
    let detail = match change {
        Change::Missing | Change::Unexpected => node.summary.clone(),
        Change::Changed { .. } => None,
    };
    let mut origins = Vec::new();
    if let Change::Changed { attribute, .. } = &change {
        origins.push(format!("{} {attribute}", node.origin));
    }
    origins.push(node.origin.clone());
    origins.extend(node.owner.clone());
    Difference {
        object: node.object.clone(),
        change,
        detail,
        origins,
        location: None,
        audit: Vec::new(),
    }
}

/// The attributes whose values differ: every attribute of either side, absent ones as [`NONE`].
fn changed_attrs(d: &Node, l: &Node) -> Vec<(String, String, String)> {
    let mut names: Vec<&str> = d.attrs.iter().map(|(n, _)| n.as_str()).collect();
    for (n, _) in &l.attrs {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    names
        .into_iter()
        .filter_map(|n| {
            let e = d.attr(n).unwrap_or(NONE);
            let a = l.attr(n).unwrap_or(NONE);
            (e != a).then(|| (n.to_owned(), e.to_owned(), a.to_owned()))
        })
        .collect()
}

/// The columns both sides have, in a different order (a column dropped and added again).
fn column_order<'n>(
    declared: &Schema,
    live: &Schema,
    d_keys: &HashMap<String, &'n Node>,
    found: &mut Vec<(&'n Node, Difference)>,
) {
    for (name, d) in &declared.tables {
        let Some(l) = live.tables.get(name) else {
            continue;
        };
        let d_names: HashSet<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
        let l_names: HashSet<&str> = l.columns.iter().map(|c| c.name.as_str()).collect();
        let order = |cols: &[Column], other: &HashSet<&str>| {
            cols.iter()
                .filter(|c| other.contains(c.name.as_str()))
                .map(|c| c.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let expected = order(&d.columns, &l_names);
        let actual = order(&l.columns, &d_names);
        if expected != actual
            && let Some(node) = d_keys.get(&format!("table {name}"))
        {
            found.push((
                node,
                difference(
                    node,
                    Change::Changed {
                        attribute: "column order".to_owned(),
                        expected,
                        actual,
                    },
                ),
            ));
        }
    }
}

/// Top-level objects that differ in the model but produced no difference: reported by the path
/// of the differing field (a field this walk does not know yet), never passed as equal.
fn safety_net<'n>(
    declared: &Schema,
    live: &Schema,
    d_keys: &HashMap<String, &'n Node>,
    found: &mut Vec<(&'n Node, Difference)>,
) {
    let (Ok(d), Ok(l)) = (serde_json::to_value(declared), serde_json::to_value(live)) else {
        return;
    };
    let reported: HashSet<(u8, String)> = found
        .iter()
        .map(|(n, _)| (n.order.0, n.order.1.clone()))
        .collect();
    let sections: [(&str, &str, u8); 11] = [
        ("schemas", "schema", RANK_SCHEMA),
        ("extensions", "extension", RANK_EXTENSION),
        ("collations", "collation", RANK_COLLATION),
        ("enums", "enum", RANK_ENUM),
        ("domains", "domain", RANK_DOMAIN),
        ("composites", "composite type", RANK_COMPOSITE),
        ("sequences", "sequence", RANK_SEQUENCE),
        ("tables", "table", RANK_TABLE),
        ("views", "view", RANK_VIEW),
        ("functions", "function", RANK_FUNCTION),
        ("buckets", "bucket", RANK_BUCKET),
    ];
    for (section, kind, rank) in sections {
        let (Some(dm), Some(lm)) = (
            d.get(section).and_then(|v| v.as_object()),
            l.get(section).and_then(|v| v.as_object()),
        ) else {
            continue;
        };
        for (name, dv) in dm {
            let Some(lv) = lm.get(name) else { continue };
            if reported.contains(&(rank, name.clone())) {
                continue;
            }
            let Some(node) = d_keys.get(&format!("{kind} {name}")) else {
                continue;
            };
            let mut paths = Vec::new();
            json_differences(String::new(), dv, lv, &mut paths);
            for (attribute, expected, actual) in paths {
                found.push((
                    node,
                    difference(
                        node,
                        Change::Changed {
                            attribute,
                            expected,
                            actual,
                        },
                    ),
                ));
            }
        }
    }
}

/// Fields that exist only in declarations.
const DECLARATION_ONLY: &[&str] = &["renamed_from", "rust", "rust_name"];

fn json_differences(
    path: String,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<(String, String, String)>,
) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                if DECLARATION_ONLY.contains(&k.as_str()) {
                    continue;
                }
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_differences(
                    sub,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_differences(format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push((path, json_text(a), json_text(b))),
        _ => {}
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => NONE.to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{PgType, Table};

    fn schema_with(table: Table) -> Schema {
        let mut s = Schema::default();
        s.tables.insert(table.name.clone(), table);
        s
    }

    #[test]
    fn equal_schemas_have_no_differences() {
        let mut t = Table::new(QualifiedName::public("t"));
        t.columns.push(Column::new("a", PgType::Integer));
        let s = schema_with(t);
        assert_eq!(compare(&s, &s), Vec::new());
    }

    #[test]
    fn children_of_a_missing_table_are_not_listed() {
        let mut t = Table::new(QualifiedName::public("t"));
        t.columns.push(Column::new("a", PgType::Integer));
        let d = compare(&schema_with(t), &Schema::default());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].object.key(), "table public.t");
        assert_eq!(d[0].change, Change::Missing);
        assert_eq!(d[0].origins, vec!["table public.t".to_owned()]);
    }

    #[test]
    fn changed_attributes_carry_both_values_and_origin_keys() {
        let mut a = Table::new(QualifiedName::public("t"));
        a.columns.push(Column::new("a", PgType::Integer));
        let mut b = a.clone();
        b.columns[0].nullable = false;
        let d = compare(&schema_with(a), &schema_with(b));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].object.key(), "column public.t.a");
        assert_eq!(
            d[0].change,
            Change::Changed {
                attribute: "nullable".into(),
                expected: "NULL".into(),
                actual: "NOT NULL".into()
            }
        );
        assert_eq!(
            d[0].origins,
            vec![
                "table public.t column a nullable".to_owned(),
                "table public.t column a".to_owned(),
                "table public.t".to_owned()
            ]
        );
    }

    #[test]
    fn the_safety_net_names_the_field() {
        let a = serde_json::json!({"x": 1, "y": {"z": [1, 2]}, "rust": {"n": 1}});
        let b = serde_json::json!({"x": 1, "y": {"z": [1, 3]}, "rust": {"n": 2}});
        let mut out = Vec::new();
        json_differences(String::new(), &a, &b, &mut out);
        assert_eq!(
            out,
            vec![("y.z[1]".to_owned(), "2".to_owned(), "3".to_owned())]
        );
    }
}
