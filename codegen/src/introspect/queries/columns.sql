-- Columns of the relations in the governed schemas ($1), including the attributes of composite
-- types. Rust keeps those of the relations it knows (extension-owned ones are not among them).
SELECT a.attrelid AS relation,
       a.attnum AS position,
       a.attname::pg_catalog.text AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END
           AS default_expr,
       CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END
           AS generated_expr,
       a.attgenerated::pg_catalog.text AS generated_kind,
       a.attidentity::pg_catalog.text AS identity,
       s.seqstart AS identity_start,
       s.seqincrement AS identity_increment,
       s.seqmin AS identity_min,
       s.seqmax AS identity_max,
       s.seqcache AS identity_cache,
       s.seqcycle AS identity_cycle,
       cn.nspname::pg_catalog.text AS collation_schema,
       co.collname::pg_catalog.text AS collation_name,
       a.attislocal AS is_local,
       -- An inherited column may carry a default or NOT NULL of its own; the model keeps only the
       -- parent's, so Rust reports the difference.
       CASE WHEN NOT a.attislocal THEN
           EXISTS (SELECT FROM pg_catalog.pg_inherits i
                   JOIN pg_catalog.pg_attribute pa
                     ON pa.attrelid = i.inhparent AND pa.attname = a.attname
                   LEFT JOIN pg_catalog.pg_attrdef pd
                          ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
                   WHERE i.inhrelid = a.attrelid
                     AND pa.attnotnull = a.attnotnull
                     AND pg_catalog.pg_get_expr(pd.adbin, pd.adrelid)
                         IS NOT DISTINCT FROM pg_catalog.pg_get_expr(ad.adbin, ad.adrelid))
       END AS matches_parent,
       COALESCE(a.attstattarget::pg_catalog.int4, -1) >= 0 AS has_statistics_target,
       a.attstorage <> t.typstorage AS has_storage,
       a.attcompression <> '' AS has_compression,
       d.description AS comment
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co
       ON co.oid = a.attcollation AND a.attcollation <> t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
-- Identity sequences: pg_sequence joined to its internal dependency first (one row per sequence),
-- then hash-joined to the columns, rather than a pg_depend probe per column.
LEFT JOIN (SELECT id.refobjid, id.refobjsubid, sq.*
           FROM pg_catalog.pg_sequence sq
           JOIN pg_catalog.pg_depend id
             ON id.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
            AND id.objid = sq.seqrelid
            AND id.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
            AND id.deptype = 'i') s
       ON a.attidentity <> ''
      AND s.refobjid = a.attrelid
      AND s.refobjsubid = a.attnum
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objoid = a.attrelid AND d.objsubid = a.attnum
WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'c')
  -- Only the columns of these relations ($2, composite types all the same); NULL: all of them.
  AND ($2::pg_catalog.oid[] IS NULL OR c.relkind = 'c' OR c.oid = ANY ($2::pg_catalog.oid[]))
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
