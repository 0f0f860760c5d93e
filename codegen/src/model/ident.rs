//! Identifiers and qualified names: the one place that decides how a name is quoted in SQL.
//!
//! Names are stored exactly as PostgreSQL stores them (case-sensitive, unquoted). `Display`
//! quotes a name only when PostgreSQL would need it, the way `quote_ident()` does, so every
//! renderer writes identifiers through this one path.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer names are truncated.
pub const MAX_IDENT_BYTES: usize = 63;

/// An SQL identifier as the catalog stores it. `Display` quotes it when needed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ident(pub String);

impl Ident {
    /// Wraps a name as stored in the catalog (no unquoting, no case folding).
    pub fn new(name: impl Into<String>) -> Self {
        Ident(name.into())
    }

    /// The raw name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `Display` has to put the name in double quotes.
    pub fn needs_quotes(&self) -> bool {
        needs_quotes(&self.0)
    }
}

impl From<&str> for Ident {
    fn from(s: &str) -> Self {
        Ident(s.to_owned())
    }
}

impl From<String> for Ident {
    fn from(s: String) -> Self {
        Ident(s)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ident(f, &self.0)
    }
}

/// Writes `name` as PostgreSQL's `quote_ident()` would.
pub fn write_ident(f: &mut impl fmt::Write, name: &str) -> fmt::Result {
    if needs_quotes(name) {
        f.write_char('"')?;
        for c in name.chars() {
            if c == '"' {
                f.write_str("\"\"")?;
            } else {
                f.write_char(c)?;
            }
        }
        f.write_char('"')
    } else {
        f.write_str(name)
    }
}

/// `quote_ident(name)` as a `String`.
pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    // Writing to a String cannot fail.
    let _ = write_ident(&mut s, name);
    s
}

/// Whether PostgreSQL needs `name` quoted: anything but `[a-z_][a-z0-9_$]*`, or a keyword that
/// is not unreserved (PostgreSQL 15, `src/include/parser/kwlist.h`).
pub fn needs_quotes(name: &str) -> bool {
    // Bytes, not chars: any byte of a non-ASCII character fails these tests as the character
    // does.
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return true;
    };
    if !(first.is_ascii_lowercase() || first == b'_') {
        return true;
    }
    let mut keyword_like = true;
    for &b in bytes {
        if b.is_ascii_digit() || b == b'$' {
            keyword_like = false;
        } else if !(b.is_ascii_lowercase() || b == b'_') {
            return true;
        }
    }
    // Every keyword is 2 to 17 letters and underscores, so a name with a digit or `$`, or a
    // longer one, needs no search (this runs for every identifier rendered or formatted).
    keyword_like && bytes.len() <= LONGEST_KEYWORD && RESERVED_KEYWORDS.binary_search(&name).is_ok()
}

/// The length of the longest of [`RESERVED_KEYWORDS`] (checked by a test).
const LONGEST_KEYWORD: usize = 17;

/// Keywords of PostgreSQL 15 that are reserved, column-name or type/function-name keywords:
/// `quote_ident` quotes these. Sorted for binary search.
const RESERVED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json_array",
    "json_arrayagg",
    "json_object",
    "json_objectagg",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// A schema-qualified name (`schema.name`). `Display` quotes each part when needed; serde uses
/// the same text, so it can key JSON maps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    /// The namespace (`public` unless said otherwise).
    pub schema: Ident,
    /// The object's own name.
    pub name: Ident,
}

impl QualifiedName {
    /// `schema.name`.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: Ident(schema.into()),
            name: Ident(name.into()),
        }
    }

    /// `public.name`.
    pub fn public(name: impl Into<String>) -> Self {
        Self::new("public", name)
    }

    /// Parses `name` or `schema.name` (each part optionally double-quoted), defaulting the
    /// schema to `default_schema`. Unquoted parts are folded to lower case as PostgreSQL does.
    pub fn parse(text: &str, default_schema: &str) -> Option<Self> {
        let parts = split_qualified(text)?;
        match parts.as_slice() {
            [name] => Some(Self::new(default_schema, name.clone())),
            [schema, name] => Some(Self::new(schema.clone(), name.clone())),
            _ => None,
        }
    }
}

impl Serialize for QualifiedName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for QualifiedName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match split_qualified(&text).as_deref() {
            Some([schema, name]) => Ok(QualifiedName::new(schema.clone(), name.clone())),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a schema-qualified name"
            ))),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Splits a possibly-quoted dotted name into its parts, folding unquoted parts to lower case.
/// Returns `None` on an unterminated quote or an empty part.
pub fn split_qualified(text: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                part.extend(c.to_lowercase());
                chars.next();
            }
            part = part.trim().to_owned();
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => return Some(parts),
            Some('.') => continue,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_for_binary_search() {
        let mut sorted = RESERVED_KEYWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED_KEYWORDS);
    }

    /// `needs_quotes` searches only names of letters and underscores up to the longest keyword.
    #[test]
    fn keywords_are_letters_and_underscores_of_bounded_length() {
        for k in RESERVED_KEYWORDS {
            assert!(k.len() >= 2 && k.len() <= LONGEST_KEYWORD, "{k}");
            assert!(
                k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{k}"
            );
            assert!(needs_quotes(k), "{k}");
        }
        assert!(RESERVED_KEYWORDS.iter().any(|k| k.len() == LONGEST_KEYWORD));
        assert!(!needs_quotes("authorizations"));
        assert!(needs_quotes("é"));
        assert!(needs_quotes("aé"));
        assert!(!needs_quotes("user1"));
    }

    #[test]
    fn quotes_like_quote_ident() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("my table"), "\"my table\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("_x1$"), "_x1$");
        assert_eq!(quote_ident("1x"), "\"1x\"");
        assert_eq!(quote_ident("name"), "name");
    }

    #[test]
    fn parses_qualified_names() {
        assert_eq!(
            QualifiedName::parse("Users", "public"),
            Some(QualifiedName::public("users"))
        );
        assert_eq!(
            QualifiedName::parse("auth.\"Odd.Name\"", "public"),
            Some(QualifiedName::new("auth", "Odd.Name"))
        );
        assert_eq!(QualifiedName::parse("a.b.c", "public"), None);
        assert_eq!(QualifiedName::parse("\"open", "public"), None);
    }
}
