//! SQL building blocks: one small function per object kind, each returning complete statements
//! that end in `;` (or, for the `*_clause` helpers, one clause of a statement).
//!
//! This is the one place that turns IR values into DDL text. `render_schema` (the baseline
//! script) and the differ (ALTER statements) both call these pieces, so there is exactly one way
//! to render a column, a constraint or a grant (STYLE.md §4, "No two ways to render SQL").
//! Identifiers are written only through [`Ident`] / [`QualifiedName`] `Display` (the one quoting
//! path), literals only through [`quote_literal`], and [`SqlExpr`] text verbatim: it is
//! PostgreSQL's own rendering, or declared text.

use crate::model::{
    ArgMode, Bucket, CheckConstraint, Collation, Column, CompositeType, DefaultPrivilege,
    DefaultPrivilegeObjects, Deferrable, Domain, EnumType, ExclusionConstraint, Extension,
    FkAction, FkMatch, ForeignKey, Function, FunctionArg, FunctionBody, FunctionId, FunctionKind,
    Grant, Ident, Identity, Index, IndexColumn, IndexKey, ParallelSafety, PgType, Policy,
    PrimaryKey, Privilege, QualifiedName, ReplicaIdentity, SchemaDef, Sequence, SqlExpr, Table,
    Trigger, TriggerFiring, TriggerTiming, UniqueConstraint, View, Volatility,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Indentation of continuation lines and of items inside parentheses.
const INDENT: &str = "    ";

/// Quotes `s` as an SQL string literal, the way PostgreSQL's `quote_literal()` does: single
/// quotes doubled; when the text contains a backslash, backslashes are doubled too and the
/// literal gets the `E` prefix, so it reads the same whatever `standard_conforming_strings` is.
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The tag of a dollar quote for `body`: the shortest of ``, `_`, `__`… such that the first
/// occurrence of `$tag$` in `body` followed by `$tag$` is that closing delimiter. Checking the
/// concatenation, not just `body`, matters: a body ending in `$` would otherwise close early
/// (`…$` + `$$` lexes as `…` + `$$` + `$`).
pub fn dollar_tag(body: &str) -> String {
    let mut tag = String::new();
    loop {
        let delimiter = format!("${tag}$");
        let probe = format!("{body}{delimiter}");
        if probe.find(&delimiter) == Some(body.len()) {
            return tag;
        }
        tag.push('_');
    }
}

/// `body` in dollar quotes with a tag chosen by [`dollar_tag`].
pub fn dollar_quote(body: &str) -> String {
    let tag = dollar_tag(body);
    format!("${tag}${body}${tag}$")
}

/// A role name as a grantee or policy role: `public` is the keyword `PUBLIC`.
pub fn role_name(role: &Ident) -> String {
    if role.as_str() == "public" {
        "PUBLIC".to_owned()
    } else {
        role.to_string()
    }
}

/// `a, b, c`.
pub fn ident_list(idents: &[Ident]) -> String {
    join(idents.iter().map(ToString::to_string), ", ")
}

fn join(items: impl IntoIterator<Item = String>, sep: &str) -> String {
    items.into_iter().collect::<Vec<_>>().join(sep)
}

/// One storage parameter or view option (`fillfactor=70`) as SQL: the value bare when it is a
/// plain word or number, else a quoted literal (both are accepted for every reloption).
pub fn reloption(option: &str) -> String {
    match option.split_once('=') {
        Some((name, value)) => {
            let bare = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
            if bare {
                format!("{name}={value}")
            } else {
                format!("{name}={}", quote_literal(value))
            }
        }
        None => option.to_owned(),
    }
}

fn with_options(options: &[String]) -> String {
    if options.is_empty() {
        String::new()
    } else {
        format!(
            " WITH ({})",
            join(options.iter().map(|o| reloption(o)), ", ")
        )
    }
}

/// A list of items inside parentheses, one per line: `(\n    a,\n    b\n)`; `()` when empty.
fn paren_block(items: &[String]) -> String {
    if items.is_empty() {
        "()".to_owned()
    } else {
        let body = join(items.iter().map(|i| format!("{INDENT}{i}")), ",\n");
        format!("(\n{body}\n)")
    }
}

// ------------------------------------------------------------------------------------------------
// Schemas, extensions, collations, types

/// `CREATE SCHEMA name;`
pub fn create_schema(s: &SchemaDef) -> String {
    format!("CREATE SCHEMA {};", s.name)
}

/// `CREATE EXTENSION name WITH SCHEMA s [VERSION 'v'];`
pub fn create_extension(e: &Extension) -> String {
    let mut sql = format!("CREATE EXTENSION {} WITH SCHEMA {}", e.name, e.schema);
    if let Some(v) = &e.version {
        let _ = write!(sql, " VERSION {}", quote_literal(v));
    }
    sql.push(';');
    sql
}

/// `CREATE COLLATION name (provider = …, locale = …[, deterministic = false]);`
pub fn create_collation(c: &Collation) -> String {
    let mut opts = vec![format!("provider = {}", c.provider)];
    match (&c.locale, &c.lc_ctype) {
        (Some(collate), Some(ctype)) => {
            opts.push(format!("lc_collate = {}", quote_literal(collate)));
            opts.push(format!("lc_ctype = {}", quote_literal(ctype)));
        }
        (Some(locale), None) => opts.push(format!("locale = {}", quote_literal(locale))),
        (None, Some(ctype)) => opts.push(format!("lc_ctype = {}", quote_literal(ctype))),
        (None, None) => {}
    }
    if !c.deterministic {
        opts.push("deterministic = false".to_owned());
    }
    format!("CREATE COLLATION {} ({});", c.name, opts.join(", "))
}

/// `CREATE TYPE name AS ENUM ('a', 'b');`
pub fn create_enum(e: &EnumType) -> String {
    let labels: Vec<String> = e.labels.iter().map(|l| quote_literal(l)).collect();
    format!("CREATE TYPE {} AS ENUM {};", e.name, paren_block(&labels))
}

/// `CREATE DOMAIN name AS base [COLLATE c] [DEFAULT e] [NOT NULL] [CONSTRAINT c CHECK (…)]…;`
/// `NOT VALID` checks are left out: they are added by [`add_domain_check`].
pub fn create_domain(d: &Domain) -> String {
    let mut sql = format!("CREATE DOMAIN {} AS {}", d.name, d.base);
    if let Some(c) = &d.collation {
        let _ = write!(sql, " COLLATE {c}");
    }
    if let Some(e) = &d.default {
        let _ = write!(sql, " DEFAULT {e}");
    }
    if d.not_null {
        sql.push_str(" NOT NULL");
    }
    for c in d.checks.iter().filter(|c| !c.not_valid) {
        let _ = write!(sql, "\n{INDENT}{}", check_clause(c));
    }
    sql.push(';');
    sql
}

/// `ALTER DOMAIN d ADD CONSTRAINT c CHECK (…) [NOT VALID];`
pub fn add_domain_check(domain: &QualifiedName, c: &CheckConstraint) -> String {
    let mut sql = format!(
        "ALTER DOMAIN {domain} ADD CONSTRAINT {} CHECK ({})",
        c.name, c.expr
    );
    if c.not_valid {
        sql.push_str(" NOT VALID");
    }
    sql.push(';');
    sql
}

/// `CREATE TYPE name AS (attr type [COLLATE c], …);`
pub fn create_composite_type(t: &CompositeType) -> String {
    let attrs: Vec<String> = t
        .attributes
        .iter()
        .map(|a| match &a.collation {
            Some(c) => format!("{} {} COLLATE {c}", a.name, a.ty),
            None => format!("{} {}", a.name, a.ty),
        })
        .collect();
    format!("CREATE TYPE {} AS {};", t.name, paren_block(&attrs))
}

// ------------------------------------------------------------------------------------------------
// Sequences and identity

/// The options of a sequence or identity column that differ from PostgreSQL's defaults for the
/// value type and direction: ascending sequences default to `MINVALUE 1`, `MAXVALUE` = the
/// type's maximum and `START` = the minimum; descending ones to the type's minimum, `-1` and
/// the maximum (`CREATE SEQUENCE` reference, "Description").
struct SequenceOptions<'a> {
    ty: &'a PgType,
    start: i64,
    increment: i64,
    min_value: i64,
    max_value: i64,
    cache: i64,
    cycle: bool,
}

impl SequenceOptions<'_> {
    fn non_default(&self) -> Vec<String> {
        let ascending = self.increment > 0;
        // `model::table::integer_max` is not exported; `Identity::with_defaults` carries it.
        // The minimum of a two's-complement integer type is `-max - 1`.
        let type_max = Identity::with_defaults(true, self.ty).max_value;
        let (default_min, default_max) = if ascending {
            (1, type_max)
        } else {
            (-type_max - 1, -1)
        };
        let default_start = if ascending {
            self.min_value
        } else {
            self.max_value
        };
        let mut opts = Vec::new();
        if self.start != default_start {
            opts.push(format!("START WITH {}", self.start));
        }
        if self.increment != 1 {
            opts.push(format!("INCREMENT BY {}", self.increment));
        }
        if self.min_value != default_min {
            opts.push(format!("MINVALUE {}", self.min_value));
        }
        if self.max_value != default_max {
            opts.push(format!("MAXVALUE {}", self.max_value));
        }
        if self.cache != 1 {
            opts.push(format!("CACHE {}", self.cache));
        }
        if self.cycle {
            opts.push("CYCLE".to_owned());
        }
        opts
    }
}

/// `GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(options)]` for a column of type `ty`, with
/// only the options that differ from the defaults for that type.
pub fn identity_clause(id: &Identity, ty: &PgType) -> String {
    let opts = SequenceOptions {
        ty,
        start: id.start,
        increment: id.increment,
        min_value: id.min_value,
        max_value: id.max_value,
        cache: id.cache,
        cycle: id.cycle,
    }
    .non_default();
    let kind = if id.always { "ALWAYS" } else { "BY DEFAULT" };
    if opts.is_empty() {
        format!("GENERATED {kind} AS IDENTITY")
    } else {
        format!("GENERATED {kind} AS IDENTITY ({})", opts.join(" "))
    }
}

/// `CREATE SEQUENCE name [AS type] [options];` with only non-default options (`AS` when not
/// `bigint`). `OWNED BY` is separate ([`alter_sequence_owned_by`]): the table comes later.
pub fn create_sequence(s: &Sequence) -> String {
    let mut opts = Vec::new();
    if s.data_type != PgType::BigInt {
        opts.push(format!("AS {}", s.data_type));
    }
    opts.extend(
        SequenceOptions {
            ty: &s.data_type,
            start: s.start,
            increment: s.increment,
            min_value: s.min_value,
            max_value: s.max_value,
            cache: s.cache,
            cycle: s.cycle,
        }
        .non_default(),
    );
    if opts.is_empty() {
        format!("CREATE SEQUENCE {};", s.name)
    } else {
        format!(
            "CREATE SEQUENCE {}\n{INDENT}{};",
            s.name,
            opts.join(&format!("\n{INDENT}"))
        )
    }
}

/// `ALTER SEQUENCE s OWNED BY t.c;` (`OWNED BY NONE` for `None`).
pub fn alter_sequence_owned_by(
    sequence: &QualifiedName,
    owner: Option<&(QualifiedName, Ident)>,
) -> String {
    match owner {
        Some((table, column)) => format!("ALTER SEQUENCE {sequence} OWNED BY {table}.{column};"),
        None => format!("ALTER SEQUENCE {sequence} OWNED BY NONE;"),
    }
}

// ------------------------------------------------------------------------------------------------
// Tables, columns, constraints

/// One column inside `CREATE TABLE (…)`: `name type [COLLATE c] [GENERATED ALWAYS AS (e) STORED]
/// [GENERATED … AS IDENTITY] [DEFAULT e] [NOT NULL]`.
pub fn column_definition(c: &Column) -> String {
    let mut sql = format!("{} {}", c.name, c.ty);
    if let Some(coll) = &c.collation {
        let _ = write!(sql, " COLLATE {coll}");
    }
    if let Some(g) = &c.generated {
        let _ = write!(sql, " GENERATED ALWAYS AS ({g}) STORED");
    }
    if let Some(id) = &c.identity {
        let _ = write!(sql, " {}", identity_clause(id, &c.ty));
    }
    if let Some(d) = &c.default {
        let _ = write!(sql, " DEFAULT {d}");
    }
    if !c.nullable {
        sql.push_str(" NOT NULL");
    }
    sql
}

/// A column of a partition (`CREATE TABLE … PARTITION OF` takes its types from the parent):
/// `name WITH OPTIONS [DEFAULT e] [NOT NULL]`.
pub fn partition_column_options(c: &Column) -> String {
    let mut sql = format!("{} WITH OPTIONS", c.name);
    if let Some(d) = &c.default {
        let _ = write!(sql, " DEFAULT {d}");
    }
    if !c.nullable {
        sql.push_str(" NOT NULL");
    }
    sql
}

/// ` DEFERRABLE [INITIALLY DEFERRED]`, or nothing for `NOT DEFERRABLE` (the default).
pub fn deferrable_clause(d: Deferrable) -> &'static str {
    match d {
        Deferrable::No => "",
        Deferrable::InitiallyImmediate => " DEFERRABLE",
        Deferrable::InitiallyDeferred => " DEFERRABLE INITIALLY DEFERRED",
    }
}

fn include_clause(include: &[Ident]) -> String {
    if include.is_empty() {
        String::new()
    } else {
        format!(" INCLUDE ({})", ident_list(include))
    }
}

/// `CONSTRAINT n PRIMARY KEY (cols) [INCLUDE (…)] [DEFERRABLE …]`.
pub fn primary_key_clause(pk: &PrimaryKey) -> String {
    format!(
        "CONSTRAINT {} PRIMARY KEY ({}){}{}",
        pk.name,
        ident_list(&pk.columns),
        include_clause(&pk.include),
        deferrable_clause(pk.deferrable)
    )
}

/// `CONSTRAINT n UNIQUE [NULLS NOT DISTINCT] (cols) [INCLUDE (…)] [DEFERRABLE …]`.
pub fn unique_clause(u: &UniqueConstraint) -> String {
    format!(
        "CONSTRAINT {} UNIQUE{} ({}){}{}",
        u.name,
        if u.nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        },
        ident_list(&u.columns),
        include_clause(&u.include),
        deferrable_clause(u.deferrable)
    )
}

/// `CONSTRAINT n CHECK (expr) [NO INHERIT]` (`NOT VALID` belongs to `ALTER TABLE`, see
/// [`add_check`]).
pub fn check_clause(c: &CheckConstraint) -> String {
    let mut sql = format!("CONSTRAINT {} CHECK ({})", c.name, c.expr);
    if c.no_inherit {
        sql.push_str(" NO INHERIT");
    }
    sql
}

/// `CONSTRAINT n EXCLUDE USING …` (the definition is PostgreSQL's own text, deferrability
/// included).
pub fn exclusion_clause(x: &ExclusionConstraint) -> String {
    format!("CONSTRAINT {} {}", x.name, x.definition)
}

/// `CONSTRAINT n FOREIGN KEY (cols) REFERENCES t (cols) [MATCH FULL] [ON UPDATE a]
/// [ON DELETE a] [DEFERRABLE …]`, non-default clauses only.
pub fn foreign_key_clause(fk: &ForeignKey) -> String {
    let mut sql = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        fk.name,
        ident_list(&fk.columns),
        fk.references,
        ident_list(&fk.referenced_columns)
    );
    if fk.match_type == FkMatch::Full {
        sql.push_str(" MATCH FULL");
    }
    if fk.on_update != FkAction::NoAction {
        let _ = write!(sql, " ON UPDATE {}", fk.on_update.sql());
    }
    if fk.on_delete != FkAction::NoAction {
        let _ = write!(sql, " ON DELETE {}", fk.on_delete.sql());
    }
    sql.push_str(deferrable_clause(fk.deferrable));
    sql
}

/// `CREATE [UNLOGGED] TABLE …;` with columns, primary key, unique, valid CHECK and EXCLUDE
/// constraints inline; `PARTITION OF … FOR VALUES …` for partitions, `INHERITS (…)`,
/// `PARTITION BY …` and `WITH (…)`. Foreign keys and `NOT VALID` checks are separate
/// statements ([`add_foreign_key`], [`add_check`]) so that table order never matters.
pub fn create_table(t: &Table) -> String {
    let mut items: Vec<String> = if t.partition_of.is_some() {
        t.columns.iter().map(partition_column_options).collect()
    } else {
        t.columns.iter().map(column_definition).collect()
    };
    items.extend(t.primary_key.iter().map(primary_key_clause));
    items.extend(t.uniques.iter().map(unique_clause));
    items.extend(t.checks.iter().filter(|c| !c.not_valid).map(check_clause));
    items.extend(t.exclusions.iter().map(exclusion_clause));

    let mut sql = String::from("CREATE ");
    if t.unlogged {
        sql.push_str("UNLOGGED ");
    }
    let _ = write!(sql, "TABLE {}", t.name);
    if let Some(p) = &t.partition_of {
        let _ = write!(sql, " PARTITION OF {}", p.parent);
        if items.is_empty() {
            let _ = write!(sql, "\n{INDENT}{}", p.bound);
        } else {
            let _ = write!(sql, " {} {}", paren_block(&items), p.bound);
        }
    } else {
        let _ = write!(sql, " {}", paren_block(&items));
        if !t.inherits.is_empty() {
            let parents = join(t.inherits.iter().map(ToString::to_string), ", ");
            let _ = write!(sql, " INHERITS ({parents})");
        }
    }
    if let Some(p) = &t.partitioned_by {
        let _ = write!(sql, " PARTITION BY {} ({})", p.strategy.sql(), p.key);
    }
    sql.push_str(&with_options(&t.options));
    sql.push(';');
    sql
}

/// `ALTER TABLE t ADD CONSTRAINT c CHECK (…) [NO INHERIT] [NOT VALID];`
pub fn add_check(table: &QualifiedName, c: &CheckConstraint) -> String {
    let mut sql = format!("ALTER TABLE {table} ADD {}", check_clause(c));
    if c.not_valid {
        sql.push_str(" NOT VALID");
    }
    sql.push(';');
    sql
}

/// `ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY … [NOT VALID];`
pub fn add_foreign_key(table: &QualifiedName, fk: &ForeignKey) -> String {
    let mut sql = format!(
        "ALTER TABLE {table}\n{INDENT}ADD {}",
        foreign_key_clause(fk)
    );
    if fk.not_valid {
        sql.push_str(" NOT VALID");
    }
    sql.push(';');
    sql
}

/// `ALTER TABLE t REPLICA IDENTITY {DEFAULT | FULL | NOTHING | USING INDEX i};`
pub fn alter_replica_identity(table: &QualifiedName, r: &ReplicaIdentity) -> String {
    let what = match r {
        ReplicaIdentity::Default => "DEFAULT".to_owned(),
        ReplicaIdentity::Full => "FULL".to_owned(),
        ReplicaIdentity::Nothing => "NOTHING".to_owned(),
        ReplicaIdentity::Index(i) => format!("USING INDEX {i}"),
    };
    format!("ALTER TABLE {table} REPLICA IDENTITY {what};")
}

/// `ALTER TABLE t {ENABLE | DISABLE} ROW LEVEL SECURITY;`
pub fn alter_row_security(table: &QualifiedName, enabled: bool) -> String {
    let verb = if enabled { "ENABLE" } else { "DISABLE" };
    format!("ALTER TABLE {table} {verb} ROW LEVEL SECURITY;")
}

/// `ALTER TABLE t [NO] FORCE ROW LEVEL SECURITY;`
pub fn alter_force_row_security(table: &QualifiedName, forced: bool) -> String {
    let verb = if forced { "FORCE" } else { "NO FORCE" };
    format!("ALTER TABLE {table} {verb} ROW LEVEL SECURITY;")
}

// ------------------------------------------------------------------------------------------------
// Indexes

/// One index key: `column` or `(expr)`, then `[COLLATE c] [opclass] [DESC] [NULLS FIRST|LAST]`;
/// the nulls order only when it is not the default for the direction (`NULLS FIRST` is the
/// default for `DESC`).
pub fn index_key(k: &IndexColumn) -> String {
    let mut sql = match &k.key {
        IndexKey::Column(c) => c.to_string(),
        // Parentheses are always allowed around an index expression and required around
        // anything but a bare function call.
        IndexKey::Expr(e) => format!("({e})"),
    };
    if let Some(c) = &k.collation {
        let _ = write!(sql, " COLLATE {c}");
    }
    if let Some(o) = &k.opclass {
        let _ = write!(sql, " {o}");
    }
    if k.descending {
        sql.push_str(" DESC");
    }
    if k.nulls_first != k.descending {
        sql.push_str(if k.nulls_first {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        });
    }
    sql
}

/// `CREATE [UNIQUE] INDEX name ON t [USING m] (keys) [INCLUDE (…)] [NULLS NOT DISTINCT]
/// [WITH (…)] [WHERE pred];` (`USING` only when not `btree`).
pub fn create_index(on: &QualifiedName, i: &Index) -> String {
    let mut sql = String::from("CREATE ");
    if i.unique {
        sql.push_str("UNIQUE ");
    }
    let _ = write!(sql, "INDEX {} ON {on}", i.name);
    if i.method != "btree" {
        let _ = write!(sql, " USING {}", Ident::new(i.method.as_str()));
    }
    let keys = join(i.keys.iter().map(index_key), ", ");
    let _ = write!(sql, " ({keys}){}", include_clause(&i.include));
    if i.nulls_not_distinct {
        sql.push_str(" NULLS NOT DISTINCT");
    }
    sql.push_str(&with_options(&i.options));
    if let Some(p) = &i.predicate {
        let _ = write!(sql, " WHERE ({p})");
    }
    sql.push(';');
    sql
}

// ------------------------------------------------------------------------------------------------
// Functions and procedures

/// One argument: `[OUT | INOUT | VARIADIC] [name] type [DEFAULT expr]` (also a column of
/// `RETURNS TABLE`, whose mode word is not written).
pub fn function_arg(a: &FunctionArg) -> String {
    let mut sql = String::new();
    match a.mode {
        ArgMode::In | ArgMode::Table => {}
        ArgMode::Out => sql.push_str("OUT "),
        ArgMode::InOut => sql.push_str("INOUT "),
        ArgMode::Variadic => sql.push_str("VARIADIC "),
    }
    if let Some(n) = &a.name {
        let _ = write!(sql, "{n} ");
    }
    let _ = write!(sql, "{}", a.ty);
    if let Some(d) = &a.default {
        let _ = write!(sql, " DEFAULT {d}");
    }
    sql
}

/// The GUCs whose value is a list of identifiers (`GUC_LIST_QUOTE` in PostgreSQL's guc tables).
/// pg_dump re-splits these (`SplitGUCList`) and quotes each element as a literal; we do the
/// same, which also survives elements such as `""` that are not valid identifiers in SQL.
const LIST_GUCS: &[&str] = &[
    "local_preload_libraries",
    "search_path",
    "session_preload_libraries",
    "shared_preload_libraries",
    "temp_tablespaces",
];

/// Splits a stored list-GUC value (`public, "$user", ""`) into its elements, unquoting the
/// double-quoted ones.
fn split_guc_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            item = item.trim_end().to_owned();
        }
        items.push(item);
        if chars.next().is_none() {
            return items;
        }
    }
}

/// One `SET` clause of a routine from its `proconfig` form `name=value`: list GUCs as a list of
/// literals (`SET search_path TO 'public', 'pg_temp'`), others as one literal.
pub fn function_set_clause(config: &str) -> String {
    let (name, value) = config.split_once('=').unwrap_or((config, ""));
    let value = if LIST_GUCS.contains(&name.to_ascii_lowercase().as_str()) {
        join(split_guc_list(value).iter().map(|v| quote_literal(v)), ", ")
    } else {
        quote_literal(value)
    };
    // GUC names are written as stored: they may be dotted (`plpgsql.variable_conflict`).
    format!("SET {name} TO {value}")
}

/// Whether the routine returns a set (`SETOF` or `RETURNS TABLE`).
fn returns_set(f: &Function) -> bool {
    f.returns.as_ref().is_some_and(|r| r.setof) || f.args.iter().any(|a| a.mode == ArgMode::Table)
}

/// `CREATE FUNCTION name(args) RETURNS … LANGUAGE l [attributes] [SET …] AS …;` or
/// `CREATE PROCEDURE …`, with only the attributes that differ from PostgreSQL's defaults.
pub fn create_function(f: &Function) -> String {
    let is_procedure = f.kind == FunctionKind::Procedure;
    let args = join(
        f.args
            .iter()
            .filter(|a| a.mode != ArgMode::Table)
            .map(function_arg),
        ", ",
    );
    let mut sql = format!(
        "CREATE {} {}({args})",
        if is_procedure {
            "PROCEDURE"
        } else {
            "FUNCTION"
        },
        f.id.name
    );
    if !is_procedure {
        let table_cols: Vec<String> = f
            .args
            .iter()
            .filter(|a| a.mode == ArgMode::Table)
            .map(function_arg)
            .collect();
        if !table_cols.is_empty() {
            let _ = write!(sql, " RETURNS TABLE({})", table_cols.join(", "));
        } else if let Some(r) = &f.returns {
            let setof = if r.setof { "SETOF " } else { "" };
            let _ = write!(sql, " RETURNS {setof}{}", r.ty);
        }
    }

    let language = f.language.to_ascii_lowercase();
    let mut attrs = vec![format!("LANGUAGE {}", Ident::new(f.language.as_str()))];
    match f.volatility {
        Volatility::Immutable => attrs.push("IMMUTABLE".to_owned()),
        Volatility::Stable => attrs.push("STABLE".to_owned()),
        Volatility::Volatile => {}
    }
    if f.strict {
        attrs.push("STRICT".to_owned());
    }
    if f.security_definer {
        attrs.push("SECURITY DEFINER".to_owned());
    }
    if f.leakproof {
        attrs.push("LEAKPROOF".to_owned());
    }
    let default_cost = if language == "c" || language == "internal" {
        1
    } else {
        100
    };
    if f.cost != default_cost {
        attrs.push(format!("COST {}", f.cost));
    }
    if returns_set(f) && f.rows != 1000 && f.rows != 0 {
        attrs.push(format!("ROWS {}", f.rows));
    }
    match f.parallel {
        ParallelSafety::Unsafe => {}
        ParallelSafety::Restricted => attrs.push("PARALLEL RESTRICTED".to_owned()),
        ParallelSafety::Safe => attrs.push("PARALLEL SAFE".to_owned()),
    }
    let _ = write!(sql, "\n{INDENT}{}", attrs.join(" "));
    for c in &f.config {
        let _ = write!(sql, "\n{INDENT}{}", function_set_clause(c));
    }
    let body = match &f.body {
        FunctionBody::Atomic(text) => text.to_string(),
        FunctionBody::Source(src) if language == "c" => match src.split_once('\n') {
            Some((obj, symbol)) => format!("AS {}, {}", quote_literal(obj), quote_literal(symbol)),
            None => format!("AS {}", quote_literal(src)),
        },
        FunctionBody::Source(src) if language == "internal" => {
            format!("AS {}", quote_literal(src))
        }
        FunctionBody::Source(src) => format!("AS {}", dollar_quote(src)),
    };
    let _ = write!(sql, "\n{INDENT}{body};");
    sql
}

/// `FUNCTION f(types)` or `PROCEDURE p(types)`: how GRANT and COMMENT name a routine.
fn routine_ref(id: &FunctionId, kind: FunctionKind) -> String {
    match kind {
        FunctionKind::Function => format!("FUNCTION {id}"),
        FunctionKind::Procedure => format!("PROCEDURE {id}"),
    }
}

// ------------------------------------------------------------------------------------------------
// Views

/// A view definition as `pg_get_viewdef` prints it, without the trailing `;` and blank lines.
fn view_query(definition: &SqlExpr) -> &str {
    let text = definition.as_str().trim_end();
    let text = text.strip_suffix(';').unwrap_or(text).trim_end();
    text.trim_start_matches(['\n', '\r'])
}

/// `CREATE [MATERIALIZED] VIEW name [WITH (…)] AS query;`
pub fn create_view(v: &View) -> String {
    let kind = if v.materialized {
        "MATERIALIZED VIEW"
    } else {
        "VIEW"
    };
    format!(
        "CREATE {kind} {}{} AS\n{};",
        v.name,
        with_options(&v.options),
        view_query(&v.definition)
    )
}

// ------------------------------------------------------------------------------------------------
// Triggers

fn trigger_events(t: &Trigger) -> String {
    let mut events = Vec::new();
    if t.events.insert {
        events.push("INSERT".to_owned());
    }
    if t.events.update {
        if t.events.update_columns.is_empty() {
            events.push("UPDATE".to_owned());
        } else {
            events.push(format!(
                "UPDATE OF {}",
                ident_list(&t.events.update_columns)
            ));
        }
    }
    if t.events.delete {
        events.push("DELETE".to_owned());
    }
    if t.events.truncate {
        events.push("TRUNCATE".to_owned());
    }
    events.join(" OR ")
}

/// `CREATE [CONSTRAINT] TRIGGER name {BEFORE | AFTER | INSTEAD OF} events ON t [DEFERRABLE …]
/// [REFERENCING …] FOR EACH {ROW | STATEMENT} [WHEN (…)] EXECUTE FUNCTION f('arg', …);`
pub fn create_trigger(on: &QualifiedName, t: &Trigger) -> String {
    let timing = match t.timing {
        TriggerTiming::Before => "BEFORE",
        TriggerTiming::After => "AFTER",
        TriggerTiming::InsteadOf => "INSTEAD OF",
    };
    let mut sql = format!(
        "CREATE {}TRIGGER {} {timing} {} ON {on}",
        if t.constraint.is_some() {
            "CONSTRAINT "
        } else {
            ""
        },
        t.name,
        trigger_events(t)
    );
    if let Some(d) = t.constraint {
        sql.push_str(deferrable_clause(d));
    }
    let mut referencing = Vec::new();
    if let Some(o) = &t.old_table {
        referencing.push(format!("OLD TABLE AS {o}"));
    }
    if let Some(n) = &t.new_table {
        referencing.push(format!("NEW TABLE AS {n}"));
    }
    if !referencing.is_empty() {
        let _ = write!(sql, "\n{INDENT}REFERENCING {}", referencing.join(" "));
    }
    let each = if t.for_each_row { "ROW" } else { "STATEMENT" };
    let _ = write!(sql, "\n{INDENT}FOR EACH {each}");
    if let Some(w) = &t.when {
        let _ = write!(sql, "\n{INDENT}WHEN ({w})");
    }
    let args = join(t.args.iter().map(|a| quote_literal(a)), ", ");
    let _ = write!(sql, "\n{INDENT}EXECUTE FUNCTION {}({args});", t.function);
    sql
}

/// `ALTER TABLE t {ENABLE | DISABLE | ENABLE REPLICA | ENABLE ALWAYS} TRIGGER name;`
/// (PostgreSQL cannot change the firing of triggers on views.)
pub fn alter_trigger_firing(on: &QualifiedName, trigger: &Ident, firing: TriggerFiring) -> String {
    let verb = match firing {
        TriggerFiring::Origin => "ENABLE",
        TriggerFiring::Disabled => "DISABLE",
        TriggerFiring::Replica => "ENABLE REPLICA",
        TriggerFiring::Always => "ENABLE ALWAYS",
    };
    format!("ALTER TABLE {on} {verb} TRIGGER {trigger};")
}

// ------------------------------------------------------------------------------------------------
// Policies

/// `CREATE POLICY p ON t [AS RESTRICTIVE] FOR cmd TO roles [USING (…)] [WITH CHECK (…)];`
pub fn create_policy(on: &QualifiedName, p: &Policy) -> String {
    let mut sql = format!("CREATE POLICY {} ON {on}", p.name);
    if !p.permissive {
        sql.push_str(" AS RESTRICTIVE");
    }
    let _ = write!(sql, " FOR {}", p.command.sql());
    if !p.roles.is_empty() {
        let _ = write!(sql, " TO {}", join(p.roles.iter().map(role_name), ", "));
    }
    if let Some(u) = &p.using {
        let _ = write!(sql, "\n{INDENT}USING ({u})");
    }
    if let Some(c) = &p.with_check {
        let _ = write!(sql, "\n{INDENT}WITH CHECK ({c})");
    }
    sql.push(';');
    sql
}

// ------------------------------------------------------------------------------------------------
// Grants

/// What a `GRANT` / `REVOKE` is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantTarget<'a> {
    /// `ON TABLE t` (tables, views and materialized views).
    Table(&'a QualifiedName),
    /// `(column) ON TABLE t`.
    Column(&'a QualifiedName, &'a Ident),
    /// `ON SEQUENCE s`.
    Sequence(&'a QualifiedName),
    /// `ON FUNCTION f(types)` / `ON PROCEDURE p(types)`.
    Routine(&'a FunctionId, FunctionKind),
    /// `ON SCHEMA s`.
    Schema(&'a Ident),
}

impl GrantTarget<'_> {
    /// The privilege list and the `ON …` part: column privileges carry the column.
    fn privileges_on(&self, privileges: &[Privilege]) -> String {
        let list = |column: Option<&Ident>| {
            join(
                privileges.iter().map(|p| match column {
                    Some(c) => format!("{} ({c})", p.sql()),
                    None => p.sql().to_owned(),
                }),
                ", ",
            )
        };
        match self {
            GrantTarget::Table(t) => format!("{} ON TABLE {t}", list(None)),
            GrantTarget::Column(t, c) => format!("{} ON TABLE {t}", list(Some(c))),
            GrantTarget::Sequence(s) => format!("{} ON SEQUENCE {s}", list(None)),
            GrantTarget::Routine(id, kind) => {
                format!("{} ON {}", list(None), routine_ref(id, *kind))
            }
            GrantTarget::Schema(s) => format!("{} ON SCHEMA {s}", list(None)),
        }
    }
}

/// Groups grants into one privilege list per grantee and grant option, in grant order.
fn group_grants<'a>(
    grants: impl IntoIterator<Item = &'a Grant>,
) -> BTreeMap<(&'a Ident, bool), Vec<Privilege>> {
    let mut groups: BTreeMap<(&Ident, bool), Vec<Privilege>> = BTreeMap::new();
    for g in grants {
        let privileges = groups.entry((&g.grantee, g.with_grant_option)).or_default();
        if !privileges.contains(&g.privilege) {
            privileges.push(g.privilege);
        }
    }
    for privileges in groups.values_mut() {
        privileges.sort();
    }
    groups
}

/// `GRANT p, q ON … TO role [WITH GRANT OPTION];`, one statement per grantee and grant option.
pub fn grant_statements(target: GrantTarget<'_>, grants: &BTreeSet<Grant>) -> Vec<String> {
    group_grants(grants)
        .into_iter()
        .map(|((grantee, option), privileges)| {
            format!(
                "GRANT {} TO {}{};",
                target.privileges_on(&privileges),
                role_name(grantee),
                if option { " WITH GRANT OPTION" } else { "" }
            )
        })
        .collect()
}

/// `REVOKE p, q ON … FROM role;`, one statement per grantee (the grant option goes with the
/// privilege).
pub fn revoke_statements(target: GrantTarget<'_>, grants: &BTreeSet<Grant>) -> Vec<String> {
    let mut by_grantee: BTreeMap<&Ident, BTreeSet<Privilege>> = BTreeMap::new();
    for g in grants {
        by_grantee
            .entry(&g.grantee)
            .or_default()
            .insert(g.privilege);
    }
    by_grantee
        .into_iter()
        .map(|(grantee, privileges)| {
            let privileges: Vec<Privilege> = privileges.into_iter().collect();
            format!(
                "REVOKE {} FROM {};",
                target.privileges_on(&privileges),
                role_name(grantee)
            )
        })
        .collect()
}

/// `REVOKE EXECUTE ON FUNCTION f(types) FROM PUBLIC;` (PostgreSQL grants `EXECUTE` to
/// `PUBLIC` on every new routine) or, with `allowed`, the `GRANT` that restores it.
pub fn public_execute(id: &FunctionId, kind: FunctionKind, allowed: bool) -> String {
    if allowed {
        format!("GRANT EXECUTE ON {} TO PUBLIC;", routine_ref(id, kind))
    } else {
        format!("REVOKE EXECUTE ON {} FROM PUBLIC;", routine_ref(id, kind))
    }
}

fn default_privileges_prefix(for_role: &Ident, schema: Option<&Ident>) -> String {
    let mut sql = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {for_role}");
    if let Some(s) = schema {
        let _ = write!(sql, " IN SCHEMA {s}");
    }
    sql
}

type DefaultPrivilegeKey<'a> = (
    &'a Ident,
    Option<&'a Ident>,
    DefaultPrivilegeObjects,
    &'a Ident,
    bool,
);

/// `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] GRANT p, q ON TABLES TO g
/// [WITH GRANT OPTION];`, entries grouped per role, schema, object kind, grantee and grant
/// option.
pub fn default_privileges_grant(entries: &[DefaultPrivilege]) -> Vec<String> {
    let mut groups: BTreeMap<DefaultPrivilegeKey<'_>, BTreeSet<Privilege>> = BTreeMap::new();
    for d in entries {
        groups
            .entry((
                &d.for_role,
                d.schema.as_ref(),
                d.objects,
                &d.grant.grantee,
                d.grant.with_grant_option,
            ))
            .or_default()
            .insert(d.grant.privilege);
    }
    groups
        .into_iter()
        .map(|((role, schema, objects, grantee, option), privileges)| {
            format!(
                "{}\n{INDENT}GRANT {} ON {} TO {}{};",
                default_privileges_prefix(role, schema),
                join(privileges.iter().map(|p| p.sql().to_owned()), ", "),
                objects.sql(),
                role_name(grantee),
                if option { " WITH GRANT OPTION" } else { "" }
            )
        })
        .collect()
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] REVOKE p ON TABLES FROM g;`
pub fn default_privilege_revoke(d: &DefaultPrivilege) -> String {
    format!(
        "{}\n{INDENT}REVOKE {} ON {} FROM {};",
        default_privileges_prefix(&d.for_role, d.schema.as_ref()),
        d.grant.privilege.sql(),
        d.objects.sql(),
        role_name(&d.grant.grantee)
    )
}

// ------------------------------------------------------------------------------------------------
// Comments

/// What a `COMMENT ON` is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentTarget<'a> {
    /// `TABLE t`.
    Table(&'a QualifiedName),
    /// `VIEW v` or `MATERIALIZED VIEW v` (with `true`).
    View(&'a QualifiedName, bool),
    /// `COLUMN t.c` (tables and views).
    Column(&'a QualifiedName, &'a Ident),
    /// `CONSTRAINT c ON t`.
    Constraint(&'a QualifiedName, &'a Ident),
    /// `CONSTRAINT c ON DOMAIN d`.
    DomainConstraint(&'a QualifiedName, &'a Ident),
    /// `INDEX i` (in the schema of the table `t`).
    Index(&'a QualifiedName, &'a Ident),
    /// `TRIGGER tr ON t`.
    Trigger(&'a QualifiedName, &'a Ident),
    /// `POLICY p ON t`.
    Policy(&'a QualifiedName, &'a Ident),
    /// `TYPE t` (enums and composite types).
    Type(&'a QualifiedName),
    /// `DOMAIN d`.
    Domain(&'a QualifiedName),
    /// `FUNCTION f(types)` / `PROCEDURE p(types)`.
    Routine(&'a FunctionId, FunctionKind),
    /// `SEQUENCE s`.
    Sequence(&'a QualifiedName),
    /// `SCHEMA s`.
    Schema(&'a Ident),
    /// `EXTENSION e`.
    Extension(&'a Ident),
    /// `COLLATION c`.
    Collation(&'a QualifiedName),
}

impl CommentTarget<'_> {
    fn object(&self) -> String {
        match self {
            CommentTarget::Table(t) => format!("TABLE {t}"),
            CommentTarget::View(v, true) => format!("MATERIALIZED VIEW {v}"),
            CommentTarget::View(v, false) => format!("VIEW {v}"),
            CommentTarget::Column(t, c) => format!("COLUMN {t}.{c}"),
            CommentTarget::Constraint(t, c) => format!("CONSTRAINT {c} ON {t}"),
            CommentTarget::DomainConstraint(d, c) => format!("CONSTRAINT {c} ON DOMAIN {d}"),
            CommentTarget::Index(t, i) => format!("INDEX {}.{i}", t.schema),
            CommentTarget::Trigger(t, tr) => format!("TRIGGER {tr} ON {t}"),
            CommentTarget::Policy(t, p) => format!("POLICY {p} ON {t}"),
            CommentTarget::Type(t) => format!("TYPE {t}"),
            CommentTarget::Domain(d) => format!("DOMAIN {d}"),
            CommentTarget::Routine(id, kind) => routine_ref(id, *kind),
            CommentTarget::Sequence(s) => format!("SEQUENCE {s}"),
            CommentTarget::Schema(s) => format!("SCHEMA {s}"),
            CommentTarget::Extension(e) => format!("EXTENSION {e}"),
            CommentTarget::Collation(c) => format!("COLLATION {c}"),
        }
    }
}

/// `COMMENT ON … IS 'text';` (`IS NULL` removes a comment).
pub fn comment_on(target: CommentTarget<'_>, comment: Option<&str>) -> String {
    let text = comment.map_or_else(|| "NULL".to_owned(), quote_literal);
    format!("COMMENT ON {} IS {text};", target.object())
}

// ------------------------------------------------------------------------------------------------
// Storage buckets

/// The `file_size_limit` and `allowed_mime_types` values of a bucket row, as SQL.
fn bucket_limits(b: &Bucket) -> (String, String) {
    let limit = b
        .file_size_limit
        .map_or_else(|| "NULL".to_owned(), |n| n.to_string());
    let mimes = match &b.allowed_mime_types {
        None => "NULL".to_owned(),
        Some(types) => format!(
            "ARRAY[{}]::text[]",
            join(types.iter().map(|t| quote_literal(t)), ", ")
        ),
    };
    (limit, mimes)
}

/// `INSERT INTO storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
/// VALUES (…);`
pub fn insert_bucket(b: &Bucket) -> String {
    let (limit, mimes) = bucket_limits(b);
    // language=PostgreSQL
    format!(
        "INSERT INTO storage.buckets (id, name, public, file_size_limit, allowed_mime_types)\n\
         {INDENT}VALUES ({}, {}, {}, {limit}, {mimes});",
        quote_literal(&b.id),
        quote_literal(&b.name),
        b.public
    )
}

/// `UPDATE storage.buckets SET name = …, public = …, file_size_limit = …,
/// allowed_mime_types = … WHERE id = …;`
pub fn update_bucket(b: &Bucket) -> String {
    let (limit, mimes) = bucket_limits(b);
    // language=PostgreSQL
    format!(
        "UPDATE storage.buckets\n\
         {INDENT}SET name = {}, public = {}, file_size_limit = {limit}, allowed_mime_types = {mimes}\n\
         {INDENT}WHERE id = {};",
        quote_literal(&b.name),
        b.public,
        quote_literal(&b.id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_literal_doubles_quotes_and_uses_e_only_for_backslashes() {
        assert_eq!(quote_literal("plain"), "'plain'");
        assert_eq!(quote_literal(""), "''");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
        assert_eq!(quote_literal("it's a\\b"), "E'it''s a\\\\b'");
        assert_eq!(quote_literal("line\nbreak"), "'line\nbreak'");
        assert_eq!(quote_literal("ünï"), "'ünï'");
    }

    #[test]
    fn dollar_tag_avoids_the_body() {
        assert_eq!(dollar_tag("SELECT 1"), "");
        assert_eq!(dollar_tag("RETURN $1;"), "");
        assert_eq!(dollar_tag("a $$ b"), "_");
        // A trailing `$` would merge with the closing `$$`.
        assert_eq!(dollar_tag("SELECT '$'::text || $"), "_");
        assert_eq!(dollar_tag("$$ and $_$"), "__");
        // `$_$$` lexes as a non-matching `$_$` then the closing `$$`.
        assert_eq!(dollar_tag("ends in $_"), "");
        assert_eq!(dollar_tag("ends in $_$"), "__");
        assert_eq!(dollar_quote("x $$ y"), "$_$x $$ y$_$");
    }

    #[test]
    fn list_gucs_are_split_and_quoted() {
        assert_eq!(
            function_set_clause("search_path=public, pg_temp"),
            "SET search_path TO 'public', 'pg_temp'"
        );
        assert_eq!(
            function_set_clause("search_path=\"\", \"$user\", \"A \"\"b\"\"\""),
            "SET search_path TO '', '$user', 'A \"b\"'"
        );
        assert_eq!(
            function_set_clause("work_mem=64MB"),
            "SET work_mem TO '64MB'"
        );
        assert_eq!(
            function_set_clause("plpgsql.variable_conflict=use_column"),
            "SET plpgsql.variable_conflict TO 'use_column'"
        );
    }

    #[test]
    fn reloptions_quote_only_when_needed() {
        assert_eq!(reloption("fillfactor=70"), "fillfactor=70");
        assert_eq!(reloption("check_option=local"), "check_option=local");
        assert_eq!(reloption("x=-1"), "x='-1'");
        assert_eq!(reloption("x=A b"), "x='A b'");
    }

    #[test]
    fn sequence_options_skip_defaults_for_type_and_direction() {
        let ty = PgType::Integer;
        let mut id = Identity::with_defaults(true, &ty);
        assert_eq!(identity_clause(&id, &ty), "GENERATED ALWAYS AS IDENTITY");
        id.start = 10;
        id.always = false;
        assert_eq!(
            identity_clause(&id, &ty),
            "GENERATED BY DEFAULT AS IDENTITY (START WITH 10)"
        );
        let descending = Sequence {
            name: QualifiedName::public("down"),
            data_type: PgType::SmallInt,
            start: -1,
            increment: -1,
            min_value: i64::from(i16::MIN),
            max_value: -1,
            cache: 1,
            cycle: false,
            owned_by: None,
            grants: BTreeSet::new(),
            comment: None,
        };
        assert_eq!(
            create_sequence(&descending),
            "CREATE SEQUENCE public.down\n    AS smallint\n    INCREMENT BY -1;"
        );
    }
}
