//! PostgreSQL column types in canonical form: the one SQL-side type mapping of the toolkit.
//!
//! `PgType::parse` accepts what people write (`varchar(120)`, `int4`, `timestamptz`, `text[]`)
//! and what the catalog prints (`format_type()` under an empty `search_path`), and both come out
//! as the same value; `Display` prints exactly what `format_type()` prints. So declared types and
//! introspected types compare equal when PostgreSQL would store the same type.

use super::ident::{QualifiedName, quote_ident, split_qualified};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A column, attribute, argument or domain type. Serialised as its canonical text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgType {
    /// `smallint` (`int2`).
    SmallInt,
    /// `integer` (`int`, `int4`).
    Integer,
    /// `bigint` (`int8`).
    BigInt,
    /// `real` (`float4`).
    Real,
    /// `double precision` (`float8`, `float`).
    DoublePrecision,
    /// `numeric(p, s)` (`decimal`); no modifiers = unconstrained.
    Numeric {
        /// Total digits.
        precision: Option<u32>,
        /// Digits after the point (0 when only the precision is given).
        scale: Option<u32>,
    },
    /// `text`.
    Text,
    /// `character varying(n)` (`varchar`).
    Varchar(Option<u32>),
    /// `character(n)` (`char`, `bpchar`); `character` alone means `character(1)` in DDL.
    Char(Option<u32>),
    /// `boolean` (`bool`).
    Boolean,
    /// `uuid`.
    Uuid,
    /// `json`.
    Json,
    /// `jsonb`.
    Jsonb,
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time(p) [with|without] time zone` (`time`, `timetz`).
    Time {
        /// Fractional-second digits.
        precision: Option<u32>,
        /// `with time zone`.
        with_time_zone: bool,
    },
    /// `timestamp(p) [with|without] time zone` (`timestamp`, `timestamptz`).
    Timestamp {
        /// Fractional-second digits.
        precision: Option<u32>,
        /// `with time zone`.
        with_time_zone: bool,
    },
    /// `interval [fields] [(p)]`.
    Interval {
        /// `year to month`, `day to second` and the like, lower case.
        fields: Option<String>,
        /// Fractional-second digits.
        precision: Option<u32>,
    },
    /// `bit(n)`.
    Bit(Option<u32>),
    /// `bit varying(n)` (`varbit`).
    VarBit(Option<u32>),
    /// Any other built-in type of `pg_catalog`, by its canonical name (`inet`, `tsvector`,
    /// `int4range`, `point`, `"char"`…).
    Builtin(String),
    /// A type outside `pg_catalog`: an enum, domain, composite or range type of the schema, or a
    /// type an extension created (`extensions.citext`).
    Named(QualifiedName),
    /// `T[]`. PostgreSQL does not enforce array dimensions, so `T[][]` is the same type.
    Array(Box<PgType>),
}

/// A type string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a type: {reason}")]
pub struct TypeParseError {
    /// The text that was given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Built-in types without modifiers that `format_type` prints by their plain name.
const PLAIN_BUILTINS: &[&str] = &[
    "aclitem",
    "box",
    "cid",
    "cidr",
    "circle",
    "datemultirange",
    "daterange",
    "gtsvector",
    "inet",
    "int2vector",
    "int4multirange",
    "int4range",
    "int8multirange",
    "int8range",
    "jsonpath",
    "line",
    "lseg",
    "macaddr",
    "macaddr8",
    "money",
    "name",
    "nummultirange",
    "numrange",
    "oid",
    "oidvector",
    "path",
    "pg_lsn",
    "pg_snapshot",
    "point",
    "polygon",
    "record",
    "refcursor",
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
    "tid",
    "tsmultirange",
    "tsquery",
    "tsrange",
    "tstzmultirange",
    "tstzrange",
    "tsvector",
    "txid_snapshot",
    "trigger",
    "void",
    "xid",
    "xid8",
    "xml",
    "anyelement",
    "anyarray",
    "anynonarray",
    "anyenum",
    "anyrange",
    "anymultirange",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblenonarray",
    "anycompatiblerange",
    "event_trigger",
    "internal",
    "cstring",
    "language_handler",
    "fdw_handler",
    "index_am_handler",
    "tsm_handler",
    "table_am_handler",
];

impl PgType {
    /// Parses a type as written in a schema file or printed by `format_type()`. Unqualified
    /// names that are not built-in resolve to `default_schema`.
    pub fn parse(text: &str, default_schema: &str) -> Result<PgType, TypeParseError> {
        let err = |reason: &str| TypeParseError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut base = text.trim();
        let mut dims = 0usize;
        loop {
            let trimmed = base.trim_end();
            if let Some(rest) = trimmed.strip_suffix(']') {
                let open = rest.rfind('[').ok_or_else(|| err("unbalanced `[]`"))?;
                let inside = rest[open + 1..].trim();
                if !inside.is_empty() && !inside.chars().all(|c| c.is_ascii_digit()) {
                    return Err(err("array bounds must be digits"));
                }
                base = &rest[..open];
                dims += 1;
            } else if let Some(rest) = strip_suffix_ci(trimmed, " array") {
                base = rest;
                dims += 1;
            } else {
                base = trimmed;
                break;
            }
        }
        if base.is_empty() {
            return Err(err("empty type name"));
        }
        let mut ty = parse_base(base, default_schema).map_err(|reason| err(&reason))?;
        if dims > 0 {
            ty = PgType::Array(Box::new(ty));
        }
        Ok(ty)
    }

    /// The element type of an array, or the type itself.
    pub fn element(&self) -> &PgType {
        match self {
            PgType::Array(inner) => inner.element(),
            other => other,
        }
    }

    /// True for `T[]`.
    pub fn is_array(&self) -> bool {
        matches!(self, PgType::Array(_))
    }

    /// The user-defined type this type refers to, if any (through arrays).
    pub fn named(&self) -> Option<&QualifiedName> {
        match self.element() {
            PgType::Named(name) => Some(name),
            _ => None,
        }
    }
}

fn strip_suffix_ci<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let n = text.len().checked_sub(suffix.len())?;
    if text.is_char_boundary(n) && text[n..].eq_ignore_ascii_case(suffix) {
        Some(&text[..n])
    } else {
        None
    }
}

/// Splits `name(args) rest` into the lower-cased, whitespace-normalised words before the
/// parenthesis, the modifiers, and the words after it.
fn split_modifiers(base: &str) -> Result<(String, Option<Vec<u32>>, String), String> {
    match base.find('(') {
        None => Ok((normalise_words(base), None, String::new())),
        Some(open) => {
            let close = base[open..]
                .find(')')
                .map(|i| i + open)
                .ok_or("unbalanced parentheses")?;
            let mods = base[open + 1..close]
                .split(',')
                .map(|m| {
                    m.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("type modifier `{}` is not a number", m.trim()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((
                normalise_words(&base[..open]),
                Some(mods),
                normalise_words(&base[close + 1..]),
            ))
        }
    }
}

fn normalise_words(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn one_mod(mods: &Option<Vec<u32>>, name: &str) -> Result<Option<u32>, String> {
    match mods.as_deref() {
        None => Ok(None),
        Some([n]) => Ok(Some(*n)),
        Some(_) => Err(format!("`{name}` takes one modifier")),
    }
}

fn parse_base(base: &str, default_schema: &str) -> Result<PgType, String> {
    // Quoted or schema-qualified names are never the SQL-standard multi-word types.
    if base.contains('"') || (base.contains('.') && !base.contains('(')) {
        if base.trim() == "\"char\"" {
            return Ok(PgType::Builtin("\"char\"".into()));
        }
        let parts = split_qualified(base).ok_or("malformed quoted or qualified name")?;
        return match parts.as_slice() {
            [name] if default_schema == "pg_catalog" => Ok(PgType::Builtin(quote_ident(name))),
            [name] => Ok(PgType::Named(QualifiedName::new(
                default_schema,
                name.clone(),
            ))),
            [schema, name] if schema == "pg_catalog" => {
                parse_base(&quote_ident(name), default_schema)
            }
            [schema, name] => Ok(PgType::Named(QualifiedName::new(
                schema.clone(),
                name.clone(),
            ))),
            _ => Err("too many dots in a type name".into()),
        };
    }
    let (words, mods, after) = split_modifiers(base)?;
    let tz_suffix = |s: &str| -> Result<bool, String> {
        match s {
            "" | "without time zone" => Ok(false),
            "with time zone" => Ok(true),
            other => Err(format!("unexpected `{other}`")),
        }
    };
    let ty = match (words.as_str(), after.as_str()) {
        ("smallint" | "int2", "") if mods.is_none() => PgType::SmallInt,
        ("integer" | "int" | "int4", "") if mods.is_none() => PgType::Integer,
        ("bigint" | "int8", "") if mods.is_none() => PgType::BigInt,
        ("real" | "float4", "") if mods.is_none() => PgType::Real,
        ("double precision" | "float8", "") if mods.is_none() => PgType::DoublePrecision,
        ("float", "") => match one_mod(&mods, "float")? {
            None => PgType::DoublePrecision,
            Some(p) if (1..=24).contains(&p) => PgType::Real,
            Some(p) if (25..=53).contains(&p) => PgType::DoublePrecision,
            Some(_) => return Err("float precision must be between 1 and 53".into()),
        },
        ("numeric" | "decimal", "") => match mods.as_deref() {
            None => PgType::Numeric {
                precision: None,
                scale: None,
            },
            Some([p]) => PgType::Numeric {
                precision: Some(*p),
                scale: Some(0),
            },
            Some([p, s]) => PgType::Numeric {
                precision: Some(*p),
                scale: Some(*s),
            },
            Some(_) => return Err("numeric takes at most two modifiers".into()),
        },
        ("text", "") if mods.is_none() => PgType::Text,
        ("character varying" | "varchar" | "char varying", "") => {
            PgType::Varchar(one_mod(&mods, "varchar")?)
        }
        ("character" | "char" | "bpchar", "") => {
            let n = one_mod(&mods, "character")?;
            // `character` without a length is `character(1)` in a column definition; only the
            // internal name `bpchar` means "any length".
            if words == "bpchar" {
                PgType::Char(n)
            } else {
                PgType::Char(Some(n.unwrap_or(1)))
            }
        }
        ("boolean" | "bool", "") if mods.is_none() => PgType::Boolean,
        ("uuid", "") if mods.is_none() => PgType::Uuid,
        ("json", "") if mods.is_none() => PgType::Json,
        ("jsonb", "") if mods.is_none() => PgType::Jsonb,
        ("bytea", "") if mods.is_none() => PgType::Bytea,
        ("date", "") if mods.is_none() => PgType::Date,
        ("timestamptz", "") => PgType::Timestamp {
            precision: one_mod(&mods, "timestamptz")?,
            with_time_zone: true,
        },
        ("timetz", "") => PgType::Time {
            precision: one_mod(&mods, "timetz")?,
            with_time_zone: true,
        },
        ("timestamp", rest) => PgType::Timestamp {
            precision: one_mod(&mods, "timestamp")?,
            with_time_zone: tz_suffix(rest)?,
        },
        ("time", rest) => PgType::Time {
            precision: one_mod(&mods, "time")?,
            with_time_zone: tz_suffix(rest)?,
        },
        ("timestamp with time zone", "") => PgType::Timestamp {
            precision: None,
            with_time_zone: true,
        },
        ("timestamp without time zone", "") => PgType::Timestamp {
            precision: None,
            with_time_zone: false,
        },
        ("time with time zone", "") => PgType::Time {
            precision: None,
            with_time_zone: true,
        },
        ("time without time zone", "") => PgType::Time {
            precision: None,
            with_time_zone: false,
        },
        (w, "") if w == "interval" || w.starts_with("interval ") => {
            let fields = w.strip_prefix("interval").map(str::trim).unwrap_or("");
            PgType::Interval {
                fields: (!fields.is_empty()).then(|| fields.to_owned()),
                precision: one_mod(&mods, "interval")?,
            }
        }
        ("bit", "") => PgType::Bit(Some(one_mod(&mods, "bit")?.unwrap_or(1))),
        ("bit varying" | "varbit", "") => PgType::VarBit(one_mod(&mods, "bit varying")?),
        (w, "") if mods.is_none() && PLAIN_BUILTINS.contains(&w) => PgType::Builtin(w.to_owned()),
        (w, "")
            if mods.is_none()
                && w.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && w.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$') =>
        {
            if default_schema == "pg_catalog" {
                PgType::Builtin(w.to_owned())
            } else {
                PgType::Named(QualifiedName::new(default_schema, w))
            }
        }
        _ => return Err(format!("unknown type `{base}`")),
    };
    Ok(ty)
}

impl Serialize for PgType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How many distinct type texts [`PgType::parse_printed`] remembers per thread: a schema uses a
/// few dozen; past this the memory is cleared (it only saves parsing).
const PARSED_TYPES_KEPT: usize = 1024;

thread_local! {
    /// Types parsed by [`PgType::parse_printed`] on this thread, by their text.
    static PARSED_TYPES: std::cell::RefCell<std::collections::HashMap<String, PgType>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl PgType {
    /// Parses a type as PostgreSQL's `format_type()` and [`PgType`]'s `Display` print it
    /// (unqualified names are `pg_catalog` built-ins): [`PgType::parse`], remembered per thread,
    /// since a schema of thousands of columns repeats a few types and parsing is most of the
    /// cost of reading one (from the catalogs or from a cached schema).
    pub fn parse_printed(text: &str) -> Result<PgType, TypeParseError> {
        if let Some(ty) = PARSED_TYPES.with(|m| m.borrow().get(text).cloned()) {
            return Ok(ty);
        }
        let ty = PgType::parse(text, "pg_catalog")?;
        PARSED_TYPES.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= PARSED_TYPES_KEPT {
                m.clear();
            }
            m.insert(text.to_owned(), ty.clone());
        });
        Ok(ty)
    }
}

impl<'de> Deserialize<'de> for PgType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Display prints built-ins unqualified and everything else qualified.
        PgType::parse_printed(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt(f: &mut fmt::Formatter<'_>, n: &Option<u32>) -> fmt::Result {
            match n {
                Some(n) => write!(f, "({n})"),
                None => Ok(()),
            }
        }
        fn tz(with: bool) -> &'static str {
            if with {
                " with time zone"
            } else {
                " without time zone"
            }
        }
        match self {
            PgType::SmallInt => f.write_str("smallint"),
            PgType::Integer => f.write_str("integer"),
            PgType::BigInt => f.write_str("bigint"),
            PgType::Real => f.write_str("real"),
            PgType::DoublePrecision => f.write_str("double precision"),
            PgType::Numeric { precision, scale } => match (precision, scale) {
                (Some(p), Some(s)) => write!(f, "numeric({p},{s})"),
                (Some(p), None) => write!(f, "numeric({p},0)"),
                _ => f.write_str("numeric"),
            },
            PgType::Text => f.write_str("text"),
            PgType::Varchar(n) => {
                f.write_str("character varying")?;
                opt(f, n)
            }
            PgType::Char(n) => match n {
                Some(n) => write!(f, "character({n})"),
                None => f.write_str("bpchar"),
            },
            PgType::Boolean => f.write_str("boolean"),
            PgType::Uuid => f.write_str("uuid"),
            PgType::Json => f.write_str("json"),
            PgType::Jsonb => f.write_str("jsonb"),
            PgType::Bytea => f.write_str("bytea"),
            PgType::Date => f.write_str("date"),
            PgType::Time {
                precision,
                with_time_zone,
            } => {
                f.write_str("time")?;
                opt(f, precision)?;
                f.write_str(tz(*with_time_zone))
            }
            PgType::Timestamp {
                precision,
                with_time_zone,
            } => {
                f.write_str("timestamp")?;
                opt(f, precision)?;
                f.write_str(tz(*with_time_zone))
            }
            PgType::Interval { fields, precision } => {
                f.write_str("interval")?;
                if let Some(fields) = fields {
                    write!(f, " {fields}")?;
                }
                opt(f, precision)
            }
            PgType::Bit(n) => {
                f.write_str("bit")?;
                opt(f, n)
            }
            PgType::VarBit(n) => {
                f.write_str("bit varying")?;
                opt(f, n)
            }
            PgType::Builtin(name) => f.write_str(name),
            PgType::Named(name) => write!(f, "{name}"),
            PgType::Array(inner) => write!(f, "{inner}[]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parsed_twice_are_the_same_and_errors_stay_errors() {
        for text in [
            "\"character varying(40)\"",
            "\"public.status[]\"",
            "\"bigint\"",
        ] {
            let first: PgType = serde_json::from_str(text).unwrap();
            let again: PgType = serde_json::from_str(text).unwrap();
            assert_eq!(first, again);
            assert_eq!(serde_json::to_string(&again).unwrap(), text);
            let printed: String = serde_json::from_str(text).unwrap();
            assert_eq!(PgType::parse_printed(&printed).unwrap(), first);
            assert_eq!(PgType::parse(&printed, "pg_catalog").unwrap(), first);
        }
        for _ in 0..2 {
            assert!(serde_json::from_str::<PgType>("\"character varying(\"").is_err());
            assert!(PgType::parse_printed("character varying(").is_err());
        }
    }

    fn canon(s: &str) -> String {
        PgType::parse(s, "public").unwrap().to_string()
    }

    #[test]
    fn aliases_become_format_type_spelling() {
        let cases = [
            ("varchar(120)", "character varying(120)"),
            ("VARCHAR", "character varying"),
            ("int", "integer"),
            ("int4", "integer"),
            ("int8", "bigint"),
            ("float", "double precision"),
            ("float(10)", "real"),
            ("decimal(12, 2)", "numeric(12,2)"),
            ("numeric(5)", "numeric(5,0)"),
            ("timestamptz", "timestamp with time zone"),
            ("timestamp", "timestamp without time zone"),
            ("timestamp(3) with time zone", "timestamp(3) with time zone"),
            ("timetz", "time with time zone"),
            ("bool", "boolean"),
            ("text[]", "text[]"),
            ("text[][]", "text[]"),
            ("integer array", "integer[]"),
            ("int[3]", "integer[]"),
            ("char", "character(1)"),
            ("char(3)", "character(3)"),
            ("bit", "bit(1)"),
            ("varbit(4)", "bit varying(4)"),
            ("interval day to second(3)", "interval day to second(3)"),
            ("application_status", "public.application_status"),
            ("Auth.\"Odd\"[]", "auth.\"Odd\"[]"),
            ("pg_catalog.int4", "integer"),
            ("tsvector", "tsvector"),
            ("\"char\"", "\"char\""),
        ];
        for (input, expected) in cases {
            assert_eq!(canon(input), expected, "{input}");
            // Canonical text parses back to the same type.
            assert_eq!(canon(expected), expected, "{expected}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "varchar(x)", "text[", "numeric(1,2,3)", "foo bar"] {
            assert!(PgType::parse(bad, "public").is_err(), "{bad}");
        }
    }
}
