//! Generation. Runs only on input that parsed and checked cleanly, so it
//! cannot fail; each file generates one part of the model.

mod columns;
pub mod connections;
mod model;
mod relations;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::internals::{ast, check, ctxt::Ctxt};

/// `#[orm::model(args)] item`
pub fn model(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: syn::DeriveInput = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let err = not_a_struct(&input).to_compile_error();
            return quote!(#err #input);
        }
    };
    let stripped = ast::strip_orm_attrs(&item);
    let cx = Ctxt::new();
    let cont = ast::Container::from_ast(&cx, args, &item);
    if let Some(cont) = &cont {
        check::check(&cx, cont);
    }
    match (cx.check(), cont) {
        (Ok(()), Some(cont)) => {
            let columns = columns::expand(&cont, &item.vis, true);
            let model = model::expand(&cont);
            let relations = relations::expand(&cont);
            let hints = relations::hints(&cont, &item.vis);
            quote! {
                #stripped
                #columns
                #model
                #relations
                #hints
            }
        }
        (Err(err), cont) => {
            // The struct, its column handles and a stand-in `Model` impl
            // still exist, so that the only errors the user sees are the
            // ones reported here.
            let err = err.to_compile_error();
            // No columns module when its name is one Rust reserves: it
            // cannot be written, and `check` has said so.
            let cont = cont.filter(|c| check::reserved_module_name(c).is_none());
            let columns = cont.as_ref().map(|c| columns::expand(c, &item.vis, false));
            let model = cont.map(model::fallback);
            quote! {
                #err
                #stripped
                #columns
                #model
            }
        }
        (Ok(()), None) => quote!(#stripped),
    }
}

/// The error for an item that is not a struct, an enum or a union: what it
/// is, on its name where it has one.
fn not_a_struct(input: &TokenStream) -> syn::Error {
    let (what, at) = match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Fn(f)) => ("a function", f.sig.ident.into_token_stream()),
        Ok(syn::Item::Trait(t)) => ("a trait", t.ident.into_token_stream()),
        Ok(syn::Item::Impl(i)) => ("an impl block", i.impl_token.into_token_stream()),
        Ok(syn::Item::Mod(m)) => ("a module", m.ident.into_token_stream()),
        Ok(syn::Item::Type(t)) => ("a type alias", t.ident.into_token_stream()),
        Ok(syn::Item::Const(c)) => ("a constant", c.ident.into_token_stream()),
        Ok(syn::Item::Static(s)) => ("a static", s.ident.into_token_stream()),
        _ => ("this item", input.clone()),
    };
    syn::Error::new_spanned(
        at,
        format!("`#[orm::model]` needs a struct with named fields, like `struct Order {{ id: i64 }}`, not {what}"),
    )
}
