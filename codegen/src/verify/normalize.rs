//! What is taken out of both schemas before they are compared: objects of the ignore list, and
//! (from the live side only) the grants Supabase's own default privileges make.

use super::compare::default_privilege_name;
use super::ignore::IgnoreList;
use crate::model::{DefaultPrivilege, DefaultPrivilegeObjects, Grant, QualifiedName, Schema};
use std::collections::{BTreeMap, BTreeSet};

/// Removes the objects the ignore list names (and everything defined on them). Returns the
/// removed objects as `kind name`.
pub(crate) fn prune(schema: &mut Schema, ignore: &IgnoreList) -> BTreeSet<String> {
    let mut removed = BTreeSet::new();
    if ignore.is_empty() {
        return removed;
    }
    let mut hit = |kind: &str, name: String| -> bool {
        if ignore.matches(kind, &name) {
            removed.insert(format!("{kind} {name}"));
            true
        } else {
            false
        }
    };
    schema.schemas.retain(|n, _| !hit("schema", n.to_string()));
    schema
        .extensions
        .retain(|n, _| !hit("extension", n.to_string()));
    schema
        .collations
        .retain(|n, _| !hit("collation", n.to_string()));
    schema.enums.retain(|n, _| !hit("enum", n.to_string()));
    schema.domains.retain(|n, d| {
        if hit("domain", n.to_string()) {
            return false;
        }
        d.checks
            .retain(|c| !hit("check constraint", format!("{n}.{}", c.name)));
        true
    });
    schema
        .composites
        .retain(|n, _| !hit("composite type", n.to_string()));
    schema
        .sequences
        .retain(|n, _| !hit("sequence", n.to_string()));
    schema.tables.retain(|n, t| {
        if hit("table", n.to_string()) {
            return false;
        }
        let child = |c: &dyn std::fmt::Display| format!("{n}.{c}");
        t.columns.retain(|c| !hit("column", child(&c.name)));
        if t.primary_key
            .as_ref()
            .is_some_and(|pk| hit("primary key", child(&pk.name)))
        {
            t.primary_key = None;
        }
        t.uniques
            .retain(|c| !hit("unique constraint", child(&c.name)));
        t.checks
            .retain(|c| !hit("check constraint", child(&c.name)));
        t.foreign_keys
            .retain(|c| !hit("foreign key", child(&c.name)));
        t.exclusions
            .retain(|c| !hit("exclusion constraint", child(&c.name)));
        t.indexes.retain(|c| !hit("index", child(&c.name)));
        t.triggers.retain(|c| !hit("trigger", child(&c.name)));
        t.policies.retain(|c| !hit("policy", child(&c.name)));
        true
    });
    schema.views.retain(|n, v| {
        if hit("view", n.to_string()) {
            return false;
        }
        v.indexes
            .retain(|c| !hit("index", format!("{n}.{}", c.name)));
        v.triggers
            .retain(|c| !hit("trigger", format!("{n}.{}", c.name)));
        true
    });
    schema
        .functions
        .retain(|id, _| !hit("function", id.to_string()));
    for (n, a) in &mut schema.attached {
        a.policies
            .retain(|c| !hit("policy", format!("{n}.{}", c.name)));
        a.triggers
            .retain(|c| !hit("trigger", format!("{n}.{}", c.name)));
    }
    schema
        .attached
        .retain(|_, a| !a.policies.is_empty() || !a.triggers.is_empty());
    schema
        .default_privileges
        .retain(|d| !hit("default privilege", default_privilege_name(d)));
    schema.buckets.retain(|id, _| !hit("bucket", id.clone()));
    removed
}

/// Roles Supabase's default privileges grant to.
const PLATFORM_GRANTEES: &[&str] = &[
    "anon",
    "authenticated",
    "service_role",
    "postgres",
    "supabase_admin",
];

/// Whether a default privilege is one a Supabase project comes with: `ALTER DEFAULT PRIVILEGES
/// IN SCHEMA public GRANT ALL ON TABLES | SEQUENCES | FUNCTIONS TO anon, authenticated,
/// service_role` (for the roles `postgres` and `supabase_admin`).
fn is_platform_default(d: &DefaultPrivilege) -> bool {
    d.schema.as_ref().is_some_and(|s| s.as_str() == "public")
        && PLATFORM_GRANTEES.contains(&d.grant.grantee.as_str())
        && matches!(
            d.objects,
            DefaultPrivilegeObjects::Tables
                | DefaultPrivilegeObjects::Sequences
                | DefaultPrivilegeObjects::Functions
        )
}

/// Takes Supabase's default privileges out of the live schema, with the grants they made: the
/// platform's default entries that the declared schema does not declare, and each grant on a
/// relation, sequence or function that such an entry gives and the declared schema does not
/// declare on that object. Declaring the default privileges (`[[default_privileges]]`) makes
/// `verify` check them and their grants like any other. Returns how many grants were taken out.
pub(crate) fn supabase_defaults(declared: &Schema, live: &mut Schema) -> usize {
    let platform: Vec<DefaultPrivilege> = live
        .default_privileges
        .iter()
        .filter(|d| is_platform_default(d) && !declared.default_privileges.contains(d))
        .cloned()
        .collect();
    if platform.is_empty() {
        return 0;
    }
    live.default_privileges.retain(|d| !platform.contains(d));
    // (schema, objects) → grants the platform's entries give there.
    let mut gives: BTreeMap<(String, DefaultPrivilegeObjects), BTreeSet<(String, String)>> =
        BTreeMap::new();
    for d in &platform {
        let schema = d
            .schema
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        gives.entry((schema, d.objects)).or_default().insert((
            d.grant.grantee.as_str().to_owned(),
            d.grant.privilege.sql().to_owned(),
        ));
    }
    let mut removed = 0;
    let mut strip = |name: &QualifiedName,
                     objects: DefaultPrivilegeObjects,
                     grants: &mut BTreeSet<Grant>,
                     declared: Option<&BTreeSet<Grant>>| {
        let Some(given) = gives.get(&(name.schema.as_str().to_owned(), objects)) else {
            return;
        };
        let before = grants.len();
        grants.retain(|g| {
            declared.is_some_and(|d| d.contains(g))
                || !given.contains(&(g.grantee.as_str().to_owned(), g.privilege.sql().to_owned()))
        });
        removed += before - grants.len();
    };
    for (name, t) in &mut live.tables {
        let d = declared.tables.get(name).map(|t| &t.grants);
        strip(name, DefaultPrivilegeObjects::Tables, &mut t.grants, d);
    }
    for (name, v) in &mut live.views {
        let d = declared.views.get(name).map(|v| &v.grants);
        strip(name, DefaultPrivilegeObjects::Tables, &mut v.grants, d);
    }
    for (name, s) in &mut live.sequences {
        let d = declared.sequences.get(name).map(|s| &s.grants);
        strip(name, DefaultPrivilegeObjects::Sequences, &mut s.grants, d);
    }
    for (id, f) in &mut live.functions {
        let d = declared.functions.get(id).map(|f| &f.grants);
        strip(
            &id.name,
            DefaultPrivilegeObjects::Functions,
            &mut f.grants,
            d,
        );
    }
    removed
}
