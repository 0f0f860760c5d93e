//! `models.rs`: per table, the row struct (`User`, what a `SELECT *` returns), the insert shape
//! (`NewUser`: defaulted and nullable columns may be left `None`, generated and identity
//! `ALWAYS` columns are absent) and the patch shape (`UserPatch`: every writable non-key column
//! optional, `Option<Option<T>>` for nullable ones so that NULL can be set).

use super::RustRenderError;
use super::items::{ColumnItem, CrateItems, Fallback, TableItem, Write};
use super::scope::{Scope, doc, ident, inner_doc};
use super::type_map::{Module, RustType, TypePath};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

const SERIALIZE: TypePath = TypePath::External {
    path: &["serde", "Serialize"],
    import: true,
};
const DESERIALIZE: TypePath = TypePath::External {
    path: &["serde", "Deserialize"],
    import: true,
};

/// The name of the serde helper that tells a present `null` from an absent field.
const DESERIALIZE_SOME: &str = "nullable";

/// `models.rs`.
pub fn render(items: &CrateItems<'_>) -> Result<TokenStream, RustRenderError> {
    let mut by_schema: BTreeMap<Option<String>, Vec<&TableItem<'_>>> = BTreeMap::new();
    for t in &items.tables {
        by_schema.entry(t.path.schema.clone()).or_default().push(t);
    }
    let docs = inner_doc(
        "One set of structs per table: the row (what a query returns), the insert shape \
         (`New…`: columns with a default may be left out) and the patch shape (`…Patch`: only \
         the fields that are set are written).",
    );
    let mut needs_helper = false;
    let top = module_body(
        None,
        by_schema.remove(&None).unwrap_or_default(),
        &mut needs_helper,
    )?;
    let mut nested = TokenStream::new();
    for (schema, tables) in by_schema {
        let Some(name) = schema.clone() else { continue };
        let body = module_body(schema, tables, &mut needs_helper)?;
        let name = ident(&name)?;
        nested.extend(quote! {
            #[doc = " Models of the tables of this PostgreSQL schema."]
            pub mod #name { #body }
        });
    }
    let helper = if needs_helper {
        let name = ident(DESERIALIZE_SOME)?;
        quote! {
            /// Deserializes a patch field that is present, even as `null`, as `Some`: `null` sets
            /// the column to NULL, an absent field (`None`, the default) leaves it unchanged.
            fn #name<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
            where
                D: serde::Deserializer<'de>,
                T: serde::Deserialize<'de>,
            {
                serde::Deserialize::deserialize(deserializer).map(Some)
            }
        }
    } else {
        TokenStream::new()
    };
    Ok(quote! { #docs #top #nested #helper })
}

fn module_body(
    schema: Option<String>,
    tables: Vec<&TableItem<'_>>,
    needs_helper: &mut bool,
) -> Result<TokenStream, RustRenderError> {
    let locals = tables
        .iter()
        .flat_map(|t| {
            [
                t.path.name.clone(),
                t.new_path.name.clone(),
                t.patch_path.name.clone(),
            ]
        })
        .collect();
    let field_types: Vec<RustType> = tables
        .iter()
        .flat_map(|t| t.columns.iter().map(|c| c.ty.field()))
        .collect();
    let mut used: Vec<&TypePath> = vec![&SERIALIZE, &DESERIALIZE];
    for ty in &field_types {
        used.extend(ty.paths());
    }
    let helper_path = if schema.is_some() {
        format!("super::{DESERIALIZE_SOME}")
    } else {
        DESERIALIZE_SOME.to_owned()
    };
    let scope = Scope::new(Module::Models, schema, locals, used);
    let mut out = scope.uses()?;
    for t in tables {
        out.extend(row_struct(&scope, t)?);
        out.extend(insert_struct(&scope, t)?);
        out.extend(patch_struct(&scope, t, &helper_path, needs_helper)?);
    }
    Ok(out)
}

/// `Serialize, Deserialize` when every field's type has serde impls, else nothing (sqlx's own
/// PostgreSQL types, such as `PgInterval`, have none).
fn serde_derives<'c>(
    scope: &Scope,
    columns: impl IntoIterator<Item = &'c ColumnItem<'c>>,
) -> Result<Vec<TokenStream>, RustRenderError> {
    if columns.into_iter().all(|c| c.ty.value.traits().serde) {
        Ok(vec![scope.path(&SERIALIZE)?, scope.path(&DESERIALIZE)?])
    } else {
        Ok(Vec::new())
    }
}

fn row_struct(scope: &Scope, t: &TableItem<'_>) -> Result<TokenStream, RustRenderError> {
    let name = ident(&t.path.name)?;
    let what = format!("A row of `{}`.", t.table.name);
    let docs = match &t.table.comment {
        Some(c) => doc(&format!("{c}\n\n{what}")),
        None => doc(&what),
    };
    let mut derives = vec![
        quote!(Debug),
        quote!(Clone),
        quote!(PartialEq),
        quote!(sqlx::FromRow),
    ];
    derives.extend(serde_derives(scope, &t.columns)?);
    let mut fields = TokenStream::new();
    for c in &t.columns {
        let field = ident(&c.field)?;
        let ty = scope.ty(&c.ty.field())?;
        let mut notes: Vec<String> = c.column.comment.iter().cloned().collect();
        if let Some(expr) = &c.column.generated {
            notes.push(format!(
                "Generated by PostgreSQL from `{expr}`; never written."
            ));
        } else if c.column.identity.as_ref().is_some_and(|i| i.always) {
            notes.push("An identity column (`GENERATED ALWAYS`); never written.".to_owned());
        }
        let docs = doc(&notes.join("\n\n"));
        let column = c.column.name.as_str();
        let rename = (c.field != column).then(|| quote!(#[sqlx(rename = #column)]));
        fields.extend(quote! {
            #docs
            #rename
            pub #field: #ty,
        });
    }
    Ok(quote! {
        #docs
        #[derive(#(#derives),*)]
        pub struct #name {
            #fields
        }
    })
}

fn insert_struct(scope: &Scope, t: &TableItem<'_>) -> Result<TokenStream, RustRenderError> {
    let name = ident(&t.new_path.name)?;
    let columns: Vec<&ColumnItem<'_>> = t
        .columns
        .iter()
        .filter(|c| c.write != Write::ReadOnly)
        .collect();
    let skipped = t.columns.len() - columns.len();
    let mut text = format!(
        "A row to insert into `{}`. A field left `None` gets the column's default (NULL when \
         it has none).",
        t.table.name
    );
    if skipped > 0 {
        text.push_str(
            " Generated and identity `ALWAYS` columns are not here: PostgreSQL computes them.",
        );
    }
    let docs = doc(&text);
    let mut derives = vec![quote!(Debug), quote!(Clone), quote!(PartialEq)];
    // `Default` only when it means something: every field may be left out.
    if columns.iter().all(|c| c.write != Write::Required) {
        derives.push(quote!(Default));
    }
    derives.extend(serde_derives(scope, columns.iter().copied())?);
    let constructor = insert_constructor(scope, &name, &columns)?;
    let mut fields = TokenStream::new();
    for c in columns {
        let field = ident(&c.field)?;
        let (ty, note) = match &c.write {
            Write::Required => (c.ty.field(), None),
            Write::Optional(fallback) => (
                RustType::option(c.ty.value.clone()),
                Some(match fallback {
                    Fallback::Default(d) => format!("Default: `{d}`."),
                    Fallback::Identity => "Default: the next identity value.".to_owned(),
                    Fallback::Null => "Default: NULL.".to_owned(),
                }),
            ),
            Write::ReadOnly => continue,
        };
        let ty = scope.ty(&ty)?;
        let docs = note.map(|n| doc(&n));
        fields.extend(quote! {
            #docs
            pub #field: #ty,
        });
    }
    Ok(quote! {
        #docs
        #[derive(#(#derives),*)]
        pub struct #name {
            #fields
        }

        #constructor
    })
}

/// `NewUser::new(clerk_id, email)`: the required fields as arguments (`impl Into<String>` for
/// text), every other field `None`. Nothing when no field is required (`Default` does it).
fn insert_constructor(
    scope: &Scope,
    name: &proc_macro2::Ident,
    columns: &[&ColumnItem<'_>],
) -> Result<TokenStream, RustRenderError> {
    let required: Vec<&&ColumnItem<'_>> = columns
        .iter()
        .filter(|c| c.write == Write::Required)
        .collect();
    if required.is_empty() {
        return Ok(TokenStream::new());
    }
    let mut params = Vec::new();
    let mut inits = Vec::new();
    for c in columns {
        let field = ident(&c.field)?;
        if c.write != Write::Required {
            inits.push(quote!(#field: None));
            continue;
        }
        let ty = c.ty.field();
        if ty == RustType::builtin("String") {
            params.push(quote!(#field: impl Into<String>));
            inits.push(quote!(#field: #field.into()));
        } else {
            let ty = scope.ty(&ty)?;
            params.push(quote!(#field: #ty));
            inits.push(quote!(#field));
        }
    }
    // Clippy's limit is 7 arguments; a table may require more.
    let allow = (params.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    Ok(quote! {
        impl #name {
            /// A row with the required fields; every other field `None` (its default).
            #allow
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits),* }
            }
        }
    })
}

fn patch_struct(
    scope: &Scope,
    t: &TableItem<'_>,
    helper_path: &str,
    needs_helper: &mut bool,
) -> Result<TokenStream, RustRenderError> {
    let name = ident(&t.patch_path.name)?;
    let columns: Vec<&ColumnItem<'_>> = t.columns.iter().filter(|c| c.patchable()).collect();
    let nullable = columns.iter().any(|c| c.ty.nullable);
    let mut text = format!(
        "Changes to a row of `{}`: only the fields that are `Some` are written.",
        t.table.name
    );
    if nullable {
        text.push_str(" `Some(None)` sets a nullable column to NULL.");
    }
    let docs = doc(&text);
    let serde = serde_derives(scope, columns.iter().copied())?;
    let with_serde = !serde.is_empty();
    let mut derives = vec![
        quote!(Debug),
        quote!(Clone),
        quote!(Default),
        quote!(PartialEq),
    ];
    derives.extend(serde);
    let mut fields = TokenStream::new();
    for c in &columns {
        let field = ident(&c.field)?;
        let ty = scope.ty(&RustType::option(c.ty.field()))?;
        // Absent and `null` must stay apart through JSON: an absent field is `None` (the
        // struct's `serde(default)`), `null` is `Some(None)`, and `None` is not written out
        // (a `null` would read as "set to NULL").
        let attr = if !with_serde {
            None
        } else if c.ty.nullable {
            *needs_helper = true;
            Some(quote! {
                #[serde(deserialize_with = #helper_path, skip_serializing_if = "Option::is_none")]
            })
        } else {
            Some(quote!(#[serde(skip_serializing_if = "Option::is_none")]))
        };
        fields.extend(quote! {
            #attr
            pub #field: #ty,
        });
    }
    // Every field may be absent from JSON: it is then `None` (left unchanged).
    let serde_default = with_serde.then(|| quote!(#[serde(default)]));
    Ok(quote! {
        #docs
        #[derive(#(#derives),*)]
        #serde_default
        pub struct #name {
            #fields
        }

        impl #name {
            /// True when the patch changes nothing.
            pub fn is_empty(&self) -> bool {
                *self == Self::default()
            }
        }
    })
}
