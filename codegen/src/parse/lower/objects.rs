//! Lowering the objects that are not tables or routines: extensions, schemas, collations, types,
//! sequences, views, buckets, attachments and default privileges.

use super::{Lowerer, SqlKind, all};
use crate::model::{
    Attachments, Bucket, CheckConstraint, Collation, CompositeAttribute, CompositeType,
    DefaultPrivilege, DefaultPrivilegeObjects, Domain, EnumType, Extension, Ident, PgType,
    SchemaDef, Sequence, View, integer_max, integer_min,
};
use crate::parse::ast::{
    AttachedDef, BucketDef, CollationDef, CompositeDef, DefaultPrivilegesDef, DomainDef, Either,
    EnumDef, ExtensionDef, Keyed, SchemaDecl, SequenceDef, Sp, ViewDef,
};

impl Lowerer<'_> {
    /// `[extension.<name>]`.
    pub(super) fn extension(&mut self, e: &Keyed<ExtensionDef>) {
        let name = self.ident(&e.key);
        self.origins
            .insert(format!("extension {name}"), self.origin(&e.key.span));
        let d = &e.def;
        self.schema
            .extensions
            .entry(name.clone())
            .or_insert(Extension {
                name,
                schema: d
                    .schema
                    .as_ref()
                    .map_or_else(|| Ident::new("public"), |s| Ident::new(s.value.clone())),
                version: d.version.as_ref().map(|v| v.value.clone()),
                comment: d.comment.as_ref().map(|c| c.value.clone()),
            });
    }

    /// `[schema.<name>]`.
    pub(super) fn schema_decl(&mut self, s: &Keyed<SchemaDecl>) {
        let name = self.ident(&s.key);
        self.origins
            .insert(format!("schema {name}"), self.origin(&s.key.span));
        let grants = match &s.def.grants {
            Some(g) => self.grants(g, all::SCHEMA),
            None => Default::default(),
        };
        self.schema
            .schemas
            .entry(name.clone())
            .or_insert(SchemaDef {
                name,
                grants,
                comment: s.def.comment.as_ref().map(|c| c.value.clone()),
            });
    }

    /// `[collation.<name>]`.
    pub(super) fn collation(&mut self, c: &Keyed<CollationDef>) {
        let Some(name) = self.qname(&c.key, "collation") else {
            return;
        };
        self.origins
            .insert(format!("collation {name}"), self.origin(&c.key.span));
        let d = &c.def;
        let provider = match &d.provider {
            Some(p) => self
                .keyword(p, "collation provider", &[("libc", "libc"), ("icu", "icu")])
                .unwrap_or("libc"),
            None => "libc",
        };
        self.schema
            .collations
            .entry(name.clone())
            .or_insert(Collation {
                name,
                provider: provider.to_owned(),
                locale: d.locale.as_ref().map(|l| l.value.clone()),
                lc_ctype: d.lc_ctype.as_ref().map(|l| l.value.clone()),
                deterministic: d.deterministic.unwrap_or(true),
                comment: d.comment.as_ref().map(|c| c.value.clone()),
            });
    }

    /// `[enum.<name>]`.
    pub(super) fn enum_type(&mut self, e: &Keyed<EnumDef>) {
        let Some(name) = self.qname(&e.key, "enum") else {
            return;
        };
        self.check_length(name.name.as_str(), &e.key.span);
        let key = format!("enum {name}");
        self.origins.insert(key.clone(), self.origin(&e.key.span));
        let mut labels = Vec::new();
        for (i, v) in e.def.values.value.iter().enumerate() {
            self.check_length(&v.value, &v.span);
            self.origins
                .insert_soft(format!("{key} value {}", i + 1), self.origin(&v.span));
            labels.push(v.value.clone());
        }
        let renamed_from = match &e.def.renamed_from {
            Some(r) => self.qname(r, "enum"),
            None => None,
        };
        let mut renamed_labels = Vec::new();
        if let Some(r) = &e.def.renamed_values {
            for (new, old) in &r.value.0 {
                self.origins.insert_soft(
                    format!("{key} renamed value {}", new.value),
                    self.origin(&new.span),
                );
                renamed_labels.push((new.value.clone(), old.value.clone()));
            }
        }
        self.schema.enums.entry(name.clone()).or_insert(EnumType {
            name,
            labels,
            comment: e.def.comment.as_ref().map(|c| c.value.clone()),
            renamed_from,
            renamed_labels,
            rust_name: e.def.rust_name.as_ref().map(|r| r.value.clone()),
        });
    }

    /// `[domain.<name>]`.
    pub(super) fn domain(&mut self, d: &Keyed<DomainDef>) {
        let Some(name) = self.qname(&d.key, "domain") else {
            return;
        };
        let key = format!("domain {name}");
        self.origins.insert(key.clone(), self.origin(&d.key.span));
        let def = &d.def;
        self.origins
            .insert_soft(format!("{key} type"), self.origin(&def.ty.span));
        let Some(base) = self.ty(&def.ty.value, &def.ty.span) else {
            return;
        };
        let default = def.default.as_ref().map(|v| {
            self.origins
                .insert_soft(format!("{key} default"), self.origin(&v.span));
            self.scalar_sql(v)
        });
        let mut checks = Vec::new();
        if let Some(c) = &def.check {
            let cname = Ident::new(crate::naming::make_object_name(
                name.name.as_str(),
                None,
                Some("check"),
            ));
            self.origins
                .insert(format!("{key} check {cname}"), self.origin(&c.span));
            checks.push(CheckConstraint {
                name: cname,
                expr: self.sql(&c.value, &c.span, SqlKind::Expr),
                no_inherit: false,
                not_valid: false,
                comment: None,
                renamed_from: None,
            });
        }
        for c in &def.checks {
            let cname = match &c.value.name {
                Some(n) => self.ident(n),
                None => {
                    let taken: Vec<String> = checks.iter().map(|c| c.name.0.clone()).collect();
                    Ident::new(crate::naming::choose_name(
                        name.name.as_str(),
                        None,
                        "check",
                        &|n| taken.iter().any(|t| t == n),
                    ))
                }
            };
            self.origins
                .insert(format!("{key} check {cname}"), self.origin(&c.span));
            checks.push(CheckConstraint {
                name: cname,
                expr: self.sql(&c.value.expr.value, &c.value.expr.span, SqlKind::Expr),
                no_inherit: c.value.no_inherit,
                not_valid: c.value.not_valid,
                comment: c.value.comment.as_ref().map(|c| c.value.clone()),
                renamed_from: c.value.renamed_from.as_ref().map(|r| self.ident(r)),
            });
        }
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        let collation = match &def.collation {
            Some(c) => self.collation_name(c),
            None => None,
        };
        self.schema.domains.entry(name.clone()).or_insert(Domain {
            name,
            base,
            collation,
            default,
            not_null: def.not_null,
            checks,
            comment: def.comment.as_ref().map(|c| c.value.clone()),
        });
    }

    /// `[composite.<name>]`.
    pub(super) fn composite(&mut self, c: &Keyed<CompositeDef>) {
        let Some(name) = self.qname(&c.key, "composite type") else {
            return;
        };
        let key = format!("composite {name}");
        self.origins.insert(key.clone(), self.origin(&c.key.span));
        let mut attributes = Vec::new();
        for a in &c.def.attributes {
            let aname = self.ident(&a.value.name);
            self.origins.insert(
                format!("{key} attribute {aname}"),
                self.origin(&a.value.name.span),
            );
            let ty = self
                .ty(&a.value.ty.value, &a.value.ty.span)
                .unwrap_or(PgType::Text);
            let collation = match &a.value.collation {
                Some(col) => self.collation_name(col),
                None => None,
            };
            attributes.push(CompositeAttribute {
                name: aname,
                ty,
                collation,
            });
        }
        self.schema
            .composites
            .entry(name.clone())
            .or_insert(CompositeType {
                name,
                attributes,
                comment: c.def.comment.as_ref().map(|c| c.value.clone()),
            });
    }

    /// `[sequence.<name>]`.
    pub(super) fn sequence(&mut self, s: &Keyed<SequenceDef>) {
        let Some(name) = self.qname(&s.key, "sequence") else {
            return;
        };
        self.origins
            .insert(format!("sequence {name}"), self.origin(&s.key.span));
        let d = &s.def;
        let data_type = match &d.data_type {
            Some(t) => self.ty(&t.value, &t.span).unwrap_or(PgType::BigInt),
            None => PgType::BigInt,
        };
        let increment = d.increment.as_ref().map_or(1, |i| i.value);
        if increment == 0 {
            if let Some(i) = &d.increment {
                let at = self.origin(&i.span);
                self.error(
                    "schema::invalid_value",
                    "a sequence's increment cannot be zero",
                    &at,
                    "here",
                    "use a positive or a negative number",
                );
            }
        }
        let (min, max) = if increment > 0 {
            (1, integer_max(&data_type))
        } else {
            (integer_min(&data_type), -1)
        };
        let min_value = d.min_value.unwrap_or(min);
        let max_value = d.max_value.unwrap_or(max);
        let owned_by = match &d.owned_by {
            Some(o) => match crate::model::split_qualified(&o.value).as_deref() {
                Some([t, c]) => Some((
                    crate::model::QualifiedName::new("public", t.clone()),
                    Ident::new(c.clone()),
                )),
                Some([sch, t, c]) => Some((
                    crate::model::QualifiedName::new(sch.clone(), t.clone()),
                    Ident::new(c.clone()),
                )),
                _ => {
                    let at = self.origin(&o.span);
                    self.error(
                        "schema::invalid_reference",
                        format!("`{}` is not a column", o.value),
                        &at,
                        "here",
                        "write `table.column` or `schema.table.column`",
                    );
                    None
                }
            },
            None => None,
        };
        let grants = match &d.grants {
            Some(g) => self.grants(g, all::SEQUENCE),
            None => Default::default(),
        };
        self.schema
            .sequences
            .entry(name.clone())
            .or_insert(Sequence {
                name,
                data_type,
                start: d
                    .start
                    .unwrap_or(if increment > 0 { min_value } else { max_value }),
                increment,
                min_value,
                max_value,
                cache: d.cache.unwrap_or(1),
                cycle: d.cycle,
                owned_by,
                grants,
                comment: d.comment.as_ref().map(|c| c.value.clone()),
            });
    }

    /// `[view.<name>]`.
    pub(super) fn view(&mut self, v: &Keyed<ViewDef>) {
        let Some(name) = self.qname(&v.key, "view") else {
            return;
        };
        self.check_length(name.name.as_str(), &v.key.span);
        let key = format!("view {name}");
        self.origins.insert(key.clone(), self.origin(&v.key.span));
        let d = &v.def;
        self.origins
            .insert_soft(format!("{key} definition"), self.origin(&d.query.span));
        let definition = self.sql(&d.query.value, &d.query.span, SqlKind::Query);
        let mut indexes = Vec::new();
        for i in &d.index {
            if let Some(ix) = self.index(&name, &key, i) {
                indexes.push(ix);
            }
        }
        let mut triggers = Vec::new();
        for t in &d.trigger {
            if let Some(tr) = self.trigger(&key, t) {
                triggers.push(tr);
            }
        }
        let grants = match &d.grants {
            Some(g) => self.grants(g, all::TABLE),
            None => Default::default(),
        };
        let options = match &d.options {
            Some(o) => self.options(o),
            None => Vec::new(),
        };
        let column_comments = d
            .column_comments
            .as_ref()
            .map(|cc| {
                cc.0.iter()
                    .map(|(k, v)| (Ident::new(k.value.clone()), v.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        self.schema.views.entry(name.clone()).or_insert(View {
            name,
            materialized: d.materialized,
            definition,
            options,
            indexes,
            triggers,
            grants,
            comment: d.comment.as_ref().map(|c| c.value.clone()),
            column_comments,
        });
    }

    /// `[bucket.<id>]`.
    pub(super) fn bucket(&mut self, b: &Keyed<BucketDef>) {
        let id = b.key.value.clone();
        self.origins
            .insert(format!("bucket {id}"), self.origin(&b.key.span));
        let d = &b.def;
        let file_size_limit = match &d.file_size_limit {
            None => None,
            Some(Sp {
                value: Either::Short(n),
                span,
            }) => {
                if *n < 0 {
                    let at = self.origin(span);
                    self.error(
                        "schema::invalid_value",
                        "a size limit cannot be negative",
                        &at,
                        "here",
                        "give a number of bytes or a size like \"10 MiB\"",
                    );
                }
                Some(*n)
            }
            Some(Sp {
                value: Either::Long(text),
                span,
            }) => match parse_size(text) {
                Some(n) => Some(n),
                None => {
                    let at = self.origin(span);
                    self.error(
                        "schema::invalid_value",
                        format!("`{text}` is not a size"),
                        &at,
                        "here",
                        "give a number of bytes or a size like \"10 MiB\" (B, KB, KiB, MB, MiB, GB, GiB)",
                    );
                    None
                }
            },
        };
        self.schema.buckets.entry(id.clone()).or_insert(Bucket {
            name: d
                .name
                .as_ref()
                .map_or_else(|| id.clone(), |n| n.value.clone()),
            id,
            public: d.public,
            file_size_limit,
            allowed_mime_types: d.allowed_mime_types.clone(),
        });
    }

    /// `[attached."<schema.table>"]`.
    pub(super) fn attached(&mut self, a: &Keyed<AttachedDef>) {
        let Some(name) = self.qname(&a.key, "table") else {
            return;
        };
        let key = format!("attached {name}");
        self.origins
            .insert_soft(key.clone(), self.origin(&a.key.span));
        let mut policies = Vec::new();
        for p in &a.def.policy {
            policies.push(self.policy(&key, p));
        }
        let mut triggers = Vec::new();
        for t in &a.def.trigger {
            if let Some(tr) = self.trigger(&key, t) {
                triggers.push(tr);
            }
        }
        let entry: &mut Attachments = self.schema.attached.entry(name).or_default();
        entry.policies.extend(policies);
        entry.triggers.extend(triggers);
    }

    /// `[[default_privileges]]`.
    pub(super) fn default_privileges(&mut self, index: usize, d: &Sp<DefaultPrivilegesDef>) {
        self.origins.insert_soft(
            format!("default_privileges {}", index + 1),
            self.origin(&d.span),
        );
        let v = &d.value;
        let Some((objects, privileges)) = self.keyword(
            &v.on,
            "object kind",
            &[
                ("tables", (DefaultPrivilegeObjects::Tables, all::TABLE)),
                (
                    "sequences",
                    (DefaultPrivilegeObjects::Sequences, all::SEQUENCE),
                ),
                (
                    "functions",
                    (DefaultPrivilegeObjects::Functions, all::FUNCTION),
                ),
                (
                    "routines",
                    (DefaultPrivilegeObjects::Functions, all::FUNCTION),
                ),
                ("types", (DefaultPrivilegeObjects::Types, all::TYPE)),
                ("schemas", (DefaultPrivilegeObjects::Schemas, all::SCHEMA)),
            ],
        ) else {
            return;
        };
        let for_role = self.ident(&v.for_role);
        let schema = v.in_schema.as_ref().map(|s| self.ident(s));
        for grant in self.grants(&v.grant, privileges) {
            self.schema.default_privileges.push(DefaultPrivilege {
                for_role: for_role.clone(),
                schema: schema.clone(),
                objects,
                grant,
            });
        }
    }
}

/// `"10 MiB"` → bytes.
fn parse_size(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "kib" => 1024.0,
        "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * factor;
    if bytes.fract() != 0.0 || bytes < 0.0 || bytes > i64::MAX as f64 {
        return None;
    }
    Some(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("10 MiB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("5MB"), Some(5_000_000));
        assert_eq!(parse_size("1.5 KiB"), Some(1536));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("ten"), None);
        assert_eq!(parse_size("10 parsecs"), None);
    }
}
