-- For each table, view and foreign table, by name: how many catalog rows describe it (its pg_class
-- row and its indexes', columns, defaults, constraints, indexes, triggers, policies, rules and the
-- comments on all of them) and an XOR of a 64-bit hash of each row version's identity (ctid,
-- xmin) and of its catalog's number (so that rows of two catalogs written by one transaction at
-- the same place do not cancel out). Any change to the relation writes one of those rows, or
-- removes one: two readings that agree mean nothing was done to it in between (fingerprint.rs
-- does the same per catalog). Only the catalogs numbered in $1 (1 to 9, as below): the two sessions
-- of a proof read about half of the rows each, and their counts and hashes are combined.
WITH owned (relation, ctid, xmin, catalog) AS (
    SELECT COALESCE(i.indrelid, c.oid), c.ctid, c.xmin, 1
    FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
  UNION ALL
    SELECT a.attrelid, a.ctid, a.xmin, 2 FROM pg_catalog.pg_attribute a
  UNION ALL
    SELECT ad.adrelid, ad.ctid, ad.xmin, 3 FROM pg_catalog.pg_attrdef ad
  UNION ALL
    SELECT con.conrelid, con.ctid, con.xmin, 4 FROM pg_catalog.pg_constraint con
    WHERE con.conrelid <> 0
  UNION ALL
    SELECT i.indrelid, i.ctid, i.xmin, 5 FROM pg_catalog.pg_index i
  UNION ALL
    SELECT t.tgrelid, t.ctid, t.xmin, 6 FROM pg_catalog.pg_trigger t
  UNION ALL
    SELECT p.polrelid, p.ctid, p.xmin, 7 FROM pg_catalog.pg_policy p
  UNION ALL
    SELECT r.ev_class, r.ctid, r.xmin, 8 FROM pg_catalog.pg_rewrite r
  UNION ALL
    SELECT CASE d.classoid
               WHEN 'pg_catalog.pg_class'::pg_catalog.regclass
                   THEN COALESCE((SELECT i.indrelid FROM pg_catalog.pg_index i
                                  WHERE i.indexrelid = d.objoid), d.objoid)
               WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass
                   THEN (SELECT con.conrelid FROM pg_catalog.pg_constraint con
                         WHERE con.oid = d.objoid)
               WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass
                   THEN (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE t.oid = d.objoid)
               WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass
                   THEN (SELECT p.polrelid FROM pg_catalog.pg_policy p WHERE p.oid = d.objoid)
           END,
           d.ctid, d.xmin, 9
    FROM pg_catalog.pg_description d
    WHERE d.classoid IN ('pg_catalog.pg_class'::pg_catalog.regclass,
                         'pg_catalog.pg_constraint'::pg_catalog.regclass,
                         'pg_catalog.pg_trigger'::pg_catalog.regclass,
                         'pg_catalog.pg_policy'::pg_catalog.regclass)
)
SELECT n.nspname::pg_catalog.text AS schema,
       c.relname::pg_catalog.text AS name,
       pg_catalog.count(*) AS row_count,
       pg_catalog.bit_xor(pg_catalog.hashtidextended(o.ctid, o.xmin::pg_catalog.text::pg_catalog.int8
                                                   + o.catalog::pg_catalog.int8 * 4294967296))
           AS hash
FROM owned o
JOIN pg_catalog.pg_class c ON c.oid = o.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE o.catalog = ANY ($1::pg_catalog.int4[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast'
GROUP BY n.nspname, c.relname
