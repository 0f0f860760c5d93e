-- Indexes on the relations of the governed schemas ($1), one row per index. Rust drops those
-- that back a constraint (they are the constraint) and partitions of a partitioned index.
SELECT i.indexrelid AS oid,
       i.indrelid AS relation,
       ic.relname::pg_catalog.text AS name,
       i.indisunique AS is_unique,
       i.indnullsnotdistinct AS nulls_not_distinct,
       am.amname::pg_catalog.text AS method,
       i.indnkeyatts::pg_catalog.int4 AS key_count,
       CASE WHEN i.indpred IS NOT NULL THEN pg_catalog.pg_get_expr(i.indpred, i.indrelid) END
           AS predicate,
       ic.reloptions AS options,
       i.indisreplident AS is_replica_identity,
       i.indisvalid AS is_valid,
       i.indisclustered AS is_clustered,
       ic.reltablespace <> 0 AS has_tablespace,
       ic.relispartition AS is_partition,
       d.description AS comment
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objoid = i.indexrelid AND d.objsubid = 0
WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])
  -- Only the indexes of these relations ($2); NULL: of all of them.
  AND ($2::pg_catalog.oid[] IS NULL OR i.indrelid = ANY ($2::pg_catalog.oid[]))
  AND c.relkind IN ('r', 'p', 'm')
