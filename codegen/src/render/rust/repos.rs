//! `repos.rs`: one repository per table (`UserRepo`, a unit struct) whose async functions each
//! take the caller's connection (`&mut PgConnection`; a `&mut Transaction` or a pool
//! connection coerces to it), so that several tables commit or roll back together (ADR-2).
//!
//! The SQL is fixed here, at generation time: identifiers go through the one quoting function
//! ([`quote_ident`]), every value is a bind parameter, and statements that depend on which
//! fields are set (insert with `DEFAULT` for a field left `None`, update with a patch, upsert)
//! are assembled from constant fragments with sqlx's `QueryBuilder`. Every statement is sent
//! unnamed (`persistent(false)`): sqlx 0.8 would otherwise prepare a named statement per query
//! even with its statement cache off (sqlx#4328), which a transaction-mode pooler breaks on and
//! which ADR-2's `statement_cache_size=0` rules out.
//!
//! `insert_many` sends one array per column (`INSERT … SELECT unnest($1), unnest($2), …`): one
//! statement for any number of rows, rows that leave different defaulted fields out in separate
//! `INSERT`s of one `WITH` statement. Set-returning functions in the select list advance in step
//! and stream the rows, where `FROM unnest($1, $2, …)` would first copy them all into a
//! tuplestore (about 10 ms of the ~100 ms that 10,000 rows take). A table with a column `unnest` cannot take (a PostgreSQL
//! array: sqlx encodes no two-dimensional arrays; a `rust.type` hint) gets a multi-row `VALUES`
//! with `DEFAULT` per field left out instead, one statement per 65,535 bind parameters.
//!
//! Per table: `insert`, `insert_many`; with a primary key `get`, `get_many`, `update`, `delete`
//! and `list_by_…` per foreign key (keyset pagination on the key); `find_by_…` per unique key
//! (unique constraints and unique indexes on plain columns without a predicate); `upsert_on_…`
//! per non-deferrable unique key, the primary key included.

use super::RustRenderError;
use super::items::{ColumnItem, CrateItems, Fallback, TableItem, Write};
use super::scope::{Scope, doc, ident, inner_doc};
use super::type_map::{ItemPath, Module, RustType, TypePath};
use crate::model::{Deferrable, IndexKey, quote_ident};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

const PG_CONNECTION: TypePath = TypePath::External {
    path: &["sqlx", "PgConnection"],
    import: true,
};
const POSTGRES: TypePath = TypePath::External {
    path: &["sqlx", "Postgres"],
    import: true,
};
const QUERY_BUILDER: TypePath = TypePath::External {
    path: &["sqlx", "QueryBuilder"],
    import: true,
};

/// The most bind parameters one statement may carry (the protocol counts them in 16 bits).
const BIND_LIMIT: usize = 65_535;

/// Names the generated functions use for their own parameters and locals: a key column whose
/// field has one of them is passed as `<name>_value` instead.
const RESERVED_LOCALS: &[&str] = &[
    "conn", "row", "rows", "patch", "keys", "after", "limit", "query", "set", "values", "inserted",
    "chunk", "index", "done", "value",
];

/// `repos.rs`.
pub fn render(items: &CrateItems<'_>) -> Result<TokenStream, RustRenderError> {
    let mut by_schema: BTreeMap<Option<String>, Vec<&TableItem<'_>>> = BTreeMap::new();
    for t in &items.tables {
        by_schema.entry(t.path.schema.clone()).or_default().push(t);
    }
    let docs = inner_doc(
        "Repositories: one unit struct per table whose functions run on the caller's connection \
         or transaction (`&mut PgConnection`: pass `&mut tx`, `&mut conn`), so that writes to \
         several tables commit or roll back together. The SQL is fixed at generation time with \
         quoted identifiers; every value is a bind parameter, and every statement is sent \
         unnamed (no prepared statement outlives it).",
    );
    let top = module_body(items, None, by_schema.remove(&None).unwrap_or_default())?;
    let mut nested = TokenStream::new();
    for (schema, tables) in by_schema {
        let Some(name) = schema.clone() else { continue };
        let body = module_body(items, schema, tables)?;
        let name = ident(&name)?;
        nested.extend(quote! {
            #[doc = " Repositories of the tables of this PostgreSQL schema."]
            pub mod #name { #body }
        });
    }
    let shapes = items
        .tables
        .iter()
        .map(|t| TablePlan::new(items, t))
        .any(|p| !p.writable.is_empty() && p.unnest_ok() && !p.defaulted().is_empty());
    let helpers = if shapes { shape_helpers() } else { quote!() };
    Ok(quote! { #docs #top #helpers #nested })
}

/// The functions `insert_many` uses to insert rows of several shapes in one statement.
fn shape_helpers() -> TokenStream {
    quote! {
        /// The indices of `shapes`' items grouped by equal shape, groups in the order of their
        /// first item.
        fn group_by_shape<S: PartialEq>(shapes: impl Iterator<Item = S>) -> Vec<(S, Vec<usize>)> {
            let mut groups: Vec<(S, Vec<usize>)> = Vec::new();
            for (index, shape) in shapes.enumerate() {
                match groups.iter_mut().find(|(s, _)| *s == shape) {
                    Some((_, indices)) => indices.push(index),
                    None => groups.push((shape, vec![index])),
                }
            }
            groups
        }

        /// The rows a statement returned group after group (each group's rows in the order of
        /// its indices), put back in the order of the indices.
        fn in_input_order<'g, T>(
            returned: Vec<T>,
            groups: impl Iterator<Item = &'g [usize]> + Clone,
        ) -> Result<Vec<T>, sqlx::Error> {
            let total = groups.clone().map(<[usize]>::len).sum::<usize>();
            if returned.len() != total {
                return Err(sqlx::Error::Protocol(format!(
                    "insert_many: {total} rows inserted, {} returned",
                    returned.len()
                )));
            }
            let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
            for (row, &index) in returned.into_iter().zip(groups.flatten()) {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(row);
                }
            }
            slots.into_iter().collect::<Option<Vec<T>>>().ok_or_else(|| {
                sqlx::Error::Protocol("insert_many: a row was returned twice".to_owned())
            })
        }
    }
}

fn module_body(
    items: &CrateItems<'_>,
    schema: Option<String>,
    tables: Vec<&TableItem<'_>>,
) -> Result<TokenStream, RustRenderError> {
    let plans = tables
        .iter()
        .map(|t| TablePlan::new(items, t))
        .collect::<Vec<_>>();
    let locals = tables.iter().map(|t| t.repo_path.name.clone()).collect();
    let page = TypePath::Generated(ItemPath {
        module: Module::Db,
        schema: None,
        name: "Page".to_owned(),
    });
    let types: Vec<RustType> = plans.iter().flat_map(TablePlan::types).collect();
    let mut used: Vec<&TypePath> = vec![&PG_CONNECTION];
    if plans.iter().any(TablePlan::uses_builder) {
        used.extend([&POSTGRES, &QUERY_BUILDER]);
    }
    if plans.iter().any(|p| !p.lists.is_empty()) {
        used.push(&page);
    }
    for ty in &types {
        used.extend(ty.paths());
    }
    let scope = Scope::new(Module::Repos, schema, locals, used);
    let mut out = scope.uses()?;
    for p in &plans {
        out.extend(p.render(&scope)?);
    }
    Ok(out)
}

/// What gets generated for one table.
struct TablePlan<'i, 'a> {
    items: &'i CrateItems<'a>,
    t: &'i TableItem<'a>,
    /// `schema.table`, quoted.
    table_sql: String,
    /// The primary key's columns, in key order (empty without a key).
    pk: Vec<&'i ColumnItem<'a>>,
    /// The columns an insert writes, in column order.
    writable: Vec<&'i ColumnItem<'a>>,
    /// Unique keys other than the primary key: (columns, usable as an `ON CONFLICT` arbiter).
    uniques: Vec<(Vec<&'i ColumnItem<'a>>, bool)>,
    /// Foreign keys' column lists, deduplicated.
    lists: Vec<Vec<&'i ColumnItem<'a>>>,
    /// Whether the primary key may be an `ON CONFLICT` arbiter (not deferrable).
    pk_upsert: bool,
}

impl<'i, 'a> TablePlan<'i, 'a> {
    fn new(items: &'i CrateItems<'a>, t: &'i TableItem<'a>) -> TablePlan<'i, 'a> {
        let table = t.table;
        let column = |name: &str| t.columns.iter().find(|c| c.column.name.as_str() == name);
        let columns = |names: &mut dyn Iterator<Item = &str>| -> Option<Vec<&'i ColumnItem<'a>>> {
            names.map(column).collect()
        };
        let pk = table
            .primary_key
            .as_ref()
            .and_then(|pk| columns(&mut pk.columns.iter().map(|c| c.as_str())))
            .unwrap_or_default();
        let pk_upsert = table
            .primary_key
            .as_ref()
            .is_some_and(|pk| pk.deferrable == Deferrable::No);
        let same = |a: &[&ColumnItem<'_>], b: &[&ColumnItem<'_>]| {
            a.len() == b.len()
                && a.iter()
                    .all(|x| b.iter().any(|y| x.column.name == y.column.name))
        };
        let mut uniques: Vec<(Vec<&ColumnItem<'a>>, bool)> = Vec::new();
        let mut add_unique = |cols: Vec<&'i ColumnItem<'a>>, arbiter: bool| {
            if cols.is_empty() || same(&cols, &pk) {
                return;
            }
            match uniques.iter_mut().find(|(u, _)| same(u, &cols)) {
                Some(existing) => existing.1 |= arbiter,
                None => uniques.push((cols, arbiter)),
            }
        };
        for u in &table.uniques {
            if let Some(cols) = columns(&mut u.columns.iter().map(|c| c.as_str())) {
                // PostgreSQL takes no deferrable constraint as an ON CONFLICT arbiter.
                add_unique(cols, u.deferrable == Deferrable::No);
            }
        }
        for index in table
            .indexes
            .iter()
            .filter(|i| i.unique && i.predicate.is_none())
        {
            let names: Option<Vec<&str>> = index
                .keys
                .iter()
                .map(|k| match &k.key {
                    IndexKey::Column(c) => Some(c.as_str()),
                    IndexKey::Expr(_) => None,
                })
                .collect();
            if let Some(cols) = names.and_then(|n| columns(&mut n.into_iter())) {
                add_unique(cols, true);
            }
        }
        let mut lists: Vec<Vec<&ColumnItem<'a>>> = Vec::new();
        if !pk.is_empty() {
            for fk in &table.foreign_keys {
                if let Some(cols) = columns(&mut fk.columns.iter().map(|c| c.as_str())) {
                    if !lists.iter().any(|l| same_order(l, &cols)) {
                        lists.push(cols);
                    }
                }
            }
        }
        TablePlan {
            items,
            t,
            table_sql: format!(
                "{}.{}",
                quote_ident(table.name.schema.as_str()),
                quote_ident(table.name.name.as_str())
            ),
            writable: t
                .columns
                .iter()
                .filter(|c| c.write != Write::ReadOnly)
                .collect(),
            pk,
            uniques,
            lists,
            pk_upsert,
        }
    }

    /// Whether `update` is generated: a primary key, and a column a patch may change.
    fn has_update(&self) -> bool {
        !self.pk.is_empty() && self.t.columns.iter().any(|c| c.patchable())
    }

    /// The keys an `upsert_on_…` is generated for: the primary key, then the unique keys that
    /// may be arbiters; none when an insert writes no column.
    fn upsert_keys(&self) -> Vec<&[&'i ColumnItem<'a>]> {
        let mut out: Vec<&[&ColumnItem<'a>]> = Vec::new();
        if self.writable.is_empty() {
            return out;
        }
        // A key with an identity `ALWAYS` column never conflicts on insert: PostgreSQL picks
        // a fresh value every time.
        let always = |cols: &[&ColumnItem<'_>]| {
            cols.iter()
                .any(|c| c.column.identity.as_ref().is_some_and(|i| i.always))
        };
        if self.pk_upsert && !self.pk.is_empty() && !always(&self.pk) {
            out.push(&self.pk);
        }
        out.extend(
            self.uniques
                .iter()
                .filter(|u| u.1 && !always(&u.0))
                .map(|u| u.0.as_slice()),
        );
        out
    }

    /// Whether the generated code builds statements with `QueryBuilder`.
    fn uses_builder(&self) -> bool {
        !self.writable.is_empty() || self.has_update()
    }

    /// Every type the table's repository names.
    fn types(&self) -> Vec<RustType> {
        let mut out = vec![
            RustType::generated(self.t.path.clone()),
            RustType::generated(self.t.new_path.clone()),
        ];
        if self.has_update() {
            out.push(RustType::generated(self.t.patch_path.clone()));
        }
        let keys = self
            .pk
            .iter()
            .chain(self.uniques.iter().flat_map(|u| u.0.iter()))
            .chain(self.lists.iter().flatten());
        out.extend(keys.map(|c| c.ty.value.clone()));
        out
    }

    fn render(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let repo = ident(&self.t.repo_path.name)?;
        let many = if self.writable.is_empty() || self.unnest_ok() {
            ""
        } else {
            " (`insert_many`: one per 65,535 bind parameters)"
        };
        let text = format!(
            "The queries of `{}`, returning [`{}`] rows. Each function runs one statement on \
             the connection or transaction it is given{many}.",
            self.t.table.name, self.t.path.name,
        );
        let docs = doc(&text);
        let mut consts = TokenStream::new();
        let mut methods = TokenStream::new();
        let mut helpers = TokenStream::new();
        if !self.writable.is_empty() {
            let prefix = self.insert_prefix();
            consts.extend(quote! {
                /// The start of an insert: the columns it writes, in `push_values`' order.
                const INSERT: &'static str = #prefix;
            });
        }
        if self.has_update() {
            let prefix = format!("UPDATE {} SET ", self.table_sql);
            consts.extend(quote! {
                /// The start of `update`'s statement.
                const UPDATE: &'static str = #prefix;
            });
        }
        methods.extend(self.insert(scope)?);
        if !self.writable.is_empty() {
            methods.extend(self.insert_many(scope)?);
            helpers.extend(self.push_values(scope)?);
            if self.unnest_ok() {
                helpers.extend(self.push_unnest(scope)?);
            }
        }
        if !self.pk.is_empty() {
            methods.extend(self.get(scope)?);
            methods.extend(self.get_many(scope)?);
        }
        for (cols, _) in &self.uniques {
            methods.extend(self.find_by(scope, cols)?);
        }
        for cols in &self.lists {
            methods.extend(self.list_by(scope, cols)?);
        }
        if self.has_update() {
            methods.extend(self.update(scope)?);
        }
        let upserts = self.upsert_keys();
        for cols in &upserts {
            methods.extend(self.upsert(scope, cols)?);
        }
        if !upserts.is_empty() {
            helpers.extend(self.push_excluded(scope)?);
        }
        if !self.pk.is_empty() {
            methods.extend(self.delete(scope)?);
        }
        Ok(quote! {
            #docs
            #[derive(Debug, Clone, Copy, Default)]
            pub struct #repo;

            impl #repo {
                #consts
                #methods
                #helpers
            }
        })
    }

    fn row_type(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        scope.path(&TypePath::Generated(self.t.path.clone()))
    }

    /// `INSERT INTO t (writable columns) VALUES ` (or `DEFAULT VALUES` when there are none).
    fn insert_prefix(&self) -> String {
        let cols: Vec<String> = self.writable.iter().map(|c| column_sql(c)).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table_sql,
            cols.join(", ")
        )
    }

    fn insert(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        if self.writable.is_empty() {
            // language=PostgreSQL
            let sql = format!("INSERT INTO {} DEFAULT VALUES RETURNING *", self.table_sql);
            let docs = method_doc(
                "Inserts a row of defaults (the table has no column an insert may write) and \
                 returns it.",
                &sql,
            );
            return Ok(quote! {
                #docs
                pub async fn insert(conn: &mut PgConnection, _row: &#new) -> Result<#row, sqlx::Error> {
                    sqlx::query_as(#sql).persistent(false).fetch_one(conn).await
                }
            });
        }
        let sql = format!("{}(…) RETURNING *", self.insert_prefix());
        let docs = method_doc(
            "Inserts one row and returns it as stored (defaults, identity and generated columns \
             filled in). A field left `None` is written as `DEFAULT`.",
            &sql,
        );
        Ok(quote! {
            #docs
            pub async fn insert(conn: &mut PgConnection, row: &#new) -> Result<#row, sqlx::Error> {
                let mut query = QueryBuilder::<Postgres>::new(Self::INSERT);
                Self::push_values(&mut query, row);
                query.push(" RETURNING *");
                query.build_query_as::<#row>().persistent(false).fetch_one(conn).await
            }
        })
    }

    /// Whether `insert_many` can send one array per column (`unnest`): every column an insert
    /// writes has a type whose values sqlx binds as a one-dimensional array. PostgreSQL arrays
    /// (`Vec<T>` but `Vec<u8>`, which is `bytea`) would need two dimensions, which sqlx does not
    /// encode, and a `rust.type` hint may not have an array type.
    fn unnest_ok(&self) -> bool {
        self.writable.iter().all(|c| match &c.ty.value {
            RustType::Custom(_) => false,
            RustType::Path {
                path: TypePath::Builtin("Vec"),
                args,
            } => args.as_slice() == [RustType::builtin("u8")],
            RustType::Path { .. } => true,
        })
    }

    /// The columns whose `None` must stay `DEFAULT` in `insert_many`: optional ones with a
    /// default other than NULL (for the others, a NULL in the array is the default).
    fn defaulted(&self) -> Vec<&'i ColumnItem<'a>> {
        self.writable
            .iter()
            .copied()
            .filter(|c| matches!(&c.write, Write::Optional(f) if *f != Fallback::Null))
            .collect()
    }

    fn insert_many(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        if self.unnest_ok() {
            self.insert_many_unnest(scope)
        } else {
            self.insert_many_values(scope)
        }
    }

    /// `insert_many` as `INSERT … SELECT unnest($1), unnest($2), …`: one array per column,
    /// so one statement however many rows. Rows that leave different defaulted fields `None`
    /// go in different `INSERT`s (the columns they leave out get their `DEFAULT`), joined in
    /// one statement by `WITH` and put back in the order given.
    fn insert_many_unnest(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        let defaulted = self.defaulted();
        let text = "Inserts many rows in one statement, one array per column (`unnest`), and \
                    returns them in the order given. A field left `None` gets the column's \
                    default: rows that leave different fields out are inserted by separate \
                    `INSERT`s of the same statement. No rows, no statement.";
        let sql = format!(
            "{} SELECT unnest($1), unnest($2), … RETURNING *",
            self.insert_prefix()
                .trim_end()
                .trim_end_matches("VALUES")
                .trim_end()
        );
        let docs = method_doc(text, &sql);
        // The grouping helpers are at the top of the file.
        let helpers = if self.t.path.schema.is_none() {
            quote!()
        } else {
            quote!(super::)
        };
        if defaulted.is_empty() {
            return Ok(quote! {
                #docs
                pub async fn insert_many(conn: &mut PgConnection, rows: &[#new]) -> Result<Vec<#row>, sqlx::Error> {
                    if rows.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut query = QueryBuilder::<Postgres>::new("");
                    Self::push_unnest(&mut query, rows.iter(), &[]);
                    query.push(" RETURNING *");
                    query.build_query_as::<#row>().persistent(false).fetch_all(conn).await
                }
            });
        }
        let mut flags = Vec::new();
        for c in &defaulted {
            let field = ident(&c.field)?;
            flags.push(quote!(row.#field.is_some()));
        }
        Ok(quote! {
            #docs
            pub async fn insert_many(conn: &mut PgConnection, rows: &[#new]) -> Result<Vec<#row>, sqlx::Error> {
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let groups = #helpers group_by_shape(rows.iter().map(|row| [#(#flags),*]));
                let members = |indices: &[usize]| indices.iter().filter_map(|&i| rows.get(i)).collect::<Vec<_>>();
                let mut query = QueryBuilder::<Postgres>::new("");
                if let [(shape, indices)] = groups.as_slice() {
                    Self::push_unnest(&mut query, members(indices).into_iter(), shape);
                    query.push(" RETURNING *");
                    return query.build_query_as::<#row>().persistent(false).fetch_all(conn).await;
                }
                for (group, (shape, indices)) in groups.iter().enumerate() {
                    query.push(if group == 0 { "WITH g" } else { ", g" });
                    query.push(group);
                    query.push(" AS (");
                    Self::push_unnest(&mut query, members(indices).into_iter(), shape);
                    query.push(" RETURNING *)");
                }
                for group in 0..groups.len() {
                    query.push(if group == 0 { " SELECT * FROM g" } else { " UNION ALL SELECT * FROM g" });
                    query.push(group);
                }
                let returned = query.build_query_as::<#row>().persistent(false).fetch_all(conn).await?;
                #helpers in_input_order(returned, groups.iter().map(|(_, indices)| indices.as_slice()))
            }
        })
    }

    /// `fn push_unnest`: `INSERT INTO t (…) SELECT unnest($1), unnest($2), …` for rows of one
    /// shape.
    fn push_unnest(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        let defaulted = self.defaulted();
        let n = proc_macro2::Literal::usize_unsuffixed(defaulted.len());
        let prefix = format!("INSERT INTO {} (", self.table_sql);
        let mut columns = TokenStream::new();
        let mut arrays = TokenStream::new();
        for c in &self.writable {
            let field = ident(&c.field)?;
            let name = column_sql(c);
            // `Clone::clone(&…)` rather than `.clone()`: a type the mapping does not know to
            // be `Copy` may be (clippy flags `.clone()` on `Copy` values).
            let take = if self.is_copy(&c.ty.value) {
                quote!(row.#field)
            } else {
                quote!(Clone::clone(&row.#field))
            };
            let push_column = quote!(columns.push(#name););
            let push_array = quote! {
                arrays.push("unnest(");
                arrays.push_bind_unseparated(rows.clone().map(|row| #take).collect::<Vec<_>>());
                arrays.push_unseparated(")");
            };
            match defaulted
                .iter()
                .position(|d| d.column.name == c.column.name)
            {
                Some(k) => {
                    let k = proc_macro2::Literal::usize_unsuffixed(k);
                    columns.extend(quote!(if shape[#k] { #push_column }));
                    arrays.extend(quote!(if shape[#k] { #push_array }));
                }
                None => {
                    columns.extend(push_column);
                    arrays.extend(push_array);
                }
            }
        }
        let shape_param = if defaulted.is_empty() {
            quote!(_shape: &[bool])
        } else {
            quote!(shape: &[bool; #n])
        };
        let shape_doc = if defaulted.is_empty() {
            ""
        } else {
            " `shape` says which defaulted fields the rows set (in the order of `insert_many`'s \
             flags); the others are left out, so they get their `DEFAULT`."
        };
        let text = format!(
            "Pushes `INSERT INTO {} (…) SELECT unnest($1), unnest($2), …`: one array per column, of \
             `rows`' values.{shape_doc}",
            self.table_sql
        );
        let docs = doc(&text);
        Ok(quote! {
            #docs
            fn push_unnest<'r>(
                query: &mut QueryBuilder<'_, Postgres>,
                rows: impl Iterator<Item = &'r #new> + Clone,
                #shape_param,
            ) {
                query.push(#prefix);
                let mut columns = query.separated(", ");
                #columns
                query.push(") SELECT ");
                let mut arrays = query.separated(", ");
                #arrays
            }
        })
    }

    /// `insert_many` as a multi-row `VALUES`, for tables with a column `unnest` cannot take.
    fn insert_many_values(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        let per_statement = BIND_LIMIT / self.writable.len();
        let sql = format!("{}(…), (…), … RETURNING *", self.insert_prefix());
        let text = format!(
            "Inserts many rows in one statement (a multi-row `VALUES`, `DEFAULT` where a field \
             is `None`: a column of this table has a type that cannot be sent as one array per \
             column) and returns them in the order given. More than {per_statement} rows \
             (65,535 bind parameters) take one statement per {per_statement}; run it in a \
             transaction for all or nothing. No rows, no statement."
        );
        let docs = method_doc(&text, &sql);
        let per_statement = proc_macro2::Literal::usize_unsuffixed(per_statement);
        Ok(quote! {
            #docs
            pub async fn insert_many(conn: &mut PgConnection, rows: &[#new]) -> Result<Vec<#row>, sqlx::Error> {
                // As many rows as 65,535 bind parameters allow.
                const ROWS_PER_STATEMENT: usize = #per_statement;
                let mut inserted = Vec::with_capacity(rows.len());
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let mut query = QueryBuilder::<Postgres>::new(Self::INSERT);
                    for (index, row) in chunk.iter().enumerate() {
                        if index > 0 {
                            query.push(", ");
                        }
                        Self::push_values(&mut query, row);
                    }
                    query.push(" RETURNING *");
                    let mut rows = query.build_query_as::<#row>().persistent(false).fetch_all(&mut *conn).await?;
                    inserted.append(&mut rows);
                }
                Ok(inserted)
            }
        })
    }

    /// `fn push_values`: one `(…)` tuple of a row's values, `DEFAULT` for a field left `None`.
    fn push_values(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        let mut pushes = TokenStream::new();
        for c in &self.writable {
            let field = ident(&c.field)?;
            pushes.extend(match c.write {
                Write::Required if self.is_copy(&c.ty.field()) => {
                    quote!(values.push_bind(row.#field);)
                }
                Write::Required => quote!(values.push_bind(&row.#field);),
                _ => quote! {
                    match &row.#field {
                        Some(value) => values.push_bind(value),
                        None => values.push("DEFAULT"),
                    };
                },
            });
        }
        Ok(quote! {
            /// Pushes `(v1, v2, …)`: a bind parameter per set field, `DEFAULT` per field left
            /// `None`, in the column order of [`Self::INSERT`]. Fields are bound by reference
            /// unless their type is known to be `Copy` (a `rust.type` hint may be either).
            #[allow(clippy::needless_borrows_for_generic_args)]
            fn push_values<'q>(query: &mut QueryBuilder<'q, Postgres>, row: &'q #new) {
                let mut values = query.separated(", ");
                values.push_unseparated("(");
                #pushes
                values.push_unseparated(")");
            }
        })
    }

    fn get(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let params = self.params(scope, &self.pk, &[])?;
        let (decls, binds) = (params.decls(), params.binds());
        // language=PostgreSQL
        let sql = format!(
            "SELECT * FROM {} WHERE {}",
            self.table_sql,
            conditions(&self.pk, 1)
        );
        let docs = method_doc("The row with this primary key, if there is one.", &sql);
        Ok(quote! {
            #docs
            pub async fn get(conn: &mut PgConnection, #decls) -> Result<Option<#row>, sqlx::Error> {
                sqlx::query_as(#sql)
                    #binds
                    .persistent(false)
                    .fetch_optional(conn)
                    .await
            }
        })
    }

    fn get_many(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let order = column_list(&self.pk);
        if let [key] = self.pk.as_slice() {
            let ty = scope.ty(&key.ty.value)?;
            // language=PostgreSQL
            let sql = format!(
                "SELECT * FROM {} WHERE {} = ANY($1) ORDER BY {order}",
                self.table_sql,
                column_sql(key)
            );
            let docs = method_doc(
                "The rows with these primary keys, in key order; keys without a row are \
                 skipped. One statement whatever the number of keys.",
                &sql,
            );
            return Ok(quote! {
                #docs
                pub async fn get_many(conn: &mut PgConnection, keys: &[#ty]) -> Result<Vec<#row>, sqlx::Error> {
                    sqlx::query_as(#sql)
                        .bind(keys)
                        .persistent(false)
                        .fetch_all(conn)
                        .await
                }
            });
        }
        let types = self
            .pk
            .iter()
            .map(|c| scope.ty(&c.ty.value))
            .collect::<Result<Vec<_>, _>>()?;
        let placeholders: Vec<String> = (1..=self.pk.len()).map(|i| format!("${i}")).collect();
        // language=PostgreSQL
        let sql = format!(
            "SELECT * FROM {} WHERE ({order}) IN (SELECT * FROM unnest({})) ORDER BY {order}",
            self.table_sql,
            placeholders.join(", ")
        );
        let mut binds = TokenStream::new();
        for (i, c) in self.pk.iter().enumerate() {
            let index = syn::Index::from(i);
            let take = if self.is_copy(&c.ty.value) {
                quote!(key.#index)
            } else {
                quote!(Clone::clone(&key.#index))
            };
            binds.extend(quote!(.bind(keys.iter().map(|key| #take).collect::<Vec<_>>())));
        }
        let docs = method_doc(
            "The rows with these primary keys, in key order; keys without a row are skipped. \
             One statement whatever the number of keys (one array per key column).",
            &sql,
        );
        Ok(quote! {
            #docs
            pub async fn get_many(conn: &mut PgConnection, keys: &[(#(#types),*)]) -> Result<Vec<#row>, sqlx::Error> {
                sqlx::query_as(#sql)
                    #binds
                    .persistent(false)
                    .fetch_all(conn)
                    .await
            }
        })
    }

    fn find_by(
        &self,
        scope: &Scope,
        cols: &[&ColumnItem<'_>],
    ) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let name = ident(&format!("find_by_{}", suffix(cols)))?;
        let params = self.params(scope, cols, &[])?;
        let (decls, binds) = (params.decls(), params.binds());
        // language=PostgreSQL
        let sql = format!(
            "SELECT * FROM {} WHERE {}",
            self.table_sql,
            conditions(cols, 1)
        );
        let docs = method_doc(
            &format!(
                "The row whose unique key ({}) has these values, if there is one.",
                doc_list(cols)
            ),
            &sql,
        );
        Ok(quote! {
            #docs
            pub async fn #name(conn: &mut PgConnection, #decls) -> Result<Option<#row>, sqlx::Error> {
                sqlx::query_as(#sql)
                    #binds
                    .persistent(false)
                    .fetch_optional(conn)
                    .await
            }
        })
    }

    fn list_by(
        &self,
        scope: &Scope,
        cols: &[&ColumnItem<'_>],
    ) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let name = ident(&format!("list_by_{}", suffix(cols)))?;
        let params = self.params(scope, cols, &[])?;
        let (decls, binds) = (params.decls(), params.binds());
        let n = cols.len();
        let order = column_list(&self.pk);
        // The cursor: the key's own (owned) type, a tuple for a composite key.
        let key_types = self
            .pk
            .iter()
            .map(|c| scope.ty(&c.ty.value))
            .collect::<Result<Vec<_>, _>>()?;
        let cursor = match key_types.as_slice() {
            [one] => one.clone(),
            many => quote!((#(#many),*)),
        };
        let mut takes = Vec::new();
        for c in &self.pk {
            let field = ident(&c.field)?;
            takes.push(if self.is_copy(&c.ty.value) {
                quote!(row.#field)
            } else {
                quote!(Clone::clone(&row.#field))
            });
        }
        let next_key = match takes.as_slice() {
            [one] => one.clone(),
            many => quote!((#(#many),*)),
        };
        let after_binds = if self.pk.len() == 1 {
            quote!(.bind(after))
        } else {
            let parts = (0..self.pk.len()).map(|i| {
                let index = syn::Index::from(i);
                quote!(.bind(after.#index))
            });
            quote!(#(#parts)*)
        };
        let after_placeholders: Vec<String> = (n + 1..=n + self.pk.len())
            .map(|i| format!("${i}"))
            .collect();
        let after_condition = if self.pk.len() == 1 {
            format!("{order} > {}", after_placeholders.join(", "))
        } else {
            format!("({order}) > ({})", after_placeholders.join(", "))
        };
        // language=PostgreSQL
        let first = format!(
            "SELECT * FROM {} WHERE {} ORDER BY {order} LIMIT ${}",
            self.table_sql,
            conditions(cols, 1),
            n + 1
        );
        // language=PostgreSQL
        let next = format!(
            "SELECT * FROM {} WHERE {} AND {after_condition} ORDER BY {order} LIMIT ${}",
            self.table_sql,
            conditions(cols, 1),
            n + self.pk.len() + 1
        );
        let text = format!(
            "One page of the rows whose {} (a foreign key) has these values, in primary key \
             order: up to `limit` rows (at least 1) after the key `after` (`None`: from the \
             start), and the cursor of the next page (`None` on the last page). Keyset \
             pagination: a row is never returned twice nor skipped when rows are inserted or \
             deleted between pages; rows inserted behind the cursor are not seen.",
            doc_list(cols)
        );
        let mut docs = doc(&text);
        docs.extend(doc(&format!("\n```sql\n{first}\n{next}\n```")));
        Ok(quote! {
            #docs
            pub async fn #name(conn: &mut PgConnection, #decls, after: Option<#cursor>, limit: u32) -> Result<Page<#row, #cursor>, sqlx::Error> {
                // One row more than asked for says whether there is a next page.
                let fetch = i64::from(limit.max(1)) + 1;
                let rows: Vec<#row> = match after {
                    None => {
                        sqlx::query_as(#first)
                            #binds
                            .bind(fetch)
                            .persistent(false)
                            .fetch_all(conn)
                            .await?
                    }
                    Some(after) => {
                        sqlx::query_as(#next)
                            #binds
                            #after_binds
                            .bind(fetch)
                            .persistent(false)
                            .fetch_all(conn)
                            .await?
                    }
                };
                Ok(Page::from_rows(rows, limit, |row| #next_key))
            }
        })
    }

    fn update(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let patch = scope.path(&TypePath::Generated(self.t.patch_path.clone()))?;
        let params = self.params(scope, &self.pk, &[])?;
        let decls = params.decls();
        let args = params.args();
        let mut sets = TokenStream::new();
        for c in self.t.columns.iter().filter(|c| c.patchable()) {
            let field = ident(&c.field)?;
            let assign = format!("{} = ", column_sql(c));
            sets.extend(quote! {
                if let Some(value) = &patch.#field {
                    set.push(#assign);
                    set.push_bind_unseparated(value);
                }
            });
        }
        let mut wheres = TokenStream::new();
        for (i, (c, arg)) in self.pk.iter().zip(&params.names).enumerate() {
            let text = if i == 0 {
                format!(" WHERE {} = ", column_sql(c))
            } else {
                format!(" AND {} = ", column_sql(c))
            };
            wheres.extend(quote! {
                query.push(#text);
                query.push_bind(#arg);
            });
        }
        let wheres_sql = self
            .pk
            .iter()
            .map(|c| format!("{} = $…", column_sql(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "UPDATE {} SET c = $…, … WHERE {wheres_sql} RETURNING *",
            self.table_sql,
        );
        let docs = method_doc(
            "Writes the fields of `patch` that are `Some` (one `c = $…` each) to the row with \
             this primary key and returns the row as updated (`None`: no such row). An empty \
             patch sends no UPDATE, so no UPDATE trigger fires: the row is read as it is, and \
             the result means the same either way.",
            &sql,
        );
        Ok(quote! {
            #docs
            pub async fn update(conn: &mut PgConnection, #decls, patch: &#patch) -> Result<Option<#row>, sqlx::Error> {
                if patch.is_empty() {
                    return Self::get(conn, #(#args),*).await;
                }
                let mut query = QueryBuilder::<Postgres>::new(Self::UPDATE);
                let mut set = query.separated(", ");
                #sets
                #wheres
                query.push(" RETURNING *");
                query.build_query_as::<#row>().persistent(false).fetch_optional(conn).await
            }
        })
    }

    fn upsert(
        &self,
        scope: &Scope,
        cols: &[&ColumnItem<'_>],
    ) -> Result<TokenStream, RustRenderError> {
        let row = self.row_type(scope)?;
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        let name = ident(&format!("upsert_on_{}", suffix(cols)))?;
        let conflict = column_list(cols);
        let conflict_names: Vec<String> = cols.iter().map(|c| column_sql(c)).collect();
        let on_conflict = format!(" ON CONFLICT ({conflict}) DO UPDATE SET ");
        let sql = format!(
            "{}(…) ON CONFLICT ({conflict}) DO UPDATE SET c = EXCLUDED.c, … RETURNING *",
            self.insert_prefix()
        );
        let is_pk = same_order(cols, &self.pk);
        let key = if is_pk {
            "primary key".to_owned()
        } else {
            doc_list(cols)
        };
        let never = if is_pk {
            "never the primary key".to_owned()
        } else {
            format!("never the primary key nor {}", doc_list(cols))
        };
        let docs = method_doc(
            &format!(
                "Inserts the row, or, when a row with the same {key} exists, updates that row \
                 with the fields `row` sets (required ones and those that are `Some`; {never}) \
                 and returns it. A row that sets nothing else still counts as an update (UPDATE \
                 triggers fire) so that the existing row is returned."
            ),
            &sql,
        );
        Ok(quote! {
            #docs
            pub async fn #name(conn: &mut PgConnection, row: &#new) -> Result<#row, sqlx::Error> {
                let mut query = QueryBuilder::<Postgres>::new(Self::INSERT);
                Self::push_values(&mut query, row);
                query.push(#on_conflict);
                Self::push_excluded(&mut query, row, &[#(#conflict_names),*]);
                query.push(" RETURNING *");
                query.build_query_as::<#row>().persistent(false).fetch_one(conn).await
            }
        })
    }

    /// `fn push_excluded`: the `SET` list of an upsert.
    fn push_excluded(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let new = scope.path(&TypePath::Generated(self.t.new_path.clone()))?;
        // Setting a column to its current value: an update that changes nothing, so that
        // RETURNING gives the existing row (DO NOTHING would return no row).
        let fallback = self
            .writable
            .first()
            .map(|c| {
                format!(
                    "{col} = {table}.{col}",
                    col = column_sql(c),
                    table = quote_ident(self.t.table.name.name.as_str())
                )
            })
            .unwrap_or_default();
        let candidates: Vec<&&ColumnItem<'_>> =
            self.writable.iter().filter(|c| !c.primary_key).collect();
        let docs = quote! {
            /// Pushes `c = EXCLUDED.c` for every column `row` sets, except the primary key and
            /// the `conflict` columns; when that leaves none, a no-op assignment so that the
            /// existing row is returned.
        };
        if candidates.is_empty() {
            return Ok(quote! {
                #docs
                fn push_excluded(query: &mut QueryBuilder<'_, Postgres>, _row: &#new, _conflict: &[&str]) {
                    query.push(#fallback);
                }
            });
        }
        let n = proc_macro2::Literal::usize_unsuffixed(candidates.len());
        let mut entries = Vec::new();
        for c in candidates {
            let name = column_sql(c);
            let field = ident(&c.field)?;
            entries.push(match c.write {
                Write::Required => quote!((#name, true)),
                _ => quote!((#name, row.#field.is_some())),
            });
        }
        Ok(quote! {
            #docs
            fn push_excluded(query: &mut QueryBuilder<'_, Postgres>, row: &#new, conflict: &[&str]) {
                let columns: [(&str, bool); #n] = [#(#entries),*];
                let mut set = query.separated(", ");
                let mut any = false;
                for (column, is_set) in columns {
                    if is_set && !conflict.contains(&column) {
                        set.push(column);
                        set.push_unseparated(" = EXCLUDED.");
                        set.push_unseparated(column);
                        any = true;
                    }
                }
                if !any {
                    set.push(#fallback);
                }
            }
        })
    }

    fn delete(&self, scope: &Scope) -> Result<TokenStream, RustRenderError> {
        let params = self.params(scope, &self.pk, &[])?;
        let (decls, binds) = (params.decls(), params.binds());
        // language=PostgreSQL
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            self.table_sql,
            conditions(&self.pk, 1)
        );
        let docs = method_doc(
            "Deletes the row with this primary key; `true` when there was one.",
            &sql,
        );
        Ok(quote! {
            #docs
            pub async fn delete(conn: &mut PgConnection, #decls) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(#sql)
                    #binds
                    .persistent(false)
                    .execute(conn)
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        })
    }

    /// Whether values of `ty` are `Copy` (typed ids: when the type they wrap is).
    fn is_copy(&self, ty: &RustType) -> bool {
        if let RustType::Path {
            path: TypePath::Generated(item),
            ..
        } = ty
        {
            if item.module == Module::Ids {
                return self
                    .items
                    .ids
                    .iter()
                    .find(|id| &id.path == item)
                    .is_some_and(|id| id.inner.traits().copy);
            }
        }
        ty.traits().copy
    }

    /// The parameters for the values of `cols`: `Copy` types by value, `String` as `&str`,
    /// `Vec<T>` as `&[T]`, anything else by reference.
    fn params(
        &self,
        scope: &Scope,
        cols: &[&ColumnItem<'_>],
        taken: &[&str],
    ) -> Result<Params, RustRenderError> {
        let mut out = Params::default();
        for c in cols {
            let bare = c.field.trim_start_matches("r#");
            let name = if RESERVED_LOCALS.contains(&bare) || taken.contains(&bare) {
                ident(&format!("{bare}_value"))?
            } else {
                ident(&c.field)?
            };
            let ty = &c.ty.value;
            let ty_tokens = match ty {
                RustType::Path {
                    path: TypePath::Builtin("String"),
                    ..
                } => quote!(&str),
                RustType::Path {
                    path: TypePath::Builtin("Vec"),
                    args,
                } if args.len() == 1 => {
                    let inner = scope.ty(&args[0])?;
                    quote!(&[#inner])
                }
                _ if self.is_copy(ty) => scope.ty(ty)?,
                _ => {
                    let t = scope.ty(ty)?;
                    quote!(&#t)
                }
            };
            out.types.push(ty_tokens);
            out.names.push(name);
        }
        Ok(out)
    }
}

/// A function's key parameters.
#[derive(Default)]
struct Params {
    names: Vec<proc_macro2::Ident>,
    types: Vec<TokenStream>,
}

impl Params {
    /// `a: A, b: B`.
    fn decls(&self) -> TokenStream {
        let (names, types) = (&self.names, &self.types);
        quote!(#(#names: #types),*)
    }

    /// `.bind(a).bind(b)`.
    fn binds(&self) -> TokenStream {
        let names = &self.names;
        quote!(#(.bind(#names))*)
    }

    /// The names, to pass them on.
    fn args(&self) -> Vec<proc_macro2::Ident> {
        self.names.clone()
    }
}

/// The same columns in the same order.
fn same_order(a: &[&ColumnItem<'_>], b: &[&ColumnItem<'_>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.column.name == y.column.name)
}

/// A column's name in SQL, quoted.
fn column_sql(c: &ColumnItem<'_>) -> String {
    quote_ident(c.column.name.as_str())
}

/// `a, b`.
fn column_list(cols: &[&ColumnItem<'_>]) -> String {
    cols.iter()
        .map(|c| column_sql(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `` `a`, `b` `` for docs.
fn doc_list(cols: &[&ColumnItem<'_>]) -> String {
    cols.iter()
        .map(|c| format!("`{}`", c.column.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a = $1 AND b = $2`, numbering from `first`.
fn conditions(cols: &[&ColumnItem<'_>], first: usize) -> String {
    cols.iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ${}", column_sql(c), first + i))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The method-name suffix for a key: its fields, `_and_` between them (`user_id_and_job_id`).
fn suffix(cols: &[&ColumnItem<'_>]) -> String {
    cols.iter()
        .map(|c| c.field.trim_start_matches("r#"))
        .collect::<Vec<_>>()
        .join("_and_")
}

/// A method's docs: what it does, then its SQL.
fn method_doc(text: &str, sql: &str) -> TokenStream {
    let mut out = doc(text);
    out.extend(doc(&format!("\n```sql\n{sql}\n```")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture;

    /// `Repo: fn, fn, …` per repository, from the rendered tokens.
    fn functions(schema: &crate::model::Schema) -> String {
        let items = CrateItems::build(schema).unwrap();
        let file: syn::File = syn::parse2(render(&items).unwrap()).unwrap();
        let mut out = Vec::new();
        let mut stack: Vec<&syn::Item> = file.items.iter().collect();
        while let Some(item) = stack.pop() {
            match item {
                syn::Item::Mod(m) => {
                    stack.extend(m.content.iter().flat_map(|(_, items)| items));
                }
                syn::Item::Impl(imp) => {
                    let syn::Type::Path(ty) = &*imp.self_ty else {
                        continue;
                    };
                    let names: Vec<String> = imp
                        .items
                        .iter()
                        .filter_map(|i| match i {
                            syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
                                let args = f.sig.inputs.len();
                                Some(format!("{}/{args}", f.sig.ident))
                            }
                            _ => None,
                        })
                        .collect();
                    let name = quote!(#ty).to_string();
                    out.push(format!("{name}: {}", names.join(" ")));
                }
                _ => {}
            }
        }
        out.sort();
        out.join("\n")
    }

    /// Which functions each table gets, from its keys: none but inserts without a primary key
    /// (`base_items`, `regions`, `a_special_items`); key columns as arguments of `get` and
    /// `delete` (two for `events`' composite key); `find_by_…` for unique constraints (even a
    /// deferrable one, `invoices.number`) and unique indexes on plain columns (`users.seq_no`)
    /// but not on expressions or with a predicate (`users_name_lower_idx`); `upsert_on_…` for
    /// those that can be `ON CONFLICT` arbiters (not deferrable `invoices.number` nor
    /// `audit_log`'s deferrable primary key, not the identity `ALWAYS` `users.seq_no`, which
    /// never conflicts); `list_by_…` per foreign key.
    #[test]
    fn each_table_gets_the_functions_its_keys_allow() {
        let mut schema = fixture::every_field_schema();
        for t in schema.tables.values_mut() {
            for c in &mut t.columns {
                if c.name.as_str() == "amount" {
                    c.rust.rust_type = Some("String".into());
                }
            }
        }
        insta::assert_snapshot!(functions(&schema), @"
        ASpecialItemRepo: insert/2 insert_many/2
        AuditLogRepo: insert/2 insert_many/2 get/2 get_many/2 update/3 delete/2
        BaseItemRepo: insert/2 insert_many/2
        CacheEntryRepo: insert/2 insert_many/2 get/2 get_many/2 update/3 upsert_on_key/2 delete/2
        EventRepo: insert/2 insert_many/2 get/3 get_many/2 update/4 upsert_on_id_and_created_at/2 delete/3
        InvoiceRepo: insert/2 insert_many/2 get/2 get_many/2 find_by_number/2 list_by_reviewer_id/4 list_by_user_id/4 update/3 upsert_on_id/2 delete/2
        RegionRepo: insert/2 insert_many/2
        UserRepo: insert/2 insert_many/2 get/2 get_many/2 find_by_email/2 find_by_seq_no/2 list_by_last_invoice_id/4 update/3 upsert_on_id/2 upsert_on_email/2 delete/2
        ");
    }
}
