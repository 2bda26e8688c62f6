//! The column handles: a module named after the struct in snake case, with
//! one unit struct per field, and their `Column` impls.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::internals::ast::Container;
use crate::internals::case::snake_case;

/// The name of the columns module: `OrderLine` -> `order_line`. A keyword
/// (`Type` -> `type`) becomes a raw identifier; the ones that cannot be raw
/// were refused by `check`.
pub fn module_ident(cont: &Container) -> syn::Ident {
    let name = snake_case(&cont.ident.to_string());
    let span = cont.ident.span();
    if syn::parse_str::<syn::Ident>(&name).is_ok() {
        syn::Ident::new(&name, span)
    } else {
        syn::Ident::new_raw(&name, span)
    }
}

/// The module of unit structs. Emitted even when the attributes had errors,
/// so that uses of the columns do not add errors of their own.
pub fn expand(cont: &Container, vis: &syn::Visibility, with_relations: bool) -> TokenStream {
    let module = module_ident(cont);
    let model = cont.ident;
    let module_doc =
        format!("Column handles of [`{model}`], for queries: `{module}::<column>.eq(...)`.");
    let handles = cont.fields.iter().map(|field| {
        let ident = field.ident;
        let doc = format!(
            "The `{}` column of [`{model}`](super::{model}).",
            field.column
        );
        // Spanned on the field: rustc's notes about the handle ("the
        // trait ... is not implemented for `user_id`") point at it.
        quote_spanned! {ident.span()=>
            #[doc = #doc]
            #[derive(Clone, Copy)]
            pub struct #ident;
        }
    });
    let relations = if with_relations {
        super::relations::handles(cont)
    } else {
        TokenStream::new()
    };
    quote! {
        #[doc = #module_doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis mod #module {
            #(#handles)*
            #relations
        }
    }
}

/// `impl Column for <module>::<field>` for every field.
pub fn impls(cont: &Container) -> TokenStream {
    let module = module_ident(cont);
    let model = cont.ident;
    let unique_keys = unique_keys(cont);
    let impls = cont.fields.iter().enumerate().map(|(index, field)| {
        let ident = field.ident;
        let ty = field.ty;
        let name = &field.column;
        let field_ty = quote_spanned!(field.ty_span()=> #ty);
        // On the field: "but `ColumnOf<User>` is implemented for it" (a
        // column of another model) points at the column's declaration.
        let column_of = quote_spanned! {ident.span()=>
            #[automatically_derived]
            impl ::orm::ColumnOf<#model> for #module::#ident {}
        };
        quote! {
            // Not listed among "the following other types implement
            // `Column`" when a query is given something else: the columns
            // of some model are no advice there.
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl ::orm::Column for #module::#ident {
                type Model = #model;
                type Type = #field_ty;
                const NAME: &'static str = #name;
                const INDEX: usize = #index;
            }

            #column_of

            #[automatically_derived]
            impl<Keys, I> ::orm::__private::GroupedBy<Keys, ::orm::__private::ByKey<I>> for #module::#ident
            where
                Self: ::orm::__private::KeyIn<Keys, I>,
            {
            }

            #[automatically_derived]
            impl<R: ::orm::query::ArithOperand<#field_ty>> ::core::ops::Add<R> for #module::#ident {
                type Output = ::orm::Expr<R::Scope<#model>, R::Out, R::Kind<::orm::query::Plain>>;
                fn add(self, right: R) -> Self::Output {
                    ::orm::__private::arith(self, ::orm::query::ArithOp::Add, right)
                }
            }

            #[automatically_derived]
            impl<R: ::orm::query::ArithOperand<#field_ty>> ::core::ops::Sub<R> for #module::#ident {
                type Output = ::orm::Expr<R::Scope<#model>, R::Out, R::Kind<::orm::query::Plain>>;
                fn sub(self, right: R) -> Self::Output {
                    ::orm::__private::arith(self, ::orm::query::ArithOp::Sub, right)
                }
            }

            #[automatically_derived]
            impl<R: ::orm::query::ArithOperand<#field_ty>> ::core::ops::Mul<R> for #module::#ident {
                type Output = ::orm::Expr<R::Scope<#model>, R::Out, R::Kind<::orm::query::Plain>>;
                fn mul(self, right: R) -> Self::Output {
                    ::orm::__private::arith(self, ::orm::query::ArithOp::Mul, right)
                }
            }

            #[automatically_derived]
            impl<R: ::orm::query::ArithOperand<#field_ty>> ::core::ops::Div<R> for #module::#ident
            where
                R::Out: ::orm::__private::Scalar,
            {
                type Output = ::orm::query::Quotient<R::Scope<#model>, R::Out, R::Kind<::orm::query::Plain>>;
                fn div(self, right: R) -> Self::Output {
                    ::orm::__private::divide(self, right)
                }
            }
        }
    });
    quote!(#(#impls)* #(#unique_keys)*)
}

/// `impl UniqueKey` for what an upsert may name as its conflict target: the
/// primary key, each `unique` column, and each `unique(a, b)` index as a
/// tuple of its columns in index order.
fn unique_keys(cont: &Container) -> Vec<TokenStream> {
    let module = module_ident(cont);
    let model = cont.ident;
    let single = cont
        .fields
        .iter()
        .filter(|f| f.attrs.primary_key.is_some() || f.attrs.unique.is_some())
        .map(|f| {
            let ident = f.ident;
            (quote!(#module::#ident), ident.span())
        });
    let unique: Vec<_> = cont.attrs.indexes.iter().filter(|i| i.unique).collect();
    // The same index declared twice would be two impls of one trait.
    let indexes = unique.iter().enumerate().filter_map(|(n, i)| {
        let fields = &i.fields;
        let repeated = unique[..n].iter().any(|earlier| earlier.fields == *fields);
        let span = fields
            .first()
            .map_or_else(proc_macro2::Span::call_site, |f| f.span());
        (!repeated).then(|| (quote!((#(#module::#fields,)*)), span))
    });
    // Each impl spanned on the field or index that declares the key, where
    // rustc's list of the keys an upsert may name points.
    single
        .chain(indexes)
        .map(|(key, span)| {
            quote_spanned! {span=>
                #[automatically_derived]
                impl ::orm::upsert::UniqueKey<#model> for #key {}
            }
        })
        .collect()
}
