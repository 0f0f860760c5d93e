-- The server version and whether Supabase Storage's bucket table exists (one row).
SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS server_version_num,
       pg_catalog.current_setting('server_version') AS server_version,
       pg_catalog.to_regclass('storage.buckets') IS NOT NULL AS has_storage_buckets
