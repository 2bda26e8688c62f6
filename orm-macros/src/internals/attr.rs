//! Parsing of `#[orm::model(...)]` (the container) and `#[orm(...)]` (fields).
//!
//! Each accepted syntax is written as a comment over its branch. Unknown keys,
//! duplicates and malformed values are errors on their own tokens; parsing
//! goes on after an error so that every mistake is reported in one pass.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

use super::ctxt::Ctxt;
use super::symbol::*;

/// One attribute value with the tokens it came from, for error spans.
pub struct Attr<'c, T> {
    cx: &'c Ctxt,
    name: Symbol,
    tokens: TokenStream,
    value: Option<T>,
}

impl<'c, T> Attr<'c, T> {
    fn none(cx: &'c Ctxt, name: Symbol) -> Self {
        Attr {
            cx,
            name,
            tokens: TokenStream::new(),
            value: None,
        }
    }

    fn set<A: ToTokens>(&mut self, obj: A, value: T) {
        let tokens = obj.into_token_stream();
        if self.value.is_some() {
            self.cx.error_spanned_by(
                tokens,
                format!(
                    "duplicate orm attribute `{}`; give it once: remove this one or the other",
                    self.name
                ),
            );
        } else {
            self.tokens = tokens;
            self.value = Some(value);
        }
    }

    fn get(self) -> Option<Spanned<T>> {
        let tokens = self.tokens;
        self.value.map(|value| Spanned { value, tokens })
    }
}

/// A value and the tokens that set it.
#[derive(Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub tokens: TokenStream,
}

impl<T> ToTokens for Spanned<T> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens);
    }
}

/// What `#[orm::model(...)]` says.
pub struct Container {
    pub table: Option<Spanned<String>>,
    pub connection: Option<Spanned<syn::Path>>,
    pub read_only: Option<Spanned<()>>,
    pub relations: Vec<ParentRelation>,
    pub renamed_from: Option<Spanned<String>>,
    pub indexes: Vec<CompositeIndex>,
    /// `cache(ttl = 60)`: lookups by key are cached this many seconds; the
    /// tokens are `cache`, for the span of a missing serde derive.
    pub cache: Option<Spanned<u32>>,
}

/// `index(a, b)` or `unique(a, b)` on the model: an index over several fields.
pub struct CompositeIndex {
    pub unique: bool,
    /// The fields, by their Rust names, in index order.
    pub fields: Vec<syn::Ident>,
}

/// What kind of relation a container declares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ParentKind {
    HasMany,
    HasOne,
    ManyToMany,
}

/// `has_many(name = child::fk)`, `has_one(name = child::fk)` or
/// `many_to_many(name = join::fk_to_me -> join::fk_to_other)`.
pub struct ParentRelation {
    pub kind: ParentKind,
    pub name: syn::Ident,
    /// The foreign key that points at this model.
    pub foreign_key: syn::Path,
    /// For many-to-many: the foreign key of the join model to the other model.
    pub other_key: Option<syn::Path>,
}

/// A column default: a literal of the field's type.
#[derive(Clone)]
pub enum Default {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// What `#[orm(...)]` on one field says.
pub struct Field {
    pub primary_key: Option<Spanned<()>>,
    pub auto: Option<Spanned<()>>,
    pub column: Option<Spanned<String>>,
    pub unique: Option<Spanned<()>>,
    pub index: Option<Spanned<()>>,
    pub default: Option<Spanned<Default>>,
    /// The literal as written, for a type check in the generated code.
    pub default_expr: Option<syn::Expr>,
    pub max_length: Option<Spanned<u32>>,
    /// A decimal's digits in all: `precision = 12`.
    pub precision: Option<Spanned<u32>>,
    /// A decimal's digits after the point: `scale = 2`.
    pub scale: Option<Spanned<u32>>,
    pub belongs_to: Option<Spanned<syn::Path>>,
    pub relation: Option<Spanned<String>>,
    pub on_delete: Option<Spanned<OnDelete>>,
    pub renamed_from: Option<Spanned<String>>,
}

/// What the database does to a row when the row its key refers to is deleted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    SetNull,
    Restrict,
}

/// The error for a key nobody accepts, with the closest accepted key if any.
fn unknown_key(cx: &Ctxt, path: &syn::Path, accepted: &[Symbol], place: &str) {
    let name = path.to_token_stream().to_string().replace(' ', "");
    let closest = accepted
        .iter()
        .map(|s| (strsim::jaro_winkler(&name, s.0), s))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| *s);
    let list = accepted
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let msg = match closest {
        Some(s) => format!("unknown orm attribute `{name}`; did you mean `{s}`?"),
        None => format!("unknown orm attribute `{name}`; {place} accepts {list}"),
    };
    cx.error_spanned_by(path, msg);
}

/// Consumes whatever follows an unknown key (`= value` or `(...)`), so that
/// parsing can go on with the next key.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

/// Whether the key is followed by parentheses, and if so whether they are
/// empty: `None` for `key`, `Some(true)` for `key()`.
fn parentheses(meta: &ParseNestedMeta) -> syn::Result<Option<bool>> {
    meta.input.fork().step(
        |cursor| match cursor.group(proc_macro2::Delimiter::Parenthesis) {
            Some((inside, _, rest)) => Ok((Some(inside.eof()), rest)),
            None => Ok((None, *cursor)),
        },
    )
}

/// A flag must stand alone: `unique`, not `unique = true`.
fn flag(cx: &Ctxt, meta: &ParseNestedMeta, name: Symbol) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!("orm attribute `{name}` takes no value; write `{name}` alone"),
        );
        skip_value(meta)?;
    }
    Ok(())
}

/// `key = "text"`: a non-empty string literal.
pub fn string(cx: &Ctxt, meta: &ParseNestedMeta, name: Symbol) -> syn::Result<Option<String>> {
    let expr: syn::Expr = meta.value()?.parse()?;
    match &expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) if !s.value().is_empty() => Ok(Some(s.value())),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(_),
            ..
        }) => {
            cx.error_spanned_by(
                &expr,
                format!(
                    "orm attribute `{name}` cannot be empty: write a name between the quotes, or remove `{name}`"
                ),
            );
            Ok(None)
        }
        // `table = orders`: the name meant, in quotes.
        syn::Expr::Path(p) if p.path.get_ident().is_some() => {
            let written = p.path.to_token_stream();
            cx.error_spanned_by(
                &expr,
                format!("orm attribute `{name}` takes a string: write `{name} = \"{written}\"`"),
            );
            Ok(None)
        }
        _ => {
            cx.error_spanned_by(
                &expr,
                format!("orm attribute `{name}` takes a string: `{name} = \"...\"`"),
            );
            Ok(None)
        }
    }
}

impl Container {
    /// Parses the arguments of `#[orm::model(...)]`.
    pub fn from_args(cx: &Ctxt, args: TokenStream) -> Container {
        let mut table = Attr::none(cx, TABLE);
        let mut connection = Attr::none(cx, CONNECTION);
        let mut read_only = Attr::none(cx, READ_ONLY);
        let mut relations = Vec::new();
        let mut table_renamed_from = Attr::none(cx, RENAMED_FROM);
        let mut indexes = Vec::new();
        let mut cache = Attr::none(cx, CACHE);

        let parser = syn::meta::parser(|meta| {
            if meta.path == TABLE {
                // #[orm::model(table = "orders")]
                if let Some(name) = string(cx, &meta, TABLE)? {
                    table.set(&meta.path, name);
                }
            } else if meta.path == CONNECTION {
                // #[orm::model(connection = Essentials)]
                match meta.value()?.parse::<syn::Expr>()? {
                    syn::Expr::Path(p) if p.qself.is_none() => connection.set(&p, p.path.clone()),
                    other => cx.error_spanned_by(
                        other,
                        "orm attribute `connection` takes a connection type: `connection = Essentials`",
                    ),
                }
            } else if meta.path == HAS_MANY || meta.path == HAS_ONE || meta.path == MANY_TO_MANY {
                // #[orm::model(has_many(orders = order::user_id, ...))]
                // #[orm::model(has_one(profile = profile::user_id))]
                // #[orm::model(many_to_many(tracks = playlist_track::playlist_id -> playlist_track::track_id))]
                let kind = if meta.path == HAS_MANY {
                    ParentKind::HasMany
                } else if meta.path == HAS_ONE {
                    ParentKind::HasOne
                } else {
                    ParentKind::ManyToMany
                };
                let result = meta.parse_nested_meta(|inner| {
                    let Some(name) = inner.path.get_ident().cloned() else {
                        cx.error_spanned_by(&inner.path, "a relation is named by a plain identifier: `orders = order::user_id`");
                        return skip_value(&inner);
                    };
                    let input = inner.value()?;
                    let foreign_key: syn::Path = input.parse()?;
                    let other_key = if input.peek(syn::Token![->]) {
                        input.parse::<syn::Token![->]>()?;
                        Some(input.parse::<syn::Path>()?)
                    } else {
                        None
                    };
                    match (kind, &other_key) {
                        (ParentKind::ManyToMany, None) => cx.error_spanned_by(
                            &foreign_key,
                            "`many_to_many` names both keys of the join model: `tracks = playlist_track::playlist_id -> playlist_track::track_id`",
                        ),
                        (ParentKind::HasMany | ParentKind::HasOne, Some(other)) => cx.error_spanned_by(
                            other,
                            "`has_many` and `has_one` name one foreign key: `orders = order::user_id`",
                        ),
                        _ => relations.push(ParentRelation {
                            kind,
                            name,
                            foreign_key,
                            other_key,
                        }),
                    }
                    Ok(())
                });
                if let Err(err) = result {
                    cx.syn_error(err);
                }
            } else if meta.path == INDEX || meta.path == UNIQUE {
                // #[orm::model(index(customer_id, status), unique(sku, region))]
                let unique = meta.path == UNIQUE;
                // `index()`: said here, before syn's "expected nested attribute".
                let key = if unique { UNIQUE } else { INDEX };
                if parentheses(&meta)? == Some(true) {
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "an index lists the fields it covers: `{key}(customer_id, status)`"
                        ),
                    );
                    let _empty;
                    syn::parenthesized!(_empty in meta.input);
                    return Ok(());
                }
                let mut fields = Vec::new();
                let mut malformed = false;
                let result = meta.parse_nested_meta(|inner| {
                    match inner.path.get_ident() {
                        Some(ident)
                            if inner.input.is_empty() || inner.input.peek(syn::Token![,]) =>
                        {
                            fields.push(ident.clone())
                        }
                        _ => {
                            malformed = true;
                            cx.error_spanned_by(
                                &inner.path,
                                format!("an index lists field names: `{key}(customer_id, status)`"),
                            );
                            skip_value(&inner)?;
                        }
                    }
                    Ok(())
                });
                match result {
                    Err(err) => cx.syn_error(err),
                    Ok(()) if !malformed => indexes.push(CompositeIndex { unique, fields }),
                    Ok(()) => {}
                }
            } else if meta.path == RENAMED_FROM {
                // #[orm::model(renamed_from = "old_table")]
                if let Some(name) = string(cx, &meta, RENAMED_FROM)? {
                    table_renamed_from.set(&meta.path, name);
                }
            } else if meta.path == CACHE {
                // #[orm::model(cache(ttl = 60))]: seconds, from 1.
                // `cache` or `cache()`: said here, before syn's "expected nested attribute".
                let empty = parentheses(&meta)?;
                if empty != Some(false) {
                    cx.error_spanned_by(
                        &meta.path,
                        "orm attribute `cache` takes a time to live in seconds: `cache(ttl = 60)`",
                    );
                    if empty.is_some() {
                        let _empty;
                        syn::parenthesized!(_empty in meta.input);
                    } else {
                        skip_value(&meta)?;
                    }
                    return Ok(());
                }
                let mut ttl = Attr::none(cx, TTL);
                // A key with a bad value or name is reported on its own tokens alone.
                let mut keyed = false;
                let result = meta.parse_nested_meta(|inner| {
                    keyed = true;
                    if inner.path == TTL {
                        if let Some(n) = whole_number(cx, &inner, TTL, 1..=u32::MAX, "60")? {
                            ttl.set(&inner.path, n);
                        }
                    } else {
                        unknown_key(cx, &inner.path, CACHE_KEYS, "`cache(...)`");
                        skip_value(&inner)?;
                    }
                    Ok(())
                });
                match (result, ttl.get()) {
                    (Err(err), _) => cx.syn_error(err),
                    (Ok(()), Some(ttl)) => cache.set(&meta.path, ttl.value),
                    (Ok(()), None) if keyed => {}
                    (Ok(()), None) => cx.error_spanned_by(
                        &meta.path,
                        "orm attribute `cache` needs its time to live in seconds: `cache(ttl = 60)`",
                    ),
                }
            } else if meta.path == READ_ONLY {
                // #[orm::model(read_only)]
                flag(cx, &meta, READ_ONLY)?;
                read_only.set(&meta.path, ());
            } else {
                unknown_key(cx, &meta.path, CONTAINER_KEYS, "`#[orm::model(...)]`");
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(err) = parser.parse2(args) {
            cx.syn_error(err);
        }

        Container {
            table: table.get(),
            connection: connection.get(),
            read_only: read_only.get(),
            relations,
            renamed_from: table_renamed_from.get(),
            indexes,
            cache: cache.get(),
        }
    }
}

impl Field {
    /// Parses every `#[orm(...)]` on one field.
    pub fn from_ast(cx: &Ctxt, field: &syn::Field) -> Field {
        let mut primary_key = Attr::none(cx, PRIMARY_KEY);
        let mut auto = Attr::none(cx, AUTO);
        let mut column = Attr::none(cx, COLUMN);
        let mut unique = Attr::none(cx, UNIQUE);
        let mut index = Attr::none(cx, INDEX);
        let mut default = Attr::none(cx, DEFAULT);
        let mut default_expr = None;
        let mut max_length = Attr::none(cx, MAX_LENGTH);
        let mut precision = Attr::none(cx, PRECISION);
        let mut scale = Attr::none(cx, SCALE);
        let mut belongs_to = Attr::none(cx, BELONGS_TO);
        let mut relation = Attr::none(cx, RELATION);
        let mut on_delete = Attr::none(cx, ON_DELETE);
        let mut renamed_from = Attr::none(cx, RENAMED_FROM);

        for attr in field.attrs.iter().filter(|a| a.path() == ORM) {
            if let syn::Meta::Path(_) = attr.meta {
                cx.error_spanned_by(
                    attr,
                    "`#[orm]` takes its attributes in parentheses, such as `#[orm(unique)]`; remove it if the field needs none",
                );
                continue;
            }
            let result = attr.parse_nested_meta(|meta| {
                if meta.path == PRIMARY_KEY {
                    // #[orm(primary_key)]
                    flag(cx, &meta, PRIMARY_KEY)?;
                    primary_key.set(&meta.path, ());
                } else if meta.path == AUTO {
                    // #[orm(auto)]
                    flag(cx, &meta, AUTO)?;
                    auto.set(&meta.path, ());
                } else if meta.path == UNIQUE {
                    // #[orm(unique)]
                    flag(cx, &meta, UNIQUE)?;
                    unique.set(&meta.path, ());
                } else if meta.path == INDEX {
                    // #[orm(index)]
                    flag(cx, &meta, INDEX)?;
                    index.set(&meta.path, ());
                } else if meta.path == COLUMN {
                    // #[orm(column = "name")]
                    if let Some(name) = string(cx, &meta, COLUMN)? {
                        column.set(&meta.path, name);
                    }
                } else if meta.path == MAX_LENGTH {
                    // #[orm(max_length = 120)]
                    if let Some(n) = whole_number(cx, &meta, MAX_LENGTH, 1..=u32::MAX, "120")? {
                        max_length.set(&meta.path, n);
                    }
                } else if meta.path == PRECISION {
                    // #[orm(precision = 12)]: MySQL's DECIMAL takes at most 65 digits.
                    if let Some(n) = whole_number(cx, &meta, PRECISION, 1..=65, "12")? {
                        precision.set(&meta.path, n);
                    }
                } else if meta.path == SCALE {
                    // #[orm(precision = 12, scale = 2)]: rust_decimal keeps at most 28.
                    if let Some(n) = whole_number(cx, &meta, SCALE, 0..=28, "2")? {
                        scale.set(&meta.path, n);
                    }
                } else if meta.path == BELONGS_TO {
                    // #[orm(belongs_to = User)]
                    match meta.value()?.parse::<syn::Expr>()? {
                        syn::Expr::Path(p) if p.qself.is_none() => belongs_to.set(&meta.path, p.path),
                        other => cx.error_spanned_by(
                            other,
                            "orm attribute `belongs_to` takes a model type: `belongs_to = User`",
                        ),
                    }
                } else if meta.path == RENAMED_FROM {
                    // #[orm(renamed_from = "old_name")]
                    if let Some(name) = string(cx, &meta, RENAMED_FROM)? {
                        renamed_from.set(&meta.path, name);
                    }
                } else if meta.path == ON_DELETE {
                    // #[orm(belongs_to = User, on_delete = "cascade")]
                    // `= "..."`, read again for the span of an unknown action.
                    let written = meta.input.fork();
                    if let Some(value) = string(cx, &meta, ON_DELETE)? {
                        let action = match value.as_str() {
                            "cascade" => Some(OnDelete::Cascade),
                            "set_null" => Some(OnDelete::SetNull),
                            "restrict" => Some(OnDelete::Restrict),
                            _ => None,
                        };
                        match action {
                            Some(action) => on_delete.set(&meta.path, action),
                            None => {
                                let at = written
                                    .parse::<syn::Token![=]>()
                                    .and_then(|_| written.parse::<syn::LitStr>())
                                    .map_or_else(|_| meta.path.to_token_stream(), |lit| lit.to_token_stream());
                                cx.error_spanned_by(
                                    at,
                                    format!("`on_delete = \"{value}\"` is not an action; use \"cascade\", \"set_null\" or \"restrict\""),
                                );
                            }
                        }
                    }
                } else if meta.path == RELATION {
                    // #[orm(relation = "buyer")]
                    if let Some(name) = string(cx, &meta, RELATION)? {
                        relation.set(&meta.path, name);
                    }
                } else if meta.path == DEFAULT {
                    // #[orm(default = 0)], default = -1.5, default = true, default = "text"
                    let expr: syn::Expr = meta.value()?.parse()?;
                    match default_literal(&expr) {
                        Some(value) => {
                            default.set(&meta.path, value);
                            default_expr = Some(expr);
                        }
                        None => cx.error_spanned_by(
                            &expr,
                            "orm attribute `default` takes a literal: a number, `true`/`false` or a string",
                        ),
                    }
                } else {
                    unknown_key(cx, &meta.path, FIELD_KEYS, "`#[orm(...)]` on a field");
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }

        Field {
            primary_key: primary_key.get(),
            auto: auto.get(),
            column: column.get(),
            unique: unique.get(),
            index: index.get(),
            default: default.get(),
            default_expr,
            max_length: max_length.get(),
            precision: precision.get(),
            scale: scale.get(),
            belongs_to: belongs_to.get(),
            relation: relation.get(),
            on_delete: on_delete.get(),
            renamed_from: renamed_from.get(),
        }
    }
}

/// `name = N` with a whole number in `range`; an error on the value
/// otherwise, with `example` as the way to write it.
fn whole_number(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    name: Symbol,
    range: std::ops::RangeInclusive<u32>,
    example: &str,
) -> syn::Result<Option<u32>> {
    let expr: syn::Expr = meta.value()?.parse()?;
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(n),
        ..
    }) = &expr
    else {
        cx.error_spanned_by(
            &expr,
            format!("orm attribute `{name}` takes a number: `{name} = {example}`"),
        );
        return Ok(None);
    };
    match n.base10_parse::<u32>() {
        Ok(value) if range.contains(&value) => Ok(Some(value)),
        _ => {
            cx.error_spanned_by(
                n,
                format!(
                    "orm attribute `{name}` must be a whole number from {} to {}, such as `{name} = {example}`",
                    range.start(),
                    range.end()
                ),
            );
            Ok(None)
        }
    }
}

fn default_literal(expr: &syn::Expr) -> Option<Default> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => match lit {
            syn::Lit::Int(n) => n.base10_parse::<i64>().ok().map(Default::Int),
            syn::Lit::Float(f) => f.base10_parse::<f64>().ok().map(Default::Float),
            syn::Lit::Bool(b) => Some(Default::Bool(b.value)),
            syn::Lit::Str(s) => Some(Default::Text(s.value())),
            _ => None,
        },
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match literal_text(expr)? {
            // Parsed with its sign: `-9223372036854775808` is an `i64`,
            // its digits alone are not.
            (LiteralKind::Int, digits) => format!("-{digits}").parse().ok().map(Default::Int),
            (LiteralKind::Float, digits) => format!("-{digits}").parse().ok().map(Default::Float),
            (LiteralKind::Text, _) => None,
        },
        syn::Expr::Group(g) => default_literal(&g.expr),
        _ => None,
    }
}

/// The kind of a `default` literal with text (a number or a string).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    Int,
    Float,
    Text,
}

impl LiteralKind {
    /// The runtime's name of the kind (`orm::__private::DefaultLiteral`).
    pub fn name(self) -> &'static str {
        match self {
            LiteralKind::Int => "Int",
            LiteralKind::Float => "Float",
            LiteralKind::Text => "Text",
        }
    }
}

/// A `default` literal's kind and its text as written (the digits of a
/// number with its sign and without a suffix, a string's value); `None`
/// for `true` and `false`.
pub fn literal_text(expr: &syn::Expr) -> Option<(LiteralKind, String)> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => match lit {
            syn::Lit::Int(n) => Some((LiteralKind::Int, n.base10_digits().to_owned())),
            syn::Lit::Float(x) => Some((LiteralKind::Float, x.base10_digits().to_owned())),
            syn::Lit::Str(s) => Some((LiteralKind::Text, s.value())),
            _ => None,
        },
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => literal_text(expr).map(|(kind, t)| (kind, format!("-{t}"))),
        syn::Expr::Group(g) => literal_text(&g.expr),
        _ => None,
    }
}
