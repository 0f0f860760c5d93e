//! Reading catalog rows by column name, with errors that name the query and the object.

use super::{IntrospectError, Query};
use crate::model::{Deferrable, Ident, PgType, QualifiedName};
use std::fmt;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

/// One row of a catalog query, and the object it describes once that is known.
pub(crate) struct RowReader<'a> {
    query: &'static str,
    row: &'a Row,
    object: Object,
}

/// The object a row describes, put into words only for an error (most rows never need it, and
/// formatting a name for each of thousands of rows is a good part of reading them).
enum Object {
    /// Already in words.
    Text(String),
    /// `column <relation>.<column>`.
    Column {
        relation: QualifiedName,
        column: String,
    },
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Text(text) => f.write_str(text),
            Object::Column { relation, column } => {
                write!(f, "column {}", column_path(relation, column))
            }
        }
    }
}

/// `relation.column`, the column name quoted where it needs it.
pub(crate) fn column_path(relation: &QualifiedName, column: &str) -> String {
    format!("{relation}.{}", Ident(column.to_owned()))
}

impl<'a> RowReader<'a> {
    /// A reader for `row` of `query`; the object is named later with [`RowReader::describe`].
    pub(crate) fn new(query: &Query, row: &'a Row) -> Self {
        RowReader {
            query: query.name,
            row,
            object: Object::Text("a row".to_owned()),
        }
    }

    /// Names the object the row describes, for error messages.
    pub(crate) fn describe(&mut self, object: impl fmt::Display) {
        self.object = Object::Text(object.to_string());
    }

    /// Names the object the row describes, for error messages: column `column` of `relation`
    /// (put into words only for an error).
    pub(crate) fn describe_column(&mut self, relation: &QualifiedName, column: &str) {
        self.object = Object::Column {
            relation: relation.clone(),
            column: column.to_owned(),
        };
    }

    /// An error about this row.
    pub(crate) fn error(&self, message: impl Into<String>) -> IntrospectError {
        IntrospectError::Row {
            query: self.query,
            object: self.object.to_string(),
            message: message.into(),
        }
    }

    /// The value of column `column`.
    pub(crate) fn get<T: FromSql<'a>>(&self, column: &str) -> Result<T, IntrospectError> {
        self.row
            .try_get::<_, T>(column)
            .map_err(|e| self.error(format!("column `{column}`: {e}")))
    }

    /// A text column that must hold exactly one character (a `"char"` code, cast to text).
    pub(crate) fn char(&self, column: &str) -> Result<char, IntrospectError> {
        let text: String = self.get(column)?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(self.error(format!(
                "column `{column}`: expected one character, got {text:?}"
            ))),
        }
    }

    /// A nullable text column that must hold zero or one character (`attidentity`,
    /// `attgenerated`: empty means none).
    pub(crate) fn opt_char(&self, column: &str) -> Result<Option<char>, IntrospectError> {
        let text: Option<String> = self.get(column)?;
        let text = text.unwrap_or_default();
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (None, _) => Ok(None),
            (Some(c), None) => Ok(Some(c)),
            _ => Err(self.error(format!(
                "column `{column}`: expected at most one character, got {text:?}"
            ))),
        }
    }

    /// A type printed by `format_type()` under an empty `search_path`.
    pub(crate) fn ty(&self, column: &str) -> Result<PgType, IntrospectError> {
        let text: &str = self.get(column)?;
        self.parse_type(text)
    }

    /// Parses a type printed by `format_type()` under an empty `search_path`: unqualified names
    /// are `pg_catalog` built-ins.
    pub(crate) fn parse_type(&self, text: &str) -> Result<PgType, IntrospectError> {
        PgType::parse_printed(text).map_err(|e| self.error(e.to_string()))
    }

    /// A name made of a schema column and a name column, both present or both NULL.
    pub(crate) fn opt_qualified(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<Option<QualifiedName>, IntrospectError> {
        let s: Option<String> = self.get(schema)?;
        let n: Option<String> = self.get(name)?;
        match (s, n) {
            (Some(s), Some(n)) => Ok(Some(QualifiedName::new(s, n))),
            (None, None) => Ok(None),
            _ => Err(self.error(format!(
                "columns `{schema}` and `{name}`: one is NULL, the other not"
            ))),
        }
    }

    /// A name made of a schema column and a name column, both present.
    pub(crate) fn qualified(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<QualifiedName, IntrospectError> {
        self.opt_qualified(schema, name)?
            .ok_or_else(|| self.error(format!("columns `{schema}` and `{name}` are NULL")))
    }

    /// A `text[]` column of identifiers (NULL reads as empty).
    pub(crate) fn idents(&self, column: &str) -> Result<Vec<Ident>, IntrospectError> {
        let names: Option<Vec<String>> = self.get(column)?;
        Ok(names.unwrap_or_default().into_iter().map(Ident).collect())
    }

    /// A `text[]` of `name=value` options, sorted (NULL reads as empty).
    pub(crate) fn options(&self, column: &str) -> Result<Vec<String>, IntrospectError> {
        let mut options: Vec<String> = self.get::<Option<Vec<String>>>(column)?.unwrap_or_default();
        options.sort();
        Ok(options)
    }

    /// `DEFERRABLE` / `INITIALLY DEFERRED` from two boolean columns.
    pub(crate) fn deferrable(
        &self,
        deferrable: &str,
        deferred: &str,
    ) -> Result<Deferrable, IntrospectError> {
        Ok(
            match (self.get::<bool>(deferrable)?, self.get::<bool>(deferred)?) {
                (false, false) => Deferrable::No,
                (true, false) => Deferrable::InitiallyImmediate,
                (true, true) => Deferrable::InitiallyDeferred,
                (false, true) => {
                    return Err(self.error("initially deferred but not deferrable"));
                }
            },
        )
    }
}
