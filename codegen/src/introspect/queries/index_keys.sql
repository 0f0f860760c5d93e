-- One row per key or INCLUDE column of the indexes on relations of the governed schemas ($1),
-- in order. Collation and operator class are given only when they are not the default.
SELECT i.indexrelid AS index,
       k.ord::pg_catalog.int4 AS position,
       a.name AS column_name,
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
-- The key column's name, and the collation a key gets without COLLATE: its column's, or for an
-- expression key the default collation of its type (the type of the index's own attribute).
-- Scalar subqueries, one index probe each, rather than joins, which hashed all of pg_attribute
-- twice.
CROSS JOIN LATERAL (
    SELECT (SELECT ta.attname::pg_catalog.text
            FROM pg_catalog.pg_attribute ta
            WHERE ta.attrelid = i.indrelid AND ta.attnum = k.attnum) AS name,
           CASE WHEN k.coll = 0 THEN 0::pg_catalog.oid
                WHEN k.attnum <> 0
                THEN (SELECT ta.attcollation
                      FROM pg_catalog.pg_attribute ta
                      WHERE ta.attrelid = i.indrelid AND ta.attnum = k.attnum)
                ELSE (SELECT t.typcollation
                      FROM pg_catalog.pg_attribute ia
                      JOIN pg_catalog.pg_type t ON t.oid = ia.atttypid
                      WHERE ia.attrelid = i.indexrelid AND ia.attnum = k.ord)
           END AS default_collation) a
LEFT JOIN pg_catalog.pg_collation co
       ON co.oid = k.coll
      AND k.coll <> 0
      AND k.coll <> a.default_collation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = k.opclass
LEFT JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])
  AND c.relkind IN ('r', 'p', 'm')
  -- Only the indexes of these relations ($2); NULL: of all of them.
  AND ($2::pg_catalog.oid[] IS NULL OR i.indrelid = ANY ($2::pg_catalog.oid[]))
ORDER BY i.indexrelid, k.ord
