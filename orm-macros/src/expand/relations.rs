//! Relations: a typed handle per relation in the columns module, the
//! `ForeignKey` impl of each `belongs_to` column, and an accessor method per
//! relation on the struct. Loading is generic code in `orm::relations`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::columns::module_ident;
use crate::internals::ast::Container;
use crate::internals::attr::ParentKind;

struct Rel {
    name: syn::Ident,
    /// The relation's type: `::orm::BelongsTo<...>` etc.
    ty: TokenStream,
    doc: String,
}

fn relations(cont: &Container) -> Vec<Rel> {
    let module = module_ident(cont);
    let model = cont.ident;
    let mut out = Vec::new();
    for field in &cont.fields {
        let (Some(target), Some(name)) = (&field.attrs.belongs_to, field.relation_name()) else {
            continue;
        };
        let column = field.ident;
        let target = &target.value;
        out.push(Rel {
            name: format_ident!("{}", name),
            ty: quote!(::orm::BelongsTo<#module::#column>),
            doc: format!(
                "The `{}` that `{}` refers to (belongs_to).",
                quote!(#target).to_string().replace(' ', ""),
                field.ident
            ),
        });
    }
    for relation in &cont.attrs.relations {
        let fk = &relation.foreign_key;
        let fk_text = quote!(#fk).to_string().replace(' ', "");
        let (ty, doc) = match (relation.kind, &relation.other_key) {
            (ParentKind::HasMany, _) => (
                quote!(::orm::HasMany<#fk>),
                format!("The rows whose `{fk_text}` refers to this `{model}` (has_many)."),
            ),
            (ParentKind::HasOne, _) => (
                quote!(::orm::HasOne<#fk>),
                format!("The row whose `{fk_text}` refers to this `{model}`, if any (has_one)."),
            ),
            (ParentKind::ManyToMany, Some(other)) => (
                quote!(::orm::ManyToMany<#fk, #other>),
                format!(
                    "The rows joined to this `{model}` through `{fk_text}` -> `{}` (many-to-many).",
                    quote!(#other).to_string().replace(' ', "")
                ),
            ),
            (ParentKind::ManyToMany, None) => continue,
        };
        out.push(Rel {
            name: relation.name.clone(),
            ty,
            doc,
        });
    }
    out
}

/// The accessors, at the struct's scope.
pub fn expand(cont: &Container) -> TokenStream {
    let rels = relations(cont);
    if rels.is_empty() {
        return TokenStream::new();
    }
    let model = cont.ident;
    let module = module_ident(cont);
    let accessors = rels.iter().map(|rel| {
        let name = &rel.name;
        let doc = &rel.doc;
        quote! {
            #[doc = #doc]
            pub fn #name<'e, E>(
                &'e self,
                exec: E,
            ) -> impl ::core::future::Future<
                Output = ::orm::Result<<#module::#name as ::orm::Relation>::Loaded>,
            > + ::core::marker::Send + 'e
            where
                E: ::orm::Executor<'e, <<#module::#name as ::orm::Relation>::To as ::orm::Model>::Connection> + 'e,
            {
                ::orm::Relation::of(#module::#name, self, exec)
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #model {
            #(#accessors)*
        }
    }
}

/// The relation handles: unit structs inside the columns module (so that
/// `user::posts` names one), like the columns.
pub fn handles(cont: &Container) -> TokenStream {
    let handles = relations(cont).into_iter().map(|rel| {
        let name = &rel.name;
        let doc = &rel.doc;
        quote! {
            #[doc = #doc]
            #[derive(Clone, Copy)]
            pub struct #name;
        }
    });
    quote!(#(#handles)*)
}

/// `Relation` (and `Joinable`) for each handle, delegating to the generic
/// relation type; outside the module, where the user's paths resolve.
pub fn impls(cont: &Container) -> TokenStream {
    let module = module_ident(cont);
    let impls = relations(cont).into_iter().map(|rel| {
        let name = &rel.name;
        let ty = &rel.ty;
        let joinable = quote! {
            #[automatically_derived]
            impl ::orm::Joinable for #module::#name {
                fn __joins(&self) -> ::std::vec::Vec<::orm::__private::JoinStep> {
                    ::orm::Joinable::__joins(&::orm::__private::relation::<#ty>())
                }
            }
        };
        quote! {
            #[automatically_derived]
            impl ::orm::Relation for #module::#name {
                type From = <#ty as ::orm::Relation>::From;
                type To = <#ty as ::orm::Relation>::To;
                type Loaded = <#ty as ::orm::Relation>::Loaded;
                fn __load<'e>(
                    self,
                    parents: ::std::vec::Vec<&'e Self::From>,
                    conn: ::orm::__private::Session<'e>,
                ) -> impl ::core::future::Future<
                    Output = ::orm::Result<::std::vec::Vec<Self::Loaded>>,
                > + ::core::marker::Send + 'e {
                    ::orm::Relation::__load(::orm::__private::relation::<#ty>(), parents, conn)
                }
            }
            #joinable
        }
    });
    quote!(#(#impls)*)
}

/// `ForeignKey` for every `belongs_to` column, with the check that its type
/// matches the target's key.
pub fn foreign_keys(cont: &Container) -> TokenStream {
    let module = module_ident(cont);
    let model = cont.ident;
    let impls = cont.fields.iter().filter_map(|field| {
        let target = &field.attrs.belongs_to.as_ref()?.value;
        let column = field.ident;
        let ty = field.ty;
        let target_span = quote_spanned!(field.attrs.belongs_to.as_ref()?.tokens.clone().into_iter().next()?.span()=> #target);
        let ty_spanned = quote_spanned!(field.ty_span()=> #ty);
        Some(quote! {
            #[automatically_derived]
            impl ::orm::ForeignKey for #module::#column {
                type Target = #target_span;
                fn __value(row: &#model) -> ::orm::__private::Value {
                    ::orm::__private::FieldType::into_value(::core::clone::Clone::clone(&row.#column))
                }
            }
            const _: fn() = || {
                fn key_of<F: ::orm::KeyOf<K>, K>() {}
                key_of::<#ty_spanned, <#target_span as ::orm::Model>::Key>();
            };
        })
    });
    quote!(#(#impls)*)
}
