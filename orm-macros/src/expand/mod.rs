//! Generation. Runs only on input that parsed and checked cleanly, so it
//! cannot fail; each file generates one part of the model.

mod columns;
pub mod connections;
mod model;
mod relations;

use proc_macro2::TokenStream;
use quote::quote;

use crate::internals::{ast, check, ctxt::Ctxt};

/// `#[orm::model(args)] item`
pub fn model(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: syn::DeriveInput = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let err = syn::Error::new_spanned(
                input.clone(),
                "`#[orm::model]` applies to a struct with named fields",
            );
            let err = err.to_compile_error();
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
            quote! {
                #stripped
                #columns
                #model
                #relations
            }
        }
        (Err(err), cont) => {
            // The struct itself and its column handles still exist, so that
            // the only errors the user sees are the ones reported here.
            let err = err.to_compile_error();
            let columns = cont.map(|c| columns::expand(&c, &item.vis, false));
            quote! {
                #err
                #stripped
                #columns
            }
        }
        (Ok(()), None) => quote!(#stripped),
    }
}
