-- Objects the model cannot represent, so that they are reported rather than dropped: one row per
-- object, with its kind, a qualified name and why. Objects in the governed schemas ($1) and
-- database-wide objects, never those an extension owns. `function_namespace` (event triggers) and
-- `has_governed_tables` (publications) let Rust recognise what the platform itself creates.
WITH members AS (
    SELECT e.classid, e.objid FROM pg_catalog.pg_depend e WHERE e.deptype = 'e'
)
SELECT 'rule' AS kind,
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || '.'
           || pg_catalog.quote_ident(r.rulename) AS name,
       'rewrite rules are not part of the schema model; use a view or a trigger' AS reason,
       NULL::pg_catalog.oid AS function_namespace,
       NULL::pg_catalog.bool AS has_governed_tables
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])
  AND r.rulename <> '_RETURN'
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                          AND m.objid = c.oid)
UNION ALL
SELECT 'operator',
       pg_catalog.quote_ident(n.nspname) || '.' || o.oprname || '('
           || COALESCE(pg_catalog.format_type(NULLIF(o.oprleft, 0), NULL), 'NONE') || ', '
           || COALESCE(pg_catalog.format_type(NULLIF(o.oprright, 0), NULL), 'NONE') || ')',
       'operators are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE o.oprnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass
                                          AND m.objid = o.oid)
UNION ALL
SELECT 'operator class',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(oc.opcname) || ' USING '
           || am.amname,
       'operator classes are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_opclass oc
JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace
JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod
WHERE oc.opcnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass
                                          AND m.objid = oc.oid)
UNION ALL
SELECT 'operator family',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(f.opfname) || ' USING '
           || am.amname,
       'operator families are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_opfamily f
JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace
JOIN pg_catalog.pg_am am ON am.oid = f.opfmethod
WHERE f.opfnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass
                                          AND m.objid = f.oid)
  -- CREATE OPERATOR CLASS makes a family of the same name along with it: report the class only.
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend fd
                  WHERE fd.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass
                    AND fd.objid = f.oid AND fd.deptype = 'a'
                    AND fd.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass)
UNION ALL
SELECT 'cast',
       '(' || pg_catalog.format_type(ca.castsource, NULL) || ' AS '
           || pg_catalog.format_type(ca.casttarget, NULL) || ')',
       'casts are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_cast ca
WHERE ca.oid >= 16384
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass
                                          AND m.objid = ca.oid)
UNION ALL
SELECT 'text search configuration',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.cfgname),
       'text search objects are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_ts_config x
JOIN pg_catalog.pg_namespace n ON n.oid = x.cfgnamespace
WHERE x.cfgnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_ts_config'::pg_catalog.regclass
                                          AND m.objid = x.oid)
UNION ALL
SELECT 'text search dictionary',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.dictname),
       'text search objects are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_ts_dict x
JOIN pg_catalog.pg_namespace n ON n.oid = x.dictnamespace
WHERE x.dictnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_ts_dict'::pg_catalog.regclass
                                          AND m.objid = x.oid)
UNION ALL
SELECT 'text search parser',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.prsname),
       'text search objects are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_ts_parser x
JOIN pg_catalog.pg_namespace n ON n.oid = x.prsnamespace
WHERE x.prsnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_ts_parser'::pg_catalog.regclass
                                          AND m.objid = x.oid)
UNION ALL
SELECT 'text search template',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.tmplname),
       'text search objects are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_ts_template x
JOIN pg_catalog.pg_namespace n ON n.oid = x.tmplnamespace
WHERE x.tmplnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_ts_template'::pg_catalog.regclass
                                          AND m.objid = x.oid)
UNION ALL
SELECT 'statistics object',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(s.stxname),
       'extended statistics (CREATE STATISTICS) are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_statistic_ext s
JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
WHERE s.stxnamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass
                                          AND m.objid = s.oid)
UNION ALL
SELECT 'conversion',
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(cv.conname),
       'encoding conversions are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_conversion cv
JOIN pg_catalog.pg_namespace n ON n.oid = cv.connamespace
WHERE cv.connamespace = ANY ($1::pg_catalog.oid[])
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_conversion'::pg_catalog.regclass
                                          AND m.objid = cv.oid)
UNION ALL
SELECT 'publication',
       pg_catalog.quote_ident(p.pubname),
       'publications are not part of the schema model',
       NULL,
       p.puballtables
           OR EXISTS (SELECT FROM pg_catalog.pg_publication_rel pr
                      JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
                      WHERE pr.prpubid = p.oid AND c.relnamespace = ANY ($1::pg_catalog.oid[]))
           OR EXISTS (SELECT FROM pg_catalog.pg_publication_namespace pn
                      WHERE pn.pnpubid = p.oid AND pn.pnnspid = ANY ($1::pg_catalog.oid[]))
FROM pg_catalog.pg_publication p
UNION ALL
SELECT 'event trigger',
       pg_catalog.quote_ident(et.evtname),
       'event triggers are not part of the schema model',
       pr.pronamespace,
       NULL
FROM pg_catalog.pg_event_trigger et
JOIN pg_catalog.pg_proc pr ON pr.oid = et.evtfoid
WHERE NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass
                                          AND m.objid = et.oid)
UNION ALL
SELECT 'foreign-data wrapper',
       pg_catalog.quote_ident(w.fdwname),
       'foreign-data wrappers are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_foreign_data_wrapper w
WHERE NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass
                                          AND m.objid = w.oid)
UNION ALL
SELECT 'foreign server',
       pg_catalog.quote_ident(s.srvname),
       'foreign servers are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_foreign_server s
WHERE NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_foreign_server'::pg_catalog.regclass
                                          AND m.objid = s.oid)
UNION ALL
SELECT 'procedural language',
       pg_catalog.quote_ident(l.lanname),
       'procedural languages are installed by extensions; use CREATE EXTENSION', NULL, NULL
FROM pg_catalog.pg_language l
WHERE l.oid >= 16384
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_language'::pg_catalog.regclass
                                          AND m.objid = l.oid)
UNION ALL
SELECT 'access method',
       pg_catalog.quote_ident(am.amname),
       'access methods are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_am am
WHERE am.oid >= 16384
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_am'::pg_catalog.regclass
                                          AND m.objid = am.oid)
UNION ALL
SELECT 'transform',
       'FOR ' || pg_catalog.format_type(tr.trftype, NULL) || ' LANGUAGE ' || l.lanname,
       'transforms are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_transform tr
JOIN pg_catalog.pg_language l ON l.oid = tr.trflang
WHERE tr.oid >= 16384
  AND NOT EXISTS (SELECT FROM members m WHERE m.classid = 'pg_catalog.pg_transform'::pg_catalog.regclass
                                          AND m.objid = tr.oid)
UNION ALL
SELECT 'subscription',
       pg_catalog.quote_ident(s.subname),
       'subscriptions are not part of the schema model', NULL, NULL
FROM pg_catalog.pg_subscription s
JOIN pg_catalog.pg_database db ON db.oid = s.subdbid
WHERE db.datname = pg_catalog.current_database()
