-- Collations of the governed schemas ($1), not owned by an extension. The locale columns moved
-- between versions (colliculocale in 15/16, colllocale from 17), so they are read through jsonb.
SELECT co.oid,
       n.nspname::pg_catalog.text AS schema,
       co.collname::pg_catalog.text AS name,
       co.collprovider::pg_catalog.text AS provider,
       co.collisdeterministic AS deterministic,
       pg_catalog.to_jsonb(co) ->> 'collcollate' AS lc_collate,
       pg_catalog.to_jsonb(co) ->> 'collctype' AS lc_ctype,
       COALESCE(pg_catalog.to_jsonb(co) ->> 'colliculocale',
                pg_catalog.to_jsonb(co) ->> 'colllocale') AS icu_locale,
       d.description AS comment
FROM pg_catalog.pg_collation co
JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_collation'::pg_catalog.regclass
      AND d.objoid = co.oid AND d.objsubid = 0
WHERE co.collnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_collation'::pg_catalog.regclass
                    AND e.objid = co.oid AND e.deptype = 'e')
