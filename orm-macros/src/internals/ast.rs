//! The typed model of one `#[orm::model]` struct, keeping the original syntax
//! for spans.

use syn::spanned::Spanned as _;

use super::attr;
use super::ctxt::Ctxt;
use super::symbol::ORM;

/// The struct being turned into a model.
pub struct Container<'a> {
    pub ident: &'a syn::Ident,
    pub attrs: attr::Container,
    pub fields: Vec<Field<'a>>,
}

/// One named field.
pub struct Field<'a> {
    pub ident: &'a syn::Ident,
    pub ty: &'a syn::Type,
    pub attrs: attr::Field,
    /// The column name: `column = "..."`, else the field's name.
    pub column: String,
}

impl<'a> Container<'a> {
    /// Reads the struct; `None` (with errors recorded) when it is not a struct
    /// with named fields and no generics.
    pub fn from_ast(
        cx: &Ctxt,
        args: proc_macro2::TokenStream,
        item: &'a syn::DeriveInput,
    ) -> Option<Container<'a>> {
        let attrs = attr::Container::from_args(cx, args);
        let what =
            "`#[orm::model]` needs a struct with named fields, like `struct Order { id: i64 }`";
        let fields = match &item.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(named) => &named.named,
                syn::Fields::Unnamed(_) => {
                    cx.error_spanned_by(
                        &item.ident,
                        format!("{what}; a tuple struct has no field names to use as column names"),
                    );
                    return None;
                }
                syn::Fields::Unit => {
                    cx.error_spanned_by(
                        &item.ident,
                        format!("{what}; a unit struct has no columns"),
                    );
                    return None;
                }
            },
            syn::Data::Enum(data) => {
                cx.error_spanned_by(data.enum_token, format!("{what}, not an enum"));
                return None;
            }
            syn::Data::Union(data) => {
                cx.error_spanned_by(data.union_token, format!("{what}, not a union"));
                return None;
            }
        };
        if !item.generics.params.is_empty() {
            cx.error_spanned_by(
                &item.generics,
                "`#[orm::model]` cannot be used on a generic struct: a table has one fixed set of column types; remove the type, lifetime and const parameters",
            );
            return None;
        }
        let fields = fields
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                let attrs = attr::Field::from_ast(cx, field);
                let column = match &attrs.column {
                    Some(c) => c.value.clone(),
                    None => ident.to_string().trim_start_matches("r#").to_owned(),
                };
                Some(Field {
                    ident,
                    ty: &field.ty,
                    attrs,
                    column,
                })
            })
            .collect();
        Some(Container {
            ident: &item.ident,
            attrs,
            fields,
        })
    }
}

impl Field<'_> {
    /// Whether the field's type is spelled `Option<...>` (nullable).
    pub fn is_option(&self) -> bool {
        match self.ty {
            syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Option"),
            _ => false,
        }
    }

    /// `T` of a field spelled `Option<T>`.
    pub fn option_inner(&self) -> Option<&syn::Type> {
        let syn::Type::Path(p) = self.ty else {
            return None;
        };
        let last = p.path.segments.last().filter(|s| s.ident == "Option")?;
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        match args.args.first()? {
            syn::GenericArgument::Type(inner) => Some(inner),
            _ => None,
        }
    }

    /// The span of the field's type, where type errors are reported.
    pub fn ty_span(&self) -> proc_macro2::Span {
        self.ty.span()
    }
}

/// The struct as the user wrote it, minus our `#[orm(...)]` attributes,
/// which are not real attributes once the macro has read them.
pub fn strip_orm_attrs(item: &syn::DeriveInput) -> syn::DeriveInput {
    let mut item = item.clone();
    if let syn::Data::Struct(data) = &mut item.data {
        for field in data.fields.iter_mut() {
            field.attrs.retain(|a| a.path() != ORM);
        }
    }
    item
}

impl Field<'_> {
    /// The name of the relation a `belongs_to` field declares: `relation =
    /// "..."`, else the field's name without its `_id` suffix.
    pub fn relation_name(&self) -> Option<String> {
        self.attrs.belongs_to.as_ref()?;
        if let Some(name) = &self.attrs.relation {
            return Some(name.value.clone());
        }
        let field = self.ident.to_string();
        let field = field.trim_start_matches("r#");
        field
            .strip_suffix("_id")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}
