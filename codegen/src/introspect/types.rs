//! Collations, enums, domains and composite types (`pg_collation`, `pg_type`).
//!
//! Composite types get their attributes from the columns query (they live in `pg_attribute` like
//! table columns) and domains their checks from the constraints query; this file makes the types
//! themselves and reports the kinds of type the model has no place for.

use super::load::Builder;
use super::rows::RowReader;
use super::{IntrospectError, Q_COLLATIONS, Q_TYPES};
use crate::model::{Collation, CompositeType, Domain, EnumType, QualifiedName, SqlExpr};
use tokio_postgres::Row;

impl Builder {
    pub(super) fn read_collations(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_COLLATIONS, row);
            let name = r.qualified("schema", "name")?;
            r.describe(format!("collation {name}"));
            let provider = match r.char("provider")? {
                'c' => "libc",
                'i' => "icu",
                other => return Err(r.error(format!("unknown collation provider `{other}`"))),
            };
            let (locale, lc_ctype) = if provider == "icu" {
                (r.get::<Option<String>>("icu_locale")?, None)
            } else {
                let collate: Option<String> = r.get("lc_collate")?;
                let ctype: Option<String> = r.get("lc_ctype")?;
                let ctype = ctype.filter(|c| Some(c) != collate.as_ref());
                (collate, ctype)
            };
            self.schema.collations.insert(
                name.clone(),
                Collation {
                    name,
                    provider: provider.to_owned(),
                    locale,
                    lc_ctype,
                    deterministic: r.get("deterministic")?,
                    comment: r.get("comment")?,
                },
            );
        }
        Ok(())
    }

    pub(super) fn read_types(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_TYPES, row);
            let name: QualifiedName = r.qualified("schema", "name")?;
            r.describe(format!("type {name}"));
            let oid: u32 = r.get("oid")?;
            let comment: Option<String> = r.get("comment")?;
            match r.char("kind")? {
                'e' => {
                    let labels: Vec<String> = r.get("labels")?;
                    self.type_names.insert(oid, format!("{name}"));
                    self.enums.insert(
                        oid,
                        EnumType {
                            name,
                            labels,
                            comment,
                            renamed_from: None,
                            renamed_labels: Vec::new(),
                            rust_name: None,
                        },
                    );
                }
                'd' => {
                    let base = r.ty("base_type")?;
                    self.type_names.insert(oid, format!("{name}"));
                    self.domains.insert(
                        oid,
                        Domain {
                            name,
                            base,
                            collation: r.opt_qualified("collation_schema", "collation_name")?,
                            default: r.get::<Option<String>>("default_expr")?.map(SqlExpr),
                            not_null: r.get("not_null")?,
                            checks: Vec::new(),
                            comment,
                        },
                    );
                }
                'c' => {
                    let relation: u32 = r.get("relation")?;
                    self.type_names.insert(oid, format!("{name}"));
                    self.composites.insert(
                        relation,
                        CompositeType {
                            name,
                            attributes: Vec::new(),
                            comment,
                        },
                    );
                }
                'r' => self.unsupported(
                    "range type",
                    &name,
                    "range types are not part of the schema model",
                ),
                'm' => self.unsupported(
                    "multirange type",
                    &name,
                    "multirange types are not part of the schema model",
                ),
                'b' => self.unsupported(
                    "base type",
                    &name,
                    "base types (CREATE TYPE with input and output functions) are not part of \
                     the schema model",
                ),
                'p' if !r.get::<bool>("defined")? => self.unsupported(
                    "shell type",
                    &name,
                    "a shell type (CREATE TYPE name without a definition) is not part of the \
                     schema model",
                ),
                other => return Err(r.error(format!("unexpected type kind `{other}`"))),
            }
        }
        Ok(())
    }
}
