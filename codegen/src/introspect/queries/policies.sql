-- Row-level security policies on relations of the governed schemas ($1) and of the platform
-- schemas whose tables the application may attach to ($2).
SELECT pol.oid,
       pol.polrelid AS relation,
       c.relnamespace AS namespace,
       n.nspname::pg_catalog.text AS table_schema,
       c.relname::pg_catalog.text AS table_name,
       pol.polname::pg_catalog.text AS name,
       pol.polcmd::pg_catalog.text AS command,
       pol.polpermissive AS permissive,
       ARRAY(SELECT CASE WHEN r.role = 0 THEN 'public'
                         ELSE pg_catalog.pg_get_userbyid(r.role)::pg_catalog.text END
             FROM pg_catalog.unnest(pol.polroles) AS r(role)) AS roles,
       CASE WHEN pol.polqual IS NOT NULL THEN pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) END
           AS using_expr,
       CASE WHEN pol.polwithcheck IS NOT NULL
            THEN pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) END AS with_check_expr,
       d.description AS comment
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass
      AND d.objoid = pol.oid AND d.objsubid = 0
WHERE (c.relnamespace = ANY ($1::pg_catalog.oid[]) OR c.relnamespace = ANY ($2::pg_catalog.oid[]))
  -- Only the policies of these relations ($3); NULL: of all of them.
  AND ($3::pg_catalog.oid[] IS NULL OR pol.polrelid = ANY ($3::pg_catalog.oid[]))
