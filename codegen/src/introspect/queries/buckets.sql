-- Supabase Storage buckets. Read as JSON so that older storage schemas (without
-- file_size_limit / allowed_mime_types) read the same way.
SELECT pg_catalog.to_jsonb(b)::pg_catalog.text AS bucket
FROM storage.buckets b
ORDER BY b.id
