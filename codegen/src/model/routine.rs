//! Functions, procedures and triggers.

use super::security::Grant;
use super::{Ident, PgType, QualifiedName, SqlExpr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The key of a routine: its name and input argument types (PostgreSQL's overloading rule).
/// Serialised as `schema.name(type, type)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionId {
    /// Schema-qualified name.
    pub name: QualifiedName,
    /// Types of the `IN`, `INOUT` and `VARIADIC` arguments, in order.
    pub arg_types: Vec<PgType>,
}

impl Serialize for FunctionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FunctionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FunctionId::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not `schema.name(types)`"))
        })
    }
}

impl FunctionId {
    /// Parses the `Display` form, `schema.name(type, type)`.
    pub fn parse(text: &str) -> Option<FunctionId> {
        // The argument list is the last top-level parenthesis (names may contain parentheses
        // only when quoted, and types only inside their own modifiers).
        let text = text.trim().strip_suffix(')')?;
        let mut depth = 0usize;
        let mut in_quotes = false;
        let mut open = None;
        for (i, c) in text.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                '(' if !in_quotes => {
                    if depth == 0 && open.is_none() {
                        open = Some(i);
                    }
                    depth += 1;
                }
                ')' if !in_quotes => depth = depth.checked_sub(1)?,
                _ => {}
            }
        }
        let open = open?;
        let name = match super::split_qualified(&text[..open])?.as_slice() {
            [schema, name] => QualifiedName::new(schema.clone(), name.clone()),
            _ => return None,
        };
        let mut arg_types = Vec::new();
        let args = &text[open + 1..];
        if !args.trim().is_empty() {
            let mut depth = 0usize;
            let mut in_quotes = false;
            let mut start = 0;
            let mut parts = Vec::new();
            for (i, c) in args.char_indices() {
                match c {
                    '"' => in_quotes = !in_quotes,
                    '(' if !in_quotes => depth += 1,
                    ')' if !in_quotes => depth = depth.checked_sub(1)?,
                    ',' if !in_quotes && depth == 0 => {
                        parts.push(&args[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&args[start..]);
            for part in parts {
                arg_types.push(PgType::parse(part, "pg_catalog").ok()?);
            }
        }
        Some(FunctionId { name, arg_types })
    }
}

impl fmt::Display for FunctionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, t) in self.arg_types.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}")?;
        }
        f.write_str(")")
    }
}

/// `FUNCTION` or `PROCEDURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionKind {
    /// `CREATE FUNCTION`.
    Function,
    /// `CREATE PROCEDURE`.
    Procedure,
}

/// `CREATE FUNCTION` / `CREATE PROCEDURE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Name and signature.
    pub id: FunctionId,
    /// Function or procedure.
    pub kind: FunctionKind,
    /// All arguments in order, including `OUT` and `TABLE` columns.
    pub args: Vec<FunctionArg>,
    /// Return type; `None` for procedures.
    pub returns: Option<FunctionReturn>,
    /// `LANGUAGE`.
    pub language: String,
    /// The body.
    pub body: FunctionBody,
    /// `IMMUTABLE` / `STABLE` / `VOLATILE`.
    pub volatility: Volatility,
    /// `STRICT` (`RETURNS NULL ON NULL INPUT`).
    pub strict: bool,
    /// `SECURITY DEFINER`.
    pub security_definer: bool,
    /// `LEAKPROOF`.
    pub leakproof: bool,
    /// `PARALLEL`.
    pub parallel: ParallelSafety,
    /// `COST` (PostgreSQL's default: 1 for C and internal functions, 100 otherwise).
    pub cost: u32,
    /// `ROWS` for set-returning functions (default 1000), 0 otherwise.
    pub rows: u32,
    /// `SET name = value` clauses, sorted, as `name=value`.
    pub config: Vec<String>,
    /// `GRANT EXECUTE` to roles other than the owner and `PUBLIC`.
    pub grants: BTreeSet<Grant>,
    /// Whether `PUBLIC` may execute it: PostgreSQL's default is true;
    /// `REVOKE EXECUTE … FROM PUBLIC` makes it false.
    pub public_execute: bool,
    /// `COMMENT ON FUNCTION`.
    pub comment: Option<String>,
}

/// One argument of a routine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionArg {
    /// `IN`, `OUT`, `INOUT`, `VARIADIC` or `TABLE` (a column of `RETURNS TABLE`).
    pub mode: ArgMode,
    /// Name, if any.
    pub name: Option<Ident>,
    /// Type.
    pub ty: PgType,
    /// `DEFAULT`, canonical (`pg_get_function_arg_default`).
    pub default: Option<SqlExpr>,
}

/// Argument mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgMode {
    /// `IN` (the default).
    In,
    /// `OUT`.
    Out,
    /// `INOUT`.
    InOut,
    /// `VARIADIC`.
    Variadic,
    /// A column of `RETURNS TABLE (…)`.
    Table,
}

/// What a function returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionReturn {
    /// `SETOF`.
    pub setof: bool,
    /// The type (`trigger`, `void`, `record` for `RETURNS TABLE` and `OUT` arguments…).
    pub ty: PgType,
}

/// A routine's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionBody {
    /// `AS $$…$$`: PostgreSQL stores the text as written (`prosrc`), so it is its canonical
    /// form; for C functions, `obj_file` and `link_symbol` joined by a newline.
    Source(String),
    /// A SQL-standard body (`BEGIN ATOMIC … END` or `RETURN expr`), canonical
    /// (`pg_get_function_sqlbody`).
    Atomic(SqlExpr),
}

/// Volatility category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Volatility {
    /// `IMMUTABLE`.
    Immutable,
    /// `STABLE`.
    Stable,
    /// `VOLATILE` (the default).
    #[default]
    Volatile,
}

/// `PARALLEL`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParallelSafety {
    /// `PARALLEL UNSAFE` (the default).
    #[default]
    Unsafe,
    /// `PARALLEL RESTRICTED`.
    Restricted,
    /// `PARALLEL SAFE`.
    Safe,
}

/// `CREATE TRIGGER` (a child of its table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// Name (unique per table).
    pub name: Ident,
    /// `BEFORE`, `AFTER` or `INSTEAD OF`.
    pub timing: TriggerTiming,
    /// Events.
    pub events: TriggerEvents,
    /// `FOR EACH ROW` (true) or `FOR EACH STATEMENT`.
    pub for_each_row: bool,
    /// `WHEN (condition)`, canonical (from `pg_get_triggerdef`).
    pub when: Option<SqlExpr>,
    /// The trigger function.
    pub function: QualifiedName,
    /// Arguments passed to the function, as strings.
    pub args: Vec<String>,
    /// `CREATE CONSTRAINT TRIGGER`, with its deferrability.
    pub constraint: Option<super::Deferrable>,
    /// `REFERENCING OLD TABLE AS …`.
    pub old_table: Option<Ident>,
    /// `REFERENCING NEW TABLE AS …`.
    pub new_table: Option<Ident>,
    /// `ALTER TABLE … ENABLE/DISABLE TRIGGER` state.
    pub firing: TriggerFiring,
    /// `COMMENT ON TRIGGER`.
    pub comment: Option<String>,
}

/// Trigger timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerTiming {
    /// `BEFORE`.
    Before,
    /// `AFTER`.
    After,
    /// `INSTEAD OF` (views).
    InsteadOf,
}

/// The events a trigger fires on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerEvents {
    /// `INSERT`.
    pub insert: bool,
    /// `UPDATE`.
    pub update: bool,
    /// `UPDATE OF col, …` columns, in order; empty = any column.
    pub update_columns: Vec<Ident>,
    /// `DELETE`.
    pub delete: bool,
    /// `TRUNCATE`.
    pub truncate: bool,
}

/// Whether and when a trigger fires (`pg_trigger.tgenabled`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerFiring {
    /// Fires in origin and local mode (the default, `O`).
    #[default]
    Origin,
    /// `DISABLE TRIGGER` (`D`).
    Disabled,
    /// `ENABLE REPLICA TRIGGER` (`R`).
    Replica,
    /// `ENABLE ALWAYS TRIGGER` (`A`).
    Always,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_ids_round_trip_through_text() {
        let id = FunctionId {
            name: QualifiedName::new("app", "Weird(name"),
            arg_types: vec![
                PgType::Numeric {
                    precision: Some(12),
                    scale: Some(2),
                },
                PgType::Array(Box::new(PgType::Named(QualifiedName::public("status")))),
                PgType::Text,
            ],
        };
        let text = id.to_string();
        assert_eq!(
            text,
            "app.\"Weird(name\"(numeric(12,2), public.status[], text)"
        );
        assert_eq!(FunctionId::parse(&text), Some(id));
        let json = serde_json::to_string(&FunctionId::parse("public.f()").unwrap()).unwrap();
        assert_eq!(json, "\"public.f()\"");
    }
}
