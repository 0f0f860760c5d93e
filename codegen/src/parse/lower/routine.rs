//! Lowering functions and procedures.

use super::{Lowerer, SqlKind, all};
use crate::model::{
    ArgMode, Function, FunctionArg, FunctionBody, FunctionId, FunctionKind, FunctionReturn, Ident,
    ParallelSafety, PgType, Volatility,
};
use crate::parse::ast::{ArgDef, Either, FunctionDef, Sp};

/// Argument modes, as the first word of an argument.
pub(crate) const ARG_MODES: &[&str] = &["in", "out", "inout", "variadic"];

/// Words that start a multi-word built-in type, so that `double precision` is not read as an
/// argument named `double`.
pub(crate) const MULTI_WORD_TYPE_STARTS: &[&str] = &[
    "double",
    "character",
    "char",
    "bit",
    "timestamp",
    "time",
    "interval",
    "national",
];

impl Lowerer<'_> {
    /// `[[function]]` / `[[procedure]]`.
    pub(super) fn function(&mut self, f: &Sp<FunctionDef>, kind: FunctionKind) {
        let d = &f.value;
        let Some(name) = self.qname(&d.name, "function") else {
            return;
        };
        self.check_length(name.name.as_str(), &d.name.span);
        let mut args = match &d.args {
            None => Vec::new(),
            Some(Sp {
                value: Either::Short(list),
                ..
            }) => list.iter().filter_map(|a| self.arg_def(a)).collect(),
            Some(Sp {
                value: Either::Long(text),
                span,
            }) => self.arg_string(text, span),
        };
        let returns = match kind {
            FunctionKind::Procedure => {
                if let Some(r) = &d.returns {
                    let at = self.origin(&r.span);
                    self.error(
                        "schema::invalid_value",
                        "a procedure does not return anything",
                        &at,
                        "here",
                        "remove `returns`, or declare a `[[function]]`",
                    );
                }
                None
            }
            FunctionKind::Function => self.returns(d, &mut args),
        };
        let arg_types: Vec<PgType> = args
            .iter()
            .filter(|a| matches!(a.mode, ArgMode::In | ArgMode::InOut | ArgMode::Variadic))
            .map(|a| a.ty.clone())
            .collect();
        let id = FunctionId { name, arg_types };
        let key = format!("function {id}");
        self.origins.insert(key.clone(), self.origin(&d.name.span));
        for (i, a) in args.iter().enumerate() {
            if a.default.is_some() {
                self.origins.insert_soft(
                    format!("{key} argument {} default", i + 1),
                    self.origin(&f.span),
                );
            }
        }
        let (body, default_language) = match (&d.body, &d.sql_body) {
            (Some(b), None) => (FunctionBody::Source(b.value.clone()), None),
            (None, Some(b)) => {
                self.origins
                    .insert_soft(format!("{key} body"), self.origin(&b.span));
                (
                    FunctionBody::Atomic(self.sql(&b.value, &b.span, SqlKind::Unchecked)),
                    Some("sql"),
                )
            }
            _ => {
                let at = self.origin(&d.name.span);
                self.error(
                    "schema::invalid_function",
                    format!("{id} needs exactly one of `body` and `sql_body`"),
                    &at,
                    "this routine",
                    "give the body as `body = '''…'''` (with `language`) or a SQL-standard `sql_body`",
                );
                return;
            }
        };
        let language = match (&d.language, default_language) {
            (Some(l), _) => l.value.trim().to_ascii_lowercase(),
            (None, Some(l)) => l.to_owned(),
            (None, None) => {
                let at = self.origin(&d.name.span);
                self.error(
                    "schema::missing_key",
                    format!("{id} has a body but no `language`"),
                    &at,
                    "this routine",
                    "add `language = \"plpgsql\"` (or `sql`, …)",
                );
                return;
            }
        };
        let volatility = match &d.volatility {
            Some(v) => self
                .keyword(
                    v,
                    "volatility",
                    &[
                        ("immutable", Volatility::Immutable),
                        ("stable", Volatility::Stable),
                        ("volatile", Volatility::Volatile),
                    ],
                )
                .unwrap_or_default(),
            None => Volatility::Volatile,
        };
        let parallel = match &d.parallel {
            Some(p) => self
                .keyword(
                    p,
                    "parallel safety",
                    &[
                        ("unsafe", ParallelSafety::Unsafe),
                        ("restricted", ParallelSafety::Restricted),
                        ("safe", ParallelSafety::Safe),
                    ],
                )
                .unwrap_or_default(),
            None => ParallelSafety::Unsafe,
        };
        let setof = returns.as_ref().is_some_and(|r| r.setof);
        let default_cost = if language == "c" || language == "internal" {
            1
        } else {
            100
        };
        let mut config: Vec<String> = match &d.set {
            Some(s) => s
                .value
                .0
                .iter()
                .map(|(k, v)| {
                    // PostgreSQL prints an empty list setting as `""`.
                    let value = if v.value.0.is_empty() {
                        "\"\"".to_owned()
                    } else {
                        v.value.0.clone()
                    };
                    format!("{}={value}", k.value)
                })
                .collect(),
            None => Vec::new(),
        };
        config.sort();
        let grants = match &d.grants {
            Some(g) => self.grants(g, all::FUNCTION),
            None => Default::default(),
        };
        let function = Function {
            id: id.clone(),
            kind,
            args,
            returns,
            language,
            body,
            volatility,
            strict: d.strict,
            security_definer: d.security_definer,
            leakproof: d.leakproof,
            parallel,
            cost: d.cost.unwrap_or(default_cost),
            rows: d.rows.unwrap_or(if setof { 1000 } else { 0 }),
            config,
            grants,
            public_execute: d.public_execute.unwrap_or(true),
            comment: d.comment.as_ref().map(|c| c.value.clone()),
        };
        self.schema.functions.entry(id).or_insert(function);
    }

    /// `returns = "setof t"`, `"table(a int, b text)"`, `"void"`…; `None` (no `returns`) is
    /// allowed when OUT arguments say what comes back.
    fn returns(&mut self, d: &FunctionDef, args: &mut Vec<FunctionArg>) -> Option<FunctionReturn> {
        let outs: Vec<&FunctionArg> = args
            .iter()
            .filter(|a| matches!(a.mode, ArgMode::Out | ArgMode::InOut))
            .collect();
        let Some(r) = &d.returns else {
            return match outs.as_slice() {
                [] => {
                    let at = self.origin(&d.name.span);
                    self.error(
                        "schema::missing_key",
                        format!("function `{}` has no `returns`", d.name.value),
                        &at,
                        "this function",
                        "add `returns = \"void\"` (or the type it returns)",
                    );
                    None
                }
                [one] => Some(FunctionReturn {
                    setof: false,
                    ty: one.ty.clone(),
                }),
                _ => Some(FunctionReturn {
                    setof: false,
                    ty: PgType::Builtin("record".to_owned()),
                }),
            };
        };
        let text = r.value.trim();
        let lower = text.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("table") {
            let rest_trim = rest.trim_start();
            if rest_trim.starts_with('(') && text.ends_with(')') {
                let start = text.len() - rest_trim.len() + 1;
                let inner = &text[start..text.len() - 1];
                let columns = self.arg_string(inner, &r.span);
                // PostgreSQL's result type is the column's type when there is one column.
                let ty = match columns.as_slice() {
                    [one] => one.ty.clone(),
                    _ => PgType::Builtin("record".to_owned()),
                };
                for mut a in columns {
                    a.mode = ArgMode::Table;
                    args.push(a);
                }
                return Some(FunctionReturn { setof: true, ty });
            }
        }
        let (setof, type_text) = match lower.strip_prefix("setof ") {
            Some(_) => (true, text[6..].trim()),
            None => (false, text),
        };
        let ty = self.ty(type_text, &r.span)?;
        Some(FunctionReturn { setof, ty })
    }

    /// One argument in the table form.
    fn arg_def(&mut self, a: &Sp<ArgDef>) -> Option<FunctionArg> {
        let d = &a.value;
        let mode = match &d.mode {
            Some(m) => self.keyword(
                m,
                "argument mode",
                &[
                    ("in", ArgMode::In),
                    ("out", ArgMode::Out),
                    ("inout", ArgMode::InOut),
                    ("variadic", ArgMode::Variadic),
                ],
            )?,
            None => ArgMode::In,
        };
        let ty = self.ty(&d.ty.value, &d.ty.span)?;
        Some(FunctionArg {
            mode,
            name: d.name.as_ref().map(|n| self.ident(n)),
            ty,
            default: d.default.as_ref().map(|v| self.scalar_sql(v)),
        })
    }

    /// Arguments as SQL text: `a integer, OUT b text, c text DEFAULT 'x'`.
    fn arg_string(&mut self, text: &str, span: &std::ops::Range<usize>) -> Vec<FunctionArg> {
        let mut out = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (decl, default) = split_default(part);
            let mut words: Vec<&str> = decl.split_whitespace().collect();
            let mode = match words.first().map(|w| w.to_ascii_lowercase()) {
                Some(w) if w == "in" => Some(ArgMode::In),
                Some(w) if w == "out" => Some(ArgMode::Out),
                Some(w) if w == "inout" => Some(ArgMode::InOut),
                Some(w) if w == "variadic" => Some(ArgMode::Variadic),
                _ => None,
            };
            if mode.is_some() && words.len() > 1 {
                words.remove(0);
            }
            let first = words
                .first()
                .map(|w| w.to_ascii_lowercase())
                .unwrap_or_default();
            let has_name = words.len() > 1
                && !MULTI_WORD_TYPE_STARTS.contains(&first.as_str())
                && !first.contains('(');
            let (name, type_text) = if has_name {
                (
                    crate::model::split_qualified(words[0])
                        .and_then(|p| p.into_iter().next())
                        .map(Ident::new),
                    words[1..].join(" "),
                )
            } else {
                (None, words.join(" "))
            };
            let Some(ty) = self.ty(&type_text, span) else {
                continue;
            };
            out.push(FunctionArg {
                mode: mode.unwrap_or(ArgMode::In),
                name,
                ty,
                default: default.map(|d| self.sql(d, span, SqlKind::Expr)),
            });
        }
        out
    }
}

/// Splits at commas outside parentheses and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Splits `b text DEFAULT 'x'` (or `b text = 'x'`) into the declaration and the default.
fn split_default(part: &str) -> (&str, Option<&str>) {
    let lower = part.to_ascii_lowercase();
    if let Some(i) = lower.find(" default ") {
        return (&part[..i], Some(part[i + 9..].trim()));
    }
    if let Some(i) = part.find(" = ") {
        return (&part[..i], Some(part[i + 3..].trim()));
    }
    (part, None)
}

#[cfg(test)]
mod tests {
    use super::{split_default, split_top_level};

    #[test]
    fn argument_lists_split_at_top_level_commas() {
        assert_eq!(
            split_top_level("a numeric(10, 2), b text DEFAULT 'x, y'"),
            ["a numeric(10, 2)", " b text DEFAULT 'x, y'"]
        );
        assert_eq!(split_default("b text DEFAULT 'x'"), ("b text", Some("'x'")));
        assert_eq!(split_default("b text"), ("b text", None));
    }
}
