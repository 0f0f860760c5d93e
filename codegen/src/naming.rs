//! Names derived from other names: PostgreSQL's default names for unnamed constraints, indexes
//! and sequences, and the Rust names of tables, columns and enum labels.
//!
//! The PostgreSQL half reproduces `makeObjectName`, `ChooseRelationName`,
//! `ChooseIndexNameAddition` and `ChooseIndexColumnNames` (`src/backend/commands/indexcmds.c`,
//! `src/backend/catalog/namespace.c`, PostgreSQL 15) so that a schema file that leaves a name out
//! lowers to exactly the name the database would give it. The Rust half is the one place that
//! decides struct, field and variant names; the schema validator uses it to find clashes before
//! the Rust renderer would produce code that does not compile.

use crate::model::MAX_IDENT_BYTES;

/// `makeObjectName(name1, name2, label)`: `name1[_name2][_label]`, truncating the longer of
/// `name1` and `name2` (one byte at a time, never inside a UTF-8 character) until the whole fits
/// in 63 bytes. The label is never truncated.
pub fn make_object_name(name1: &str, name2: Option<&str>, label: Option<&str>) -> String {
    let mut n1 = name1.len();
    let mut n2 = name2.map_or(0, str::len);
    let mut overhead = 0;
    if name2.is_some() {
        overhead += 1;
    }
    if let Some(label) = label {
        overhead += label.len() + 1;
    }
    let avail = MAX_IDENT_BYTES.saturating_sub(overhead);
    // Order matters: PostgreSQL shortens the longer name first, one byte per step, and clips to
    // a character boundary only afterwards (`pg_mbcliplen`).
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let mut out = String::with_capacity(MAX_IDENT_BYTES);
    out.push_str(clip(name1, n1));
    if let Some(name2) = name2 {
        out.push('_');
        out.push_str(clip(name2, n2));
    }
    if let Some(label) = label {
        out.push('_');
        out.push_str(label);
    }
    out
}

/// The longest prefix of `s` of at most `len` bytes that ends on a character boundary.
fn clip(s: &str, len: usize) -> &str {
    let mut len = len.min(s.len());
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    &s[..len]
}

/// `ChooseRelationName` / `ChooseConstraintName`: [`make_object_name`] with the label, then
/// `label1`, `label2`… until `taken` says the name is free.
pub fn choose_name(
    name1: &str,
    name2: Option<&str>,
    label: &str,
    taken: &dyn Fn(&str) -> bool,
) -> String {
    let mut pass = 0u32;
    let mut modlabel = label.to_owned();
    loop {
        let name = make_object_name(name1, name2, Some(&modlabel));
        if !taken(&name) {
            return name;
        }
        pass += 1;
        modlabel = format!("{label}{pass}");
    }
}

/// `ChooseIndexNameAddition`: the column names joined with `_`, cut off once the result reaches
/// 63 bytes (PostgreSQL stops appending there; `make_object_name` shortens the rest).
pub fn index_name_addition<S: AsRef<str>>(columns: &[S]) -> String {
    let mut buf = String::new();
    for name in columns {
        if !buf.is_empty() {
            buf.push('_');
        }
        buf.push_str(clip(name.as_ref(), MAX_IDENT_BYTES));
        if buf.len() >= MAX_IDENT_BYTES {
            break;
        }
    }
    buf
}

/// `ChooseIndexColumnNames`: the per-key names of an index (a column's name, the name PostgreSQL
/// figures for an expression, or `expr`), with a numeric suffix on repeats.
pub fn index_column_names(keys: &[Option<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for key in keys {
        let orig = key.clone().unwrap_or_else(|| "expr".to_owned());
        let mut cur = orig.clone();
        let mut i = 1u32;
        while out.contains(&cur) {
            let suffix = i.to_string();
            let keep = MAX_IDENT_BYTES.saturating_sub(suffix.len());
            cur = format!("{}{}", clip(&orig, keep), suffix);
            i += 1;
        }
        out.push(cur);
    }
    out
}

/// The default name of a serial column's sequence: `<table>_<column>_seq`.
pub fn serial_sequence_name(table: &str, column: &str, taken: &dyn Fn(&str) -> bool) -> String {
    choose_name(table, Some(column), "seq", taken)
}

/// Rust keywords (2024 edition, strict and reserved) that need `r#` as identifiers.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers either: these get a trailing `_`.
const NON_RAW_KEYWORDS: &[&str] = &["crate", "self", "Self", "super", "_"];

/// True when `word` is a Rust keyword.
pub fn is_rust_keyword(word: &str) -> bool {
    RUST_KEYWORDS.contains(&word) || NON_RAW_KEYWORDS.contains(&word)
}

/// Splits a name into lower-case words at non-alphanumeric characters and at lower→upper case
/// changes (`userId` → `user`, `id`; `HTTPStatus` → `http`, `status`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Makes `s` a usable identifier: a leading digit gets a `_` prefix, keywords get `r#` (or a
/// trailing `_` where `r#` is not allowed), an empty result becomes `_empty`.
fn finish_ident(s: String) -> String {
    if s.is_empty() {
        return "_empty".to_owned();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("_{s}");
    }
    if NON_RAW_KEYWORDS.contains(&s.as_str()) {
        return format!("{s}_");
    }
    if RUST_KEYWORDS.contains(&s.as_str()) {
        return format!("r#{s}");
    }
    s
}

/// The snake_case Rust name of a column or field (`createdAt` → `created_at`, `type` →
/// `r#type`).
pub fn field_name(name: &str) -> String {
    finish_ident(words(name).join("_"))
}

/// The PascalCase Rust name of a table's struct, an enum or an enum variant (`job_posting` →
/// `JobPosting`, `in-progress` → `InProgress`, `Self` → `Self_`).
pub fn type_name(name: &str) -> String {
    let mut out = String::new();
    for w in words(name) {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    finish_ident(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_follow_make_object_name() {
        assert_eq!(make_object_name("users", None, Some("pkey")), "users_pkey");
        assert_eq!(
            make_object_name("users", Some("email"), Some("key")),
            "users_email_key"
        );
        // 63 bytes: the longer part shrinks first.
        let long_table = "t".repeat(60);
        let name = make_object_name(&long_table, Some("col"), Some("fkey"));
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}_col_fkey", "t".repeat(54)));
        let both = make_object_name(&"a".repeat(40), Some(&"b".repeat(40)), Some("key"));
        assert_eq!(both, format!("{}_{}_key", "a".repeat(29), "b".repeat(29)));
        assert_eq!(both.len(), 63);
        // Never split a UTF-8 character.
        let name = make_object_name(&"é".repeat(40), None, Some("pkey"));
        assert!(name.len() <= 63);
        assert!(name.ends_with("_pkey"));
    }

    #[test]
    fn choose_name_adds_numbers_on_conflict() {
        let taken = |n: &str| n == "t_a_idx" || n == "t_a_idx1";
        assert_eq!(choose_name("t", Some("a"), "idx", &taken), "t_a_idx2");
    }

    #[test]
    fn index_column_names_deduplicate() {
        let names = index_column_names(&[Some("a".into()), None, None, Some("a".into())]);
        assert_eq!(names, ["a", "expr", "expr1", "a1"]);
        assert_eq!(index_name_addition(&names), "a_expr_expr1_a1");
    }

    #[test]
    fn rust_names() {
        assert_eq!(field_name("createdAt"), "created_at");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("2fa"), "_2fa");
        assert_eq!(field_name("Email Address"), "email_address");
        assert_eq!(type_name("job_posting"), "JobPosting");
        assert_eq!(type_name("in-progress"), "InProgress");
        assert_eq!(type_name("HTTPStatus"), "HttpStatus");
        assert_eq!(type_name("self"), "Self_");
        assert_eq!(type_name(""), "_empty");
        assert_eq!(type_name("1st"), "_1st");
    }
}
