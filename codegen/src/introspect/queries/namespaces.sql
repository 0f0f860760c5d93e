-- Every schema of the database; Rust decides which are governed (Filter).
SELECT n.oid,
       n.nspname::pg_catalog.text AS name,
       d.description AS comment,
       EXISTS (SELECT FROM pg_catalog.pg_depend e
               WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                 AND e.objid = n.oid AND e.deptype = 'e') AS extension_member
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.objoid = n.oid AND d.objsubid = 0
ORDER BY n.nspname
