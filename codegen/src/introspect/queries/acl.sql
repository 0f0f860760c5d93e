-- Every privilege granted on the schemas, relations, columns, routines and types of the governed
-- schemas ($1; only the relations $2 when it is not NULL), one row per grantee and privilege (aclexplode). A NULL ACL means the built-in
-- default: only the owner's for schemas, relations and columns (so no rows), but PUBLIC EXECUTE
-- for routines, which is why routines go through acldefault.
WITH objects AS (
    SELECT 'namespace' AS kind, n.oid AS object, 0::pg_catalog.int2 AS sub, n.nspowner AS owner,
           n.nspacl AS acl
    FROM pg_catalog.pg_namespace n
    WHERE n.oid = ANY ($1::pg_catalog.oid[]) AND n.nspacl IS NOT NULL
  UNION ALL
    SELECT 'relation', c.oid, 0::pg_catalog.int2, c.relowner, c.relacl
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace = ANY ($1::pg_catalog.oid[]) AND c.relacl IS NOT NULL
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND ($2::pg_catalog.oid[] IS NULL OR c.relkind = 'S' OR c.oid = ANY ($2::pg_catalog.oid[]))
  UNION ALL
    SELECT 'column', a.attrelid, a.attnum, c.relowner, a.attacl
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = ANY ($1::pg_catalog.oid[]) AND a.attacl IS NOT NULL
      AND a.attnum > 0 AND NOT a.attisdropped
      AND ($2::pg_catalog.oid[] IS NULL OR a.attrelid = ANY ($2::pg_catalog.oid[]))
  UNION ALL
    SELECT 'routine', p.oid, 0::pg_catalog.int2, p.proowner,
           COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))
    FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = ANY ($1::pg_catalog.oid[])
  UNION ALL
    SELECT 'type', t.oid, 0::pg_catalog.int2, t.typowner, t.typacl
    FROM pg_catalog.pg_type t
    WHERE t.typnamespace = ANY ($1::pg_catalog.oid[]) AND t.typacl IS NOT NULL
)
SELECT o.kind,
       o.object,
       o.sub,
       CASE WHEN x.grantee = 0 THEN NULL
            ELSE pg_catalog.pg_get_userbyid(x.grantee)::pg_catalog.text END AS grantee,
       x.grantee = o.owner AS to_owner,
       x.privilege_type AS privilege,
       x.is_grantable AS grantable
FROM objects o
CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) AS x
