//! Which schemas introspection governs, and what Supabase itself puts in a database.
//!
//! A Supabase project is a PostgreSQL database in which the platform owns several schemas
//! (`auth`, `storage`…), preinstalls extensions and grants on `public`. None of that is the
//! application's, so none of it may show up as drift (DESIGN.md, "Supabase realities"); this
//! module is the one list of it.

use crate::model::{Grant, Privilege};

/// Schemas that Supabase creates and manages. With [`Filter::supabase`] they are not governed,
/// but policies and triggers the application puts on their tables are read (as
/// `Schema::attached`), and `storage.buckets` rows become `Schema::buckets`.
pub use crate::model::SUPABASE_SCHEMAS;

/// Extensions every Supabase project has preinstalled; with [`Filter::supabase`] they belong to
/// the platform. (`plpgsql` is PostgreSQL's own and is never listed.)
pub const PLATFORM_EXTENSIONS: &[&str] = &[
    "pg_graphql",
    "pg_stat_statements",
    "pgcrypto",
    "pgjwt",
    "pgsodium",
    "supabase_vault",
    "uuid-ossp",
];

/// The roles Supabase grants `USAGE ON SCHEMA public` to.
const SUPABASE_API_ROLES: &[&str] = &["anon", "authenticated", "service_role"];

/// PostgreSQL's default comment on schema `public`.
pub(crate) const PUBLIC_SCHEMA_DEFAULT_COMMENT: &str = "standard public schema";

/// PostgreSQL's own schemas: `pg_catalog`, `information_schema`, `pg_toast*` and `pg_temp*`.
pub fn is_system_schema(name: &str) -> bool {
    name == "pg_catalog"
        || name == "information_schema"
        || name.starts_with("pg_toast")
        || name.starts_with("pg_temp")
}

/// Which schemas introspection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Treat the database as a Supabase project: Supabase's schemas, preinstalled extensions,
    /// grants on `public` and empty `supabase_realtime` publication are the platform's, not the
    /// application's.
    pub supabase: bool,
    /// Govern only these schemas (`None` = every schema that is not excluded).
    pub only_schemas: Option<Vec<String>>,
    /// Never govern these schemas.
    pub exclude_schemas: Vec<String>,
}

impl Default for Filter {
    /// A Supabase project, every application schema.
    fn default() -> Self {
        Filter {
            supabase: true,
            only_schemas: None,
            exclude_schemas: Vec::new(),
        }
    }
}

impl Filter {
    /// Whether the schema `name` belongs to Supabase (only with [`Filter::supabase`]).
    pub fn is_platform_schema(&self, name: &str) -> bool {
        self.supabase && SUPABASE_SCHEMAS.contains(&name)
    }

    /// Whether `name` was left out by the user's own settings (`only_schemas`, `exclude_schemas`).
    fn excluded_by_user(&self, name: &str) -> bool {
        self.exclude_schemas.iter().any(|s| s == name)
            || self
                .only_schemas
                .as_ref()
                .is_some_and(|only| !only.iter().any(|s| s == name))
    }

    /// Whether the schema `name` is governed: its objects are read into the model.
    pub fn governs(&self, name: &str) -> bool {
        !is_system_schema(name) && !self.is_platform_schema(name) && !self.excluded_by_user(name)
    }

    /// Whether the extension `name`, installed in schema `schema`, is the application's.
    ///
    /// Extensions are database-wide; one counts unless it is `plpgsql`, one Supabase preinstalls,
    /// or it lives in a schema the user excluded. Extensions in `pg_catalog` (procedural
    /// languages such as `plv8`) and in Supabase's `extensions` schema (where the dashboard puts
    /// them) count even though those schemas are not governed.
    pub fn governs_extension(&self, name: &str, schema: &str) -> bool {
        if name == "plpgsql" || (self.supabase && PLATFORM_EXTENSIONS.contains(&name)) {
            return false;
        }
        if self.exclude_schemas.iter().any(|s| s == schema) {
            return false;
        }
        schema == "pg_catalog" || self.is_platform_schema(schema) || self.governs(schema)
    }

    /// Whether `grant` on schema `public` is one PostgreSQL or Supabase makes by default:
    /// PostgreSQL's `USAGE` to `PUBLIC`, and with [`Filter::supabase`] `USAGE` to `anon`,
    /// `authenticated` and `service_role` and `CREATE` to `service_role`.
    pub(crate) fn is_default_public_schema_grant(&self, grant: &Grant) -> bool {
        if grant.with_grant_option {
            return false;
        }
        let role = grant.grantee.as_str();
        match grant.privilege {
            Privilege::Usage => {
                role == "public" || (self.supabase && SUPABASE_API_ROLES.contains(&role))
            }
            Privilege::Create => self.supabase && role == "service_role",
            _ => false,
        }
    }

    /// Whether the publication `name` is the platform's: with [`Filter::supabase`], Supabase's
    /// `supabase_realtime` as long as no governed table was added to it.
    pub(crate) fn is_platform_publication(&self, name: &str, has_governed_tables: bool) -> bool {
        self.supabase && name == "supabase_realtime" && !has_governed_tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Ident;

    #[test]
    fn default_filter_is_supabase_and_governs_app_schemas() {
        let f = Filter::default();
        assert!(f.supabase);
        assert!(f.governs("public"));
        assert!(f.governs("app"));
        for s in [
            "auth",
            "storage",
            "extensions",
            "pg_catalog",
            "information_schema",
        ] {
            assert!(!f.governs(s), "{s}");
        }
        assert!(!f.governs("pg_toast_temp_3"));
        assert!(!f.governs("pg_temp_3"));
    }

    #[test]
    fn plain_filter_governs_supabase_schemas() {
        let f = Filter {
            supabase: false,
            ..Filter::default()
        };
        assert!(f.governs("auth"));
        assert!(f.governs_extension("pgcrypto", "extensions"));
        assert!(!f.governs_extension("plpgsql", "pg_catalog"));
    }

    #[test]
    fn only_and_exclude_schemas() {
        let f = Filter {
            supabase: true,
            only_schemas: Some(vec!["app".into(), "auth".into()]),
            exclude_schemas: vec!["app".into()],
        };
        assert!(!f.governs("public"));
        assert!(!f.governs("app"));
        assert!(
            !f.governs("auth"),
            "platform schemas stay out even when named"
        );
        assert!(f.governs_extension("citext", "extensions"));
        assert!(!f.governs_extension("citext", "public"));
        assert!(!f.governs_extension("citext", "app"));
        assert!(!f.governs_extension("pgcrypto", "extensions"));
        assert!(f.governs_extension("plv8", "pg_catalog"));
    }

    #[test]
    fn default_grants_on_public() {
        let grant = |role: &str, privilege, with_grant_option| Grant {
            grantee: Ident::new(role),
            privilege,
            with_grant_option,
        };
        let f = Filter::default();
        assert!(f.is_default_public_schema_grant(&grant("public", Privilege::Usage, false)));
        assert!(f.is_default_public_schema_grant(&grant("anon", Privilege::Usage, false)));
        assert!(f.is_default_public_schema_grant(&grant("service_role", Privilege::Create, false)));
        assert!(!f.is_default_public_schema_grant(&grant("anon", Privilege::Create, false)));
        assert!(!f.is_default_public_schema_grant(&grant("anon", Privilege::Usage, true)));
        assert!(!f.is_default_public_schema_grant(&grant("app_user", Privilege::Usage, false)));
        let plain = Filter {
            supabase: false,
            ..Filter::default()
        };
        assert!(plain.is_default_public_schema_grant(&grant("public", Privilege::Usage, false)));
        assert!(!plain.is_default_public_schema_grant(&grant("anon", Privilege::Usage, false)));
        assert!(f.is_platform_publication("supabase_realtime", false));
        assert!(!f.is_platform_publication("supabase_realtime", true));
        assert!(!plain.is_platform_publication("supabase_realtime", false));
    }
}
