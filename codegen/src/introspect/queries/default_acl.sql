-- ALTER DEFAULT PRIVILEGES entries, one row per grantee and privilege; an entry whose ACL is
-- empty (everything revoked) still gives one row, with a NULL privilege.
SELECT pg_catalog.pg_get_userbyid(da.defaclrole)::pg_catalog.text AS role,
       da.defaclnamespace AS namespace,
       n.nspname::pg_catalog.text AS schema,
       da.defaclobjtype::pg_catalog.text AS objects,
       CASE WHEN x.grantee = 0 THEN NULL
            ELSE pg_catalog.pg_get_userbyid(x.grantee)::pg_catalog.text END AS grantee,
       COALESCE(x.grantee = da.defaclrole, false) AS to_owner,
       x.privilege_type AS privilege,
       x.is_grantable AS grantable
FROM pg_catalog.pg_default_acl da
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = da.defaclnamespace
LEFT JOIN LATERAL pg_catalog.aclexplode(da.defaclacl) AS x ON true
