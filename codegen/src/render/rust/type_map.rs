//! The PostgreSQL → Rust type mapping: the one place that decides which Rust type a column
//! gets, for `codegen generate`, for `jobpilot-macros` and for the compile-time checks of
//! hand-written structs (DESIGN.md: "no per-command copies of the type mapping").
//!
//! [`map_pg_type`] maps a [`PgType`] alone; [`column_type`] maps a column: the column's
//! `rust = { type = "…" }` hint always wins, then the typed id of the primary key it is or
//! references, then the mapping, and a nullable column becomes `Option<T>`. The types are
//! the ones sqlx decodes with the features `generated/Cargo.toml` enables.

use super::ids::TypedIds;
use crate::model::{Column, PgType, QualifiedName, Schema};
use std::fmt;

/// A file (module) of the generated crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    /// `enums.rs`: one Rust enum per PostgreSQL enum.
    Enums,
    /// `ids.rs`: typed primary keys.
    Ids,
    /// `models.rs`: row, insert and patch structs.
    Models,
    /// `repos.rs`: one repository per table.
    Repos,
    /// `db.rs`: connecting (ADR-2), transactions, pages.
    Db,
    /// `storage.rs`: the Supabase Storage client.
    Storage,
}

impl Module {
    /// The module's name (and file stem).
    pub fn name(self) -> &'static str {
        match self {
            Module::Enums => "enums",
            Module::Ids => "ids",
            Module::Models => "models",
            Module::Repos => "repos",
            Module::Db => "db",
            Module::Storage => "storage",
        }
    }
}

/// Where a generated item lives: its module, the Rust module of its PostgreSQL schema (`None`
/// for `public`, whose items are at the top of the module) and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemPath {
    /// The file.
    pub module: Module,
    /// The schema's module inside the file, `None` for `public`.
    pub schema: Option<String>,
    /// The item's name (`UserId`).
    pub name: String,
}

impl fmt::Display for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}::{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The path of a type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypePath {
    /// A primitive or prelude type, in scope everywhere (`i32`, `String`, `Option`, `Vec`).
    Builtin(&'static str),
    /// An item of a dependency, by its full path (`["chrono", "DateTime"]`). `import`: whether
    /// generated code should `use` it rather than spell the path out (false for names that
    /// read badly alone, like `serde_json::Value`).
    External {
        /// Crate first.
        path: &'static [&'static str],
        /// `use` it when unambiguous.
        import: bool,
    },
    /// A type of the generated crate.
    Generated(ItemPath),
}

/// A Rust type, as the generated code spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RustType {
    /// A path with generic arguments: `i32`, `Vec<String>`, `chrono::DateTime<chrono::Utc>`.
    Path {
        /// The type constructor.
        path: TypePath,
        /// Its generic arguments, in order.
        args: Vec<RustType>,
    },
    /// A column's `rust = { type = "…" }` hint, verbatim (checked to parse as a type).
    Custom(String),
}

/// What generated code may derive for a type. Conservative: `false` where the mapped type's
/// crate does not promise the trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traits {
    /// `Copy`.
    pub copy: bool,
    /// `Eq`, `Hash`, `PartialOrd` and `Ord` (what a typed id derives).
    pub total: bool,
    /// serde's `Serialize` and `Deserialize`.
    pub serde: bool,
    /// `Display`.
    pub display: bool,
}

impl Traits {
    const ALL: Traits = Traits {
        copy: true,
        total: true,
        serde: true,
        display: true,
    };
    const NONE: Traits = Traits {
        copy: false,
        total: false,
        serde: false,
        display: false,
    };

    fn and(self, other: Traits) -> Traits {
        Traits {
            copy: self.copy && other.copy,
            total: self.total && other.total,
            serde: self.serde && other.serde,
            display: self.display && other.display,
        }
    }
}

const DATE_TIME: &[&str] = &["chrono", "DateTime"];
const UTC: &[&str] = &["chrono", "Utc"];
const NAIVE_DATE: &[&str] = &["chrono", "NaiveDate"];
const NAIVE_DATE_TIME: &[&str] = &["chrono", "NaiveDateTime"];
const NAIVE_TIME: &[&str] = &["chrono", "NaiveTime"];
const UUID: &[&str] = &["uuid", "Uuid"];
const DECIMAL: &[&str] = &["rust_decimal", "Decimal"];
const JSON: &[&str] = &["serde_json", "Value"];
const INTERVAL: &[&str] = &["sqlx", "postgres", "types", "PgInterval"];
const TIME_TZ: &[&str] = &["sqlx", "postgres", "types", "PgTimeTz"];
const MONEY: &[&str] = &["sqlx", "postgres", "types", "PgMoney"];
const RANGE: &[&str] = &["sqlx", "postgres", "types", "PgRange"];
const OID: &[&str] = &["sqlx", "postgres", "types", "Oid"];
const IP_NETWORK: &[&str] = &["sqlx", "types", "ipnetwork", "IpNetwork"];

impl RustType {
    /// A primitive or prelude type without arguments (`i32`, `String`).
    pub fn builtin(name: &'static str) -> RustType {
        RustType::Path {
            path: TypePath::Builtin(name),
            args: Vec::new(),
        }
    }

    fn external(path: &'static [&'static str], import: bool, args: Vec<RustType>) -> RustType {
        RustType::Path {
            path: TypePath::External { path, import },
            args,
        }
    }

    /// A type of the generated crate.
    pub fn generated(item: ItemPath) -> RustType {
        RustType::Path {
            path: TypePath::Generated(item),
            args: Vec::new(),
        }
    }

    /// `Option<inner>`.
    pub fn option(inner: RustType) -> RustType {
        RustType::Path {
            path: TypePath::Builtin("Option"),
            args: vec![inner],
        }
    }

    /// `Vec<inner>`.
    pub fn vec(inner: RustType) -> RustType {
        RustType::Path {
            path: TypePath::Builtin("Vec"),
            args: vec![inner],
        }
    }

    /// Every path this type mentions, outermost first.
    pub fn paths(&self) -> Vec<&TypePath> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a TypePath>) {
        if let RustType::Path { path, args } = self {
            out.push(path);
            for a in args {
                a.collect_paths(out);
            }
        }
    }

    /// What generated code may derive for this type. A [`RustType::Custom`] type is assumed
    /// to be id-like (`Eq`, `Hash`, `Ord`) and serde-capable but not `Copy` or `Display`: the
    /// README says what an override must implement.
    pub fn traits(&self) -> Traits {
        match self {
            RustType::Custom(_) => Traits {
                copy: false,
                total: true,
                serde: true,
                display: false,
            },
            RustType::Path { path, args } => {
                let own = path_traits(path);
                args.iter().fold(own, |t, a| t.and(a.traits()))
            }
        }
    }
}

fn path_traits(path: &TypePath) -> Traits {
    match path {
        TypePath::Builtin(name) => match *name {
            "i8" | "i16" | "i32" | "i64" | "bool" | "u8" => Traits::ALL,
            "f32" | "f64" => Traits {
                total: false,
                ..Traits::ALL
            },
            "String" => Traits {
                copy: false,
                ..Traits::ALL
            },
            "Option" => Traits {
                display: false,
                ..Traits::ALL
            },
            "Vec" => Traits {
                copy: false,
                display: false,
                ..Traits::ALL
            },
            _ => Traits::NONE,
        },
        TypePath::External { path, .. } => {
            if [UUID, DECIMAL].contains(path) {
                Traits::ALL
            } else if [DATE_TIME, UTC, NAIVE_DATE, NAIVE_DATE_TIME, NAIVE_TIME].contains(path) {
                Traits {
                    display: false,
                    ..Traits::ALL
                }
            } else if *path == JSON {
                Traits {
                    serde: true,
                    ..Traits::NONE
                }
            } else {
                // sqlx's own PostgreSQL types and IpNetwork: no serde impls promised.
                Traits::NONE
            }
        }
        TypePath::Generated(item) => match item.module {
            Module::Enums => Traits::ALL,
            // Ids are generated only for key types with `Eq`, `Hash`, `Ord` and serde
            // (`TypedIds::build`); `Copy` and `Display` depend on the key type.
            Module::Ids => Traits {
                total: true,
                serde: true,
                ..Traits::NONE
            },
            Module::Models | Module::Repos | Module::Db | Module::Storage => Traits::NONE,
        },
    }
}

impl fmt::Display for RustType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RustType::Custom(text) => f.write_str(text),
            RustType::Path { path, args } => {
                match path {
                    TypePath::Builtin(name) => f.write_str(name)?,
                    TypePath::External { path, .. } => f.write_str(&path.join("::"))?,
                    TypePath::Generated(item) => write!(f, "{item}")?,
                }
                if let Some((first, rest)) = args.split_first() {
                    write!(f, "<{first}")?;
                    for a in rest {
                        write!(f, ", {a}")?;
                    }
                    f.write_str(">")?;
                }
                Ok(())
            }
        }
    }
}

/// A type the mapping has no Rust type for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The PostgreSQL type (the element type for arrays, the base type for domains).
    pub ty: PgType,
    /// Why, and what to do beyond a `rust.type` hint.
    pub reason: String,
}

/// Why a column has no Rust type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeMapError {
    /// Its PostgreSQL type has no mapping.
    #[error(
        "column `{column}` has type `{ty}`, which has no Rust mapping ({reason}); set the Rust \
         type on the column: `rust = {{ type = \"…\" }}`"
    )]
    Unmapped {
        /// The column, qualified: `public.jobs.search`.
        column: String,
        /// The PostgreSQL type that has no mapping (the element type for arrays, the base
        /// type for domains).
        ty: String,
        /// Why, and what to do beyond a `rust.type` hint.
        reason: String,
    },
    /// Its `rust.type` hint is not a Rust type.
    #[error("the Rust type `{text}` of column `{column}` does not parse as a Rust type: {message}")]
    InvalidOverride {
        /// The column, qualified: `public.jobs.search`.
        column: String,
        /// The hint.
        text: String,
        /// syn's message.
        message: String,
    },
}

fn qualified_column(table: &QualifiedName, column: &Column) -> String {
    format!("{table}.{}", column.name)
}

/// The Rust module name of a PostgreSQL schema's items: `None` for `public` (top level).
pub fn schema_module(name: &QualifiedName) -> Option<String> {
    (name.schema.as_str() != "public").then(|| crate::naming::field_name(name.schema.as_str()))
}

/// The Rust name of an enum type: its `rust_name` hint, else the type name in PascalCase.
pub fn enum_path(schema: &Schema, name: &QualifiedName) -> ItemPath {
    let hint = schema.enums.get(name).and_then(|e| e.rust_name.clone());
    ItemPath {
        module: Module::Enums,
        schema: schema_module(name),
        name: hint.unwrap_or_else(|| crate::naming::type_name(name.name.as_str())),
    }
}

/// How deep domains over domains may nest before the mapping gives up (a cycle cannot be
/// created in PostgreSQL; this only keeps a malformed model from recursing forever).
const MAX_DOMAIN_DEPTH: usize = 32;

/// The Rust type of a value of `ty` (not nullable): the mapping table of the README.
pub fn map_pg_type(ty: &PgType, schema: &Schema) -> Result<RustType, Unmapped> {
    map_at_depth(ty, schema, 0)
}

fn map_at_depth(ty: &PgType, schema: &Schema, depth: usize) -> Result<RustType, Unmapped> {
    let unmapped = |reason: &str| Unmapped {
        ty: ty.clone(),
        reason: reason.to_owned(),
    };
    let chrono = |path| RustType::external(path, true, Vec::new());
    let sqlx = |path, args| RustType::external(path, true, args);
    Ok(match ty {
        PgType::SmallInt => RustType::builtin("i16"),
        PgType::Integer => RustType::builtin("i32"),
        PgType::BigInt => RustType::builtin("i64"),
        PgType::Real => RustType::builtin("f32"),
        PgType::DoublePrecision => RustType::builtin("f64"),
        PgType::Numeric { .. } => RustType::external(DECIMAL, true, Vec::new()),
        PgType::Text | PgType::Varchar(_) | PgType::Char(_) => RustType::builtin("String"),
        PgType::Boolean => RustType::builtin("bool"),
        PgType::Uuid => RustType::external(UUID, true, Vec::new()),
        PgType::Json | PgType::Jsonb => RustType::external(JSON, false, Vec::new()),
        PgType::Bytea => RustType::vec(RustType::builtin("u8")),
        // chrono rather than time: both work with sqlx, but chrono's `DateTime<Utc>` says
        // "an instant in UTC" in the type (what timestamptz is), its serde format is RFC 3339
        // out of the box, and it is what the Rust services around Supabase already use.
        PgType::Date => chrono(NAIVE_DATE),
        PgType::Timestamp {
            with_time_zone: true,
            ..
        } => RustType::external(DATE_TIME, true, vec![chrono(UTC)]),
        PgType::Timestamp {
            with_time_zone: false,
            ..
        } => chrono(NAIVE_DATE_TIME),
        PgType::Time {
            with_time_zone: false,
            ..
        } => chrono(NAIVE_TIME),
        PgType::Time {
            with_time_zone: true,
            ..
        } => sqlx(TIME_TZ, Vec::new()),
        PgType::Interval { .. } => sqlx(INTERVAL, Vec::new()),
        PgType::Bit(_) | PgType::VarBit(_) => {
            return Err(unmapped(
                "sqlx decodes bit strings only with its `bit-vec` feature, which jobpilot-db does not enable",
            ));
        }
        PgType::Builtin(name) => match name.as_str() {
            // The one-byte internal type (`"char"`); sqlx decodes it as `i8`.
            "\"char\"" => RustType::builtin("i8"),
            "name" => RustType::builtin("String"),
            "inet" | "cidr" => sqlx(IP_NETWORK, Vec::new()),
            "money" => sqlx(MONEY, Vec::new()),
            "oid" => sqlx(OID, Vec::new()),
            "int4range" => sqlx(RANGE, vec![RustType::builtin("i32")]),
            "int8range" => sqlx(RANGE, vec![RustType::builtin("i64")]),
            "numrange" => sqlx(RANGE, vec![RustType::external(DECIMAL, true, Vec::new())]),
            "daterange" => sqlx(RANGE, vec![chrono(NAIVE_DATE)]),
            "tsrange" => sqlx(RANGE, vec![chrono(NAIVE_DATE_TIME)]),
            "tstzrange" => sqlx(
                RANGE,
                vec![RustType::external(DATE_TIME, true, vec![chrono(UTC)])],
            ),
            _ => return Err(unmapped("sqlx has no built-in Rust type for it")),
        },
        PgType::Named(name) => {
            if schema.enums.contains_key(name) {
                RustType::generated(enum_path(schema, name))
            } else if let Some(domain) = schema.domains.get(name) {
                // A domain is its base type on the wire: PostgreSQL describes a domain column
                // with the base type's OID, and a base-type parameter casts to the domain.
                if depth >= MAX_DOMAIN_DEPTH {
                    return Err(unmapped("domains nest too deeply"));
                }
                map_at_depth(&domain.base, schema, depth + 1)?
            } else if schema.composites.contains_key(name) {
                return Err(unmapped("composite types get no generated struct yet"));
            } else if name.name.as_str() == "citext" {
                // The citext extension's type: sqlx reads and writes it as a string.
                RustType::builtin("String")
            } else {
                return Err(unmapped(
                    "the schema does not declare it (a type of an extension?)",
                ));
            }
        }
        PgType::Array(inner) => RustType::vec(map_at_depth(inner, schema, depth)?),
    })
}

/// A column's Rust type: the value type, and whether the field wraps it in `Option`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The type of a non-NULL value.
    pub value: RustType,
    /// Whether the column may be NULL (the field is `Option<value>`).
    pub nullable: bool,
}

impl ColumnType {
    /// The field type: `Option<value>` for a nullable column, else `value`.
    pub fn field(&self) -> RustType {
        if self.nullable {
            RustType::option(self.value.clone())
        } else {
            self.value.clone()
        }
    }
}

/// The Rust type of `column` of `table`. In order: the column's `rust.type` hint (an
/// `Option<…>` hint makes the column nullable in Rust, any other hint is wrapped in `Option`
/// when the column is nullable), the typed id for a primary key or a foreign key to one
/// (`ids`), the mapping of its PostgreSQL type; NULL-able columns are `Option`.
pub fn column_type(
    schema: &Schema,
    table: &QualifiedName,
    column: &Column,
    ids: &TypedIds,
) -> Result<ColumnType, TypeMapError> {
    if let Some(text) = &column.rust.rust_type {
        return override_type(table, column, text);
    }
    if let Some(id) = ids.for_column(table, column.name.as_str()) {
        return Ok(ColumnType {
            value: id.clone(),
            nullable: column.nullable,
        });
    }
    let value = map_pg_type(&column.ty, schema).map_err(|u| TypeMapError::Unmapped {
        column: qualified_column(table, column),
        ty: u.ty.to_string(),
        reason: u.reason,
    })?;
    Ok(ColumnType {
        value,
        nullable: column.nullable,
    })
}

fn override_type(
    table: &QualifiedName,
    column: &Column,
    text: &str,
) -> Result<ColumnType, TypeMapError> {
    let parsed = syn::parse_str::<syn::Type>(text).map_err(|e| TypeMapError::InvalidOverride {
        column: qualified_column(table, column),
        text: text.to_owned(),
        message: e.to_string(),
    })?;
    if let Some(inner) = option_argument(&parsed) {
        // The text between `Option<` and its `>`, as written; token text only as a fallback.
        let text = text.trim();
        let written = match (text.find('<'), text.rfind('>')) {
            (Some(open), Some(close)) if open < close => Some(text[open + 1..close].trim()),
            _ => None,
        }
        .filter(|t| syn::parse_str::<syn::Type>(t).is_ok());
        let inner = written.map_or_else(
            || quote::ToTokens::to_token_stream(inner).to_string(),
            str::to_owned,
        );
        return Ok(ColumnType {
            value: RustType::Custom(inner),
            nullable: true,
        });
    }
    Ok(ColumnType {
        value: RustType::Custom(text.trim().to_owned()),
        nullable: column.nullable,
    })
}

/// `T` when `ty` is `Option<T>` (or `std::option::Option<T>`). Also used by the `#[table]`
/// check of `jobpilot-macros`.
pub fn option_argument(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(t)] => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CompositeType, Domain, EnumType, ForeignKey, PrimaryKey, Table};

    fn schema() -> Schema {
        let mut s = Schema::default();
        let status = QualifiedName::public("application_status");
        s.enums.insert(
            status.clone(),
            EnumType {
                name: status,
                labels: vec!["saved".into()],
                comment: None,
                renamed_from: None,
                rust_name: None,
                renamed_labels: Vec::new(),
            },
        );
        let hinted = QualifiedName::new("app", "kind");
        s.enums.insert(
            hinted.clone(),
            EnumType {
                name: hinted,
                labels: vec!["a".into()],
                comment: None,
                renamed_from: None,
                rust_name: Some("Kind2".into()),
                renamed_labels: Vec::new(),
            },
        );
        for (name, base) in [
            ("email", PgType::Text),
            ("short_email", PgType::Named(QualifiedName::public("email"))),
            (
                "weird",
                PgType::Builtin("tsvector".into()), // unmapped base
            ),
        ] {
            let q = QualifiedName::public(name);
            s.domains.insert(
                q.clone(),
                Domain {
                    name: q,
                    base,
                    collation: None,
                    default: None,
                    not_null: false,
                    checks: Vec::new(),
                    comment: None,
                },
            );
        }
        let point = QualifiedName::public("point2");
        s.composites.insert(
            point.clone(),
            CompositeType {
                name: point,
                attributes: Vec::new(),
                comment: None,
            },
        );
        s
    }

    fn map(text: &str) -> String {
        let ty = PgType::parse(text, "public").unwrap();
        match map_pg_type(&ty, &schema()) {
            Ok(t) => t.to_string(),
            Err(u) => format!("unmapped {}: {}", u.ty, u.reason),
        }
    }

    #[test]
    fn every_pg_type_variant_maps() {
        let cases = [
            ("smallint", "i16"),
            ("integer", "i32"),
            ("bigint", "i64"),
            ("real", "f32"),
            ("double precision", "f64"),
            ("numeric", "rust_decimal::Decimal"),
            ("numeric(12,2)", "rust_decimal::Decimal"),
            ("text", "String"),
            ("varchar(120)", "String"),
            ("varchar", "String"),
            ("char(3)", "String"),
            ("boolean", "bool"),
            ("uuid", "uuid::Uuid"),
            ("json", "serde_json::Value"),
            ("jsonb", "serde_json::Value"),
            ("bytea", "Vec<u8>"),
            ("date", "chrono::NaiveDate"),
            ("timestamptz", "chrono::DateTime<chrono::Utc>"),
            (
                "timestamp(3) with time zone",
                "chrono::DateTime<chrono::Utc>",
            ),
            ("timestamp", "chrono::NaiveDateTime"),
            ("time", "chrono::NaiveTime"),
            ("timetz", "sqlx::postgres::types::PgTimeTz"),
            ("interval", "sqlx::postgres::types::PgInterval"),
            (
                "interval day to second(3)",
                "sqlx::postgres::types::PgInterval",
            ),
            ("inet", "sqlx::types::ipnetwork::IpNetwork"),
            ("cidr", "sqlx::types::ipnetwork::IpNetwork"),
            ("money", "sqlx::postgres::types::PgMoney"),
            ("oid", "sqlx::postgres::types::Oid"),
            ("name", "String"),
            ("\"char\"", "i8"),
            ("int4range", "sqlx::postgres::types::PgRange<i32>"),
            ("int8range", "sqlx::postgres::types::PgRange<i64>"),
            (
                "numrange",
                "sqlx::postgres::types::PgRange<rust_decimal::Decimal>",
            ),
            (
                "daterange",
                "sqlx::postgres::types::PgRange<chrono::NaiveDate>",
            ),
            (
                "tsrange",
                "sqlx::postgres::types::PgRange<chrono::NaiveDateTime>",
            ),
            (
                "tstzrange",
                "sqlx::postgres::types::PgRange<chrono::DateTime<chrono::Utc>>",
            ),
            ("extensions.citext", "String"),
        ];
        for (pg, rust) in cases {
            assert_eq!(map(pg), rust, "{pg}");
        }
    }

    #[test]
    fn arrays_map_to_vec_of_the_element() {
        assert_eq!(map("text[]"), "Vec<String>");
        assert_eq!(map("integer[][]"), "Vec<i32>");
        assert_eq!(map("bytea[]"), "Vec<Vec<u8>>");
        assert_eq!(map("application_status[]"), "Vec<ApplicationStatus>");
        assert_eq!(map("email[]"), "Vec<String>");
        assert!(map("tsvector[]").starts_with("unmapped tsvector:"));
    }

    #[test]
    fn enums_map_to_the_generated_enum() {
        assert_eq!(map("application_status"), "ApplicationStatus");
        // The rust_name hint wins; other schemas' enums live in the schema's module.
        assert_eq!(map("app.kind"), "app::Kind2");
        let ty = PgType::parse("application_status", "public").unwrap();
        assert_eq!(
            map_pg_type(&ty, &schema()).unwrap(),
            RustType::generated(ItemPath {
                module: Module::Enums,
                schema: None,
                name: "ApplicationStatus".into()
            })
        );
    }

    #[test]
    fn domains_map_to_their_base_type() {
        assert_eq!(map("email"), "String");
        assert_eq!(map("short_email"), "String", "a domain over a domain");
        assert_eq!(
            map("weird"),
            "unmapped tsvector: sqlx has no built-in Rust type for it"
        );
    }

    #[test]
    fn unmappable_types_say_why() {
        assert_eq!(
            map("tsvector"),
            "unmapped tsvector: sqlx has no built-in Rust type for it"
        );
        assert!(map("bit(3)").contains("bit-vec"));
        assert!(map("varbit").contains("bit-vec"));
        assert!(map("point2").contains("composite"));
        assert!(map("extensions.hstore").contains("does not declare"));
    }

    fn users_and_jobs() -> (Schema, Table, Table) {
        let mut users = Table::new(QualifiedName::public("users"));
        let mut id = Column::new("id", PgType::Uuid);
        id.nullable = false;
        users.columns.push(id);
        users.primary_key = Some(PrimaryKey {
            name: "users_pkey".into(),
            columns: vec!["id".into()],
            include: Vec::new(),
            deferrable: Default::default(),
            comment: None,
            renamed_from: None,
        });
        let mut jobs = Table::new(QualifiedName::public("jobs"));
        let mut user_id = Column::new("user_id", PgType::Uuid);
        user_id.nullable = false;
        jobs.columns.push(user_id);
        jobs.columns.push(Column::new("reviewer_id", PgType::Uuid));
        jobs.columns.push(Column::new(
            "tags",
            PgType::parse("text[]", "public").unwrap(),
        ));
        jobs.columns
            .push(Column::new("search", PgType::Builtin("tsvector".into())));
        for (name, col) in [
            ("jobs_user_id_fkey", "user_id"),
            ("jobs_reviewer_id_fkey", "reviewer_id"),
        ] {
            jobs.foreign_keys.push(ForeignKey {
                name: name.into(),
                columns: vec![col.into()],
                references: QualifiedName::public("users"),
                referenced_columns: vec!["id".into()],
                on_delete: Default::default(),
                on_update: Default::default(),
                match_type: Default::default(),
                deferrable: Default::default(),
                not_valid: false,
                comment: None,
                renamed_from: None,
            });
        }
        let mut s = schema();
        s.tables.insert(users.name.clone(), users.clone());
        s.tables.insert(jobs.name.clone(), jobs.clone());
        (s, users, jobs)
    }

    fn col_type(s: &Schema, t: &Table, column: &str) -> String {
        let ids = TypedIds::build(s).unwrap();
        let c = t.column(column).unwrap();
        match column_type(s, &t.name, c, &ids) {
            Ok(ct) => ct.field().to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn nullability_wraps_in_option() {
        let (s, _, jobs) = users_and_jobs();
        assert_eq!(col_type(&s, &jobs, "tags"), "Option<Vec<String>>");
    }

    #[test]
    fn keys_get_typed_ids() {
        let (s, users, jobs) = users_and_jobs();
        assert_eq!(col_type(&s, &users, "id"), "UserId");
        assert_eq!(col_type(&s, &jobs, "user_id"), "UserId");
        assert_eq!(col_type(&s, &jobs, "reviewer_id"), "Option<UserId>");
    }

    #[test]
    fn overrides_always_win() {
        let (mut s, _, mut jobs) = users_and_jobs();
        let set = |jobs: &mut Table, col: &str, ty: &str| {
            jobs.columns
                .iter_mut()
                .find(|c| c.name.as_str() == col)
                .unwrap()
                .rust
                .rust_type = Some(ty.into());
        };
        // Over a typed id, over an unmappable type, over an array.
        set(&mut jobs, "user_id", "uuid::Uuid");
        set(&mut jobs, "search", "my_crate::Tsv");
        set(&mut jobs, "tags", "Vec<my_crate::Tag>");
        s.tables.insert(jobs.name.clone(), jobs.clone());
        assert_eq!(col_type(&s, &jobs, "user_id"), "uuid::Uuid");
        // Nullable columns still get Option around the override…
        assert_eq!(col_type(&s, &jobs, "search"), "Option<my_crate::Tsv>");
        assert_eq!(col_type(&s, &jobs, "tags"), "Option<Vec<my_crate::Tag>>");
        // …unless the override says Option itself, which also makes a NOT NULL column
        // optional in Rust.
        set(&mut jobs, "user_id", "Option<uuid::Uuid>");
        set(&mut jobs, "search", "std::option::Option<String>");
        assert_eq!(col_type(&s, &jobs, "user_id"), "Option<uuid::Uuid>");
        assert_eq!(col_type(&s, &jobs, "search"), "Option<String>");
    }

    #[test]
    fn a_key_with_a_hint_makes_the_hint_its_id_type() {
        let (mut s, mut users, jobs) = users_and_jobs();
        users.columns[0].rust.rust_type = Some("my_crate::AccountId".into());
        s.tables.insert(users.name.clone(), users.clone());
        assert_eq!(col_type(&s, &users, "id"), "my_crate::AccountId");
        // Foreign keys to it follow; no newtype is generated.
        assert_eq!(col_type(&s, &jobs, "user_id"), "my_crate::AccountId");
        assert_eq!(
            col_type(&s, &jobs, "reviewer_id"),
            "Option<my_crate::AccountId>"
        );
        assert!(TypedIds::build(&s).unwrap().iter().next().is_none());
    }

    #[test]
    fn keys_that_cannot_be_ids_stay_plain() {
        let (mut s, mut users, jobs) = users_and_jobs();
        users.columns[0].ty = PgType::DoublePrecision;
        for c in &mut s.tables.get_mut(&jobs.name).unwrap().columns {
            if c.name.as_str().ends_with("_id") {
                c.ty = PgType::DoublePrecision;
            }
        }
        s.tables.insert(users.name.clone(), users.clone());
        let jobs = s.tables[&jobs.name].clone();
        assert_eq!(col_type(&s, &users, "id"), "f64");
        assert_eq!(col_type(&s, &jobs, "user_id"), "f64");
        assert!(TypedIds::build(&s).unwrap().iter().next().is_none());
    }

    #[test]
    fn an_override_that_is_not_a_type_is_an_error() {
        let (s, _, mut jobs) = users_and_jobs();
        jobs.columns[0].rust.rust_type = Some("Vec<".into());
        assert!(
            col_type(&s, &jobs, "user_id").starts_with(
                "the Rust type `Vec<` of column `public.jobs.user_id` does not parse as a Rust type"
            ),
            "{}",
            col_type(&s, &jobs, "user_id")
        );
    }

    #[test]
    fn an_unmappable_column_names_itself_and_the_fix() {
        let (s, _, jobs) = users_and_jobs();
        assert_eq!(
            col_type(&s, &jobs, "search"),
            "column `public.jobs.search` has type `tsvector`, which has no Rust mapping \
             (sqlx has no built-in Rust type for it); set the Rust type on the column: \
             `rust = { type = \"…\" }`"
        );
    }

    #[test]
    fn traits_follow_the_types() {
        let t = |text: &str| {
            map_pg_type(&PgType::parse(text, "public").unwrap(), &schema())
                .unwrap()
                .traits()
        };
        assert!(t("uuid").copy && t("uuid").total && t("uuid").display);
        assert!(!t("text").copy && t("text").total);
        assert!(!t("double precision").total);
        assert!(!t("interval").serde);
        assert!(!t("tstzrange").serde, "PgRange has no serde impls");
        assert!(t("text[]").serde && !t("text[]").display);
        assert!(t("jsonb").serde && !t("jsonb").total);
    }
}
