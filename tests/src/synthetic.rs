//! Generated schemas of any size, for the 1,000-table round trip and the introspection benchmarks.
//!
//! Every table carries the object kinds a real application schema has (identity key, enum and
//! numeric columns, defaults, a generated column, unique and check constraints, a foreign key to
//! the previous table, a partial and an expression index, a trigger, RLS with a policy, a grant and
//! comments), so the catalog grows the way a big real one does.

use std::fmt::Write;

/// How big a synthetic schema is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Number of tables.
    pub tables: usize,
    /// Extra plain columns per table (beyond the fixed ones).
    pub extra_columns: usize,
}

/// The roles the generated schema grants to; they must exist before [`schema_sql`] is applied
/// (roles are cluster-wide, so the caller creates them and drops those it created).
pub const ROLES: &[&str] = &["authenticated"];

/// The SQL of a synthetic schema. Objects per table: the table, its row type, the identity
/// sequence, 7 + `extra_columns` columns, 5 constraints, 2 extra indexes, a trigger, a policy.
pub fn schema_sql(size: Size) -> String {
    let mut s = String::new();
    s.push_str(
        "CREATE TYPE public.synthetic_status AS ENUM ('new', 'active', 'archived');\n\
         CREATE FUNCTION public.synthetic_touch() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;\n",
    );
    for i in 1..=size.tables {
        let t = format!("t{i:05}");
        let _ = writeln!(s, "CREATE TABLE public.{t} (");
        let _ = writeln!(s, "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,");
        let _ = writeln!(s, "    name text NOT NULL,");
        let _ = writeln!(
            s,
            "    lower_name text GENERATED ALWAYS AS (lower(name)) STORED,"
        );
        let _ = writeln!(
            s,
            "    status public.synthetic_status NOT NULL DEFAULT 'new',"
        );
        let _ = writeln!(s, "    amount numeric(12,2) CHECK (amount >= 0),");
        if i > 1 {
            let _ = writeln!(
                s,
                "    parent_id bigint REFERENCES public.t{:05} (id) ON DELETE CASCADE,",
                i - 1
            );
        } else {
            let _ = writeln!(s, "    parent_id bigint,");
        }
        for c in 0..size.extra_columns {
            let _ = writeln!(s, "    extra_{c} varchar(40),");
        }
        let _ = writeln!(s, "    updated_at timestamptz NOT NULL DEFAULT now(),");
        let _ = writeln!(s, "    CONSTRAINT {t}_name_key UNIQUE (name)");
        let _ = writeln!(s, ");");
        let _ = writeln!(
            s,
            "CREATE INDEX {t}_active_idx ON public.{t} (updated_at) WHERE status = 'active';"
        );
        let _ = writeln!(s, "CREATE INDEX {t}_lower_idx ON public.{t} (lower(name));");
        let _ = writeln!(
            s,
            "CREATE TRIGGER {t}_touch BEFORE UPDATE ON public.{t} FOR EACH ROW EXECUTE FUNCTION public.synthetic_touch();"
        );
        let _ = writeln!(s, "ALTER TABLE public.{t} ENABLE ROW LEVEL SECURITY;");
        let _ = writeln!(
            s,
            "CREATE POLICY {t}_read ON public.{t} FOR SELECT TO authenticated USING (status <> 'archived');"
        );
        let _ = writeln!(s, "GRANT SELECT ON public.{t} TO authenticated;");
        let _ = writeln!(s, "COMMENT ON TABLE public.{t} IS 'Synthetic table {i}';");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_scale() {
        let small = schema_sql(Size {
            tables: 2,
            extra_columns: 0,
        });
        assert_eq!(small.matches("CREATE TABLE").count(), 2);
        assert!(small.contains("REFERENCES public.t00001 (id)"));
    }
}
