-- The server version, whether Supabase Storage's bucket table exists, and whether row-level
-- security hides its rows from this role (one row).
SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS server_version_num,
       pg_catalog.current_setting('server_version') AS server_version,
       pg_catalog.to_regclass('storage.buckets') IS NOT NULL AS has_storage_buckets,
       COALESCE(pg_catalog.row_security_active(pg_catalog.to_regclass('storage.buckets')), false)
           AS storage_buckets_hidden,
       current_user::pg_catalog.text AS role
