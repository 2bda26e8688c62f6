//! `orm::connections! { pub Main = "db"; pub Legacy = "legacy", read_only; }`
//!
//! Parses the declarations, checks them (names unique, usable as variable
//! names; the default connection writable), then generates one type per
//! connection with its `ConnectionName` impl, `WritableConnection` unless
//! read-only, and its registry entry.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;

use crate::internals::ctxt::Ctxt;
use crate::internals::symbol::READ_ONLY;

/// One declaration: `pub Name = "name" [, read_only];`
struct Declaration {
    attrs: Vec<syn::Attribute>,
    vis: syn::Visibility,
    ident: syn::Ident,
    name: syn::LitStr,
    read_only: Option<syn::Ident>,
}

struct Declarations(Vec<Declaration>);

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let ident = input.parse()?;
        input.parse::<syn::Token![=]>()?;
        let name = input.parse()?;
        let mut read_only = None;
        if input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
            let flag: syn::Ident = input.parse()?;
            if flag != READ_ONLY {
                return Err(syn::Error::new_spanned(
                    &flag,
                    format!("unknown connection option `{flag}`; the only option is `read_only`"),
                ));
            }
            read_only = Some(flag);
        }
        Ok(Declaration {
            attrs,
            vis,
            ident,
            name,
            read_only,
        })
    }
}

impl Parse for Declarations {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let list = Punctuated::<Declaration, syn::Token![;]>::parse_terminated(input)?;
        Ok(Declarations(list.into_iter().collect()))
    }
}

const DEFAULT: &str = "db";

/// `name` made a valid connection name, for the message that refuses it:
/// lower-case, every other character `_` ("Old CRM" -> "old_crm").
fn valid_name(name: &str) -> String {
    let out: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "main".to_owned()
    } else {
        out
    }
}

/// Names become environment variables and must be unique.
fn check(cx: &Ctxt, decls: &[Declaration]) {
    for (i, d) in decls.iter().enumerate() {
        let name = d.name.value();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            cx.error_spanned_by(
                &d.name,
                format!(
                    "a connection name is lower-case letters, digits and `_` (it names the DATABASE_<NAME>_URL variable): write `\"{}\"`",
                    valid_name(&name)
                ),
            );
        }
        if let Some(first) = decls[..i].iter().find(|e| e.name.value() == name) {
            let (first, this) = (&first.ident, &d.ident);
            cx.error_spanned_by(
                &d.name,
                format!(
                    "connection `{name}` is already declared as `{first}`: use `{first}` instead of declaring `{this}`, or give `{this}` another name"
                ),
            );
        }
        if name == DEFAULT {
            if let Some(flag) = &d.read_only {
                cx.error_spanned_by(
                    flag,
                    "the default connection `db` cannot be read-only: models without a `connection` live there; declare the read-only database under another name",
                );
            }
        }
    }
}

pub fn expand(input: TokenStream) -> TokenStream {
    let decls = match syn::parse2::<Declarations>(input) {
        Ok(d) => d.0,
        Err(e) => return e.to_compile_error(),
    };
    let cx = Ctxt::new();
    check(&cx, &decls);
    if let Err(e) = cx.check() {
        return e.to_compile_error();
    }
    let items = decls.iter().map(|d| {
        let Declaration {
            attrs,
            vis,
            ident,
            name,
            read_only,
        } = d;
        if name.value() == DEFAULT {
            let doc = format!("The default connection `{DEFAULT}`.");
            return quote! {
                #[doc = #doc]
                #(#attrs)*
                #vis type #ident = ::orm::DefaultConnection;
            };
        }
        let is_read_only = read_only.is_some();
        let doc = if is_read_only {
            format!("The read-only connection `{}`.", name.value())
        } else {
            format!("The connection `{}`.", name.value())
        };
        let writable = if is_read_only {
            quote!()
        } else {
            quote! {
                #[automatically_derived]
                #[diagnostic::do_not_recommend]
                impl ::orm::WritableConnection for #ident {}
            }
        };
        quote! {
            #[doc = #doc]
            #(#attrs)*
            #[derive(Clone, Copy, Debug, Default)]
            #vis struct #ident;

            #[automatically_derived]
            impl ::orm::ConnectionName for #ident {
                const NAME: &'static str = #name;
                const READ_ONLY: bool = #is_read_only;
            }

            #writable

            ::orm::__private::inventory::submit! {
                ::orm::__private::ConnectionEntry { name: #name, read_only: #is_read_only }
            }
        }
    });
    quote!(#(#items)*)
}
