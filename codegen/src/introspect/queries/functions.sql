-- Functions, procedures, aggregates and window functions of the governed schemas ($1), not owned
-- by an extension. Argument lists are in order; `arg_types` and `arg_defaults` cover every
-- argument (OUT and TABLE ones included), `input_types` only those of the signature.
SELECT p.oid,
       n.nspname::pg_catalog.text AS schema,
       p.proname::pg_catalog.text AS name,
       p.prokind::pg_catalog.text AS kind,
       ARRAY(SELECT pg_catalog.format_type(x.t, NULL)
             FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY AS x(t, ord)
             ORDER BY x.ord) AS input_types,
       ARRAY(SELECT pg_catalog.format_type(x.t, NULL)
             FROM pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[]))
                  WITH ORDINALITY AS x(t, ord)
             ORDER BY x.ord) AS arg_types,
       p.proargmodes::pg_catalog.text[] AS arg_modes,
       p.proargnames AS arg_names,
       CASE WHEN p.pronargdefaults > 0 THEN
           ARRAY(SELECT pg_catalog.pg_get_function_arg_default(p.oid, g.n)
                 FROM pg_catalog.generate_series(
                          1, COALESCE(pg_catalog.cardinality(p.proallargtypes), p.pronargs::pg_catalog.int4)
                      ) AS g(n)
                 ORDER BY g.n)
       END AS arg_defaults,
       pg_catalog.format_type(p.prorettype, NULL) AS return_type,
       p.proretset AS returns_set,
       l.lanname::pg_catalog.text AS language,
       p.prosrc AS source,
       p.probin AS binary_file,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END
           AS sql_body,
       p.provolatile::pg_catalog.text AS volatility,
       p.proisstrict AS strict,
       p.prosecdef AS security_definer,
       p.proleakproof AS leakproof,
       p.proparallel::pg_catalog.text AS parallel,
       p.procost::pg_catalog.float8 AS cost,
       p.prorows::pg_catalog.float8 AS rows,
       p.proconfig AS config,
       d.description AS comment
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
LEFT JOIN pg_catalog.pg_description d
       ON d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND d.objoid = p.oid AND d.objsubid = 0
WHERE p.pronamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                    AND e.objid = p.oid AND e.deptype = 'e')
