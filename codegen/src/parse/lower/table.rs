//! Lowering tables: columns, keys, constraints, indexes, policies, triggers, grants.

use super::{Lowerer, PendingFk, SqlKind, all};
use crate::model::{
    CheckConstraint, Column, ColumnRustHints, Deferrable, ExclusionConstraint, FkAction, FkMatch,
    ForeignKey, Ident, Identity, Index, IndexColumn, IndexKey, PartitionBound, PartitionStrategy,
    PartitionedBy, PgType, Policy, PolicyCommand, PrimaryKey, QualifiedName, ReplicaIdentity,
    Sequence, SqlExpr, Table, TableRustHints, Trigger, TriggerEvents, TriggerFiring, TriggerTiming,
    UniqueConstraint, integer_max, integer_min,
};
use crate::parse::Origin;
use crate::parse::ast::{
    ColumnDef, Document, Either, IndexDef, Keyed, PolicyDef, Sp, TableDef, TriggerDef,
};

/// Tables PostgreSQL or Supabase own whose primary key a foreign key may reference without the
/// schema declaring them.
const EXTERNAL_PRIMARY_KEYS: &[(&str, &str, &str)] = &[
    ("auth", "users", "id"),
    ("storage", "buckets", "id"),
    ("storage", "objects", "id"),
];

/// `deferrable` + `initially_deferred` → [`Deferrable`].
fn deferrable(deferrable: bool, initially_deferred: bool) -> Deferrable {
    match (deferrable, initially_deferred) {
        (false, false) => Deferrable::No,
        (true, false) => Deferrable::InitiallyImmediate,
        (_, true) => Deferrable::InitiallyDeferred,
    }
}

const FK_ACTIONS: &[(&str, FkAction)] = &[
    ("no_action", FkAction::NoAction),
    ("restrict", FkAction::Restrict),
    ("cascade", FkAction::Cascade),
    ("set_null", FkAction::SetNull),
    ("set_default", FkAction::SetDefault),
];

impl Lowerer<'_> {
    /// Reserves the names a document states explicitly (constraints, indexes, relations).
    pub(super) fn reserve_explicit_names(&mut self, doc: &Document) {
        for Keyed { key, def } in &doc.tables {
            let Some(q) = QualifiedName::parse(&key.value, "public") else {
                continue;
            };
            if !def.columns.value.0.is_empty() {
                self.take_name(&q.schema, q.name.as_str());
            }
            let mut names: Vec<&str> = Vec::new();
            if let Some(Sp {
                value: Either::Long(pk),
                ..
            }) = &def.primary_key
            {
                names.extend(pk.name.as_ref().map(|n| n.value.as_str()));
            }
            names.extend(
                def.unique
                    .iter()
                    .filter_map(|u| u.value.name.as_ref().map(|n| n.value.as_str())),
            );
            names.extend(
                def.check
                    .iter()
                    .filter_map(|u| u.value.name.as_ref().map(|n| n.value.as_str())),
            );
            names.extend(
                def.foreign_key
                    .iter()
                    .filter_map(|u| u.value.name.as_ref().map(|n| n.value.as_str())),
            );
            names.extend(def.exclude.iter().map(|u| u.value.name.value.as_str()));
            names.extend(
                def.index
                    .iter()
                    .filter_map(|u| u.value.name.as_ref().map(|n| n.value.as_str())),
            );
            for n in names {
                self.take_name(&q.schema, n);
            }
        }
        for Keyed { key, def } in doc.views.iter() {
            if let Some(q) = QualifiedName::parse(&key.value, "public") {
                self.take_name(&q.schema, q.name.as_str());
                for i in &def.index {
                    if let Some(n) = &i.value.name {
                        self.take_name(&q.schema, &n.value);
                    }
                }
            }
        }
        for Keyed { key, .. } in doc.sequences.iter() {
            if let Some(q) = QualifiedName::parse(&key.value, "public") {
                self.take_name(&q.schema, q.name.as_str());
            }
        }
    }

    /// `[table.<name>]`.
    pub(super) fn table(&mut self, t: &Keyed<TableDef>) {
        let Some(name) = self.qname(&t.key, "table") else {
            return;
        };
        self.check_length(name.name.as_str(), &t.key.span);
        let def = &t.def;
        let key = format!("table {name}");
        let origin = self.origin(&t.key.span);
        let has_columns = !def.columns.value.0.is_empty();
        let mut table = match self.schema.tables.remove(&name) {
            Some(existing) => {
                if has_columns && !existing.columns.is_empty() {
                    // Recorded as a duplicate; the first declaration's columns stay.
                    self.origins.insert(key.clone(), origin.clone());
                    self.schema.tables.insert(name, existing);
                    return;
                }
                existing
            }
            None => Table::new(name.clone()),
        };
        if has_columns {
            self.origins.insert(key.clone(), origin.clone());
        } else {
            self.origins.insert_soft(key.clone(), origin.clone());
        }
        if let Some(c) = &def.comment {
            table.comment = Some(c.value.clone());
        }
        for (col_key, decl) in &def.columns.value.0 {
            self.column(&mut table, col_key, decl);
        }
        if let Some(pk) = &def.primary_key {
            self.table_primary_key(&mut table, pk);
        }
        for u in &def.unique {
            let columns: Vec<Ident> = u.value.columns.iter().map(|c| self.ident(c)).collect();
            let include: Vec<Ident> = u.value.include.iter().map(|c| self.ident(c)).collect();
            let name = match &u.value.name {
                Some(n) => self.ident(n),
                None => {
                    // PostgreSQL names the index after the key and the INCLUDE columns.
                    let named: Vec<Option<String>> = columns
                        .iter()
                        .chain(&include)
                        .map(|c| Some(c.0.clone()))
                        .collect();
                    let addition = crate::naming::index_name_addition(
                        &crate::naming::index_column_names(&named),
                    );
                    self.choose_name(&name.schema, name.name.as_str(), Some(&addition), "key")
                }
            };
            self.origins
                .insert(format!("{key} unique {name}"), self.origin(&u.span));
            table.uniques.push(UniqueConstraint {
                name,
                columns,
                nulls_not_distinct: u.value.nulls_not_distinct,
                include,
                deferrable: deferrable(u.value.deferrable, u.value.initially_deferred),
                comment: u.value.comment.as_ref().map(|c| c.value.clone()),
                renamed_from: u.value.renamed_from.as_ref().map(|r| self.ident(r)),
            });
        }
        for c in &def.check {
            let expr = self.sql(&c.value.expr.value, &c.value.expr.span, SqlKind::Expr);
            let cname = match &c.value.name {
                Some(n) => self.ident(n),
                None => self.check_name(&table, &expr),
            };
            self.origins
                .insert(format!("{key} check {cname}"), self.origin(&c.span));
            self.origins.insert_soft(
                format!("{key} check {cname} expr"),
                self.origin(&c.value.expr.span),
            );
            table.checks.push(CheckConstraint {
                name: cname,
                expr,
                no_inherit: c.value.no_inherit,
                not_valid: c.value.not_valid,
                comment: c.value.comment.as_ref().map(|c| c.value.clone()),
                renamed_from: c.value.renamed_from.as_ref().map(|r| self.ident(r)),
            });
        }
        for fk in &def.foreign_key {
            let d = &fk.value;
            let columns: Vec<Ident> = d.columns.iter().map(|c| self.ident(c)).collect();
            let Some(references) = self.qname(&d.references, "table") else {
                continue;
            };
            let fname = match &d.name {
                Some(n) => self.ident(n),
                None => self.fk_name(&name, &columns),
            };
            let fk_key = format!("{key} foreign key {fname}");
            self.origins.insert(fk_key.clone(), self.origin(&fk.span));
            self.origins.insert_soft(
                format!("{fk_key} references"),
                self.origin(&d.references.span),
            );
            let referenced_columns = match &d.referenced_columns {
                Some(cols) => cols.iter().map(|c| self.ident(c)).collect(),
                None => {
                    self.pending_fks.push(PendingFk {
                        table: name.clone(),
                        name: fname.clone(),
                        origin: self.origin(&d.references.span),
                    });
                    Vec::new()
                }
            };
            let (on_delete, on_update) =
                (self.fk_action(&d.on_delete), self.fk_action(&d.on_update));
            let match_type = match &d.match_type {
                Some(m) => self
                    .keyword(
                        m,
                        "match type",
                        &[("simple", FkMatch::Simple), ("full", FkMatch::Full)],
                    )
                    .unwrap_or_default(),
                None => FkMatch::Simple,
            };
            table.foreign_keys.push(ForeignKey {
                name: fname,
                columns,
                references,
                referenced_columns,
                on_delete,
                on_update,
                match_type,
                deferrable: deferrable(d.deferrable, d.initially_deferred),
                not_valid: d.not_valid,
                comment: d.comment.as_ref().map(|c| c.value.clone()),
                renamed_from: d.renamed_from.as_ref().map(|r| self.ident(r)),
            });
        }
        for x in &def.exclude {
            let d = &x.value;
            let xname = self.ident(&d.name);
            self.origins
                .insert(format!("{key} exclusion {xname}"), self.origin(&x.span));
            table.exclusions.push(ExclusionConstraint {
                name: xname,
                definition: self.sql(&d.definition.value, &d.definition.span, SqlKind::Unchecked),
                deferrable: deferrable(d.deferrable, d.initially_deferred),
                comment: d.comment.as_ref().map(|c| c.value.clone()),
                renamed_from: d.renamed_from.as_ref().map(|r| self.ident(r)),
            });
        }
        for i in &def.index {
            if let Some(index) = self.index(&name, &key, i) {
                table.indexes.push(index);
            }
        }
        for p in &def.policy {
            let policy = self.policy(&key, p);
            table.policies.push(policy);
        }
        for tr in &def.trigger {
            if let Some(trigger) = self.trigger(&key, tr) {
                table.triggers.push(trigger);
            }
        }
        if let Some(g) = &def.grants {
            let grants = self.grants(g, all::TABLE);
            table.grants.extend(grants);
        }
        if let Some(rls) = &def.rls {
            match &rls.value {
                Either::Short(enabled) => table.row_security.enabled = *enabled,
                Either::Long(r) => {
                    table.row_security.enabled = r.enabled;
                    table.row_security.forced = r.forced;
                }
            }
        }
        table.unlogged |= def.unlogged;
        if let Some(o) = &def.options {
            table.options = self.options(o);
        }
        if let Some(p) = &def.partition_by {
            table.partitioned_by = self.partition_by(p);
            self.origins
                .insert_soft(format!("{key} partition key"), self.origin(&p.span));
        }
        if let Some(p) = &def.partition_of {
            if let Some(parent) = self.qname(&p.value.parent, "table") {
                let bound = self.sql(
                    &p.value.bound.value,
                    &p.value.bound.span,
                    SqlKind::Unchecked,
                );
                table.partition_of = Some(PartitionBound { parent, bound });
            }
            self.origins
                .insert_soft(format!("{key} partition bound"), self.origin(&p.span));
        }
        for parent in &def.inherits {
            if let Some(q) = self.qname(parent, "table") {
                table.inherits.push(q);
            }
        }
        if let Some(r) = &def.replica_identity {
            table.replica_identity = match &r.value {
                Either::Long(ix) => ReplicaIdentity::Index(self.ident(&ix.index)),
                Either::Short(word) => {
                    let word = Sp::new(word.clone(), r.span.clone());
                    self.keyword(
                        &word,
                        "replica identity",
                        &[
                            ("default", ReplicaIdentity::Default),
                            ("full", ReplicaIdentity::Full),
                            ("nothing", ReplicaIdentity::Nothing),
                        ],
                    )
                    .unwrap_or(ReplicaIdentity::Default)
                }
            };
        }
        if let Some(r) = &def.renamed_from {
            table.renamed_from = self.qname(r, "table");
        }
        if let Some(r) = &def.rust {
            table.rust = TableRustHints {
                struct_name: r.value.struct_name.as_ref().map(|s| s.value.clone()),
            };
        }
        self.schema.tables.insert(name, table);
    }

    /// One column, with the constraints its shorthand declares.
    fn column(
        &mut self,
        table: &mut Table,
        key: &Sp<String>,
        decl: &Sp<Either<String, ColumnDef>>,
    ) {
        let name = self.ident(key);
        let tkey = format!("table {}", table.name);
        let ckey = format!("{tkey} column {name}");
        self.origins.insert(ckey.clone(), self.origin(&key.span));
        let (type_text, type_span, def) = match &decl.value {
            Either::Short(t) => (t.clone(), decl.span.clone(), None),
            Either::Long(d) => (d.ty.value.clone(), d.ty.span.clone(), Some(d)),
        };
        self.origins
            .insert_soft(format!("{ckey} type"), self.origin(&type_span));
        let serial = serial_type(&type_text);
        let ty = match &serial {
            Some(t) => t.clone(),
            None => match self.ty(&type_text, &type_span) {
                Some(t) => t,
                None => PgType::Text,
            },
        };
        let mut column = Column::new(name.clone(), ty.clone());
        column.nullable = false;
        if let Some(seq_type) = serial {
            let schema = table.name.schema.clone();
            let seq = crate::naming::serial_sequence_name(
                table.name.name.as_str(),
                name.as_str(),
                &|n| self.taken.get(&schema).is_some_and(|t| t.contains(n)),
            );
            self.take_name(&schema, &seq);
            let seq_name = QualifiedName::new(schema.as_str(), seq);
            column.default = Some(SqlExpr::new(format!(
                "nextval('{}'::regclass)",
                seq_name.to_string().replace('\'', "''")
            )));
            self.schema.sequences.insert(
                seq_name.clone(),
                Sequence {
                    name: seq_name,
                    max_value: integer_max(&seq_type),
                    data_type: seq_type,
                    start: 1,
                    increment: 1,
                    min_value: 1,
                    cache: 1,
                    cycle: false,
                    owned_by: Some((table.name.clone(), name.clone())),
                    grants: Default::default(),
                    comment: None,
                },
            );
        }
        let Some(d) = def else {
            table.columns.push(column);
            return;
        };
        if let Some(n) = &d.nullable {
            column.nullable = n.value;
        }
        if let Some(default) = &d.default {
            self.origins
                .insert_soft(format!("{ckey} default"), self.origin(&default.span));
            column.default = Some(self.scalar_sql(default));
        }
        if let Some(g) = &d.generated {
            self.origins
                .insert_soft(format!("{ckey} generated"), self.origin(&g.span));
            column.generated = Some(self.sql(&g.value, &g.span, SqlKind::Expr));
        }
        if let Some(id) = &d.identity {
            self.origins
                .insert_soft(format!("{ckey} identity"), self.origin(&id.span));
            column.identity = self.identity(id, &ty);
        }
        if let Some(c) = &d.collation {
            column.collation = self.collation_name(c);
        }
        if let Some(c) = &d.comment {
            column.comment = Some(c.value.clone());
        }
        if let Some(r) = &d.renamed_from {
            column.renamed_from = Some(self.ident(r));
        }
        if let Some(r) = &d.rust {
            column.rust = ColumnRustHints {
                rust_type: r.value.rust_type.as_ref().map(|s| s.value.clone()),
                field_name: r.value.field.as_ref().map(|s| s.value.clone()),
            };
        }
        if let Some(g) = &d.grants {
            column.grants = self.grants(g, all::COLUMN);
        }
        let schema = table.name.schema.clone();
        if d.primary_key.as_ref().is_some_and(|p| p.value) {
            let at = d
                .primary_key
                .as_ref()
                .map(|p| self.origin(&p.span))
                .unwrap_or_else(|| self.origin(&key.span));
            if let Some(pk) = &mut table.primary_key {
                pk.columns.push(name.clone());
            } else {
                let pk_name = self.choose_name(&schema, table.name.name.as_str(), None, "pkey");
                table.primary_key = Some(PrimaryKey {
                    name: pk_name,
                    columns: vec![name.clone()],
                    include: Vec::new(),
                    deferrable: Deferrable::No,
                    comment: None,
                    renamed_from: None,
                });
                self.origins.insert(format!("{tkey} primary key"), at);
            }
            column.nullable = false;
        }
        if d.unique.as_ref().is_some_and(|u| u.value) {
            let uname = self.choose_name(
                &schema,
                table.name.name.as_str(),
                Some(name.as_str()),
                "key",
            );
            self.origins
                .insert(format!("{tkey} unique {uname}"), self.origin(&key.span));
            table.uniques.push(UniqueConstraint {
                name: uname,
                columns: vec![name.clone()],
                nulls_not_distinct: false,
                include: Vec::new(),
                deferrable: Deferrable::No,
                comment: None,
                renamed_from: None,
            });
        }
        // The column must be known before its CHECK is named (the name depends on the columns
        // the expression mentions).
        table.columns.push(column);
        if let Some(c) = &d.check {
            let expr = self.sql(&c.value, &c.span, SqlKind::Expr);
            let cname = self.check_name(table, &expr);
            self.origins
                .insert(format!("{tkey} check {cname}"), self.origin(&c.span));
            table.checks.push(CheckConstraint {
                name: cname,
                expr,
                no_inherit: false,
                not_valid: false,
                comment: None,
                renamed_from: None,
            });
        }
        if let Some(r) = &d.references {
            self.column_reference(table, &name, r, d);
        }
    }

    /// `references = "users.id"` on a column.
    fn column_reference(
        &mut self,
        table: &mut Table,
        column: &Ident,
        r: &Sp<String>,
        d: &ColumnDef,
    ) {
        let tkey = format!("table {}", table.name);
        let parts = crate::model::split_qualified(&r.value);
        let (references, referenced) = match parts.as_deref() {
            Some([t]) => (QualifiedName::new("public", t.clone()), None),
            Some([t, c]) => (QualifiedName::new("public", t.clone()), Some(c.clone())),
            Some([s, t, c]) => (QualifiedName::new(s.clone(), t.clone()), Some(c.clone())),
            _ => {
                let at = self.origin(&r.span);
                self.error(
                    "schema::invalid_reference",
                    format!("`{}` is not a column reference", r.value),
                    &at,
                    "here",
                    "write `table.column`, `schema.table.column`, or `table` for its primary key",
                );
                return;
            }
        };
        let fname = self.fk_name(&table.name, std::slice::from_ref(column));
        let fk_key = format!("{tkey} foreign key {fname}");
        self.origins.insert(fk_key.clone(), self.origin(&r.span));
        self.origins
            .insert_soft(format!("{fk_key} references"), self.origin(&r.span));
        let referenced_columns = match referenced {
            Some(c) => vec![Ident::new(c)],
            None => {
                self.pending_fks.push(PendingFk {
                    table: table.name.clone(),
                    name: fname.clone(),
                    origin: self.origin(&r.span),
                });
                Vec::new()
            }
        };
        let (on_delete, on_update) = (self.fk_action(&d.on_delete), self.fk_action(&d.on_update));
        table.foreign_keys.push(ForeignKey {
            name: fname,
            columns: vec![column.clone()],
            references,
            referenced_columns,
            on_delete,
            on_update,
            match_type: FkMatch::Simple,
            deferrable: Deferrable::No,
            not_valid: false,
            comment: None,
            renamed_from: None,
        });
    }

    /// `on_delete` / `on_update`: `NO ACTION` when left out.
    fn fk_action(&mut self, word: &Option<Sp<String>>) -> FkAction {
        match word {
            Some(a) => self
                .keyword(a, "foreign-key action", FK_ACTIONS)
                .unwrap_or_default(),
            None => FkAction::NoAction,
        }
    }

    /// The name PostgreSQL gives an unnamed foreign key.
    fn fk_name(&mut self, table: &QualifiedName, columns: &[Ident]) -> Ident {
        let cols: Vec<&str> = columns.iter().map(Ident::as_str).collect();
        let addition = crate::naming::index_name_addition(&cols);
        self.choose_name(&table.schema, table.name.as_str(), Some(&addition), "fkey")
    }

    /// The name PostgreSQL gives an unnamed CHECK: `<table>_<column>_check` when the expression
    /// mentions exactly one column, else `<table>_check`.
    fn check_name(&mut self, table: &Table, expr: &SqlExpr) -> Ident {
        let columns: Vec<String> = table.columns.iter().map(|c| c.name.0.clone()).collect();
        let used = crate::parse::sql::referenced_columns(expr.as_str(), &columns);
        let column = if used.len() == 1 {
            used.first().cloned()
        } else {
            None
        };
        self.choose_name(
            &table.name.schema,
            table.name.name.as_str(),
            column.as_deref(),
            "check",
        )
    }

    /// `primary_key = [...]` or `primary_key = { … }` on a table.
    fn table_primary_key(
        &mut self,
        table: &mut Table,
        pk: &Sp<Either<Vec<Sp<String>>, crate::parse::ast::PrimaryKeyDef>>,
    ) {
        let tkey = format!("table {}", table.name);
        let at = self.origin(&pk.span);
        if table.primary_key.is_some() {
            self.error(
                "schema::duplicate_primary_key",
                format!("table {} has two primary keys", table.name),
                &at,
                "second primary key",
                "declare the primary key once: either `primary_key = true` on columns or `primary_key = [...]` on the table",
            );
            return;
        }
        let (columns, name, include, def, comment, renamed_from) = match &pk.value {
            Either::Short(cols) => (cols.clone(), None, Vec::new(), Deferrable::No, None, None),
            Either::Long(d) => (
                d.columns.clone(),
                d.name.clone(),
                d.include.clone(),
                deferrable(d.deferrable, d.initially_deferred),
                d.comment.as_ref().map(|c| c.value.clone()),
                d.renamed_from.clone(),
            ),
        };
        let columns: Vec<Ident> = columns.iter().map(|c| self.ident(c)).collect();
        for c in &mut table.columns {
            if columns.contains(&c.name) {
                c.nullable = false;
            }
        }
        let name = match &name {
            Some(n) => self.ident(n),
            None => self.choose_name(&table.name.schema, table.name.name.as_str(), None, "pkey"),
        };
        self.origins.insert(format!("{tkey} primary key"), at);
        table.primary_key = Some(PrimaryKey {
            name,
            columns,
            include: include.iter().map(|c| self.ident(c)).collect(),
            deferrable: def,
            comment,
            renamed_from: renamed_from.as_ref().map(|r| self.ident(r)),
        });
    }

    /// `identity = "always"` or `identity = { … }`.
    fn identity(
        &mut self,
        id: &Sp<Either<String, crate::parse::ast::IdentityDef>>,
        ty: &PgType,
    ) -> Option<Identity> {
        match &id.value {
            Either::Short(word) => {
                let word = Sp::new(word.clone(), id.span.clone());
                let always = self.keyword(
                    &word,
                    "identity",
                    &[("always", true), ("by_default", false)],
                )?;
                Some(Identity::with_defaults(always, ty))
            }
            Either::Long(d) => {
                let increment = d.increment.unwrap_or(1);
                let (min, max) = if increment > 0 {
                    (1, integer_max(ty))
                } else {
                    (integer_min(ty), -1)
                };
                let min_value = d.min_value.unwrap_or(min);
                let max_value = d.max_value.unwrap_or(max);
                let start = d
                    .start
                    .unwrap_or(if increment > 0 { min_value } else { max_value });
                Some(Identity {
                    always: d.always,
                    start,
                    increment,
                    min_value,
                    max_value,
                    cache: d.cache.unwrap_or(1),
                    cycle: d.cycle,
                })
            }
        }
    }

    /// A collation name: `"C"` and other built-in collations live in `pg_catalog`.
    pub(super) fn collation_name(&mut self, c: &Sp<String>) -> Option<QualifiedName> {
        let parts = crate::model::split_qualified(&c.value);
        match parts.as_deref() {
            // An unqualified collation is looked up like PostgreSQL does: a declared one in
            // `public`, else the built-in one in `pg_catalog`. Collation names are case-sensitive
            // in practice (`"C"`, `"en_US"`), so the text is taken as written.
            Some([_]) => {
                let exact = c.value.trim().trim_matches('"').to_owned();
                let declared = QualifiedName::new("public", exact.clone());
                if self.schema.collations.contains_key(&declared) {
                    Some(declared)
                } else {
                    Some(QualifiedName::new("pg_catalog", exact))
                }
            }
            _ => self.qname(c, "collation"),
        }
    }

    /// `partition_by = "RANGE (created_at)"`.
    fn partition_by(&mut self, p: &Sp<String>) -> Option<PartitionedBy> {
        let text = p.value.trim();
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let strategy = match word.to_ascii_uppercase().as_str() {
            "RANGE" => PartitionStrategy::Range,
            "LIST" => PartitionStrategy::List,
            "HASH" => PartitionStrategy::Hash,
            _ => {
                let at = self.origin(&p.span);
                self.error(
                    "schema::invalid_partition",
                    format!("`{text}` is not a partition key"),
                    &at,
                    "here",
                    "write `RANGE (column)`, `LIST (column)` or `HASH (column)`",
                );
                return None;
            }
        };
        let rest = rest.trim();
        let key = rest
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(rest)
            .trim();
        Some(PartitionedBy {
            strategy,
            key: SqlExpr::new(key.to_owned()),
        })
    }

    /// `[[table.<t>.index]]` (also on materialized views).
    pub(super) fn index(
        &mut self,
        on: &QualifiedName,
        okey: &str,
        i: &Sp<IndexDef>,
    ) -> Option<Index> {
        let d = &i.value;
        let mut keys: Vec<IndexColumn> = Vec::new();
        let mut key_names: Vec<Option<String>> = Vec::new();
        let mut key_origins: Vec<Origin> = Vec::new();
        for c in &d.columns {
            let (column, descending, nulls_first) = split_index_column(&c.value);
            self.check_length(&column, &c.span);
            key_names.push(Some(column.clone()));
            key_origins.push(self.origin(&c.span));
            keys.push(IndexColumn {
                key: IndexKey::Column(Ident::new(column)),
                collation: None,
                opclass: None,
                descending,
                nulls_first,
            });
        }
        for k in &d.keys {
            let kd = &k.value;
            let key = match (&kd.column, &kd.expr) {
                (Some(c), None) => {
                    key_names.push(Some(c.value.clone()));
                    IndexKey::Column(self.ident(c))
                }
                (None, Some(e)) => {
                    key_names.push(crate::parse::sql::index_expr_name(&e.value));
                    IndexKey::Expr(self.sql(&e.value, &e.span, SqlKind::Expr))
                }
                _ => {
                    let at = self.origin(&k.span);
                    self.error(
                        "schema::invalid_index_key",
                        "an index key needs exactly one of `column` and `expr`",
                        &at,
                        "this key",
                        "write `{ column = \"email\" }` or `{ expr = \"lower(email)\" }`",
                    );
                    continue;
                }
            };
            key_origins.push(self.origin(&k.span));
            let descending = match &kd.order {
                Some(o) => self
                    .keyword(o, "order", &[("asc", false), ("desc", true)])
                    .unwrap_or(false),
                None => false,
            };
            let nulls_first = match &kd.nulls {
                Some(n) => self
                    .keyword(n, "nulls order", &[("first", true), ("last", false)])
                    .unwrap_or(descending),
                None => descending,
            };
            keys.push(IndexColumn {
                key,
                collation: match &kd.collation {
                    Some(c) => self.collation_name(c),
                    None => None,
                },
                opclass: match &kd.opclass {
                    Some(o) => self.opclass_name(o),
                    None => None,
                },
                descending,
                nulls_first,
            });
        }
        if keys.is_empty() {
            let at = self.origin(&i.span);
            self.error(
                "schema::empty_index",
                "index has no keys",
                &at,
                "this index",
                "list its columns (`columns = [\"email\"]`) or keys (`keys = [{ expr = \"lower(email)\" }]`)",
            );
            return None;
        }
        let include: Vec<Ident> = d.include.iter().map(|c| self.ident(c)).collect();
        let name = match &d.name {
            Some(n) => self.ident(n),
            None => {
                // PostgreSQL names the index after the key and the INCLUDE columns.
                key_names.extend(include.iter().map(|c| Some(c.0.clone())));
                let names = crate::naming::index_column_names(&key_names);
                let addition = crate::naming::index_name_addition(&names);
                self.choose_name(&on.schema, on.name.as_str(), Some(&addition), "idx")
            }
        };
        let ikey = format!("{okey} index {name}");
        self.origins.insert(ikey.clone(), self.origin(&i.span));
        for (n, o) in key_origins.into_iter().enumerate() {
            self.origins.insert_soft(format!("{ikey} key {}", n + 1), o);
        }
        let predicate = d.predicate.as_ref().map(|p| {
            self.origins
                .insert_soft(format!("{ikey} predicate"), self.origin(&p.span));
            self.sql(&p.value, &p.span, SqlKind::Expr)
        });
        Some(Index {
            name,
            unique: d.unique,
            nulls_not_distinct: d.nulls_not_distinct,
            method: d
                .method
                .as_ref()
                .map(|m| m.value.trim().to_ascii_lowercase())
                .unwrap_or_else(|| "btree".to_owned()),
            keys,
            include,
            predicate,
            options: match &d.with {
                Some(w) => self.options(w),
                None => Vec::new(),
            },
            comment: d.comment.as_ref().map(|c| c.value.clone()),
            renamed_from: d.renamed_from.as_ref().map(|r| self.ident(r)),
        })
    }

    /// An operator class: built-in ones (`text_pattern_ops`) live in `pg_catalog`.
    fn opclass_name(&mut self, o: &Sp<String>) -> Option<QualifiedName> {
        match crate::model::split_qualified(&o.value).as_deref() {
            Some([name]) => Some(QualifiedName::new("pg_catalog", name.clone())),
            _ => self.qname(o, "operator class"),
        }
    }

    /// `[[table.<t>.policy]]` (also on attached tables).
    pub(super) fn policy(&mut self, okey: &str, p: &Sp<PolicyDef>) -> Policy {
        let d = &p.value;
        let name = self.ident(&d.name);
        let pkey = format!("{okey} policy {name}");
        self.origins.insert(pkey.clone(), self.origin(&p.span));
        let command = match &d.command {
            Some(c) => self
                .keyword(
                    c,
                    "policy command",
                    &[
                        ("all", PolicyCommand::All),
                        ("select", PolicyCommand::Select),
                        ("insert", PolicyCommand::Insert),
                        ("update", PolicyCommand::Update),
                        ("delete", PolicyCommand::Delete),
                    ],
                )
                .unwrap_or(PolicyCommand::All),
            None => PolicyCommand::All,
        };
        let mut roles: Vec<Ident> = if d.to.is_empty() {
            vec![Ident::new("public")]
        } else {
            d.to.iter().map(|r| self.ident(r)).collect()
        };
        roles.sort();
        roles.dedup();
        let using = d.using.as_ref().map(|u| {
            self.origins
                .insert_soft(format!("{pkey} using"), self.origin(&u.span));
            self.sql(&u.value, &u.span, SqlKind::Expr)
        });
        let with_check = d.with_check.as_ref().map(|u| {
            self.origins
                .insert_soft(format!("{pkey} with check"), self.origin(&u.span));
            self.sql(&u.value, &u.span, SqlKind::Expr)
        });
        Policy {
            name,
            command,
            permissive: !d.restrictive,
            roles,
            using,
            with_check,
            comment: d.comment.as_ref().map(|c| c.value.clone()),
        }
    }

    /// `[[table.<t>.trigger]]` (also on views and attached tables).
    pub(super) fn trigger(&mut self, okey: &str, t: &Sp<TriggerDef>) -> Option<Trigger> {
        let d = &t.value;
        let name = self.ident(&d.name);
        let tkey = format!("{okey} trigger {name}");
        self.origins.insert(tkey.clone(), self.origin(&t.span));
        self.origins
            .insert_soft(format!("{tkey} function"), self.origin(&d.function.span));
        let timing = self.keyword(
            &d.when,
            "trigger timing",
            &[
                ("before", TriggerTiming::Before),
                ("after", TriggerTiming::After),
                ("instead_of", TriggerTiming::InsteadOf),
            ],
        )?;
        let mut events = TriggerEvents {
            insert: false,
            update: false,
            update_columns: d.of.iter().map(|c| self.ident(c)).collect(),
            delete: false,
            truncate: false,
        };
        for e in &d.events.value {
            #[derive(Clone, Copy)]
            enum Ev {
                Insert,
                Update,
                Delete,
                Truncate,
            }
            match self.keyword(
                e,
                "trigger event",
                &[
                    ("insert", Ev::Insert),
                    ("update", Ev::Update),
                    ("delete", Ev::Delete),
                    ("truncate", Ev::Truncate),
                ],
            ) {
                Some(Ev::Insert) => events.insert = true,
                Some(Ev::Update) => events.update = true,
                Some(Ev::Delete) => events.delete = true,
                Some(Ev::Truncate) => events.truncate = true,
                None => {}
            }
        }
        if !events.update_columns.is_empty() {
            events.update = true;
        }
        let for_each_row = match &d.for_each {
            Some(f) => self
                .keyword(f, "trigger level", &[("row", true), ("statement", false)])
                .unwrap_or(false),
            None => false,
        };
        let function = self.qname(&d.function, "function")?;
        let when = d
            .condition
            .as_ref()
            .map(|c| self.sql(&c.value, &c.span, SqlKind::Expr));
        let firing = match &d.enabled {
            Some(e) => self
                .keyword(
                    e,
                    "trigger firing",
                    &[
                        ("origin", TriggerFiring::Origin),
                        ("disabled", TriggerFiring::Disabled),
                        ("replica", TriggerFiring::Replica),
                        ("always", TriggerFiring::Always),
                    ],
                )
                .unwrap_or_default(),
            None => TriggerFiring::Origin,
        };
        Some(Trigger {
            name,
            timing,
            events,
            for_each_row,
            when,
            function,
            args: d.args.clone(),
            constraint: d
                .constraint
                .then(|| deferrable(d.deferrable, d.initially_deferred)),
            old_table: d.old_table.as_ref().map(|n| self.ident(n)),
            new_table: d.new_table.as_ref().map(|n| self.ident(n)),
            firing,
            comment: d.comment.as_ref().map(|c| c.value.clone()),
        })
    }

    /// Fills in the referenced columns of foreign keys that reference a primary key.
    pub(super) fn resolve_foreign_keys(&mut self) {
        let pending = std::mem::take(&mut self.pending_fks);
        for p in pending {
            let Some(references) = self
                .schema
                .tables
                .get(&p.table)
                .and_then(|t| t.foreign_keys.iter().find(|f| f.name == p.name))
                .map(|f| f.references.clone())
            else {
                continue;
            };
            let pk: Option<Vec<Ident>> = match self.schema.tables.get(&references) {
                Some(t) => t.primary_key.as_ref().map(|pk| pk.columns.clone()),
                None => EXTERNAL_PRIMARY_KEYS
                    .iter()
                    .find(|(s, t, _)| {
                        references.schema.as_str() == *s && references.name.as_str() == *t
                    })
                    .map(|(_, _, c)| vec![Ident::new(*c)]),
            };
            match pk {
                Some(cols) => {
                    if let Some(fk) = self
                        .schema
                        .tables
                        .get_mut(&p.table)
                        .and_then(|t| t.foreign_keys.iter_mut().find(|f| f.name == p.name))
                    {
                        fk.referenced_columns = cols;
                    }
                }
                None => {
                    let (message, help) = if self.schema.tables.contains_key(&references) {
                        (
                            format!("foreign key {} references table {references}, which has no primary key", p.name),
                            "name the referenced columns (`referenced_columns = [...]`, or `references = \"table.column\"`)".to_owned(),
                        )
                    } else {
                        (
                            format!("foreign key {} references table {references}, which is not declared", p.name),
                            "declare the table, fix the name, or name the referenced columns for a table outside the schema".to_owned(),
                        )
                    };
                    self.error(
                        "schema::dangling_fk",
                        message,
                        &p.origin,
                        "referenced here",
                        &help,
                    );
                }
            }
        }
    }
}

/// `serial`, `bigserial`, `smallserial` (and `serial4`, `serial8`, `serial2`): the integer type
/// they stand for.
fn serial_type(text: &str) -> Option<PgType> {
    match text.trim().to_ascii_lowercase().as_str() {
        "serial" | "serial4" => Some(PgType::Integer),
        "bigserial" | "serial8" => Some(PgType::BigInt),
        "smallserial" | "serial2" => Some(PgType::SmallInt),
        _ => None,
    }
}

/// Splits `"email DESC NULLS LAST"` into the column and its order.
fn split_index_column(text: &str) -> (String, bool, bool) {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let mut nulls: Option<bool> = None;
    let mut descending = false;
    if words.len() >= 3 && words[words.len() - 2].eq_ignore_ascii_case("nulls") {
        let last = words[words.len() - 1];
        if last.eq_ignore_ascii_case("first") {
            nulls = Some(true);
            words.truncate(words.len() - 2);
        } else if last.eq_ignore_ascii_case("last") {
            nulls = Some(false);
            words.truncate(words.len() - 2);
        }
    }
    if words.len() >= 2 {
        let last = words[words.len() - 1];
        if last.eq_ignore_ascii_case("desc") {
            descending = true;
            words.pop();
        } else if last.eq_ignore_ascii_case("asc") {
            words.pop();
        }
    }
    let column = if words.is_empty() {
        text.trim().to_owned()
    } else {
        words.join(" ")
    };
    (column, descending, nulls.unwrap_or(descending))
}
