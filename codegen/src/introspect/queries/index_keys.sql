-- One row per key or INCLUDE column of the indexes on relations of the governed schemas ($1),
-- in order. Collation and operator class are given only when they are not the default.
SELECT i.indexrelid AS index,
       k.ord::pg_catalog.int4 AS position,
       a.attname::pg_catalog.text AS column_name,
       CASE WHEN k.attnum = 0
            THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::pg_catalog.int4, false)
       END AS expression,
       cn.nspname::pg_catalog.text AS collation_schema,
       co.collname::pg_catalog.text AS collation_name,
       CASE WHEN NOT oc.opcdefault THEN ocn.nspname::pg_catalog.text END AS opclass_schema,
       CASE WHEN NOT oc.opcdefault THEN oc.opcname::pg_catalog.text END AS opclass_name,
       COALESCE(k.opt & 1 <> 0, false) AS descending,
       COALESCE(k.opt & 2 <> 0, false) AS nulls_first
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(i.indkey::pg_catalog.int2[]),
                              pg_catalog.unnest(i.indclass::pg_catalog.oid[]),
                              pg_catalog.unnest(i.indcollation::pg_catalog.oid[]),
                              pg_catalog.unnest(i.indoption::pg_catalog.int2[]))
    WITH ORDINALITY AS k(attnum, opclass, coll, opt, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
-- The index's own attribute has the key's type; its default collation is what an expression key
-- gets without COLLATE.
LEFT JOIN pg_catalog.pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = k.ord
LEFT JOIN pg_catalog.pg_type it ON it.oid = ia.atttypid
LEFT JOIN pg_catalog.pg_collation co
       ON co.oid = k.coll
      AND k.coll <> 0
      AND k.coll <> COALESCE(a.attcollation, it.typcollation)
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = k.opclass
LEFT JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])
  AND c.relkind IN ('r', 'p', 'm')
ORDER BY i.indexrelid, k.ord
