-- Installed extensions, with the comment their control file gives (to tell a changed comment).
SELECT e.extname::pg_catalog.text AS name,
       n.nspname::pg_catalog.text AS schema,
       e.extversion AS version,
       d.description AS comment,
       a.comment AS default_comment
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_extension'::pg_catalog.regclass
      AND d.objoid = e.oid AND d.objsubid = 0
LEFT JOIN pg_catalog.pg_available_extensions() a ON a.name = e.extname
ORDER BY e.extname
