//! sqlparser as a syntax gate for the SQL inside schema files, and the few facts lowering needs
//! from an expression (which columns it mentions, the name PostgreSQL gives an index key).
//!
//! sqlparser is never the judge of meaning (DESIGN.md: PostgreSQL is); it only lets a typo fail
//! at parse time with a position. Known gaps, where valid PostgreSQL is not checked here rather
//! than rejected: partition keys and bounds, exclusion constraint definitions, function bodies
//! and SQL-standard bodies (`BEGIN ATOMIC`), and `OPERATOR(schema.op)` syntax.

use sqlparser::ast::{DataType, Expr, ObjectNamePart};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

/// An expression that does not parse: the message and the byte offset inside the expression
/// text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSyntaxError {
    /// sqlparser's message, without its position suffix.
    pub message: String,
    /// Byte offset in the checked text.
    pub offset: usize,
}

/// Recursion limit for sqlparser: deep enough for any real expression, shallow enough that
/// hostile input cannot overflow the stack.
const RECURSION_LIMIT: usize = 50;

/// Parses `text` as one SQL expression.
pub fn parse_expr(text: &str) -> Result<Expr, SqlSyntaxError> {
    let blanked = blank_variadic(text);
    let text = blanked.as_str();
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(text)
        .map_err(|e| syntax_error(text, &e))?;
    let expr = parser.parse_expr().map_err(|e| syntax_error(text, &e))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        let offset = offset_of(text, next.span.start.line, next.span.start.column);
        return Err(SqlSyntaxError {
            message: format!(
                "unexpected `{}` after the end of the expression",
                next.token
            ),
            offset,
        });
    }
    Ok(expr)
}

/// Parses `text` as one query (`SELECT …`, `VALUES …`, `WITH …`).
pub fn parse_query(text: &str) -> Result<(), SqlSyntaxError> {
    let blanked = blank_variadic(text);
    let text = blanked.as_str();
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(text)
        .map_err(|e| syntax_error(text, &e))?;
    parser.parse_query().map_err(|e| syntax_error(text, &e))?;
    // A trailing semicolon is harmless in a view query.
    let _ = parser.consume_token(&Token::SemiColon);
    let next = parser.peek_token();
    if next.token != Token::EOF {
        let offset = offset_of(text, next.span.start.line, next.span.start.column);
        return Err(SqlSyntaxError {
            message: format!("unexpected `{}` after the end of the query", next.token),
            offset,
        });
    }
    Ok(())
}

fn syntax_error(text: &str, e: &ParserError) -> SqlSyntaxError {
    let raw = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s.clone(),
        ParserError::RecursionLimitExceeded => {
            return SqlSyntaxError {
                message: "expression nested too deeply".into(),
                offset: 0,
            };
        }
    };
    // sqlparser appends " at Line: L, Column: C" to its messages.
    let (message, offset) = match raw.rfind(" at Line: ") {
        Some(i) => {
            let pos = &raw[i + " at Line: ".len()..];
            let mut parts = pos.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
            let col = parts
                .next()
                .and_then(|c| c.trim().trim_end_matches('.').parse::<u64>().ok());
            let offset = match (line, col) {
                (Some(l), Some(c)) => offset_of(text, l, c),
                _ => 0,
            };
            (raw[..i].to_owned(), offset)
        }
        None => (raw, text.len()),
    };
    SqlSyntaxError { message, offset }
}

/// The byte offset of a 1-based line and column (in characters) in `text`.
fn offset_of(text: &str, line: u64, column: u64) -> usize {
    if line == 0 {
        return text.len();
    }
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i as u64 + 1 == line {
            let col = column.saturating_sub(1) as usize;
            return offset + l.char_indices().nth(col).map_or(l.len(), |(byte, _)| byte);
        }
        offset += l.len() + 1;
    }
    text.len()
}

/// The distinct column names among `columns` that `text` mentions as column references (not as
/// function names or type names): PostgreSQL names a CHECK `<table>_<column>_check` exactly when
/// its expression references one column (`pull_var_clause` in `AddRelationNewConstraints`).
pub fn referenced_columns(text: &str, columns: &[String]) -> Vec<String> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize() else {
        return Vec::new();
    };
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (i, t) in significant.iter().enumerate() {
        let Token::Word(w) = t else { continue };
        let name = if w.quote_style.is_some() {
            w.value.clone()
        } else {
            w.value.to_ascii_lowercase()
        };
        let next_is_paren = matches!(significant.get(i + 1), Some(Token::LParen));
        let after_cast = i > 0 && matches!(significant[i - 1], Token::DoubleColon);
        if next_is_paren || after_cast {
            continue;
        }
        if columns.contains(&name) && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `FigureIndexColname`: the name PostgreSQL derives from an index expression (the function's
/// name for `lower(email)`, the column for `(email)`, the type for a cast of something
/// nameless), or `None` (PostgreSQL then says `expr`).
pub fn index_expr_name(text: &str) -> Option<String> {
    let expr = parse_expr(text).ok()?;
    figure_colname(&expr)
}

fn ident_name(i: &sqlparser::ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

fn figure_colname(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(ident_name(i)),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident_name),
        Expr::Nested(inner) => figure_colname(inner),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(i)) => Some(ident_name(i)),
            _ => None,
        },
        Expr::Cast {
            expr, data_type, ..
        } => figure_colname(expr).or_else(|| cast_type_name(data_type)),
        Expr::Collate { expr, .. } => figure_colname(expr),
        Expr::Case { .. } => Some("case".into()),
        Expr::Array(_) => Some("array".into()),
        Expr::Tuple(_) => Some("row".into()),
        _ => None,
    }
}

/// The internal name PostgreSQL's grammar gives a cast's target type (`integer` → `int4`).
fn cast_type_name(ty: &DataType) -> Option<String> {
    let text = ty.to_string().to_ascii_lowercase();
    let parsed = crate::model::PgType::parse(&text, "public").ok()?;
    use crate::model::PgType as T;
    Some(
        match parsed {
            T::SmallInt => "int2",
            T::Integer => "int4",
            T::BigInt => "int8",
            T::Real => "float4",
            T::DoublePrecision => "float8",
            T::Numeric { .. } => "numeric",
            T::Text => "text",
            T::Varchar(_) => "varchar",
            T::Char(_) => "bpchar",
            T::Boolean => "bool",
            T::Timestamp {
                with_time_zone: true,
                ..
            } => "timestamptz",
            T::Timestamp { .. } => "timestamp",
            T::Time {
                with_time_zone: true,
                ..
            } => "timetz",
            T::Time { .. } => "time",
            T::Bit(_) => "bit",
            T::VarBit(_) => "varbit",
            T::Array(_) => return None,
            T::Named(q) => return Some(q.name.0),
            other => return Some(other.to_string()),
        }
        .to_owned(),
    )
}

/// `text` with each `VARIADIC` keyword (outside literals and quoted names) replaced by spaces of
/// the same length: sqlparser does not know `f(VARIADIC ARRAY[…])`, which PostgreSQL writes for
/// every call of a variadic function (`jsonb_extract_path_text(col, 'a', 'b')`).
fn blank_variadic(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = text.to_owned().into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' || c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            if text[start..i].eq_ignore_ascii_case("variadic") {
                for b in &mut out[start..i] {
                    *b = b' ';
                }
            }
            continue;
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_or_point_at_the_problem() {
        assert!(parse_expr("amount >= 0").is_ok());
        assert!(parse_expr("user_id = (SELECT auth.uid())").is_ok());
        let e = parse_expr("amount >= ").unwrap_err();
        assert_eq!(e.offset, 10);
        let e = parse_expr("a b").unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(parse_query("SELECT 1").is_ok());
        assert!(parse_query("SELEC 1").is_err());
    }

    #[test]
    fn column_references_skip_functions_and_literals() {
        let cols = vec!["amount".to_owned(), "lower".to_owned(), "b".to_owned()];
        assert_eq!(
            referenced_columns("lower('amount') > amount::text", &cols),
            ["amount"]
        );
        assert_eq!(referenced_columns("true", &cols), Vec::<String>::new());
    }

    #[test]
    fn index_expression_names() {
        assert_eq!(index_expr_name("lower(email)").as_deref(), Some("lower"));
        assert_eq!(index_expr_name("(a + b)"), None);
        assert_eq!(index_expr_name("(x)::text").as_deref(), Some("x"));
        assert_eq!(index_expr_name("(1)::integer").as_deref(), Some("int4"));
    }
}
