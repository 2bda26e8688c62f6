//! The `Model` impl: the schema as constants, row decoding by position,
//! parameter binding, `NotReadOnly` unless the model is read-only, and its
//! entry in the registry that start-up validation reads; and the stand-in
//! impls emitted next to the errors when the attributes have mistakes.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::columns;
use crate::internals::ast::{Container, Field};
use crate::internals::attr::{literal_text, Default};
use crate::internals::case::table_name;
use crate::internals::check::spelled_type;

pub fn expand(cont: &Container) -> TokenStream {
    let model = cont.ident;
    let model_name = model.to_string();
    let table = match &cont.attrs.table {
        Some(t) => t.value.clone(),
        None => table_name(&model_name),
    };
    let connection = connection_type(cont);
    let key_index = cont
        .fields
        .iter()
        .position(|f| f.attrs.primary_key.is_some())
        .unwrap_or_default();
    let key = &cont.fields[key_index];
    let key_ident = key.ident;
    let key_ty = field_type(key);
    let key_column = column_handle(cont, key);

    let column_schemas = cont.fields.iter().map(|f| column_schema(cont, f));
    let decode = cont.fields.iter().enumerate().map(|(i, f)| {
        let ident = f.ident;
        let column = column_handle(cont, f);
        quote!(#ident: ::orm::__private::via_column::decode::<#column>(row, offset + #i)?)
    });
    let bind_insert = cont
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.attrs.auto.is_none())
        .map(|field| bind(cont, field));

    let bind_update = cont
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.attrs.primary_key.is_none())
        .map(|field| bind(cont, field));
    let table_renamed_from =
        optional_str(cont.attrs.renamed_from.as_ref().map(|r| r.value.as_str()));
    let indexes = cont.attrs.indexes.iter().map(|index| {
        let unique = index.unique;
        // Checked: every name is a field; map each to its column.
        let columns = index.fields.iter().filter_map(|name| {
            let field = cont.fields.iter().find(|f| f.ident == name)?;
            Some(&field.column)
        });
        quote!(::orm::__private::IndexSchema { columns: &[#(#columns),*], unique: #unique })
    });
    let foreign_key_schemas = cont.fields.iter().filter_map(|f| {
        let target = &f.attrs.belongs_to.as_ref()?.value;
        let column = &f.column;
        let on_delete = match f.attrs.on_delete.as_ref().map(|o| o.value) {
            None => quote!(NoAction),
            Some(crate::internals::attr::OnDelete::Cascade) => quote!(Cascade),
            Some(crate::internals::attr::OnDelete::SetNull) => quote!(SetNull),
            Some(crate::internals::attr::OnDelete::Restrict) => quote!(Restrict),
        };
        Some(quote! {
            ::orm::__private::ForeignKeySchema {
                column: #column,
                on_delete: ::orm::__private::OnDelete::#on_delete,
                target: {
                    // Not through the target's `Model` impl: a target that is not a model
                    // is reported once, by the relation's check.
                    use ::orm::__private::relation_check::NotAModel as _;
                    ::orm::__private::relation_check::TargetOf::<#target>::TARGET
                },
            }
        })
    });
    let column_impls = columns::impls(cont);
    let foreign_keys = super::relations::foreign_keys(cont);
    let relation_impls = super::relations::impls(cont);
    let facts = super::relations::facts(cont);
    let is_new = match &key.attrs.auto {
        Some(_) => quote!(::orm::__private::is_unset_key(&self.#key_ident)),
        None => quote!(false),
    };
    let writable = writable_impl(cont);
    let assertions = cont.fields.iter().map(assertions);
    // Spanned on `cache`: a model without the serde derives is reported there.
    let cache = cont.attrs.cache.as_ref().map(|ttl| {
        let seconds = u64::from(ttl.value);
        let span = syn::spanned::Spanned::span(&ttl.tokens);
        quote_spanned! {span=>
            fn __cache() -> ::core::option::Option<::orm::__private::ModelCache<Self>> {
                ::core::option::Option::Some(::orm::__private::model_cache::<Self>(#seconds))
            }
        }
    });

    let identity = identity(&model_name, &connection, &key_ty);
    let on_connection = on_connection_impl(cont);
    quote! {
        const _: () = {
            static __ORM_SQL: ::orm::__private::SqlCache = ::orm::__private::SqlCache::new();
            const __ORM_COLUMNS: &[::orm::__private::ColumnSchema] = &[#(#column_schemas),*];

            #[automatically_derived]
            impl ::orm::Model for #model {
                #identity
                const SCHEMA: &'static ::orm::__private::TableSchema = &::orm::__private::TableSchema {
                    name: #table,
                    columns: __ORM_COLUMNS,
                    primary_key: #key_index,
                    renamed_from: #table_renamed_from,
                    connection: ::orm::__private::connection_name::<#model>(),
                    indexes: &[#(#indexes),*],
                    foreign_keys: &[#(#foreign_key_schemas),*],
                };

                fn __sql_cache() -> &'static ::orm::__private::SqlCache {
                    &__ORM_SQL
                }

                fn __decode(
                    row: ::orm::__private::RowRef<'_>,
                    offset: usize,
                ) -> ::orm::__private::Result<Self, ::orm::__private::Error> {
                    ::orm::__private::Result::Ok(Self { #(#decode),* })
                }

                fn __bind_insert(
                    &self,
                    args: &mut ::orm::__private::Args,
                ) -> ::orm::__private::Result<(), ::orm::__private::Error> {
                    #(#bind_insert)*
                    ::orm::__private::Result::Ok(())
                }

                fn __bind_update(
                    &self,
                    args: &mut ::orm::__private::Args,
                ) -> ::orm::__private::Result<(), ::orm::__private::Error> {
                    #(#bind_update)*
                    ::orm::__private::Result::Ok(())
                }

                fn __bind_key(
                    &self,
                    args: &mut ::orm::__private::Args,
                ) -> ::orm::__private::Result<(), ::orm::__private::Error> {
                    ::orm::__private::via_column::bind::<#key_column>(&self.#key_ident, args)
                }

                fn __is_new(&self) -> bool {
                    #is_new
                }

                fn __key_value(&self) -> ::orm::__private::Value {
                    ::orm::__private::via_column::into_value::<#key_column>(::core::clone::Clone::clone(&self.#key_ident))
                }

                #cache
            }

            #writable
            #on_connection

            ::orm::__private::inventory::submit! {
                ::orm::__private::ModelEntry {
                    model: #model_name,
                    schema: <#model as ::orm::Model>::SCHEMA,
                }
            }

            #facts
            #column_impls
            #foreign_keys
            #relation_impls
            #(#assertions)*
        };
    }
}

/// What stands in for the model when its attributes have errors, as
/// thiserror's `fallback.rs` does: `Model` with bodies that never run (the
/// program does not compile), the column impls, `NotReadOnly` unless
/// `read_only`. Queries and operations on the model then type-check, so the
/// user sees the attribute errors alone, not a cascade at every use.
pub fn fallback(mut cont: Container) -> TokenStream {
    let model = cont.ident;
    let model_name = model.to_string();
    let connection = connection_type(&cont);
    // The key's type as declared, without an `Option` (refused, and not a
    // key type), else any key type: the key is among the errors.
    let mut keys = cont.fields.iter().filter(|f| f.attrs.primary_key.is_some());
    let key_ty = match (keys.next(), keys.next()) {
        (Some(key), None) => {
            let ty = key.option_inner().unwrap_or(key.ty);
            quote_spanned!(key.ty_span()=> #ty)
        }
        _ => quote!(i64),
    };
    // An index naming a field that does not exist would name a column
    // handle that does not exist either (in a `UniqueKey` impl): left out.
    let fields: Vec<syn::Ident> = cont.fields.iter().map(|f| f.ident.clone()).collect();
    cont.attrs
        .indexes
        .retain(|index| index.fields.iter().all(|name| fields.contains(name)));
    let column_impls = columns::impls(&cont);
    let binds = ["__bind_insert", "__bind_update", "__bind_key"]
        .map(|name| syn::Ident::new(name, proc_macro2::Span::call_site()));
    let writable = writable_impl(&cont);
    let identity = identity(&model_name, &connection, &key_ty);
    let on_connection = on_connection_impl(&cont);
    quote! {
        const _: () = {
            #[automatically_derived]
            impl ::orm::Model for #model {
                #identity
                const SCHEMA: &'static ::orm::__private::TableSchema = &::orm::__private::TableSchema {
                    name: #model_name,
                    columns: &[],
                    primary_key: 0,
                    renamed_from: ::core::option::Option::None,
                    connection: <#connection as ::orm::ConnectionName>::NAME,
                    indexes: &[],
                    foreign_keys: &[],
                };

                fn __sql_cache() -> &'static ::orm::__private::SqlCache {
                    ::core::unreachable!()
                }

                fn __decode(
                    _: ::orm::__private::RowRef<'_>,
                    _: usize,
                ) -> ::orm::__private::Result<Self, ::orm::__private::Error> {
                    ::core::unreachable!()
                }

                #(
                    fn #binds(
                        &self,
                        _: &mut ::orm::__private::Args,
                    ) -> ::orm::__private::Result<(), ::orm::__private::Error> {
                        ::core::unreachable!()
                    }
                )*

                fn __is_new(&self) -> bool {
                    ::core::unreachable!()
                }

                fn __key_value(&self) -> ::orm::__private::Value {
                    ::core::unreachable!()
                }
            }

            #writable
            #on_connection

            #column_impls
        };
    }
}

/// `Model`'s associated types and name, the same in the model and its
/// stand-in.
fn identity(model_name: &str, connection: &TokenStream, key_ty: &TokenStream) -> TokenStream {
    quote! {
        type Connection = #connection;
        type Key = #key_ty;
        const NAME: &'static str = #model_name;
    }
}

/// Where an impl of a trait of the model's connection is spanned, for
/// rustc's "but `Trait<Essentials>` is implemented for it" to point at:
/// `connection = ...`, else the struct's name. Located there but resolved
/// as the macro's own code: a connection that does not resolve is then one
/// error, as in `Model`'s impl, not a second one with advice to add a type
/// parameter to the impl.
pub fn connection_span(cont: &Container) -> proc_macro2::Span {
    let at = match &cont.attrs.connection {
        Some(c) => syn::spanned::Spanned::span(&c.value),
        None => cont.ident.span(),
    };
    proc_macro2::Span::call_site().located_at(at)
}

/// The model's connection type: `connection = ...`, else the default one.
pub fn connection_type(cont: &Container) -> TokenStream {
    match &cont.attrs.connection {
        Some(c) => {
            let path = &c.value;
            quote!(#path)
        }
        None => quote!(::orm::DefaultConnection),
    }
}

/// `OnConnection` of the model's connection, spanned on `connection =
/// ...` where declared: rustc's "but `OnConnection<Essentials>` is
/// implemented for it" (a join across connections) points there.
fn on_connection_impl(cont: &Container) -> TokenStream {
    let model = cont.ident;
    let connection = connection_type(cont);
    let span = connection_span(cont);
    quote_spanned! {span=>
        #[automatically_derived]
        impl ::orm::query::OnConnection<#connection> for #model {}
    }
}

/// `NotReadOnly`, unless the model is `read_only`.
fn writable_impl(cont: &Container) -> TokenStream {
    let model = cont.ident;
    match &cont.attrs.read_only {
        Some(_) => quote!(),
        None => quote! {
            #[automatically_derived]
            impl ::orm::NotReadOnly for #model {}
        },
    }
}

/// Binds the field of `self` as the next parameter, for its column (the
/// `index`th): a value the column cannot hold is refused, naming it.
fn bind(cont: &Container, (index, f): (usize, &Field)) -> TokenStream {
    let ident = f.ident;
    let column = column_handle(cont, f);
    quote! {
        ::orm::__private::via_column::bind_column::<#column>(
            &self.#ident,
            args,
            <Self as ::orm::Model>::SCHEMA.name,
            &__ORM_COLUMNS[#index],
        )?;
    }
}

/// The field's type, carrying the field type's span: an unsupported type is
/// then reported once, on the user's type.
fn field_type(f: &Field) -> TokenStream {
    let ty = f.ty;
    quote_spanned!(f.ty_span()=> #ty)
}

/// The field's column handle, `order::id`. Generated code reaches a
/// field's type through it (`::orm::__private::via_column`), so that an
/// unsupported type is reported once, on the handle's `Column` impl.
fn column_handle(cont: &Container, f: &Field) -> TokenStream {
    let module = columns::module_ident(cont);
    let ident = f.ident;
    quote!(#module::#ident)
}

fn column_schema(cont: &Container, f: &Field) -> TokenStream {
    let column = column_handle(cont, f);
    let name = &f.column;
    let field = f.ident.to_string();
    let field = field.trim_start_matches("r#");
    let a = &f.attrs;
    let primary_key = a.primary_key.is_some();
    let auto = a.auto.is_some();
    let unique = a.unique.is_some();
    // A foreign key gets an index, as Rails' `references` and Django's
    // `ForeignKey` do: loading a relation filters on it. A unique one has one.
    let indexed = a.index.is_some() || (a.belongs_to.is_some() && a.unique.is_none());
    let max_length = match &a.max_length {
        Some(n) => {
            let n = n.value;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let decimal = match &a.precision {
        Some(precision) => {
            let precision = precision.value as u8;
            let scale = a.scale.as_ref().map_or(0, |s| s.value as u8);
            quote!(::core::option::Option::Some(::orm::__private::DecimalSize {
                precision: #precision,
                scale: #scale,
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let renamed_from = optional_str(a.renamed_from.as_ref().map(|r| r.value.as_str()));
    let default = match a.default.as_ref().map(|d| &d.value) {
        None => quote!(::core::option::Option::None),
        Some(Default::Int(n)) => {
            quote!(::core::option::Option::Some(::orm::__private::DefaultValue::Int(#n)))
        }
        Some(Default::Float(x)) => {
            quote!(::core::option::Option::Some(::orm::__private::DefaultValue::Float(#x)))
        }
        Some(Default::Bool(b)) => {
            quote!(::core::option::Option::Some(::orm::__private::DefaultValue::Bool(#b)))
        }
        Some(Default::Text(s)) => {
            quote!(::core::option::Option::Some(::orm::__private::DefaultValue::Text(#s)))
        }
    };
    quote! {
        ::orm::__private::ColumnSchema {
            name: #name,
            field: #field,
            sql_type: ::orm::__private::via_column::sql_type::<#column>(),
            rust_type: ::orm::__private::via_column::rust_name::<#column>(),
            nullable: ::orm::__private::via_column::nullable::<#column>(),
            primary_key: #primary_key,
            auto_increment: #auto,
            unique: #unique,
            indexed: #indexed,
            max_length: #max_length,
            decimal: #decimal,
            renamed_from: #renamed_from,
            default: #default,
        }
    }
}

/// Type rules of attributes, checked by the compiler on the user's tokens:
/// `auto` needs an integer, `max_length` a text type, `default` a literal of
/// the field's type.
fn assertions(f: &Field) -> TokenStream {
    let ty = f.ty;
    let mut out = TokenStream::new();
    if let Some(auto) = &f.attrs.auto {
        let span = first_span(&auto.tokens, f);
        out.extend(quote_spanned! {span=>
            const _: fn() = || {
                fn auto_key<T: ::orm::__private::AutoKey>() {}
                auto_key::<#ty>();
            };
        });
    }
    if let Some(max) = &f.attrs.max_length {
        let span = first_span(&max.tokens, f);
        out.extend(quote_spanned! {span=>
            const _: fn() = || {
                fn text<T: ::orm::__private::TextType>() {}
                text::<#ty>();
            };
        });
    }
    let decimal = [f.attrs.precision.as_ref(), f.attrs.scale.as_ref()];
    if let Some(size) = decimal.into_iter().flatten().next() {
        let span = first_span(&size.tokens, f);
        out.extend(quote_spanned! {span=>
            const _: fn() = || {
                fn decimal<T: ::orm::__private::DecimalType>() {}
                decimal::<#ty>();
            };
        });
    }
    if let Some(expr) = &f.attrs.default_expr {
        let span = syn::spanned::Spanned::span(expr);
        let literal = default_literal_text(expr);
        let decimal = match &f.attrs.precision {
            Some(precision) => {
                let precision = precision.value as u8;
                let scale = f.attrs.scale.as_ref().map_or(0, |s| s.value as u8);
                quote!(::core::option::Option::Some((#precision, #scale)))
            }
            None => quote!(::core::option::Option::None),
        };
        out.extend(quote_spanned! {span=>
            const _: fn() = || {
                fn default_of<T, V: ::orm::__private::DefaultOf<T>>(_: V) {}
                default_of::<#ty, _>(#expr);
            };
        });
        // The macro checked the text already where the type is spelled
        // out; else the compiler does, in a constant named for the
        // message it shows ("evaluation of `..._default` failed here").
        if spelled_type(f).is_none() {
            let name = quote::format_ident!(
                "{}_default",
                f.ident.to_string().trim_start_matches("r#"),
                span = span
            );
            out.extend(quote_spanned! {span=>
                #[allow(non_upper_case_globals, dead_code)]
                const #name: () = if let ::core::result::Result::Err(message) =
                    ::orm::__private::check_default::<#ty>(#literal, #decimal)
                {
                    ::core::panic!("{}", message)
                };
            });
        }
    }
    out
}

/// A `default` literal as the runtime's `Literal`: its kind and its text
/// as written (the digits of a number with its sign, a string's value).
fn default_literal_text(expr: &syn::Expr) -> TokenStream {
    match literal_text(expr) {
        Some((kind, t)) => {
            let kind = syn::Ident::new(kind.name(), proc_macro2::Span::call_site());
            quote!(::orm::__private::DefaultLiteral::#kind(#t))
        }
        None => quote!(::orm::__private::DefaultLiteral::Bool),
    }
}

/// Where an attribute starts, for an error on it; the field's type when it
/// has no tokens.
fn first_span(tokens: &TokenStream, f: &Field) -> proc_macro2::Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map(|t| t.span())
        .unwrap_or_else(|| f.ty_span())
}

fn optional_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}
