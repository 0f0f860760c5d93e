-- User triggers on relations of the governed schemas ($1) and of the platform schemas whose
-- tables the application may attach to ($2). Internal triggers (foreign keys) and the clones a
-- partitioned table's trigger makes on its partitions (tgparentid <> 0) are left out.
SELECT t.oid,
       t.tgrelid AS relation,
       c.relnamespace AS namespace,
       n.nspname::pg_catalog.text AS table_schema,
       c.relname::pg_catalog.text AS table_name,
       t.tgname::pg_catalog.text AS name,
       t.tgtype::pg_catalog.int4 AS type_bits,
       t.tgenabled::pg_catalog.text AS enabled,
       p.pronamespace AS function_namespace,
       pn.nspname::pg_catalog.text AS function_schema,
       p.proname::pg_catalog.text AS function_name,
       t.tgnargs::pg_catalog.int4 AS arg_count,
       t.tgargs AS args,
       ARRAY(SELECT a.attname::pg_catalog.text
             FROM pg_catalog.unnest(t.tgattr::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS update_columns,
       t.tgconstraint <> 0 AS is_constraint,
       t.tgdeferrable AS deferrable,
       t.tginitdeferred AS deferred,
       t.tgoldtable::pg_catalog.text AS old_table,
       t.tgnewtable::pg_catalog.text AS new_table,
       CASE WHEN t.tgqual IS NOT NULL THEN pg_catalog.pg_get_triggerdef(t.oid, false) END
           AS definition,
       d.description AS comment
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
      AND d.objoid = t.oid AND d.objsubid = 0
WHERE (c.relnamespace = ANY ($1::pg_catalog.oid[]) OR c.relnamespace = ANY ($2::pg_catalog.oid[]))
  AND NOT t.tgisinternal
  -- Only the triggers of these relations ($3); NULL: of all of them.
  AND ($3::pg_catalog.oid[] IS NULL OR t.tgrelid = ANY ($3::pg_catalog.oid[]))
  AND t.tgparentid = 0
