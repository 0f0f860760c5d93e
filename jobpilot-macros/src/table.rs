//! `#[table("name")]`: checks a hand-written struct's fields against a table of the schema,
//! using the generated crate's field names and types (`codegen::render::rust::CrateItems`, the
//! one PostgreSQL → Rust type mapping), and emits the struct unchanged.

use crate::paths;
use codegen::model::QualifiedName;
use codegen::render::rust::{ColumnItem, CrateItems, Module, RustType, TableItem, TypePath};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Field, Fields, ItemStruct, LitStr, Token};

/// The helper attribute that names a field's column.
const COLUMN_ATTR: &str = "column";

/// The attribute's arguments: `"table"` and optionally `schema = "dir"`.
struct Args {
    table: LitStr,
    schema: Option<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let table: LitStr = input.parse()?;
        let mut schema = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            if key != "schema" {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown argument `{key}`: the only one is `schema = \"dir\"`"),
                ));
            }
            input.parse::<Token![=]>()?;
            schema = Some(input.parse()?);
        }
        Ok(Args { table, schema })
    }
}

/// The macro: the struct (with `#[column]` attributes removed), every field error, and the
/// schema files' tracking.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args: Args = match syn::parse2(args) {
        Ok(a) => a,
        Err(e) => {
            let mut out = e.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut strukt: ItemStruct = match syn::parse2(item.clone()) {
        Ok(s) => s,
        Err(_) => {
            let mut out = syn::Error::new(
                Span::call_site(),
                "#[table] goes on a struct with named fields",
            )
            .to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    // The `#[column("…")]` names, taken off the fields (the attribute exists only for us).
    let mut columns = Vec::new();
    if let Fields::Named(named) = &mut strukt.fields {
        for field in named.named.iter_mut() {
            match take_column_attr(field) {
                Ok(name) => columns.push(name),
                Err(e) => {
                    push(e);
                    columns.push(None);
                }
            }
        }
    } else {
        push(syn::Error::new_spanned(
            &strukt.fields,
            "#[table] goes on a struct with named fields",
        ));
    }
    let dir = match &args.schema {
        Some(lit) => paths::resolve(&lit.value()).map(|d| (d, lit.value(), lit.span())),
        None => paths::find_schema_dir().map(|d| {
            let written = d.display().to_string();
            (d, written, args.table.span())
        }),
    };
    let mut tracking = TokenStream::new();
    match dir {
        Err(message) => push(syn::Error::new(args.table.span(), message)),
        Ok((dir, written, span)) => {
            tracking = paths::track(&dir);
            match paths::load(&dir, &written) {
                Err(message) => push(syn::Error::new(span, message)),
                Ok(loaded) => match CrateItems::build(&loaded.schema) {
                    Err(e) => push(syn::Error::new(span, format!("the schema: {e}"))),
                    Ok(items) => {
                        if let Err(e) = check(&items, &args.table, &strukt, &columns) {
                            push(e);
                        }
                    }
                },
            }
        }
    }
    let errors = errors.map(|e| e.to_compile_error());
    let tracking = (!tracking.is_empty()).then(|| quote!(const _: () = { #tracking };));
    quote! {
        #strukt
        #tracking
        #errors
    }
}

/// Removes the field's `#[column("name")]` attribute and returns the name.
fn take_column_attr(field: &mut Field) -> syn::Result<Option<String>> {
    let mut name = None;
    let mut error = None;
    field.attrs.retain(|a| {
        if !a.path().is_ident(COLUMN_ATTR) {
            return true;
        }
        match a.parse_args::<LitStr>() {
            Ok(lit) => name = Some(lit.value()),
            Err(_) => {
                error = Some(syn::Error::new_spanned(
                    a,
                    "expected the column's name: `#[column(\"name\")]`",
                ));
            }
        }
        false
    });
    match error {
        Some(e) => Err(e),
        None => Ok(name),
    }
}

/// Checks every field; all errors combined.
fn check(
    items: &CrateItems<'_>,
    table_lit: &LitStr,
    strukt: &ItemStruct,
    columns: &[Option<String>],
) -> Result<(), syn::Error> {
    let wanted = table_lit.value();
    let table = QualifiedName::parse(&wanted, "public")
        .and_then(|q| items.tables.iter().find(|t| t.table.name == q))
        .ok_or_else(|| {
            let names: Vec<String> = items
                .tables
                .iter()
                .map(|t| display_table(&t.table.name))
                .collect();
            syn::Error::new(
                table_lit.span(),
                format!(
                    "no table `{wanted}` in the schema; its tables are: {}",
                    names.join(", ")
                ),
            )
        })?;
    let mut errors: Option<syn::Error> = None;
    for (field, column) in strukt.fields.iter().zip(columns) {
        if let Err(e) = check_field(items, table, field, column.as_deref()) {
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// A table's name as users write it: without `public.`.
fn display_table(name: &QualifiedName) -> String {
    if name.schema.as_str() == "public" {
        name.name.to_string()
    } else {
        name.to_string()
    }
}

/// One field: a column of the table, with the mapped type and nullability.
fn check_field(
    items: &CrateItems<'_>,
    table: &TableItem<'_>,
    field: &Field,
    column: Option<&str>,
) -> syn::Result<()> {
    let table_name = display_table(&table.table.name);
    let field_name = field
        .ident
        .as_ref()
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())
        .unwrap_or_default();
    let found = match column {
        Some(c) => table
            .columns
            .iter()
            .find(|item| item.column.name.as_str() == c),
        None => table.columns.iter().find(|item| item.field == field_name),
    };
    let Some(item) = found else {
        let names: Vec<&str> = table
            .columns
            .iter()
            .map(|c| c.column.name.as_str())
            .collect();
        let what = match column {
            Some(c) => format!("field `{field_name}`: `#[column(\"{c}\")]` names no column"),
            None => format!("field `{field_name}` is not a column"),
        };
        return Err(syn::Error::new_spanned(
            field,
            format!(
                "{what} of table `{table_name}`; its columns are: {} (a field named \
                 differently takes `#[column(\"name\")]`)",
                names.join(", ")
            ),
        ));
    };
    let described = describe_column(&table_name, item, "");
    let null = if item.ty.nullable {
        " NULL"
    } else {
        " NOT NULL"
    };
    let described_null = describe_column(&table_name, item, null);
    let expected = expected_types(items, item);
    let expected_text = expected_text(item, &expected);
    let (is_option, inner) = match codegen::render::rust::type_map::option_argument(&field.ty) {
        Some(inner) => (true, inner),
        None => (false, &field.ty),
    };
    let written = spell(&field.ty);
    if is_option != item.ty.nullable {
        let why = if item.ty.nullable {
            "is nullable, so the field must be an `Option`"
        } else {
            "is NOT NULL, so the field must not be an `Option`"
        };
        return Err(syn::Error::new_spanned(
            field,
            format!(
                "field `{field_name}`: {described} {why}: expected {expected_text}, found \
                 `{written}`"
            ),
        ));
    }
    let shape = type_shape(inner);
    if !expected.iter().any(|e| e.shape == shape) {
        return Err(syn::Error::new_spanned(
            field,
            format!(
                "field `{field_name}` has the wrong type for {described_null}: expected \
                 {expected_text}, found `{written}`"
            ),
        ));
    }
    Ok(())
}

/// "column `email` of table `users` (text)", with `null` after the type.
fn describe_column(table: &str, item: &ColumnItem<'_>, null: &str) -> String {
    format!(
        "column `{}` of table `{table}` ({}{null})",
        item.column.name.as_str(),
        item.column.ty
    )
}

/// A type the field may have (without `Option`): its text and its shape.
struct Expected {
    text: String,
    shape: String,
}

/// The column's mapped type and, for a typed id, its inner type.
fn expected_types(items: &CrateItems<'_>, item: &ColumnItem<'_>) -> Vec<Expected> {
    let mut out = vec![expected(&item.ty.value)];
    let id_path = match &item.ty.value {
        RustType::Path {
            path: TypePath::Generated(path),
            args,
        } if args.is_empty() && path.module == Module::Ids => Some(path),
        _ => None,
    };
    if let Some(id) = id_path.and_then(|p| items.ids.iter().find(|id| &id.path == p)) {
        out.push(expected(&id.inner));
    }
    out
}

fn expected(ty: &RustType) -> Expected {
    let text = ty.to_string();
    let shape = match syn::parse_str::<syn::Type>(&text) {
        Ok(parsed) => type_shape(&parsed),
        Err(_) => text.replace(' ', ""),
    };
    Expected { text, shape }
}

/// "`Option<String>`", or "`UserId` or its inner type `uuid::Uuid`".
fn expected_text(item: &ColumnItem<'_>, expected: &[Expected]) -> String {
    let wrap = |t: &str| {
        if item.ty.nullable {
            format!("`Option<{t}>`")
        } else {
            format!("`{t}`")
        }
    };
    match expected {
        [one] => wrap(&one.text),
        [id, inner, ..] => format!("{} or its inner type {}", wrap(&id.text), wrap(&inner.text)),
        [] => String::new(),
    }
}

/// A type as written, without the spaces of token printing (`Option<String>`, not
/// `Option < String >`).
fn spell(ty: &syn::Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// A type compared by the last segment of each path, recursively through generic arguments:
/// `chrono::DateTime<chrono::Utc>` and `DateTime<Utc>` are both `DateTime<Utc>`.
fn type_shape(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Paren(p) => type_shape(&p.elem),
        syn::Type::Group(g) => type_shape(&g.elem),
        syn::Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return String::new();
            };
            let mut out = last.ident.to_string();
            if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                let inner: Vec<String> = args
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(type_shape(t)),
                        _ => None,
                    })
                    .collect();
                if !inner.is_empty() {
                    out.push('<');
                    out.push_str(&inner.join(","));
                    out.push('>');
                }
            }
            out
        }
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> String {
        type_shape(&syn::parse_str(text).unwrap())
    }

    #[test]
    fn shapes_ignore_paths_but_not_arguments() {
        assert_eq!(
            shape("chrono::DateTime<chrono::Utc>"),
            shape("DateTime<Utc>")
        );
        assert_eq!(shape("::std::vec::Vec<String>"), "Vec<String>");
        assert_ne!(shape("Vec<String>"), shape("Vec<i32>"));
        assert_eq!(shape("[u8; 4]"), "[u8;4]");
        let ty: syn::Type = syn::parse_str("Option<chrono::DateTime<chrono::Utc>>").unwrap();
        assert_eq!(spell(&ty), "Option<chrono::DateTime<chrono::Utc>>");
    }

    #[test]
    fn option_is_found_by_its_last_segment() {
        let ty: syn::Type = syn::parse_str("std::option::Option<i64>").unwrap();
        assert_eq!(
            codegen::render::rust::type_map::option_argument(&ty)
                .map(type_shape)
                .as_deref(),
            Some("i64")
        );
        let ty: syn::Type = syn::parse_str("Vec<i64>").unwrap();
        assert!(codegen::render::rust::type_map::option_argument(&ty).is_none());
    }
}
