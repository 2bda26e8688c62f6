//! Relations: a typed handle per relation in the columns module, the
//! `ForeignKey` impl of each `belongs_to` column, and an accessor method per
//! relation on the struct. Loading is generic code in `orm::relations`.
//!
//! What a relation needs of the types it names (a target that is a model
//! and `Clone`, a key of the target's key type, a column that refers to this
//! model) is checked by one call per relation into
//! `orm::__private::relation_check`, spanned on the user's tokens. Every
//! other generated item that depends on those facts is conditional on them
//! (`where for<'__orm> ...`, which holds or not without being an error), so a
//! mistake is reported once, by its check, and not again by each item.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens as _};

use super::columns::module_ident;
use crate::internals::ast::Container;
use crate::internals::attr::{ParentKind, ParentRelation};

struct Rel {
    /// The accessor's name, spanned on the user's tokens that declare it
    /// (the relation's name, or a `belongs_to` field).
    name: syn::Ident,
    /// Where the relation is declared: `belongs_to` on its field, or its
    /// name in the model's attribute. Its handle is spanned there, for
    /// rustc's notes about it ("... is not implemented for `post::user`").
    declared: Span,
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
        let declared = match &field.attrs.relation {
            Some(relation) => relation.tokens.clone(),
            None => field
                .attrs
                .belongs_to
                .as_ref()
                .map(|b| b.tokens.clone())
                .unwrap_or_default(),
        };
        out.push(Rel {
            name: syn::Ident::new(&name, field.ident.span()),
            declared: declared
                .into_iter()
                .next()
                .map_or_else(|| field.ident.span(), |t| t.span()),
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
            declared: relation.name.span(),
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
        // rustc's "required by this bound" note points at the relation's
        // declaration, not at the whole attribute.
        let executor = quote_spanned! {rel.declared=>
            E: ::orm::Executor<'e, <<#module::#name as ::orm::Relation>::To as ::orm::Model>::Connection> + 'e,
        };
        quote! {
            #[doc = #doc]
            pub fn #name<'e, E>(
                &'e self,
                exec: E,
            ) -> ::orm::Pending<'e, <#module::#name as ::orm::Relation>::Loaded>
            where
                for<'__orm> #module::#name: ::orm::Relation<From = #model>,
                #executor
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

/// What makes a relation accessor called on another model an error in the
/// user's terms (see `orm::relations::hint`): the model dereferences to the
/// first `Hint` of its chain, and each of its relations gets a trait with
/// the accessor's name and signature on `Hint<M, d>` of every model `M`, at
/// a depth `d` hashed from the model's and the relation's names, whose
/// method requires the never-implemented `HasRelation`.
pub fn hints(cont: &Container, vis: &syn::Visibility) -> TokenStream {
    let model = cont.ident;
    let module = module_ident(cont);
    let traits = relations(cont).into_iter().map(|rel| {
        let name = &rel.name;
        let hint = format_ident!("__orm_relation_{}_{}", model, name);
        let hash = fnv1a(&format!("{model}::{name}"));
        // rustc's "required by this bound" note points at the relation's name.
        let bound = quote_spanned!(rel.declared=> M: ::orm::__private::HasRelation<#model, #module::#name>,);
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #vis trait #hint<M> {
                #[doc(hidden)]
                fn #name<'e, E>(
                    &'e self,
                    exec: E,
                ) -> ::orm::Pending<'e, <#module::#name as ::orm::Relation>::Loaded>
                where
                    for<'__orm> #module::#name: ::orm::Relation<From = #model>,
                    #bound
                {
                    let _ = exec;
                    match <M as ::orm::__private::HasRelation<#model, #module::#name>>::never() {}
                }
            }

            #[automatically_derived]
            impl<M: ::orm::Model> #hint<M>
                for ::orm::__private::Hint<M, { (#hash % ::orm::__private::HINT_DEPTH as u32) as u8 }>
            {
            }
        }
    });
    quote! {
        #[doc(hidden)]
        #[automatically_derived]
        impl ::core::ops::Deref for #model {
            type Target = ::orm::__private::Hint<#model, 0>;

            fn deref(&self) -> &Self::Target {
                ::orm::__private::Hint::NEW
            }
        }

        #(#traits)*
    }
}

/// The 32-bit FNV-1a hash of `text`: stable across builds and platforms.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The relation handles: unit structs inside the columns module (so that
/// `user::posts` names one), like the columns.
pub fn handles(cont: &Container) -> TokenStream {
    let handles = relations(cont).into_iter().map(|rel| {
        let name = syn::Ident::new(&rel.name.to_string(), rel.declared);
        let doc = &rel.doc;
        quote_spanned! {rel.declared=>
            #[doc = #doc]
            #[derive(Clone, Copy)]
            pub struct #name;
        }
    });
    quote!(#(#handles)*)
}

/// `Relation` (and `Joinable`) for each handle, delegating to the generic
/// relation type and only where that holds; outside the module, where the
/// user's paths resolve. Also what relations to this model check of it (that
/// it is a model, and its connection), and the check of each `has_many`,
/// `has_one` and `many_to_many` it declares.
pub fn impls(cont: &Container) -> TokenStream {
    let module = module_ident(cont);
    let impls = relations(cont).into_iter().map(|rel| {
        let name = &rel.name;
        let ty = &rel.ty;
        let joinable = quote! {
            #[automatically_derived]
            impl ::orm::Joinable for #module::#name
            where
                for<'__orm> #ty: ::orm::Joinable,
            {
                fn __joins(&self) -> ::std::vec::Vec<::orm::__private::JoinStep> {
                    ::orm::Joinable::__joins(&::orm::__private::relation::<#ty>())
                }
            }
        };
        quote! {
            #[automatically_derived]
            impl ::orm::Relation for #module::#name
            where
                for<'__orm> #ty: ::orm::Relation,
            {
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
    let model = cont.ident;
    let checks = cont
        .attrs
        .relations
        .iter()
        .map(|relation| check(cont, relation));
    // Spanned on the model's connection, where rustc's "but `LivesOn<C>` is
    // implemented for it" points; `RelationTarget` is not listed among "the
    // types that implement it" (models that are no answer to a relation to
    // a type that is not one).
    let connection = super::model::connection_type(cont);
    let at = super::model::connection_span(cont);
    let lives_on = quote_spanned! {at=>
        #[automatically_derived]
        impl ::orm::__private::relation_check::LivesOn<#connection> for #model {}
    };
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl ::orm::__private::relation_check::RelationTarget for #model {
            type Row = #model;
        }
        #lives_on
        #(#impls)*
        #(#checks)*
    }
}

/// The check of one `has_many`, `has_one` or `many_to_many`, each argument
/// spanned on the key it is about.
fn check(cont: &Container, relation: &ParentRelation) -> TokenStream {
    let model = cont.ident;
    let column = |key: &syn::Path, item: &str| {
        let key = key.to_token_stream();
        let item = format_ident!("{}", item);
        projection(
            &key,
            quote!(::orm::__private::relation_check::BelongsToColumn>::#item),
            &key,
        )
    };
    let fk = &relation.foreign_key;
    let target = column(fk, "Target");
    let child = column(fk, "Child");
    let call = match &relation.other_key {
        None => quote!(::orm::__private::relation_check::has::<#fk, #model, #target, #child>()),
        Some(other) => {
            let other_model = column(other, "Child");
            let other_target = column(other, "Target");
            let connection = projection(
                &child,
                quote!(::orm::Model > ::Connection),
                &other.to_token_stream(),
            );
            quote!(::orm::__private::relation_check::many_to_many::<
                #fk, #model, #target, #child, #other, #other_model, #other_target, #connection
            >())
        }
    };
    quote! {
        const _: fn() = || {
            #call;
        };
    }
}

/// `<#ty as #rest` (`rest` ends the projection: `Trait>::Item`), spanned on
/// `at`: `<` on its first token, `rest` on its last, so that an error about
/// the projection underlines all of `at`, as the user wrote it. `ty` keeps
/// its own spans: a name that does not resolve is reported where it is.
fn projection(ty: &TokenStream, rest: TokenStream, at: &TokenStream) -> TokenStream {
    let mut tokens = at.clone().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    let open = quote_spanned!(first=> <);
    let rest = respan(quote!(as #rest), last);
    quote!(#open #ty #rest)
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut new =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                TokenTree::Group(new)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// `ForeignKey` for every `belongs_to` column (when its target is a model),
/// the impls the checks of relations to it read, and its own check: the
/// target is a model, `Clone`, and its key type is the field's.
pub fn foreign_keys(cont: &Container) -> TokenStream {
    let module = module_ident(cont);
    let model = cont.ident;
    let impls = cont.fields.iter().filter_map(|field| {
        let target = &field.attrs.belongs_to.as_ref()?.value;
        let column = field.ident;
        let ty = field.ty;
        let target_tokens = target.to_token_stream();
        let ty_tokens = ty.to_token_stream();
        let row = projection(
            &target_tokens,
            quote!(::orm::__private::relation_check::RelationTarget>::Row),
            &target_tokens,
        );
        let key = projection(&row, quote!(::orm::Model>::Key), &ty_tokens);
        // On the field: "`BelongsToColumn` is implemented for `user_id`"
        // (a relation named where its column is wanted) points at it.
        let belongs_to_column = quote_spanned! {column.span()=>
            #[automatically_derived]
            impl ::orm::__private::relation_check::BelongsToColumn for #module::#column {
                type Target = #target;
                type Child = #model;
            }
        };
        Some(quote! {
            #[automatically_derived]
            impl ::orm::ForeignKey for #module::#column
            where
                for<'__orm> #target: ::orm::Model,
            {
                type Target = #target;
                fn __value(row: &#model) -> ::orm::__private::Value {
                    ::orm::__private::FieldType::into_value(::core::clone::Clone::clone(&row.#column))
                }
            }
            #belongs_to_column
            const _: fn() = || {
                ::orm::__private::relation_check::belongs_to::<#target, #row, #key, #ty>();
            };
        })
    });
    quote!(#(#impls)*)
}

/// The model's entry for the diagram (`orm::diagram`): its name, columns
/// module, read-only mark and declared relations, as strings only, so that
/// it can add no error of its own to a relation that has one.
pub fn facts(cont: &Container) -> TokenStream {
    let model = cont.ident;
    let model_name = model.to_string();
    let module = module_ident(cont).to_string();
    let module = module.trim_start_matches("r#");
    let read_only = cont.attrs.read_only.is_some();
    let text = |path: &syn::Path| quote!(#path).to_string().replace(' ', "");
    let mut relations = Vec::new();
    for field in &cont.fields {
        if let Some(name) = field.relation_name() {
            let key = field.ident.to_string();
            relations.push(quote! {
                ::orm::__private::DeclaredRelation {
                    name: #name,
                    kind: ::orm::__private::RelationKind::BelongsTo,
                    key: #key,
                    other_key: "",
                }
            });
        }
    }
    for relation in &cont.attrs.relations {
        let name = relation.name.to_string();
        let key = text(&relation.foreign_key);
        let other = relation.other_key.as_ref().map(text).unwrap_or_default();
        let kind = match relation.kind {
            ParentKind::HasMany => quote!(HasMany),
            ParentKind::HasOne => quote!(HasOne),
            ParentKind::ManyToMany => quote!(ManyToMany),
        };
        relations.push(quote! {
            ::orm::__private::DeclaredRelation {
                name: #name,
                kind: ::orm::__private::RelationKind::#kind,
                key: #key,
                other_key: #other,
            }
        });
    }
    quote! {
        ::orm::__private::inventory::submit! {
            ::orm::__private::ModelFacts {
                model: #model_name,
                module: #module,
                read_only: #read_only,
                schema: <#model as ::orm::Model>::SCHEMA,
                relations: &[#(#relations),*],
            }
        }
    }
}
