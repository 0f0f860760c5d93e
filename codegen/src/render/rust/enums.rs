//! `enums.rs`: one Rust enum per PostgreSQL enum, variants in label order (so the derived
//! `Ord` is PostgreSQL's order), each variant renamed to its label for sqlx and serde.

use super::RustRenderError;
use super::items::{CrateItems, EnumItem};
use super::scope::{Scope, doc, ident, inner_doc};
use super::type_map::{Module, TypePath};
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::collections::BTreeMap;

/// `enums.rs`.
pub fn render(items: &CrateItems<'_>) -> Result<TokenStream, RustRenderError> {
    let mut by_schema: BTreeMap<Option<String>, Vec<&EnumItem<'_>>> = BTreeMap::new();
    for e in &items.enums {
        by_schema.entry(e.path.schema.clone()).or_default().push(e);
    }
    let docs = inner_doc(
        "PostgreSQL enums as Rust enums: variants in label order (so `Ord` is PostgreSQL's \
         order), each variant stored and serialised as its label.",
    );
    let top = module_body(None, by_schema.remove(&None).unwrap_or_default())?;
    let mut nested = TokenStream::new();
    for (schema, enums) in by_schema {
        let Some(name) = schema.clone() else { continue };
        let body = module_body(schema, enums)?;
        let name = ident(&name)?;
        nested.extend(quote! {
            #[doc = " Enums of this PostgreSQL schema."]
            pub mod #name { #body }
        });
    }
    Ok(quote! { #docs #top #nested })
}

fn module_body(
    schema: Option<String>,
    enums: Vec<&EnumItem<'_>>,
) -> Result<TokenStream, RustRenderError> {
    let serialize = TypePath::External {
        path: &["serde", "Serialize"],
        import: true,
    };
    let deserialize = TypePath::External {
        path: &["serde", "Deserialize"],
        import: true,
    };
    let locals = enums.iter().map(|e| e.path.name.clone()).collect();
    let scope = Scope::new(Module::Enums, schema, locals, [&serialize, &deserialize]);
    let uses = scope.uses()?;
    let derives = [scope.path(&serialize)?, scope.path(&deserialize)?];
    let mut out = TokenStream::new();
    for e in enums {
        out.extend(enum_item(e, &derives)?);
    }
    Ok(quote! { #uses #out })
}

fn enum_item(e: &EnumItem<'_>, serde: &[TokenStream; 2]) -> Result<TokenStream, RustRenderError> {
    let name = ident(&e.path.name)?;
    let docs = match &e.def.comment {
        Some(c) => doc(&format!("{c}\n\nPostgreSQL enum `{}`.", e.def.name)),
        None => doc(&format!("PostgreSQL enum `{}`.", e.def.name)),
    };
    // sqlx looks the type up by name: unqualified in `public` (found through the search path
    // and compared with the catalog's `typname`), schema-qualified elsewhere.
    let type_name = if e.def.name.schema.as_str() == "public" {
        e.def.name.name.as_str().to_owned()
    } else {
        format!(
            "{}.{}",
            e.def.name.schema.as_str(),
            e.def.name.name.as_str()
        )
    };
    let variants = e
        .variants
        .iter()
        .map(|v| ident(v))
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<Literal> = e.def.labels.iter().map(|l| Literal::string(l)).collect();
    let count = Literal::usize_unsuffixed(variants.len());
    let [ser, de] = serde;
    Ok(quote! {
        #docs
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(sqlx::Type, #ser, #de)]
        #[sqlx(type_name = #type_name)]
        pub enum #name {
            #(
                #[sqlx(rename = #labels)]
                #[serde(rename = #labels)]
                #variants,
            )*
        }

        impl #name {
            /// Every value, in PostgreSQL's order.
            pub const ALL: [Self; #count] = [#(Self::#variants),*];

            /// The label PostgreSQL stores.
            pub fn as_str(self) -> &'static str {
                match self {
                    #(Self::#variants => #labels,)*
                }
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    })
}
