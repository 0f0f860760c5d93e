-- The tables, views and foreign tables that a change to the relations $1 (qualified names; those
-- that do not exist are skipped) can reach, one row each: those relations and, from the server's
-- own dependency records, every relation with an object that depends on one of them directly (a
-- foreign key, a view's rule, a policy, a trigger, a default, an index, a column of its row type),
-- and their partitions and inheritance parents and children. Such an object's definition names
-- what it depends on, so it reads differently when that is renamed, say. Nothing further: a change
-- to one relation does not change what another one exposes to its own dependents (its name, its
-- columns) without writing that relation's catalog rows, which the caller watches
-- (touched.sql); and PostgreSQL refuses, without CASCADE, to change or drop an object another
-- one depends on in a way that would change it.
WITH seeds AS (
    SELECT c.oid
    FROM pg_catalog.unnest($1::pg_catalog.text[]) AS s(name)
    JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(s.name)
),
reach AS (
    SELECT oid FROM seeds
  UNION
    SELECT x.oid
    FROM seeds r
    CROSS JOIN LATERAL (
        SELECT CASE d.classid
                   WHEN 'pg_catalog.pg_class'::pg_catalog.regclass
                       THEN COALESCE((SELECT i.indrelid FROM pg_catalog.pg_index i
                                      WHERE i.indexrelid = d.objid), d.objid)
                   WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass
                       THEN (SELECT NULLIF(con.conrelid, 0) FROM pg_catalog.pg_constraint con
                             WHERE con.oid = d.objid)
                   WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                       THEN (SELECT rw.ev_class FROM pg_catalog.pg_rewrite rw
                             WHERE rw.oid = d.objid)
                   WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass
                       THEN (SELECT pol.polrelid FROM pg_catalog.pg_policy pol
                             WHERE pol.oid = d.objid)
                   WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass
                       THEN (SELECT tg.tgrelid FROM pg_catalog.pg_trigger tg
                             WHERE tg.oid = d.objid)
                   WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass
                       THEN (SELECT ad.adrelid FROM pg_catalog.pg_attrdef ad
                             WHERE ad.oid = d.objid)
               END
        FROM pg_catalog.pg_depend d
        WHERE (d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = r.oid)
           OR (d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass
               AND d.refobjid = (SELECT rc.reltype FROM pg_catalog.pg_class rc
                                 WHERE rc.oid = r.oid))
      UNION ALL
        SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = r.oid
      UNION ALL
        SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = r.oid
    ) AS x(oid)
    WHERE x.oid IS NOT NULL
)
SELECT r.oid
FROM reach r
JOIN pg_catalog.pg_class c ON c.oid = r.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
