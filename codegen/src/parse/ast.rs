//! The schema language's syntax tree: serde structs mirroring the TOML, with source spans.
//!
//! A file is parsed with `toml`'s recoverable parser (every syntax error is reported), then each
//! object (`[table.users]`, each `[[function]]`…) is deserialised on its own, so one bad object
//! does not hide the errors of the others. Fields that diagnostics may point at are wrapped in
//! [`Sp`], which keeps the byte span of the value. Unknown keys are errors
//! (`deny_unknown_fields`). The same structs derive `schemars::JsonSchema`: [`json_schema`]
//! publishes the language for editors.

use super::{FileId, Origin};
use crate::diagnostics::Diagnostic;
use schemars::{JsonSchema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use toml::de::{DeTable, DeValue, ValueDeserializer};

// ---------------------------------------------------------------------------------------------
// Building blocks

/// A value with the byte span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Byte range of the value in its file.
    pub span: Range<usize>,
}

impl<T> Sp<T> {
    /// A value with a span.
    pub fn new(value: T, span: Range<usize>) -> Self {
        Sp { value, span }
    }

    /// The origin of this value in `file`.
    pub fn origin(&self, file: FileId) -> Origin {
        Origin::new(file, self.span.clone())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = toml::Spanned::<T>::deserialize(d)?;
        let span = s.span();
        Ok(Sp {
            value: s.into_inner(),
            span,
        })
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(g: &mut SchemaGenerator) -> schemars::Schema {
        g.subschema_for::<T>()
    }
}

/// A TOML table read as an ordered list of (key, value): declaration order is kept (columns!).
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<V>(pub Vec<(Sp<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Sp<String>>()? {
                    let v = map.next_value::<V>()?;
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

impl<V: Serialize> Serialize for Entries<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(&k.value, v)?;
        }
        m.end()
    }
}

impl<V: JsonSchema> JsonSchema for Entries<V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Entries_{}", V::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> schemars::Schema {
        let v = g.subschema_for::<V>();
        json_schema!({ "type": "object", "additionalProperties": v })
    }
}

/// A value written either in a short form (a string, boolean, number or array) or as a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Either<S, L> {
    /// The short form.
    Short(S),
    /// The table form.
    Long(L),
}

impl<'de, S: Deserialize<'de>, L: Deserialize<'de>> Deserialize<'de> for Either<S, L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<S, L>(PhantomData<(S, L)>);
        impl<'de, S: Deserialize<'de>, L: Deserialize<'de>> Visitor<'de> for V2<S, L> {
            type Value = Either<S, L>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a table")
            }
            // A scalar can be offered to both sides: the short form first, then the table form
            // (`file_size_limit = 10` or `= "10 MiB"`). Arrays and tables cannot be replayed, so
            // they go to the short and the table form respectively.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                scalar_either(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                scalar_either(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                scalar_either(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                scalar_either(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                scalar_either(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                S::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Either::Short)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                L::deserialize(de::value::MapAccessDeserializer::new(map)).map(Either::Long)
            }
        }
        d.deserialize_any(V2(PhantomData))
    }
}

impl<S: JsonSchema, L: JsonSchema> JsonSchema for Either<S, L> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_{}", S::schema_name(), L::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> schemars::Schema {
        let s = g.subschema_for::<S>();
        let l = g.subschema_for::<L>();
        json_schema!({ "anyOf": [s, l] })
    }
}

/// Offers a scalar to the short form, then to the table form; the short form's error wins.
fn scalar_either<'de, S, L, V, E>(v: V) -> Result<Either<S, L>, E>
where
    S: Deserialize<'de>,
    L: Deserialize<'de>,
    V: IntoDeserializer<'de, E> + Clone,
    E: de::Error,
{
    match S::deserialize(v.clone().into_deserializer()) {
        Ok(s) => Ok(Either::Short(s)),
        Err(e) => L::deserialize(v.into_deserializer())
            .map(Either::Long)
            .map_err(|_| e),
    }
}

/// A scalar written as SQL text or as a TOML string, integer, float or boolean: `default = 0`
/// means the SQL `0`, `default = "now()"` the SQL `now()`; `fillfactor = 70` the option value
/// `70`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2;
        impl Visitor<'_> for V2 {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
        }
        d.deserialize_any(V2)
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        json_schema!({ "type": ["string", "integer", "number", "boolean"] })
    }
}

/// `grants = { role = ["select", "insert"], other = { privileges = ["all"], with_grant_option = true } }`.
pub type Grants = Entries<Sp<Either<Vec<Sp<String>>, GrantDetail>>>;

/// Options as `name = value` (`{ fillfactor = 70 }`).
pub type OptionsMap = Entries<Sp<Scalar>>;

/// The table form of one grantee's privileges.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantDetail {
    /// Privileges (`select`, `insert`… or `all`).
    pub privileges: Vec<Sp<String>>,
    /// `WITH GRANT OPTION`.
    #[serde(default)]
    pub with_grant_option: bool,
}

// ---------------------------------------------------------------------------------------------
// Objects

/// `[extension.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDef {
    /// Schema the extension's objects go in (default `public`).
    pub schema: Option<Sp<String>>,
    /// Version (default: the extension's default version).
    pub version: Option<Sp<String>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// `[schema.<name>]`: a namespace the application creates or grants on.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaDecl {
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// Grants: `{ role = ["usage", "create"] }`.
    pub grants: Option<Sp<Grants>>,
}

/// `[enum.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumDef {
    /// Labels in order.
    pub values: Sp<Vec<Sp<String>>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The enum's former name.
    pub renamed_from: Option<Sp<String>>,
    /// Labels renamed in place: `{ new_label = "old_label" }`.
    pub renamed_values: Option<Sp<Entries<Sp<String>>>>,
    /// Rust enum name, when not derived from the type name.
    pub rust_name: Option<Sp<String>>,
}

/// A named CHECK: `{ name, expr, no_inherit, not_valid, comment, renamed_from }`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    /// Constraint name.
    pub name: Option<Sp<String>>,
    /// The condition (SQL).
    pub expr: Sp<String>,
    /// `NO INHERIT`.
    #[serde(default)]
    pub no_inherit: bool,
    /// `NOT VALID`.
    #[serde(default)]
    pub not_valid: bool,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The constraint's former name.
    pub renamed_from: Option<Sp<String>>,
}

/// `[domain.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainDef {
    /// Underlying type.
    #[serde(rename = "type")]
    pub ty: Sp<String>,
    /// `NOT NULL` (default false: a domain allows NULL unless said).
    #[serde(default)]
    pub not_null: bool,
    /// `DEFAULT` (SQL).
    pub default: Option<Sp<Scalar>>,
    /// One unnamed `CHECK` (SQL, `VALUE` is the value); named `<domain>_check`.
    pub check: Option<Sp<String>>,
    /// Named checks.
    #[serde(default)]
    pub checks: Vec<Sp<CheckDef>>,
    /// `COLLATE`.
    pub collation: Option<Sp<String>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// `[composite.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompositeDef {
    /// Attributes in order.
    pub attributes: Vec<Sp<AttributeDef>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// One attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    /// Name.
    pub name: Sp<String>,
    /// Type.
    #[serde(rename = "type")]
    pub ty: Sp<String>,
    /// `COLLATE`.
    pub collation: Option<Sp<String>>,
}

/// `[collation.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollationDef {
    /// `libc` (default) or `icu`.
    pub provider: Option<Sp<String>>,
    /// Locale (`lc_collate` for libc).
    pub locale: Option<Sp<String>>,
    /// `lc_ctype`, when different from `locale`.
    pub lc_ctype: Option<Sp<String>>,
    /// `deterministic` (default true).
    pub deterministic: Option<bool>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// `[sequence.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceDef {
    /// `AS smallint | integer | bigint` (default bigint).
    #[serde(rename = "as")]
    pub data_type: Option<Sp<String>>,
    /// `START WITH`.
    pub start: Option<i64>,
    /// `INCREMENT BY` (default 1).
    pub increment: Option<Sp<i64>>,
    /// `MINVALUE`.
    pub min_value: Option<i64>,
    /// `MAXVALUE`.
    pub max_value: Option<i64>,
    /// `CACHE` (default 1).
    pub cache: Option<i64>,
    /// `CYCLE`.
    #[serde(default)]
    pub cycle: bool,
    /// `OWNED BY table.column`.
    pub owned_by: Option<Sp<String>>,
    /// Grants.
    pub grants: Option<Sp<Grants>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// A column: the short form is just its type (`email = "text"`).
pub type ColumnDecl = Either<String, ColumnDef>;

/// `[table.<t>.columns] <name> = { … }`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    /// Type (`text`, `varchar(120)`, `numeric(12,2)`, `text[]`, an enum, `serial`…).
    #[serde(rename = "type")]
    pub ty: Sp<String>,
    /// `true` to allow NULL (columns are NOT NULL by default).
    pub nullable: Option<Sp<bool>>,
    /// `DEFAULT` (SQL; TOML numbers and booleans are taken as SQL literals).
    pub default: Option<Sp<Scalar>>,
    /// The column is the primary key.
    pub primary_key: Option<Sp<bool>>,
    /// A single-column UNIQUE constraint (`<table>_<column>_key`).
    pub unique: Option<Sp<bool>>,
    /// A CHECK (SQL), named as PostgreSQL names column checks.
    pub check: Option<Sp<String>>,
    /// Foreign key shorthand: `table.column`, `schema.table.column`, or `table` (its primary key).
    pub references: Option<Sp<String>>,
    /// `ON DELETE` of `references`.
    pub on_delete: Option<Sp<String>>,
    /// `ON UPDATE` of `references`.
    pub on_update: Option<Sp<String>>,
    /// `GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY`: `"always"`, `"by_default"` or a table.
    pub identity: Option<Sp<Either<String, IdentityDef>>>,
    /// `GENERATED ALWAYS AS (expr) STORED` (SQL).
    pub generated: Option<Sp<String>>,
    /// `COLLATE`.
    pub collation: Option<Sp<String>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The column's former name.
    pub renamed_from: Option<Sp<String>>,
    /// Rust hints.
    pub rust: Option<Sp<ColumnRustDef>>,
    /// Column-level grants.
    pub grants: Option<Sp<Grants>>,
}

/// Identity options.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDef {
    /// `ALWAYS` (true) or `BY DEFAULT` (false, the default of this form).
    #[serde(default)]
    pub always: bool,
    /// `START WITH`.
    pub start: Option<i64>,
    /// `INCREMENT BY`.
    pub increment: Option<i64>,
    /// `MINVALUE`.
    pub min_value: Option<i64>,
    /// `MAXVALUE`.
    pub max_value: Option<i64>,
    /// `CACHE`.
    pub cache: Option<i64>,
    /// `CYCLE`.
    #[serde(default)]
    pub cycle: bool,
}

/// Rust hints of a column.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnRustDef {
    /// Rust type to use (`rust_decimal::Decimal`).
    #[serde(rename = "type")]
    pub rust_type: Option<Sp<String>>,
    /// Field name, when not the column name.
    pub field: Option<Sp<String>>,
}

/// Rust hints of a table.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableRustDef {
    /// The model struct's name.
    pub struct_name: Option<Sp<String>>,
}

/// The table form of a primary key.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrimaryKeyDef {
    /// Constraint name (default `<table>_pkey`).
    pub name: Option<Sp<String>>,
    /// Columns.
    pub columns: Vec<Sp<String>>,
    /// `INCLUDE` columns.
    #[serde(default)]
    pub include: Vec<Sp<String>>,
    /// `DEFERRABLE`.
    #[serde(default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(default)]
    pub initially_deferred: bool,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The constraint's former name.
    pub renamed_from: Option<Sp<String>>,
}

/// `[[table.<t>.unique]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UniqueDef {
    /// Constraint name (default `<table>_<columns>_key`).
    pub name: Option<Sp<String>>,
    /// Columns.
    pub columns: Vec<Sp<String>>,
    /// `NULLS NOT DISTINCT`.
    #[serde(default)]
    pub nulls_not_distinct: bool,
    /// `INCLUDE` columns.
    #[serde(default)]
    pub include: Vec<Sp<String>>,
    /// `DEFERRABLE`.
    #[serde(default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(default)]
    pub initially_deferred: bool,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The constraint's former name.
    pub renamed_from: Option<Sp<String>>,
}

/// `[[table.<t>.foreign_key]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeyDef {
    /// Constraint name (default `<table>_<columns>_fkey`).
    pub name: Option<Sp<String>>,
    /// Referencing columns.
    pub columns: Vec<Sp<String>>,
    /// Referenced table.
    pub references: Sp<String>,
    /// Referenced columns (default: the referenced table's primary key).
    pub referenced_columns: Option<Vec<Sp<String>>>,
    /// `ON DELETE`: `no_action` (default), `restrict`, `cascade`, `set_null`, `set_default`.
    pub on_delete: Option<Sp<String>>,
    /// `ON UPDATE`.
    pub on_update: Option<Sp<String>>,
    /// `MATCH`: `simple` (default) or `full`.
    #[serde(rename = "match")]
    pub match_type: Option<Sp<String>>,
    /// `DEFERRABLE`.
    #[serde(default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(default)]
    pub initially_deferred: bool,
    /// `NOT VALID`.
    #[serde(default)]
    pub not_valid: bool,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The constraint's former name.
    pub renamed_from: Option<Sp<String>>,
}

/// `[[table.<t>.exclude]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExcludeDef {
    /// Constraint name.
    pub name: Sp<String>,
    /// `EXCLUDE USING gist (room WITH =, during WITH &&)`.
    pub definition: Sp<String>,
    /// `DEFERRABLE`.
    #[serde(default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(default)]
    pub initially_deferred: bool,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The constraint's former name.
    pub renamed_from: Option<Sp<String>>,
}

/// `[[table.<t>.index]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexDef {
    /// Index name (default `<table>_<columns>_idx`).
    pub name: Option<Sp<String>>,
    /// Key columns, each optionally followed by `ASC`/`DESC` and `NULLS FIRST`/`NULLS LAST`.
    #[serde(default)]
    pub columns: Vec<Sp<String>>,
    /// Keys in the table form (expressions, operator classes, collations).
    #[serde(default)]
    pub keys: Vec<Sp<IndexKeyDef>>,
    /// `UNIQUE`.
    #[serde(default)]
    pub unique: bool,
    /// `NULLS NOT DISTINCT`.
    #[serde(default)]
    pub nulls_not_distinct: bool,
    /// Access method (default `btree`).
    pub method: Option<Sp<String>>,
    /// Partial-index predicate (SQL).
    #[serde(rename = "where")]
    pub predicate: Option<Sp<String>>,
    /// `INCLUDE` columns.
    #[serde(default)]
    pub include: Vec<Sp<String>>,
    /// Storage parameters (`{ fillfactor = 70 }`).
    pub with: Option<Sp<OptionsMap>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// The index's former name.
    pub renamed_from: Option<Sp<String>>,
}

/// One index key in the table form.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexKeyDef {
    /// A column.
    pub column: Option<Sp<String>>,
    /// An expression (SQL).
    pub expr: Option<Sp<String>>,
    /// Operator class.
    pub opclass: Option<Sp<String>>,
    /// `COLLATE`.
    pub collation: Option<Sp<String>>,
    /// `asc` (default) or `desc`.
    pub order: Option<Sp<String>>,
    /// `first` or `last` (default: first when descending).
    pub nulls: Option<Sp<String>>,
}

/// `[[table.<t>.policy]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDef {
    /// Name.
    pub name: Sp<String>,
    /// `all` (default), `select`, `insert`, `update` or `delete`.
    #[serde(rename = "for")]
    pub command: Option<Sp<String>>,
    /// Roles (default `["public"]`).
    #[serde(default)]
    pub to: Vec<Sp<String>>,
    /// `AS RESTRICTIVE`.
    #[serde(default)]
    pub restrictive: bool,
    /// `USING (…)` (SQL).
    pub using: Option<Sp<String>>,
    /// `WITH CHECK (…)` (SQL).
    pub with_check: Option<Sp<String>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// `[[table.<t>.trigger]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerDef {
    /// Name.
    pub name: Sp<String>,
    /// `before`, `after` or `instead_of`.
    pub when: Sp<String>,
    /// `insert`, `update`, `delete`, `truncate`.
    pub events: Sp<Vec<Sp<String>>>,
    /// `UPDATE OF` columns.
    #[serde(default)]
    pub of: Vec<Sp<String>>,
    /// `row` or `statement` (default `statement`, as in SQL).
    pub for_each: Option<Sp<String>>,
    /// The trigger function (`set_updated_at`, `app.audit`).
    pub function: Sp<String>,
    /// Arguments passed to the function.
    #[serde(default)]
    pub args: Vec<String>,
    /// `WHEN (condition)` (SQL).
    pub condition: Option<Sp<String>>,
    /// `CREATE CONSTRAINT TRIGGER`.
    #[serde(default)]
    pub constraint: bool,
    /// `DEFERRABLE` (constraint triggers).
    #[serde(default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED` (constraint triggers).
    #[serde(default)]
    pub initially_deferred: bool,
    /// `REFERENCING OLD TABLE AS`.
    pub old_table: Option<Sp<String>>,
    /// `REFERENCING NEW TABLE AS`.
    pub new_table: Option<Sp<String>>,
    /// `origin` (default), `disabled`, `replica`, `always`.
    pub enabled: Option<Sp<String>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// The table form of `rls`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RlsDef {
    /// `ENABLE ROW LEVEL SECURITY`.
    #[serde(default)]
    pub enabled: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    #[serde(default)]
    pub forced: bool,
}

/// `partition_of = { parent, bound }`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionOfDef {
    /// The partitioned table.
    pub parent: Sp<String>,
    /// `FOR VALUES …` or `DEFAULT`.
    pub bound: Sp<String>,
}

/// `replica_identity = { index = "name" }`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaIndexDef {
    /// The index.
    pub index: Sp<String>,
}

/// `[table.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// Columns, in order.
    #[serde(default)]
    pub columns: Sp<Entries<Sp<ColumnDecl>>>,
    /// Primary key: `["id"]` or a table.
    pub primary_key: Option<Sp<Either<Vec<Sp<String>>, PrimaryKeyDef>>>,
    /// UNIQUE constraints.
    #[serde(default)]
    pub unique: Vec<Sp<UniqueDef>>,
    /// CHECK constraints.
    #[serde(default)]
    pub check: Vec<Sp<CheckDef>>,
    /// FOREIGN KEY constraints.
    #[serde(default)]
    pub foreign_key: Vec<Sp<ForeignKeyDef>>,
    /// EXCLUDE constraints.
    #[serde(default)]
    pub exclude: Vec<Sp<ExcludeDef>>,
    /// Indexes.
    #[serde(default)]
    pub index: Vec<Sp<IndexDef>>,
    /// Row-level security policies.
    #[serde(default)]
    pub policy: Vec<Sp<PolicyDef>>,
    /// Triggers.
    #[serde(default)]
    pub trigger: Vec<Sp<TriggerDef>>,
    /// Grants.
    pub grants: Option<Sp<Grants>>,
    /// Row-level security: `true` or `{ enabled, forced }`.
    pub rls: Option<Sp<Either<bool, RlsDef>>>,
    /// `UNLOGGED`.
    #[serde(default)]
    pub unlogged: bool,
    /// Storage parameters.
    pub options: Option<Sp<OptionsMap>>,
    /// `PARTITION BY RANGE (created_at)`.
    pub partition_by: Option<Sp<String>>,
    /// `PARTITION OF parent FOR VALUES …`.
    pub partition_of: Option<Sp<PartitionOfDef>>,
    /// `INHERITS (…)`.
    #[serde(default)]
    pub inherits: Vec<Sp<String>>,
    /// `default`, `full`, `nothing` or `{ index = "name" }`.
    pub replica_identity: Option<Sp<Either<String, ReplicaIndexDef>>>,
    /// The table's former name.
    pub renamed_from: Option<Sp<String>>,
    /// Rust hints.
    pub rust: Option<Sp<TableRustDef>>,
}

impl Default for Sp<Entries<Sp<ColumnDecl>>> {
    fn default() -> Self {
        Sp::new(Entries::default(), 0..0)
    }
}

/// `[view.<name>]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewDef {
    /// The query (SQL).
    pub query: Sp<String>,
    /// `MATERIALIZED`.
    #[serde(default)]
    pub materialized: bool,
    /// View options (`{ security_invoker = true }`).
    pub options: Option<Sp<OptionsMap>>,
    /// Grants.
    pub grants: Option<Sp<Grants>>,
    /// Comment.
    pub comment: Option<Sp<String>>,
    /// Comments on the view's columns.
    pub column_comments: Option<Entries<Sp<String>>>,
    /// Indexes (materialized views).
    #[serde(default)]
    pub index: Vec<Sp<IndexDef>>,
    /// Triggers (`instead_of`, plain views).
    #[serde(default)]
    pub trigger: Vec<Sp<TriggerDef>>,
}

/// One routine argument in the table form.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgDef {
    /// Name.
    pub name: Option<Sp<String>>,
    /// Type.
    #[serde(rename = "type")]
    pub ty: Sp<String>,
    /// `in` (default), `out`, `inout`, `variadic`.
    pub mode: Option<Sp<String>>,
    /// `DEFAULT` (SQL).
    pub default: Option<Sp<Scalar>>,
}

/// `[[function]]` and `[[procedure]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionDef {
    /// Name (`set_updated_at`, `app.f`).
    pub name: Sp<String>,
    /// Arguments: `"a integer, b text DEFAULT 'x'"` or a list of tables.
    pub args: Option<Sp<Either<Vec<Sp<ArgDef>>, String>>>,
    /// Return type: `trigger`, `void`, `setof t`, `table(a int, b text)`.
    pub returns: Option<Sp<String>>,
    /// `LANGUAGE` (required with `body`).
    pub language: Option<Sp<String>>,
    /// The body (`AS $$…$$`).
    pub body: Option<Sp<String>>,
    /// A SQL-standard body (`BEGIN ATOMIC … END` or `RETURN expr`).
    pub sql_body: Option<Sp<String>>,
    /// `immutable`, `stable`, `volatile` (default).
    pub volatility: Option<Sp<String>>,
    /// `STRICT`.
    #[serde(default)]
    pub strict: bool,
    /// `SECURITY DEFINER`.
    #[serde(default)]
    pub security_definer: bool,
    /// `LEAKPROOF`.
    #[serde(default)]
    pub leakproof: bool,
    /// `unsafe` (default), `restricted`, `safe`.
    pub parallel: Option<Sp<String>>,
    /// `COST`.
    pub cost: Option<u32>,
    /// `ROWS`.
    pub rows: Option<u32>,
    /// `SET` clauses (`{ search_path = "public" }`).
    pub set: Option<Sp<OptionsMap>>,
    /// Grants (`{ authenticated = ["execute"] }`).
    pub grants: Option<Sp<Grants>>,
    /// `false` to `REVOKE EXECUTE … FROM PUBLIC`.
    pub public_execute: Option<bool>,
    /// Comment.
    pub comment: Option<Sp<String>>,
}

/// `[bucket.<id>]`: a Supabase Storage bucket.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketDef {
    /// Display name (default: the id).
    pub name: Option<Sp<String>>,
    /// Objects readable without a token.
    #[serde(default)]
    pub public: bool,
    /// Size limit: bytes, or `"10 MiB"` (`B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`).
    pub file_size_limit: Option<Sp<Either<i64, String>>>,
    /// Allowed MIME types (`image/*` allowed).
    pub allowed_mime_types: Option<Vec<String>>,
}

/// `[attached."<schema.table>"]`: what the application adds to a table it does not own.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachedDef {
    /// Policies.
    #[serde(default)]
    pub policy: Vec<Sp<PolicyDef>>,
    /// Triggers.
    #[serde(default)]
    pub trigger: Vec<Sp<TriggerDef>>,
}

/// `[[default_privileges]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultPrivilegesDef {
    /// The role whose future objects get the privileges.
    pub for_role: Sp<String>,
    /// Only objects created in this schema.
    pub in_schema: Option<Sp<String>>,
    /// `tables`, `sequences`, `functions`, `types` or `schemas`.
    pub on: Sp<String>,
    /// Grants.
    pub grant: Sp<Grants>,
}

/// A whole schema file. Loading does not deserialise this struct in one go (each object is read
/// on its own, see [`read_document`]); it describes the language for [`json_schema`].
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    /// Extensions.
    #[serde(default)]
    pub extension: Entries<ExtensionDef>,
    /// Schemas (namespaces).
    #[serde(default)]
    pub schema: Entries<SchemaDecl>,
    /// Collations.
    #[serde(default)]
    pub collation: Entries<CollationDef>,
    /// Enum types.
    #[serde(default, rename = "enum")]
    pub enums: Entries<EnumDef>,
    /// Domains.
    #[serde(default)]
    pub domain: Entries<DomainDef>,
    /// Composite types.
    #[serde(default)]
    pub composite: Entries<CompositeDef>,
    /// Sequences.
    #[serde(default)]
    pub sequence: Entries<SequenceDef>,
    /// Tables.
    #[serde(default)]
    pub table: Entries<TableDef>,
    /// Views.
    #[serde(default)]
    pub view: Entries<ViewDef>,
    /// Functions.
    #[serde(default)]
    pub function: Vec<FunctionDef>,
    /// Procedures.
    #[serde(default)]
    pub procedure: Vec<FunctionDef>,
    /// Storage buckets.
    #[serde(default)]
    pub bucket: Entries<BucketDef>,
    /// Policies and triggers on tables the application does not own.
    #[serde(default)]
    pub attached: Entries<AttachedDef>,
    /// Default privileges.
    #[serde(default)]
    pub default_privileges: Vec<DefaultPrivilegesDef>,
}

/// The JSON Schema of the schema language (for `#:schema` in editors).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(SchemaFile);
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "title".into(),
            serde_json::Value::String("JobPilot schema file".into()),
        );
    }
    value
}

// ---------------------------------------------------------------------------------------------
// Reading a file object by object

/// A keyed object with the span of its key.
#[derive(Debug, Clone)]
pub struct Keyed<T> {
    /// The key as written (`users`, `app.status`).
    pub key: Sp<String>,
    /// The object.
    pub def: T,
}

/// One parsed file: every object that deserialised, in declaration order per kind.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The file.
    pub file: FileId,
    /// `[extension.*]`.
    pub extensions: Vec<Keyed<ExtensionDef>>,
    /// `[schema.*]`.
    pub schemas: Vec<Keyed<SchemaDecl>>,
    /// `[collation.*]`.
    pub collations: Vec<Keyed<CollationDef>>,
    /// `[enum.*]`.
    pub enums: Vec<Keyed<EnumDef>>,
    /// `[domain.*]`.
    pub domains: Vec<Keyed<DomainDef>>,
    /// `[composite.*]`.
    pub composites: Vec<Keyed<CompositeDef>>,
    /// `[sequence.*]`.
    pub sequences: Vec<Keyed<SequenceDef>>,
    /// `[table.*]`.
    pub tables: Vec<Keyed<TableDef>>,
    /// `[view.*]`.
    pub views: Vec<Keyed<ViewDef>>,
    /// `[[function]]`, with the span of the whole entry.
    pub functions: Vec<Sp<FunctionDef>>,
    /// `[[procedure]]`.
    pub procedures: Vec<Sp<FunctionDef>>,
    /// `[bucket.*]`.
    pub buckets: Vec<Keyed<BucketDef>>,
    /// `[attached.*]`.
    pub attached: Vec<Keyed<AttachedDef>>,
    /// `[[default_privileges]]`.
    pub default_privileges: Vec<Sp<DefaultPrivilegesDef>>,
}

const KINDS: &[&str] = &[
    "extension",
    "schema",
    "collation",
    "enum",
    "domain",
    "composite",
    "sequence",
    "table",
    "view",
    "function",
    "procedure",
    "bucket",
    "attached",
    "default_privileges",
];

/// Parses one file: syntax errors (all of them), then each object on its own. Returns what
/// could be read and every problem found.
pub fn read_document(file: FileId, text: &str) -> (Document, Vec<Diagnostic>) {
    let mut doc = Document {
        file,
        ..Document::default()
    };
    let mut diags = Vec::new();
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            diags.push(toml_error(file, text, &e, "schema::syntax", None));
        }
        return (doc, diags);
    }
    let root = root.into_inner();
    for (key, value) in root {
        let kind = key.get_ref().to_string();
        let key_span = key.span();
        let origin = Origin::new(file, key_span.clone());
        match kind.as_str() {
            "extension" => read_map(file, text, &kind, value, &mut doc.extensions, &mut diags),
            "schema" => read_map(file, text, &kind, value, &mut doc.schemas, &mut diags),
            "collation" => read_map(file, text, &kind, value, &mut doc.collations, &mut diags),
            "enum" => read_map(file, text, &kind, value, &mut doc.enums, &mut diags),
            "domain" => read_map(file, text, &kind, value, &mut doc.domains, &mut diags),
            "composite" => read_map(file, text, &kind, value, &mut doc.composites, &mut diags),
            "sequence" => read_map(file, text, &kind, value, &mut doc.sequences, &mut diags),
            "table" => read_map(file, text, &kind, value, &mut doc.tables, &mut diags),
            "view" => read_map(file, text, &kind, value, &mut doc.views, &mut diags),
            "bucket" => read_map(file, text, &kind, value, &mut doc.buckets, &mut diags),
            "attached" => read_map(file, text, &kind, value, &mut doc.attached, &mut diags),
            "function" => read_array(file, text, &kind, value, &mut doc.functions, &mut diags),
            "procedure" => read_array(file, text, &kind, value, &mut doc.procedures, &mut diags),
            "default_privileges" => read_array(
                file,
                text,
                &kind,
                value,
                &mut doc.default_privileges,
                &mut diags,
            ),
            _ => {
                let suggestion = crate::validate::suggest(&kind, KINDS.iter().copied());
                diags.push(
                    Diagnostic::error(
                        "schema::unknown_key",
                        format!("unknown top-level key `{kind}`"),
                    )
                    .at(&origin, "not a kind of object")
                    .help(match suggestion {
                        Some(s) => format!(
                            "did you mean `{s}`? Top-level keys are: {}",
                            KINDS.join(", ")
                        ),
                        None => format!("top-level keys are: {}", KINDS.join(", ")),
                    }),
                );
            }
        }
    }
    (doc, diags)
}

fn read_map<T: for<'de> Deserialize<'de>>(
    file: FileId,
    text: &str,
    kind: &str,
    value: toml::Spanned<DeValue<'_>>,
    out: &mut Vec<Keyed<T>>,
    diags: &mut Vec<Diagnostic>,
) {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        diags.push(
            Diagnostic::error("schema::wrong_type", format!("`{kind}` must be a table"))
                .at(
                    &Origin::new(file, span),
                    "expected a table of named objects",
                )
                .help(format!("write `[{kind}.<name>]` sections")),
        );
        return;
    };
    for (key, value) in table {
        let key = Sp::new(key.get_ref().to_string(), key.span());
        let vspan = value.span();
        if !matches!(value.get_ref(), DeValue::Table(_)) {
            diags.push(
                Diagnostic::error(
                    "schema::wrong_type",
                    format!("`{kind}.{}` must be a table", key.value),
                )
                .at(&Origin::new(file, vspan), "expected a table")
                .help(format!("write it as a `[{kind}.{}]` section", key.value)),
            );
            continue;
        }
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(def) => out.push(Keyed { key, def }),
            Err(e) => diags.push(toml_error(
                file,
                text,
                &e,
                "",
                Some(&format!("{kind}.{}", key.value)),
            )),
        }
    }
}

fn read_array<T: for<'de> Deserialize<'de>>(
    file: FileId,
    text: &str,
    kind: &str,
    value: toml::Spanned<DeValue<'_>>,
    out: &mut Vec<Sp<T>>,
    diags: &mut Vec<Diagnostic>,
) {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        diags.push(
            Diagnostic::error(
                "schema::wrong_type",
                format!("`{kind}` must be an array of tables"),
            )
            .at(&Origin::new(file, span), "expected an array of tables")
            .help(format!("write each one as a `[[{kind}]]` section")),
        );
        return;
    };
    for (i, value) in items.into_iter().enumerate() {
        let vspan = value.span();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(def) => out.push(Sp::new(def, vspan)),
            Err(e) => diags.push(toml_error(
                file,
                text,
                &e,
                "",
                Some(&format!("{kind}[{}]", i + 1)),
            )),
        }
    }
}

/// Turns a `toml` error into a diagnostic. Deserialisation errors are classified by message
/// (unknown field, missing field, wrong type) since `toml` only gives text.
fn toml_error(
    file: FileId,
    text: &str,
    e: &toml::de::Error,
    code: &'static str,
    context: Option<&str>,
) -> Diagnostic {
    let message = e.message().trim().to_owned();
    let span = e.span().unwrap_or(0..0);
    let span = if span.start > text.len() {
        text.len()..text.len()
    } else {
        span.start..span.end.min(text.len())
    };
    let origin = Origin::new(file, span.clone());
    let (code, label, help): (&'static str, String, Option<String>) = if !code.is_empty() {
        (
            code,
            "here".to_owned(),
            Some("fix the TOML syntax (see https://toml.io)".to_owned()),
        )
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        let (field, expected) = split_unknown_field(rest);
        let suggestion = crate::validate::suggest(&field, expected.iter().map(String::as_str));
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None if expected.is_empty() => "remove this key".to_owned(),
            None => format!("allowed keys here: {}", expected.join(", ")),
        };
        ("schema::unknown_key", "unknown key".to_owned(), Some(help))
    } else if message.starts_with("missing field") {
        (
            "schema::missing_key",
            "in this table".to_owned(),
            Some("add the missing key".to_owned()),
        )
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        (
            "schema::wrong_type",
            "wrong type".to_owned(),
            Some(
                "see `The schema language` in README.md (or `codegen schema-json`) for the value \
                 each key takes"
                    .to_owned(),
            ),
        )
    } else {
        ("schema::invalid", "here".to_owned(), None)
    };
    let mut message = message;
    if let Some(ctx) = context {
        message = format!("{message} (in `{ctx}`)");
    }
    Diagnostic::error(code, message)
        .at(&origin, label)
        .maybe_help(help)
}

/// Splits serde's "`x`, expected one of `a`, `b`" into the field and the expected list.
fn split_unknown_field(rest: &str) -> (String, Vec<String>) {
    let mut parts = rest.splitn(2, ", expected");
    let field = parts
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('`')
        .to_owned();
    let expected = parts
        .next()
        .unwrap_or_default()
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect();
    (field, expected)
}
