-- User-defined types of the governed schemas ($1), not owned by an extension: enums, domains,
-- stand-alone composite types, and (to report them) base, range, multirange and shell types.
-- Array types, table row types and the multirange types made for ranges are left out.
SELECT t.oid,
       n.nspname::pg_catalog.text AS schema,
       t.typname::pg_catalog.text AS name,
       t.typtype::pg_catalog.text AS kind,
       t.typisdefined AS defined,
       t.typrelid AS relation,
       CASE WHEN t.typtype = 'e' THEN
           ARRAY(SELECT e.enumlabel::pg_catalog.text FROM pg_catalog.pg_enum e
                 WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END AS labels,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END
           AS base_type,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.pg_get_expr(t.typdefaultbin, 0) END AS default_expr,
       t.typnotnull AS not_null,
       cn.nspname::pg_catalog.text AS collation_schema,
       co.collname::pg_catalog.text AS collation_name,
       d.description AS comment
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = t.typrelid
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co
       ON t.typtype = 'd' AND co.oid = t.typcollation AND t.typcollation <> bt.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass
      AND d.objoid = t.oid AND d.objsubid = 0
WHERE t.typnamespace = ANY ($1::pg_catalog.oid[])
  AND (t.typtype IN ('e', 'd', 'r', 'p')
       OR (t.typtype = 'c' AND rc.relkind = 'c')
       OR (t.typtype = 'm' AND NOT EXISTS (SELECT FROM pg_catalog.pg_range r
                                           WHERE r.rngmultitypid = t.oid))
       OR (t.typtype = 'b' AND NOT EXISTS (SELECT FROM pg_catalog.pg_type et
                                           WHERE et.typarray = t.oid)))
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                    AND e.objid = t.oid AND e.deptype = 'e')
