//! Procedural macros of the `orm` crate. Use them through `orm`, which
//! re-exports them; the generated code refers to `::orm`.
//!
//! Each macro runs the same pipeline: parse the input into a typed model
//! (`internals::ast`), check the rules that span several fields
//! (`internals::check`), then generate (`expand`). Errors are collected in a
//! context and reported together, each on the tokens at fault; generation
//! runs only when there are none, so it cannot fail.

mod expand;
mod internals;

use proc_macro::TokenStream;

/// Turns a struct with named fields into a model. See the `orm` crate.
#[proc_macro_attribute]
pub fn model(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::model(args.into(), input.into()).into()
}

/// Declares named connections. See the `orm` crate.
#[proc_macro]
pub fn connections(input: TokenStream) -> TokenStream {
    expand::connections::expand(input.into()).into()
}
