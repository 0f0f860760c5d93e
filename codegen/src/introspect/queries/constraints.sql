-- Primary key, unique, foreign key, check and exclusion constraints of the relations and domains
-- of the governed schemas ($1). Inherited constraints (conislocal = false) and partition clones
-- (conparentid <> 0) come from their parent and are left out.
SELECT con.oid,
       con.conname::pg_catalog.text AS name,
       con.contype::pg_catalog.text AS kind,
       con.conrelid AS relation,
       con.contypid AS domain,
       con.condeferrable AS deferrable,
       con.condeferred AS deferred,
       con.convalidated AS validated,
       con.connoinherit AS no_inherit,
       -- Column numbers, not names: Rust names them from the columns it has read (columns.sql),
       -- which saves a pg_attribute probe per key column and row.
       con.conkey AS column_numbers,
       fn.nspname::pg_catalog.text AS referenced_schema,
       fc.relname::pg_catalog.text AS referenced_table,
       con.confrelid AS referenced_table_oid,
       con.confkey AS referenced_column_numbers,
       -- A referenced table outside the governed schemas (auth.users) is not among the columns
       -- Rust has read: its column names are looked up here.
       -- So is one left out of the relations read ($2).
       CASE WHEN con.contype = 'f'
                 AND (fc.relnamespace <> ALL ($1::pg_catalog.oid[])
                      OR ($2::pg_catalog.oid[] IS NOT NULL
                          AND con.confrelid <> ALL ($2::pg_catalog.oid[]))) THEN
           ARRAY(SELECT a.attname::pg_catalog.text
                 FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_catalog.pg_attribute a
                   ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                 ORDER BY k.ord)
       END AS referenced_columns,
       con.confupdtype::pg_catalog.text AS on_update,
       con.confdeltype::pg_catalog.text AS on_delete,
       con.confmatchtype::pg_catalog.text AS match_type,
       COALESCE(pg_catalog.cardinality(con.confdelsetcols), 0) AS delete_set_columns,
       CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_expr(con.conbin, con.conrelid) END
           AS check_expr,
       CASE WHEN con.contype = 'x' THEN pg_catalog.pg_get_constraintdef(con.oid) END
           AS definition,
       con.conindid AS index,
       -- The index's column numbers, key columns first: the INCLUDE columns are those after the
       -- first indnkeyatts (named in Rust, like the key columns).
       CASE WHEN con.contype IN ('p', 'u') THEN i.indkey::pg_catalog.int2[] END
           AS index_column_numbers,
       CASE WHEN con.contype IN ('p', 'u') THEN i.indnkeyatts::pg_catalog.int4 END
           AS index_key_count,
       COALESCE(i.indnullsnotdistinct, false) AS nulls_not_distinct,
       ic.reloptions AS index_options,
       COALESCE(ic.reltablespace <> 0, false) AS index_has_tablespace,
       d.description AS comment
FROM pg_catalog.pg_constraint con
LEFT JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_catalog.pg_type ty ON ty.oid = con.contypid
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_catalog.pg_index i ON con.contype IN ('p', 'u', 'x') AND i.indexrelid = con.conindid
LEFT JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
      AND d.objoid = con.oid AND d.objsubid = 0
WHERE (c.relnamespace = ANY ($1::pg_catalog.oid[]) OR ty.typnamespace = ANY ($1::pg_catalog.oid[]))
  AND con.contype IN ('p', 'u', 'f', 'c', 'x')
  -- Only the constraints of these relations ($2, and of every domain); NULL: of all of them.
  AND ($2::pg_catalog.oid[] IS NULL OR con.contypid <> 0 OR con.conrelid = ANY ($2::pg_catalog.oid[]))
  AND con.conislocal
  AND con.conparentid = 0
