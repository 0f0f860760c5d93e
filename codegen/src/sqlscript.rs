//! Splitting SQL scripts into statements, the way psql does, so that a statement that fails can be
//! named by file, line and text.
//!
//! This is deliberately a lexer, not a parser: PostgreSQL reads the SQL (DESIGN.md, "SQL is read by
//! PostgreSQL"); all we need is where each statement starts and ends. It understands what can hide
//! a `;`: quoted strings (`'…'`, `E'…'` with backslash escapes), quoted identifiers, dollar quotes,
//! line and nested block comments, and SQL-standard function bodies (`BEGIN ATOMIC … END`), whose
//! inner semicolons psql also keeps inside the statement. psql meta-commands that only set client
//! options (`\set ON_ERROR_STOP on`) are skipped; any other meta-command is an error, because
//! running the file without it would not do what the file says.

use std::fmt;

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, without the terminating `;`, trimmed.
    pub text: String,
    /// Byte offset of the first character of `text` in the script.
    pub offset: usize,
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column (in characters) of the first character.
    pub column: usize,
}

/// A script that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SplitError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// psql meta-commands that only change client behaviour and can be skipped.
const HARMLESS_META: &[&str] = &[
    "set", "unset", "echo", "pset", "timing", "encoding", "qecho",
];

/// Splits `script` into statements.
pub fn split(script: &str) -> Result<Vec<Statement>, SplitError> {
    Splitter::new(script).run()
}

/// 1-based (line, column) of a byte offset.
pub fn line_col(script: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(script.len());
    let before = &script[..floor_char_boundary(script, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Vec<Statement>,
    /// Start of the current statement, if it has any non-blank, non-comment content.
    start: Option<usize>,
    /// Words of the current statement seen so far (lower case), up to a few, to recognise
    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
    head: Vec<String>,
    /// Nesting of `BEGIN … END` (and `CASE … END` inside it) in a routine definition.
    begin_depth: usize,
    /// Where the last statement's position was computed, so that the next one is found by
    /// scanning only the text in between (statements come in order; rescanning from the start
    /// of the script for each one made splitting quadratic).
    cursor: LineCursor,
}

/// A byte offset with its 1-based line and column, advanced incrementally.
#[derive(Debug, Clone, Copy)]
struct LineCursor {
    offset: usize,
    line: usize,
    column: usize,
}

impl LineCursor {
    const START: LineCursor = LineCursor {
        offset: 0,
        line: 1,
        column: 1,
    };

    /// Moves the cursor to `offset` (rounded down to a character boundary) and returns its
    /// (line, column); same result as [`line_col`], in time proportional to the distance moved.
    fn advance(&mut self, script: &str, offset: usize) -> (usize, usize) {
        let target = floor_char_boundary(script, offset.min(script.len()));
        if target < self.offset {
            *self = LineCursor::START;
        }
        let between = &script[self.offset..target];
        match between.rfind('\n') {
            Some(last) => {
                self.line += between.bytes().filter(|&b| b == b'\n').count();
                self.column = between[last + 1..].chars().count() + 1;
            }
            None => self.column += between.chars().count(),
        }
        self.offset = target;
        (self.line, self.column)
    }
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str) -> Self {
        Splitter {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            out: Vec::new(),
            start: None,
            head: Vec::new(),
            begin_depth: 0,
            cursor: LineCursor::START,
        }
    }

    fn error(&self, at: usize, message: impl Into<String>) -> SplitError {
        let (line, column) = line_col(self.src, at);
        SplitError {
            message: message.into(),
            line,
            column,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn mark_start(&mut self) {
        if self.start.is_none() {
            self.start = Some(self.pos);
        }
    }

    fn finish_statement(&mut self, end: usize) {
        if let Some(start) = self.start.take() {
            let raw = &self.src[start..end];
            let text = raw.trim_end();
            if !text.is_empty() {
                let (line, column) = self.cursor.advance(self.src, start);
                self.out.push(Statement {
                    text: text.to_owned(),
                    offset: start,
                    line,
                    column,
                });
            }
        }
        self.head.clear();
        self.begin_depth = 0;
    }

    fn is_routine_definition(&self) -> bool {
        let h: Vec<&str> = self.head.iter().map(String::as_str).collect();
        matches!(
            h.as_slice(),
            ["create", "function" | "procedure", ..]
                | ["create", "or", "replace", "function" | "procedure", ..]
        )
    }

    fn run(mut self) -> Result<Vec<Statement>, SplitError> {
        while let Some(c) = self.peek(0) {
            match c {
                b'-' if self.peek(1) == Some(b'-') => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment()?,
                b'\\' if self.start.is_none() || self.at_line_start() => self.meta_command()?,
                b'\'' => {
                    self.mark_start();
                    let escapes = self.pos > 0
                        && matches!(self.bytes[self.pos - 1], b'e' | b'E')
                        && !self.prev_is_word_char(self.pos - 1);
                    self.quoted(b'\'', escapes)?;
                }
                b'"' => {
                    self.mark_start();
                    self.quoted(b'"', false)?;
                }
                b'$' if self.dollar_tag().is_some() => {
                    self.mark_start();
                    self.dollar_quoted()?;
                }
                b';' => {
                    if self.begin_depth > 0 {
                        self.pos += 1;
                    } else {
                        let end = self.pos;
                        self.pos += 1;
                        self.finish_statement(end);
                    }
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    self.mark_start();
                    self.word();
                }
                c if c.is_ascii_whitespace() => self.pos += 1,
                _ => {
                    self.mark_start();
                    // Advance one whole character.
                    let ch_len = self.src[self.pos..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                    self.pos += ch_len;
                }
            }
        }
        let end = self.src.len();
        self.finish_statement(end);
        Ok(self.out)
    }

    fn at_line_start(&self) -> bool {
        self.src[..self.pos]
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.trim().is_empty())
    }

    fn prev_is_word_char(&self, i: usize) -> bool {
        i > 0 && {
            let b = self.bytes[i - 1];
            b.is_ascii_alphanumeric() || b == b'_'
        }
    }

    fn skip_line_comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), SplitError> {
        let open = self.pos;
        let mut depth = 0usize;
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(b'/'), Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                (Some(_), _) => self.pos += 1,
                (None, _) => return Err(self.error(open, "unterminated /* comment")),
            }
        }
    }

    fn meta_command(&mut self) -> Result<(), SplitError> {
        let at = self.pos;
        let line_end = self.src[at..].find('\n').map_or(self.src.len(), |i| at + i);
        let line = &self.src[at + 1..line_end];
        let command = line.split_whitespace().next().unwrap_or("");
        if HARMLESS_META.contains(&command) {
            self.pos = line_end;
            Ok(())
        } else {
            Err(self.error(
                at,
                format!(
                    "psql meta-command `\\{command}` is not supported: the file must be plain SQL \
                     (only \\set, \\echo and similar client settings are skipped)"
                ),
            ))
        }
    }

    fn quoted(&mut self, quote: u8, backslash_escapes: bool) -> Result<(), SplitError> {
        let open = self.pos;
        self.pos += 1;
        loop {
            match self.peek(0) {
                None => {
                    let what = if quote == b'"' {
                        "quoted identifier"
                    } else {
                        "string literal"
                    };
                    return Err(self.error(open, format!("unterminated {what}")));
                }
                Some(b'\\') if backslash_escapes => self.pos += 2,
                Some(c) if c == quote => {
                    if self.peek(1) == Some(quote) {
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// The dollar-quote tag starting at `pos` (`$$` or `$tag$`), if there is one there.
    fn dollar_tag(&self) -> Option<&'a str> {
        // A `$` right after a word character is part of an identifier (`a$b`) or a parameter.
        if self.prev_is_word_char(self.pos) {
            return None;
        }
        let rest = &self.src[self.pos + 1..];
        let end = rest.find('$')?;
        let tag = &rest[..end];
        let valid = tag.is_empty()
            || (tag.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && tag.chars().all(|c| c.is_alphanumeric() || c == '_'));
        valid.then(|| &self.src[self.pos..self.pos + end + 2])
    }

    fn dollar_quoted(&mut self) -> Result<(), SplitError> {
        let open = self.pos;
        let Some(tag) = self.dollar_tag() else {
            return Ok(());
        };
        self.pos += tag.len();
        match self.src[self.pos..].find(tag) {
            Some(i) => {
                self.pos += i + tag.len();
                Ok(())
            }
            None => Err(self.error(open, format!("unterminated dollar-quoted string {tag}"))),
        }
    }

    fn word(&mut self) {
        let begin = self.pos;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let word = self.src[begin..self.pos].to_ascii_lowercase();
        if self.head.len() < 5 {
            self.head.push(word.clone());
        }
        if self.is_routine_definition() {
            match word.as_str() {
                // `BEGIN ATOMIC` opens a SQL-standard body; plain `BEGIN` cannot occur outside
                // quotes in a routine definition otherwise.
                "begin" => self.begin_depth += 1,
                "case" if self.begin_depth > 0 => self.begin_depth += 1,
                "end" if self.begin_depth > 0 => self.begin_depth -= 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split(s).unwrap().into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "\\set ON_ERROR_STOP on\n-- a; comment\nCREATE TABLE a (x text DEFAULT ';');\n\
                   /* block; /* nested; */ */ SELECT 'it''s;' , \"we;ird\";\n\
                   SELECT E'\\';';\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n\
                   DO $$ BEGIN PERFORM 1; END $$";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE TABLE a (x text DEFAULT ';')",
                "SELECT 'it''s;' , \"we;ird\"",
                "SELECT E'\\';'",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$",
                "DO $$ BEGIN PERFORM 1; END $$",
            ]
        );
    }

    #[test]
    fn keeps_begin_atomic_bodies_whole() {
        let sql = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; SELECT 3; END; SELECT 4;";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; SELECT 3; END",
                "SELECT 4",
            ]
        );
    }

    #[test]
    fn reports_positions() {
        let stmts = split("\n\n  SELECT 1;\nSELECT\n 2;").unwrap();
        assert_eq!((stmts[0].line, stmts[0].column), (3, 3));
        assert_eq!((stmts[1].line, stmts[1].column), (4, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn positions_of_many_statements_match_line_col() {
        let script = "SELECT 'é';\n  SELECT 2; SELECT\n3;\n\n\t-- c\nSELECT 'ü\n', 4;".repeat(50);
        let stmts = split(&script).unwrap();
        assert_eq!(stmts.len(), 200);
        for st in &stmts {
            assert_eq!(line_col(&script, st.offset), (st.line, st.column));
        }
        let mut cursor = LineCursor::START;
        assert_eq!(cursor.advance(&script, 30), line_col(&script, 30));
        assert_eq!(cursor.advance(&script, 5), line_col(&script, 5));
        assert_eq!(
            cursor.advance(&script, usize::MAX),
            line_col(&script, usize::MAX)
        );
    }

    #[test]
    fn a_large_script_gets_every_position_right() {
        // About 1 MB in 34,000 statements (rescanning from the start for each statement took
        // about a second in release builds; no timing is asserted, tests run on shared machines).
        let script = "INSERT INTO t VALUES (1, 'x');\n".repeat(34_000);
        let stmts = split(&script).unwrap();
        assert_eq!(stmts.len(), 34_000);
        assert_eq!((stmts[33_999].line, stmts[33_999].column), (34_000, 1));
    }

    #[test]
    fn rejects_unterminated_and_unknown_meta_commands() {
        let err = split("SELECT 1;\nSELECT 'open").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
        assert!(err.message.contains("unterminated string"));
        assert!(split("SELECT $x$ abc").is_err());
        assert!(
            split("\\i other.sql\n")
                .unwrap_err()
                .message
                .contains("\\i")
        );
    }

    #[test]
    fn dollar_in_identifiers_is_not_a_quote() {
        assert_eq!(
            texts("SELECT a$b, $1 FROM t; SELECT 2"),
            vec!["SELECT a$b, $1 FROM t", "SELECT 2"]
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Pieces that exercise every lexer state, including unterminated ones.
        fn sqlish() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("SELECT 1".to_owned()),
                Just(";".to_owned()),
                Just("'".to_owned()),
                Just("E'\\'".to_owned()),
                Just("\"".to_owned()),
                Just("$$".to_owned()),
                Just("$tag$".to_owned()),
                Just("--".to_owned()),
                Just("/*".to_owned()),
                Just("*/".to_owned()),
                Just("\n".to_owned()),
                Just("\\set x".to_owned()),
                Just("\\i f".to_owned()),
                Just("CREATE FUNCTION f() BEGIN ATOMIC".to_owned()),
                Just("CASE".to_owned()),
                Just("END".to_owned()),
                Just("é".to_owned()),
                "[ -~]{0,8}",
            ];
            proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

            /// No input panics the splitter; every statement it returns is a slice of the input
            /// at the position it reports.
            #[test]
            fn split_never_panics_and_positions_are_exact(script in sqlish()) {
                if let Ok(statements) = split(&script) {
                    for st in statements {
                        prop_assert!(script[st.offset..].starts_with(&st.text));
                        prop_assert_eq!(line_col(&script, st.offset), (st.line, st.column));
                    }
                }
            }

            /// Arbitrary Unicode never panics either.
            #[test]
            fn split_accepts_any_text(script in "\\PC{0,200}") {
                let _ = split(&script);
            }
        }
    }
}
