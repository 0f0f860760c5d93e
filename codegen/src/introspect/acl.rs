//! Grants (`aclexplode` of `nspacl`, `relacl`, `attacl`, `proacl`, `typacl`) and default
//! privileges (`pg_default_acl`).
//!
//! The owner's own privileges are never listed: they come with ownership. For routines,
//! `PUBLIC`'s `EXECUTE` becomes [`Function::public_execute`](crate::model::Function) instead of a
//! grant. Type grants have no place in the model and are reported unless they are PostgreSQL's
//! default (`USAGE` to `PUBLIC`).

use super::load::{Builder, NamespaceRole, item};
use super::rows::RowReader;
use super::{IntrospectError, Q_ACL, Q_DEFAULT_ACL};
use crate::model::{DefaultPrivilege, DefaultPrivilegeObjects, Grant, Ident, Privilege};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio_postgres::Row;

/// The grantee name `aclexplode` rows use for `PUBLIC` (grantee 0).
const PUBLIC: &str = "public";

impl Builder {
    pub(super) fn read_acl(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        // Type oid → grants other than the owner's, checked against the default at the end.
        let mut type_grants: HashMap<u32, BTreeSet<Grant>> = HashMap::new();
        for row in rows {
            let mut r = RowReader::new(&Q_ACL, row);
            let kind: String = r.get("kind")?;
            let object: u32 = r.get("object")?;
            let sub: i16 = r.get("sub")?;
            r.describe(format!("{kind} {object}"));
            if r.get::<bool>("to_owner")? {
                continue;
            }
            let grantee = Ident(
                r.get::<Option<String>>("grantee")?
                    .unwrap_or_else(|| PUBLIC.to_owned()),
            );
            let privilege_name: String = r.get("privilege")?;
            let Some(privilege) = Privilege::parse(&privilege_name) else {
                if let Some(name) = self.acl_object_name(&kind, object, sub) {
                    self.unsupported(
                        "grant",
                        format!("{privilege_name} ON {name} TO {grantee}"),
                        format!("privilege {privilege_name} is not part of the schema model"),
                    );
                }
                continue;
            };
            let grant = Grant {
                grantee,
                privilege,
                with_grant_option: r.get("grantable")?,
            };
            match kind.as_str() {
                "namespace" => {
                    if let Some(s) = self.schemas.get_mut(&object) {
                        s.grants.insert(grant);
                    }
                }
                "relation" => {
                    if let Some(t) = self.tables.get_mut(&object) {
                        t.grants.insert(grant);
                    } else if let Some(v) = self.views.get_mut(&object) {
                        v.grants.insert(grant);
                    } else if let Some(s) = self.sequences.get_mut(&object) {
                        s.grants.insert(grant);
                    }
                }
                "column" => {
                    if let Some(&slot) = self.column_slots.get(&(object, sub)) {
                        if let Some(column) = self
                            .tables
                            .get_mut(&object)
                            .and_then(|t| t.columns.get_mut(slot))
                        {
                            column.grants.insert(grant);
                        }
                    } else if let Some(name) = self.acl_object_name(&kind, object, sub) {
                        self.unsupported.push(item(
                            "column grant",
                            format!("{} ON {name} TO {}", privilege.sql(), grant.grantee),
                            "column grants on views and on inherited columns are not part of \
                             the schema model",
                        ));
                    }
                }
                "routine" => {
                    if let Some(f) = self.functions.get_mut(&object) {
                        if grant.grantee.as_str() == PUBLIC
                            && grant.privilege == Privilege::Execute
                            && !grant.with_grant_option
                        {
                            f.public_execute = true;
                        } else {
                            f.grants.insert(grant);
                        }
                    }
                }
                "type" => {
                    if self.type_names.contains_key(&object) {
                        type_grants.entry(object).or_default().insert(grant);
                    }
                }
                other => return Err(r.error(format!("unknown ACL object kind `{other}`"))),
            }
        }
        let default_type_acl = BTreeSet::from([Grant {
            grantee: Ident::new(PUBLIC),
            privilege: Privilege::Usage,
            with_grant_option: false,
        }]);
        // Types whose ACL was set (non-NULL) but lists nothing besides the owner: PUBLIC's USAGE
        // was revoked.
        let mut sorted: BTreeMap<String, BTreeSet<Grant>> = BTreeMap::new();
        for (oid, grants) in type_grants {
            if let Some(name) = self.type_names.get(&oid) {
                sorted.insert(name.clone(), grants);
            }
        }
        for (name, grants) in sorted {
            if grants != default_type_acl {
                let list = grants
                    .iter()
                    .map(|g| format!("{} TO {}", g.privilege.sql(), g.grantee))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.unsupported(
                    "type grant",
                    &name,
                    format!(
                        "grants on types are not part of the schema model (the type's ACL gives \
                         {list} besides its owner; the default is USAGE TO public)"
                    ),
                );
            }
        }
        Ok(())
    }

    /// A readable name for an ACL row's object, or `None` when the object is not read.
    fn acl_object_name(&self, kind: &str, object: u32, sub: i16) -> Option<String> {
        match kind {
            "namespace" => self
                .schemas
                .get(&object)
                .map(|s| format!("SCHEMA {}", s.name)),
            "relation" => self
                .tables
                .get(&object)
                .map(|t| format!("TABLE {}", t.name))
                .or_else(|| self.views.get(&object).map(|v| format!("TABLE {}", v.name)))
                .or_else(|| {
                    self.sequences
                        .get(&object)
                        .map(|s| format!("SEQUENCE {}", s.name))
                }),
            "column" => self
                .view_columns
                .get(&(object, sub))
                .cloned()
                .or_else(|| {
                    self.tables
                        .get(&object)
                        .map(|t| format!("{} (column {sub})", t.name))
                })
                .map(|c| format!("COLUMN {c}")),
            "routine" => self
                .functions
                .get(&object)
                .map(|f| format!("FUNCTION {}", f.id)),
            "type" => self.type_names.get(&object).map(|t| format!("TYPE {t}")),
            _ => None,
        }
    }

    pub(super) fn read_default_acl(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        // Database-wide entries for functions and types replace PostgreSQL's default, which gives
        // PUBLIC EXECUTE / USAGE: whether each still does.
        let mut public_default_kept: BTreeMap<(String, &'static str), bool> = BTreeMap::new();
        for row in rows {
            let mut r = RowReader::new(&Q_DEFAULT_ACL, row);
            let role: String = r.get("role")?;
            let namespace: u32 = r.get("namespace")?;
            let code = r.char("objects")?;
            r.describe(format!("default privileges for role {role} ({code})"));
            let objects = match code {
                'r' => DefaultPrivilegeObjects::Tables,
                'S' => DefaultPrivilegeObjects::Sequences,
                'f' => DefaultPrivilegeObjects::Functions,
                'T' => DefaultPrivilegeObjects::Types,
                'n' => DefaultPrivilegeObjects::Schemas,
                other => {
                    self.unsupported(
                        "default privilege",
                        format!("FOR ROLE {} ({other})", Ident(role)),
                        "default privileges on this kind of object are not part of the schema \
                         model",
                    );
                    continue;
                }
            };
            let schema = if namespace == 0 {
                None
            } else if self.role(namespace) == NamespaceRole::Governed {
                Some(Ident(r.get("schema")?))
            } else {
                continue;
            };
            let public_default = match (schema.is_none(), objects) {
                (true, DefaultPrivilegeObjects::Functions) => Some(Privilege::Execute),
                (true, DefaultPrivilegeObjects::Types) => Some(Privilege::Usage),
                _ => None,
            };
            if public_default.is_some() {
                public_default_kept
                    .entry((role.clone(), objects.sql()))
                    .or_insert(false);
            }
            let Some(privilege_name) = r.get::<Option<String>>("privilege")? else {
                // An entry whose ACL is empty.
                continue;
            };
            if r.get::<bool>("to_owner")? {
                continue;
            }
            let grantee = Ident(
                r.get::<Option<String>>("grantee")?
                    .unwrap_or_else(|| PUBLIC.to_owned()),
            );
            let Some(privilege) = Privilege::parse(&privilege_name) else {
                self.unsupported(
                    "default privilege",
                    format!(
                        "FOR ROLE {} GRANT {privilege_name} ON {} TO {grantee}",
                        Ident(role),
                        objects.sql()
                    ),
                    format!("privilege {privilege_name} is not part of the schema model"),
                );
                continue;
            };
            let grant = Grant {
                grantee,
                privilege,
                with_grant_option: r.get("grantable")?,
            };
            if public_default == Some(grant.privilege)
                && grant.grantee.as_str() == PUBLIC
                && !grant.with_grant_option
            {
                public_default_kept.insert((role.clone(), objects.sql()), true);
                continue;
            }
            self.schema.default_privileges.push(DefaultPrivilege {
                for_role: Ident(role),
                schema,
                objects,
                grant,
            });
        }
        for ((role, objects), kept) in public_default_kept {
            if !kept {
                self.unsupported(
                    "default privilege",
                    format!("FOR ROLE {} REVOKE ON {objects} FROM public", Ident(role)),
                    "revoking PostgreSQL's default privileges from PUBLIC (ALTER DEFAULT \
                     PRIVILEGES … REVOKE … FROM PUBLIC) is not part of the schema model",
                );
            }
        }
        Ok(())
    }
}
