-- Tables, views, materialized views, sequences and foreign tables of the governed schemas ($1),
-- not owned by an extension, with everything that is one value per relation.
SELECT c.oid,
       n.nspname::pg_catalog.text AS schema,
       c.relname::pg_catalog.text AS name,
       c.relkind::pg_catalog.text AS kind,
       c.relpersistence::pg_catalog.text AS persistence,
       c.relispartition AS is_partition,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       c.relreplident::pg_catalog.text AS replica_identity,
       c.reloptions AS options,
       c.reloftype <> 0 AS typed,
       c.reltablespace <> 0 AS has_tablespace,
       c.relkind IN ('r', 'm') AND am.amname IS DISTINCT FROM 'heap' AS non_heap,
       am.amname::pg_catalog.text AS access_method,
       d.description AS comment,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END
           AS partition_bound,
       ARRAY(SELECT pn.nspname::pg_catalog.text
             FROM pg_catalog.pg_inherits i
             JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
             JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parent_schemas,
       ARRAY(SELECT pc.relname::pg_catalog.text
             FROM pg_catalog.pg_inherits i
             JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parent_names,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS view_definition,
       pg_catalog.format_type(s.seqtypid, NULL) AS sequence_type,
       s.seqstart AS sequence_start,
       s.seqincrement AS sequence_increment,
       s.seqmin AS sequence_min,
       s.seqmax AS sequence_max,
       s.seqcache AS sequence_cache,
       s.seqcycle AS sequence_cycle,
       sd.deptype::pg_catalog.text AS sequence_owner_dependency,
       own_n.nspname::pg_catalog.text AS sequence_owner_schema,
       own_c.relname::pg_catalog.text AS sequence_owner_table,
       -- A scalar subquery (one index probe per owned sequence) rather than a join, which hashed
       -- all of pg_attribute.
       (SELECT own_a.attname::pg_catalog.text
        FROM pg_catalog.pg_attribute own_a
        WHERE own_a.attrelid = sd.refobjid AND own_a.attnum = sd.refobjsubid)
           AS sequence_owner_column
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objoid = c.oid AND d.objsubid = 0
LEFT JOIN pg_catalog.pg_sequence s ON c.relkind = 'S' AND s.seqrelid = c.oid
LEFT JOIN pg_catalog.pg_depend sd
       ON c.relkind = 'S'
      AND sd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND sd.objid = c.oid
      AND sd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND sd.refobjsubid > 0
      AND sd.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_class own_c ON own_c.oid = sd.refobjid
LEFT JOIN pg_catalog.pg_namespace own_n ON own_n.oid = own_c.relnamespace
WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  -- Only these tables, views and foreign tables ($2, sequences all the same); NULL: all of them.
  AND ($2::pg_catalog.oid[] IS NULL OR c.relkind = 'S' OR c.oid = ANY ($2::pg_catalog.oid[]))
  -- An identity column's sequence is part of the column (columns.sql reads its options).
  AND sd.deptype IS DISTINCT FROM 'i'
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND e.objid = c.oid AND e.deptype = 'e')
