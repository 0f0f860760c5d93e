//! Functions, procedures and triggers (`pg_proc`, `pg_trigger`).

use super::load::{Builder, NamespaceRole};
use super::rows::RowReader;
use super::{IntrospectError, Q_FUNCTIONS, Q_TRIGGERS};
use crate::model::{
    ArgMode, Function, FunctionArg, FunctionBody, FunctionId, FunctionKind, FunctionReturn, Ident,
    ParallelSafety, SqlExpr, Trigger, TriggerEvents, TriggerFiring, TriggerTiming, Volatility,
};
use std::collections::BTreeSet;
use tokio_postgres::Row;

// `pg_trigger.tgtype` bits (PostgreSQL's `catalog/pg_trigger.h`).
const TRIGGER_TYPE_ROW: i32 = 1 << 0;
const TRIGGER_TYPE_BEFORE: i32 = 1 << 1;
const TRIGGER_TYPE_INSERT: i32 = 1 << 2;
const TRIGGER_TYPE_DELETE: i32 = 1 << 3;
const TRIGGER_TYPE_UPDATE: i32 = 1 << 4;
const TRIGGER_TYPE_TRUNCATE: i32 = 1 << 5;
const TRIGGER_TYPE_INSTEAD: i32 = 1 << 6;

impl Builder {
    pub(super) fn read_functions(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_FUNCTIONS, row);
            let name = r.qualified("schema", "name")?;
            r.describe(format!("function {name}"));
            let oid: u32 = r.get("oid")?;
            let input_types: Vec<String> = r.get("input_types")?;
            let arg_types = input_types
                .iter()
                .map(|t| r.parse_type(t))
                .collect::<Result<Vec<_>, _>>()?;
            let id = FunctionId { name, arg_types };
            r.describe(format!("function {id}"));
            let kind = match r.char("kind")? {
                'f' => FunctionKind::Function,
                'p' => FunctionKind::Procedure,
                'a' => {
                    self.unsupported(
                        "aggregate",
                        &id,
                        "aggregate functions are not part of the schema model",
                    );
                    continue;
                }
                'w' => {
                    self.unsupported(
                        "window function",
                        &id,
                        "window functions are not part of the schema model",
                    );
                    continue;
                }
                other => return Err(r.error(format!("unknown routine kind `{other}`"))),
            };
            let args = read_args(&r)?;
            let returns = match kind {
                FunctionKind::Procedure => None,
                FunctionKind::Function => Some(FunctionReturn {
                    setof: r.get("returns_set")?,
                    ty: r.ty("return_type")?,
                }),
            };
            let language: String = r.get("language")?;
            let source: String = r.get("source")?;
            let body = match r.get::<Option<String>>("sql_body")? {
                Some(body) => FunctionBody::Atomic(SqlExpr(body)),
                None if language == "c" => {
                    let file: Option<String> = r.get("binary_file")?;
                    FunctionBody::Source(format!("{}\n{source}", file.unwrap_or_default()))
                }
                None => FunctionBody::Source(source),
            };
            let volatility = match r.char("volatility")? {
                'i' => Volatility::Immutable,
                's' => Volatility::Stable,
                'v' => Volatility::Volatile,
                other => return Err(r.error(format!("unknown volatility `{other}`"))),
            };
            let parallel = match r.char("parallel")? {
                's' => ParallelSafety::Safe,
                'r' => ParallelSafety::Restricted,
                'u' => ParallelSafety::Unsafe,
                other => return Err(r.error(format!("unknown parallel safety `{other}`"))),
            };
            let cost = self.whole_number(&r, &id, "cost")?;
            let rows_estimate = self.whole_number(&r, &id, "rows")?;
            let mut config: Vec<String> =
                r.get::<Option<Vec<String>>>("config")?.unwrap_or_default();
            config.sort();
            let function = Function {
                id,
                kind,
                args,
                returns,
                language,
                body,
                volatility,
                strict: r.get("strict")?,
                security_definer: r.get("security_definer")?,
                leakproof: r.get("leakproof")?,
                parallel,
                cost,
                rows: rows_estimate,
                config,
                grants: BTreeSet::new(),
                // Set by the grants: PUBLIC's EXECUTE is in the ACL (or its default) or not.
                public_execute: false,
                comment: r.get("comment")?,
            };
            self.functions.insert(oid, function);
        }
        Ok(())
    }

    /// `procost` / `prorows` (`real`) as the model's whole number; a fraction is reported.
    fn whole_number(
        &mut self,
        r: &RowReader<'_>,
        id: &FunctionId,
        column: &str,
    ) -> Result<u32, IntrospectError> {
        let value: f64 = r.get(column)?;
        if !value.is_finite() || value < 0.0 || value > f64::from(u32::MAX) {
            return Err(r.error(format!("column `{column}`: {value} is out of range")));
        }
        let rounded = value.round();
        if rounded != value {
            self.unsupported(
                "function",
                id,
                format!(
                    "{} {value} is not a whole number; the model keeps {rounded}",
                    column.to_uppercase()
                ),
            );
        }
        // In range and whole, checked above.
        Ok(rounded as u32)
    }

    pub(super) fn read_triggers(&mut self, rows: &[Row]) -> Result<(), IntrospectError> {
        for row in rows {
            let mut r = RowReader::new(&Q_TRIGGERS, row);
            let relation: u32 = r.get("relation")?;
            let namespace: u32 = r.get("namespace")?;
            let table = r.qualified("table_schema", "table_name")?;
            let name = Ident(r.get("name")?);
            r.describe(format!("trigger {name} on {table}"));
            let function_namespace: u32 = r.get("function_namespace")?;
            let attach =
                if self.tables.contains_key(&relation) || self.views.contains_key(&relation) {
                    false
                } else if self.role(namespace) == NamespaceRole::Platform
                    && self.role(function_namespace) == NamespaceRole::Governed
                {
                    true
                } else {
                    continue;
                };
            let trigger = read_trigger(&r, name)?;
            if attach {
                self.attached
                    .entry(table)
                    .or_default()
                    .triggers
                    .push(trigger);
            } else if let Some(t) = self.tables.get_mut(&relation) {
                t.triggers.push(trigger);
            } else if let Some(v) = self.views.get_mut(&relation) {
                v.triggers.push(trigger);
            }
        }
        Ok(())
    }
}

/// The argument list of a routine row.
fn read_args(r: &RowReader<'_>) -> Result<Vec<FunctionArg>, IntrospectError> {
    let types: Vec<String> = r.get("arg_types")?;
    let modes: Option<Vec<String>> = r.get("arg_modes")?;
    let names: Option<Vec<String>> = r.get("arg_names")?;
    let defaults: Option<Vec<Option<String>>> = r.get("arg_defaults")?;
    let mut args = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        let mode = match modes.as_ref().map(|m| m.get(i).map(String::as_str)) {
            None => ArgMode::In,
            Some(Some("i")) => ArgMode::In,
            Some(Some("o")) => ArgMode::Out,
            Some(Some("b")) => ArgMode::InOut,
            Some(Some("v")) => ArgMode::Variadic,
            Some(Some("t")) => ArgMode::Table,
            Some(other) => {
                return Err(r.error(format!("argument {}: unknown mode {other:?}", i + 1)));
            }
        };
        let name = names
            .as_ref()
            .and_then(|n| n.get(i))
            .filter(|n| !n.is_empty())
            .map(|n| Ident(n.clone()));
        let default = defaults
            .as_ref()
            .and_then(|d| d.get(i).cloned().flatten())
            .map(SqlExpr);
        args.push(FunctionArg {
            mode,
            name,
            ty: r.parse_type(ty)?,
            default,
        });
    }
    Ok(args)
}

/// One trigger row.
fn read_trigger(r: &RowReader<'_>, name: Ident) -> Result<Trigger, IntrospectError> {
    let bits: i32 = r.get("type_bits")?;
    let timing = if bits & TRIGGER_TYPE_BEFORE != 0 {
        TriggerTiming::Before
    } else if bits & TRIGGER_TYPE_INSTEAD != 0 {
        TriggerTiming::InsteadOf
    } else {
        TriggerTiming::After
    };
    let events = TriggerEvents {
        insert: bits & TRIGGER_TYPE_INSERT != 0,
        update: bits & TRIGGER_TYPE_UPDATE != 0,
        update_columns: r.idents("update_columns")?,
        delete: bits & TRIGGER_TYPE_DELETE != 0,
        truncate: bits & TRIGGER_TYPE_TRUNCATE != 0,
    };
    let when = match r.get::<Option<String>>("definition")? {
        None => None,
        Some(def) => Some(SqlExpr(
            when_clause(&def)
                .ok_or_else(|| r.error(format!("no WHEN clause found in `{def}`")))?
                .to_owned(),
        )),
    };
    let arg_count: i32 = r.get("arg_count")?;
    let raw: Vec<u8> = r.get("args")?;
    let args = split_trigger_args(&raw, arg_count)
        .ok_or_else(|| r.error("trigger arguments do not match their count or are not UTF-8"))?;
    let constraint = if r.get::<bool>("is_constraint")? {
        Some(r.deferrable("deferrable", "deferred")?)
    } else {
        None
    };
    let firing = match r.char("enabled")? {
        'O' => TriggerFiring::Origin,
        'D' => TriggerFiring::Disabled,
        'R' => TriggerFiring::Replica,
        'A' => TriggerFiring::Always,
        other => return Err(r.error(format!("unknown trigger state `{other}`"))),
    };
    Ok(Trigger {
        name,
        timing,
        events,
        for_each_row: bits & TRIGGER_TYPE_ROW != 0,
        when,
        function: r.qualified("function_schema", "function_name")?,
        args,
        constraint,
        old_table: r.get::<Option<String>>("old_table")?.map(Ident),
        new_table: r.get::<Option<String>>("new_table")?.map(Ident),
        firing,
        comment: r.get("comment")?,
    })
}

/// `tgargs`: `count` strings, each terminated by a NUL byte.
fn split_trigger_args(raw: &[u8], count: i32) -> Option<Vec<String>> {
    let count = usize::try_from(count).ok()?;
    if count == 0 {
        return Some(Vec::new());
    }
    let body = raw.strip_suffix(&[0])?;
    let args = body
        .split(|b| *b == 0)
        .map(|a| String::from_utf8(a.to_vec()).ok())
        .collect::<Option<Vec<_>>>()?;
    (args.len() == count).then_some(args)
}

/// The condition of a trigger's `WHEN (…)` clause, cut out of `pg_get_triggerdef` output: the
/// text between the first `WHEN (` outside quotes and its matching `)`.
fn when_clause(def: &str) -> Option<&str> {
    let bytes = def.as_bytes();
    let mut quote: Option<u8> = None;
    let mut start = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            // A doubled quote inside a quoted string closes and reopens it: same result.
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if def[i..].starts_with("WHEN (")
                && (i == 0 || bytes[i - 1].is_ascii_whitespace()) =>
            {
                start = Some(i + "WHEN (".len());
                break;
            }
            None => {}
        }
        i += 1;
    }
    let start = start?;
    let mut depth = 1usize;
    let mut quote: Option<u8> = None;
    for (offset, &c) in bytes[start..].iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&def[start..start + offset]);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_clause_is_cut_at_the_matching_parenthesis() {
        let def = "CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW \
                   WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.f()";
        assert_eq!(when_clause(def), Some("(old.* IS DISTINCT FROM new.*)"));
        let tricky = "CREATE TRIGGER \"WHEN (\" AFTER INSERT ON public.\"a)\" FOR EACH ROW \
                      WHEN ((new.note <> ')(''x')) EXECUTE FUNCTION public.f('WHEN (')";
        assert_eq!(when_clause(tricky), Some("(new.note <> ')(''x')"));
        assert_eq!(
            when_clause("CREATE TRIGGER t AFTER INSERT ON public.x EXECUTE FUNCTION f()"),
            None
        );
        assert_eq!(when_clause("... WHEN ((a > 1)"), None);
    }

    #[test]
    fn trigger_args_split_on_nul() {
        assert_eq!(split_trigger_args(b"", 0), Some(vec![]));
        assert_eq!(
            split_trigger_args(b"a\0\0b c\0", 3),
            Some(vec!["a".to_owned(), String::new(), "b c".to_owned()])
        );
        assert_eq!(split_trigger_args(b"a\0", 2), None);
        assert_eq!(split_trigger_args(b"\xff\0", 1), None);
    }
}
