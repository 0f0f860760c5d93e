//! Typed ids: a newtype per table with a single-column primary key (`UserId(pub Uuid)`), used
//! for that key and for every foreign key column that references it, so that a `JobId` cannot
//! be passed where a `UserId` is wanted. [`TypedIds`] decides which columns get which id;
//! [`render`] writes `ids.rs`.

use super::RustRenderError;
use super::items::{CrateItems, modelled_tables, struct_name};
use super::scope::{Scope, doc, ident, inner_doc};
use super::type_map::{
    ItemPath, Module, RustType, TypeMapError, TypePath, column_type, schema_module,
};
use crate::model::{Ident, QualifiedName, Schema};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::{BTreeMap, BTreeSet};

/// A table's id type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdItem {
    /// The table whose primary key it is.
    pub table: QualifiedName,
    /// The key column.
    pub column: Ident,
    /// The newtype (`UserId`).
    pub path: ItemPath,
    /// The wrapped type (the key column's own Rust type).
    pub inner: RustType,
}

/// Which tables have an id type and which columns use one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedIds {
    /// The generated newtypes, by table.
    ids: BTreeMap<QualifiedName, IdItem>,
    /// Every single-column key's type, by table: its newtype, or the key column's
    /// `rust.type` hint, which then is the id type (no newtype is generated).
    keys: BTreeMap<QualifiedName, RustType>,
    /// (table, column) → the table whose key the column holds.
    columns: BTreeMap<(QualifiedName, String), QualifiedName>,
}

impl TypedIds {
    /// Every modelled table with a single-column primary key gets an id named after its struct
    /// (`User` → `UserId`) wrapping the key column's type, unless the key column has a
    /// `rust.type` hint (that type is then the table's id type) or a type that cannot be an id
    /// (without `Eq`/`Hash`/`Ord` or serde: a float, an interval). A column uses a table's id
    /// when it is that key, or when a single-column foreign key makes it reference that key
    /// and it has the key's PostgreSQL type and no `rust.type` hint of its own (its own key
    /// first, then foreign keys in name order).
    pub fn build(schema: &Schema) -> Result<TypedIds, TypeMapError> {
        let mut out = TypedIds::default();
        for table in modelled_tables(schema) {
            let Some([key]) = table.primary_key.as_ref().map(|pk| pk.columns.as_slice()) else {
                continue;
            };
            let Some(column) = table.column(key.as_str()) else {
                continue;
            };
            let inner = column_type(schema, &table.name, column, &TypedIds::default())?.value;
            out.columns.insert(
                (table.name.clone(), key.as_str().to_owned()),
                table.name.clone(),
            );
            if column.rust.rust_type.is_some() {
                out.keys.insert(table.name.clone(), inner);
                continue;
            }
            // An id is a key: it must compare, hash and order, and serialise like the rows
            // that hold it. Keys of other types (a float, an interval) stay plain.
            let traits = inner.traits();
            if !(traits.total && traits.serde) {
                out.columns
                    .remove(&(table.name.clone(), key.as_str().to_owned()));
                continue;
            }
            let path = ItemPath {
                module: Module::Ids,
                schema: schema_module(&table.name),
                name: format!("{}Id", struct_name(table)),
            };
            out.keys
                .insert(table.name.clone(), RustType::generated(path.clone()));
            out.ids.insert(
                table.name.clone(),
                IdItem {
                    table: table.name.clone(),
                    column: key.clone(),
                    path,
                    inner,
                },
            );
        }
        for table in modelled_tables(schema) {
            for fk in &table.foreign_keys {
                let ([column], [referenced]) =
                    (fk.columns.as_slice(), fk.referenced_columns.as_slice())
                else {
                    continue;
                };
                let Some(target) = schema.tables.get(&fk.references) else {
                    continue;
                };
                let Some([key]) = target.primary_key.as_ref().map(|pk| pk.columns.as_slice())
                else {
                    continue;
                };
                let key_type = target.column(key.as_str()).map(|c| &c.ty);
                let Some(c) = table.column(column.as_str()) else {
                    continue;
                };
                if !out.keys.contains_key(&fk.references)
                    || key != referenced
                    || key_type != Some(&c.ty)
                    || c.rust.rust_type.is_some()
                {
                    continue;
                }
                out.columns
                    .entry((table.name.clone(), column.as_str().to_owned()))
                    .or_insert_with(|| fk.references.clone());
            }
        }
        Ok(out)
    }

    /// The id type a column holds, if it holds a key: a generated id (`UserId`) or the key's
    /// own `rust.type` hint.
    pub fn for_column(&self, table: &QualifiedName, column: &str) -> Option<&RustType> {
        self.columns
            .get(&(table.clone(), column.to_owned()))
            .and_then(|t| self.keys.get(t))
    }

    /// The generated id of a table, if it has one.
    pub fn for_table(&self, table: &QualifiedName) -> Option<&IdItem> {
        self.ids.get(table)
    }

    /// Every generated id, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &IdItem> {
        self.ids.values()
    }
}

/// `ids.rs`.
pub fn render(items: &CrateItems<'_>) -> Result<TokenStream, RustRenderError> {
    let mut by_schema: BTreeMap<Option<String>, Vec<&IdItem>> = BTreeMap::new();
    for id in items.ids.iter() {
        by_schema
            .entry(id.path.schema.clone())
            .or_default()
            .push(id);
    }
    let docs = inner_doc(
        "Typed ids: one newtype per table with a single-column primary key, used for that key \
         and for every foreign key that references it, so that one table's id cannot be passed \
         where another's is wanted.",
    );
    let top = module_body(items, None, by_schema.remove(&None).unwrap_or_default())?;
    let mut nested = TokenStream::new();
    for (schema, ids) in by_schema {
        let Some(name) = schema.clone() else { continue };
        let body = module_body(items, schema, ids)?;
        let name = ident(&name)?;
        nested.extend(quote! {
            #[doc = " Ids of the tables of this PostgreSQL schema."]
            pub mod #name { #body }
        });
    }
    Ok(quote! { #docs #top #nested })
}

fn module_body(
    items: &CrateItems<'_>,
    schema: Option<String>,
    ids: Vec<&IdItem>,
) -> Result<TokenStream, RustRenderError> {
    let serialize = TypePath::External {
        path: &["serde", "Serialize"],
        import: true,
    };
    let deserialize = TypePath::External {
        path: &["serde", "Deserialize"],
        import: true,
    };
    let locals: BTreeSet<String> = ids.iter().map(|i| i.path.name.clone()).collect();
    let mut used: Vec<&TypePath> = vec![&serialize, &deserialize];
    for id in &ids {
        used.extend(id.inner.paths());
    }
    let scope = Scope::new(Module::Ids, schema, locals, used);
    let uses = scope.uses()?;
    let mut out = TokenStream::new();
    for id in ids {
        out.extend(id_item(items, &scope, id, &serialize, &deserialize)?);
    }
    Ok(quote! { #uses #out })
}

fn id_item(
    items: &CrateItems<'_>,
    scope: &Scope,
    id: &IdItem,
    serialize: &TypePath,
    deserialize: &TypePath,
) -> Result<TokenStream, RustRenderError> {
    let name = ident(&id.path.name)?;
    let inner = scope.ty(&id.inner)?;
    let traits = id.inner.traits();
    let struct_path = items
        .tables
        .iter()
        .find(|t| t.table.name == id.table)
        .map(|t| t.path.name.clone())
        .unwrap_or_default();
    // Intra-doc links resolve from the id's module: the file's top, or a schema module in it.
    let models = match &id.path.schema {
        Some(module) => format!("super::super::models::{module}"),
        None => "super::models".to_owned(),
    };
    let docs = doc(&format!(
        "The primary key of [`{struct_path}`]({models}::{struct_path}): `{}.{}`.",
        id.table, id.column
    ));
    // Two derive lines, as usually written: the standard traits, then sqlx's and serde's.
    let mut derives = vec![quote!(Debug), quote!(Clone)];
    if traits.copy {
        derives.push(quote!(Copy));
    }
    derives.push(quote!(PartialEq));
    if traits.total {
        derives.extend([quote!(Eq), quote!(Hash), quote!(PartialOrd), quote!(Ord)]);
    }
    let mut library = vec![quote!(sqlx::Type)];
    if traits.serde {
        library.push(scope.path(serialize)?);
        library.push(scope.path(deserialize)?);
    }
    let serde_attr = traits.serde.then(|| quote!(#[serde(transparent)]));
    let display = traits.display.then(|| {
        quote! {
            impl std::fmt::Display for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    std::fmt::Display::fmt(&self.0, f)
                }
            }
        }
    });
    Ok(quote! {
        #docs
        #[derive(#(#derives),*)]
        #[derive(#(#library),*)]
        #[sqlx(transparent)]
        #serde_attr
        pub struct #name(pub #inner);

        impl From<#inner> for #name {
            fn from(id: #inner) -> Self {
                Self(id)
            }
        }

        impl From<#name> for #inner {
            fn from(id: #name) -> Self {
                id.0
            }
        }

        #display
    })
}
