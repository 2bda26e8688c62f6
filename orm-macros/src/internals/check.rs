//! Rules that involve more than one attribute or field. One function per
//! rule, each headed by the rule in a sentence.

use super::ast::{Container, Field};
use super::attr::{literal_text, LiteralKind};
use super::ctxt::Ctxt;
use super::default_text::{self, Kind};

pub fn check(cx: &Ctxt, cont: &Container) {
    check_primary_key(cx, cont);
    check_auto(cx, cont);
    check_redundant_constraints(cx, cont);
    check_default(cx, cont);
    check_default_literal(cx, cont);
    check_column_names(cx, cont);
    check_module_name(cx, cont);
    check_relations(cx, cont);
    check_indexes(cx, cont);
    check_on_delete(cx, cont);
    check_decimal_size(cx, cont);
}

/// `scale` comes with `precision`, and is at most the precision: the
/// digits after the point are some of the digits in all.
fn check_decimal_size(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        let a = &field.attrs;
        match (&a.precision, &a.scale) {
            (None, Some(scale)) => cx.error_spanned_by(
                scale,
                format!(
                    "orm attribute `scale` needs `precision` too (digits in all): `precision = {}, scale = {}`",
                    (scale.value + 10).min(65),
                    scale.value
                ),
            ),
            (Some(precision), Some(scale)) if scale.value > precision.value => cx.error_spanned_by(
                scale,
                format!(
                    "`scale = {}` is more than `precision = {}`: the scale counts the digits after the point, which are part of the precision; write `precision = {}` or more, or a smaller scale",
                    scale.value, precision.value, scale.value
                ),
            ),
            _ => {}
        }
    }
}

/// `on_delete` belongs with `belongs_to`, and `set_null` needs a nullable key.
fn check_on_delete(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        let a = &field.attrs;
        let Some(on_delete) = &a.on_delete else {
            continue;
        };
        if a.belongs_to.is_none() {
            cx.error_spanned_by(
                on_delete,
                "`on_delete` says what happens to this row when the row its key refers to is deleted: add `belongs_to = Model`",
            );
        } else if on_delete.value == super::attr::OnDelete::SetNull && !field.is_option() {
            cx.error_spanned_by(
                on_delete,
                format!(
                    "`on_delete = \"set_null\"` needs a nullable key: make `{}` an `Option`, or choose \"cascade\" or \"restrict\"",
                    field.ident
                ),
            );
        }
    }
}

/// A model-level `index(...)` or `unique(...)` names fields of the model,
/// each once.
fn check_indexes(cx: &Ctxt, cont: &Container) {
    for index in &cont.attrs.indexes {
        for (i, name) in index.fields.iter().enumerate() {
            if index.fields[..i].contains(name) {
                cx.error_spanned_by(
                    name,
                    format!("field `{name}` is listed twice in this index; list each field once"),
                );
            } else if !cont.fields.iter().any(|f| f.ident == name) {
                let closest = cont
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            strsim::jaro_winkler(&name.to_string(), &f.ident.to_string()),
                            f.ident,
                        )
                    })
                    .filter(|(score, _)| *score > 0.8)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, ident)| ident);
                let hint = match closest {
                    Some(f) => format!("; did you mean `{f}`?"),
                    None => format!("; `{}` has no such field", cont.ident),
                };
                cx.error_spanned_by(name, format!("unknown field `{name}` in index{hint}"));
            }
        }
    }
}

/// A model has exactly one primary key, and it is not nullable.
fn check_primary_key(cx: &Ctxt, cont: &Container) {
    let keys: Vec<_> = cont
        .fields
        .iter()
        .filter(|f| f.attrs.primary_key.is_some())
        .collect();
    match keys.as_slice() {
        [] => cx.error_spanned_by(
            cont.ident,
            format!(
                "model `{}` has no primary key; mark its key field with `#[orm(primary_key)]` (add `auto` if the database generates it)",
                cont.ident
            ),
        ),
        [key] => {
            if key.is_option() {
                let plain = match key.option_inner() {
                    Some(inner) => format!("`{}`", quote::ToTokens::to_token_stream(inner)),
                    None => "the plain type".to_owned(),
                };
                cx.error_spanned_by(
                    key.ty,
                    format!(
                        "the primary key `{}` cannot be an `Option`: every row has a key; write {plain}",
                        key.ident
                    ),
                );
            }
        }
        [first, rest @ ..] => {
            for extra in rest {
                cx.error_spanned_by(
                    &extra.attrs.primary_key,
                    format!(
                        "model `{}` already has its primary key `{}`, and composite keys are not supported: remove `primary_key` here (mark the field `unique` if it must be)",
                        cont.ident, first.ident
                    ),
                );
            }
        }
    }
}

/// `auto` (the database generates the value) applies to the primary key only.
fn check_auto(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        if let (Some(auto), None) = (&field.attrs.auto, &field.attrs.primary_key) {
            cx.error_spanned_by(
                auto,
                "`auto` applies only to the primary key: add `primary_key` to this field or remove `auto`",
            );
        }
    }
}

/// A primary key is already unique and indexed, and a unique column already
/// has an index: saying so again is a conflict, not a second constraint.
fn check_redundant_constraints(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        let a = &field.attrs;
        if a.primary_key.is_some() {
            if let Some(unique) = &a.unique {
                cx.error_spanned_by(unique, "conflicting orm attributes: a `primary_key` is already unique; remove `unique`");
            }
            if let Some(index) = &a.index {
                cx.error_spanned_by(index, "conflicting orm attributes: a `primary_key` is already indexed; remove `index`");
            }
        } else if let (Some(_), Some(index)) = (&a.unique, &a.index) {
            cx.error_spanned_by(
                index,
                "conflicting orm attributes: a `unique` column is already indexed; remove `index`",
            );
        }
    }
}

/// A database-generated key has no default of its own.
fn check_default(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        if let (Some(_), Some(default)) = (&field.attrs.auto, &field.attrs.default) {
            cx.error_spanned_by(
                default,
                "conflicting orm attributes: an `auto` key is generated by the database and cannot have a `default`",
            );
        }
    }
}

/// A `default` is a value of the field's type, written as a literal of
/// it: checked here when the type is spelled out (`i32`, `NaiveDate`,
/// `Decimal`, inside an `Option` or not), so that the error is a sentence
/// on the literal; for a type the macro cannot tell from its tokens (an
/// alias), the generated code checks it (`expand::model::assertions`).
fn check_default_literal(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        let (Some(expr), Some(ty)) = (&field.attrs.default_expr, spelled_type(field)) else {
            continue;
        };
        if field.attrs.auto.is_some() {
            continue; // refused by `check_default`
        }
        let literal = literal_text(expr);
        let wrong = |example: &str| {
            format!(
                "the `default` of field `{}` (type `{}`) is {example}",
                field.ident,
                ty.name()
            )
        };
        let message = match (ty, &literal) {
            (SpelledType::Int { min, max, .. }, Some((LiteralKind::Int, text))) => {
                match text.parse::<i128>() {
                    Ok(n) if (min..=max).contains(&n) => None,
                    _ => Some(format!(
                        "`default = {text}` does not fit in `{}` field `{}` ({min} to {max}); write a smaller number or widen the field's type",
                        ty.name(),
                        field.ident
                    )),
                }
            }
            (SpelledType::Int { .. }, _) => Some(wrong("a whole number, such as `default = 0`")),
            (SpelledType::Float(_), Some((LiteralKind::Float, _))) => None,
            (SpelledType::Float(_), _) => Some(wrong(
                "a number with a decimal point, such as `default = 0.0`",
            )),
            (SpelledType::Bool, None) => None,
            (SpelledType::Bool, _) => Some(wrong("`true` or `false`")),
            (SpelledType::Text, Some((LiteralKind::Text, _))) => None,
            (SpelledType::Text, _) => Some(wrong("a string, such as `default = \"pending\"`")),
            (SpelledType::Checked(Kind::Decimal, _), None) => Some(wrong(
                "a number, such as `default = 0` or `default = \"0.00\"`",
            )),
            (SpelledType::Checked(checked, _), Some((kind, text)))
                if checked == Kind::Decimal || *kind == LiteralKind::Text =>
            {
                let literal = match kind {
                    LiteralKind::Int => default_text::Literal::Int(text),
                    LiteralKind::Float => default_text::Literal::Float(text),
                    LiteralKind::Text => default_text::Literal::Text(text),
                };
                let decimal = field.attrs.precision.as_ref().map(|precision| {
                    let scale = field.attrs.scale.as_ref().map_or(0, |s| s.value);
                    (precision.value as u8, scale as u8)
                });
                default_text::check(checked, literal, decimal)
                    .err()
                    .map(|m| format!("{m} (field `{}`)", field.ident))
            }
            (SpelledType::Checked(checked, _), _) => Some(wrong(match checked {
                Kind::Date => "a string, such as `default = \"2024-01-31\"`",
                Kind::Time => "a string, such as `default = \"09:30:00\"`",
                _ => "a string, such as `default = \"2024-01-31 09:30:00\"`",
            })),
        };
        if let Some(message) = message {
            cx.error_spanned_by(expr, message);
        }
    }
}

/// A field type whose `default` literals the macro checks.
#[derive(Clone, Copy)]
pub enum SpelledType {
    /// `i16`, `i32`, `i64`, and their range.
    Int {
        name: &'static str,
        min: i128,
        max: i128,
    },
    /// `f32` or `f64`.
    Float(&'static str),
    Bool,
    /// `String`.
    Text,
    /// A decimal, date or time, whose literal's text is checked, and its name.
    Checked(Kind, &'static str),
}

impl SpelledType {
    /// The type as users write it.
    fn name(self) -> &'static str {
        match self {
            SpelledType::Int { name, .. } | SpelledType::Float(name) => name,
            SpelledType::Bool => "bool",
            SpelledType::Text => "String",
            SpelledType::Checked(_, name) => name,
        }
    }
}

/// The field's type, inside an `Option` or not, when its last path segment
/// names one the ORM maps (`chrono::NaiveDate`, `Decimal`, `i32`); `None`
/// for any other spelling, an alias among them.
pub fn spelled_type(field: &Field) -> Option<SpelledType> {
    let syn::Type::Path(path) = field.option_inner().unwrap_or(field.ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let int = |name, min: i128, max: i128| SpelledType::Int { name, min, max };
    let plain = last.arguments.is_none();
    Some(match last.ident.to_string().as_str() {
        "i16" if plain => int("i16", i16::MIN.into(), i16::MAX.into()),
        "i32" if plain => int("i32", i32::MIN.into(), i32::MAX.into()),
        "i64" if plain => int("i64", i64::MIN.into(), i64::MAX.into()),
        "f32" if plain => SpelledType::Float("f32"),
        "f64" if plain => SpelledType::Float("f64"),
        "bool" if plain => SpelledType::Bool,
        "String" if plain => SpelledType::Text,
        "Decimal" if plain => SpelledType::Checked(Kind::Decimal, "Decimal"),
        "NaiveDate" if plain => SpelledType::Checked(Kind::Date, "NaiveDate"),
        "NaiveTime" if plain => SpelledType::Checked(Kind::Time, "NaiveTime"),
        "NaiveDateTime" if plain => SpelledType::Checked(Kind::DateTime, "NaiveDateTime"),
        "DateTime" if is_utc(&last.arguments) => {
            SpelledType::Checked(Kind::DateTime, "DateTime<Utc>")
        }
        _ => return None,
    })
}

/// `<Utc>` (or `<chrono::Utc>`).
fn is_utc(arguments: &syn::PathArguments) -> bool {
    let syn::PathArguments::AngleBracketed(args) = arguments else {
        return false;
    };
    match (args.args.len(), args.args.first()) {
        (1, Some(syn::GenericArgument::Type(syn::Type::Path(p)))) => {
            p.path.segments.last().is_some_and(|s| s.ident == "Utc")
        }
        _ => false,
    }
}

/// Two fields cannot map to the same column.
fn check_column_names(cx: &Ctxt, cont: &Container) {
    for (i, field) in cont.fields.iter().enumerate() {
        if let Some(first) = cont.fields[..i].iter().find(|f| f.column == field.column) {
            let at = match &field.attrs.column {
                Some(c) => c.tokens.clone(),
                None => quote::ToTokens::to_token_stream(field.ident),
            };
            cx.error_spanned_by(
                at,
                format!(
                    "column `{}` is already used by field `{}`; give one of them another `column = \"...\"`",
                    field.column, first.ident
                ),
            );
        }
    }
}

/// The columns module is named after the struct in snake case, so that name
/// must be usable as a module name.
fn check_module_name(cx: &Ctxt, cont: &Container) {
    if let Some(name) = reserved_module_name(cont) {
        cx.error_spanned_by(
            cont.ident,
            format!(
                "the columns module of `{0}` would be called `{name}`, which Rust reserves; rename the struct, such as `{0}Row`",
                cont.ident
            ),
        );
    }
}

/// The columns module's name when Rust reserves it (`crate`, `self`,
/// `super`, `_`): no module of that name can be generated, even a raw one.
pub fn reserved_module_name(cont: &Container) -> Option<String> {
    let name = super::case::snake_case(&cont.ident.to_string());
    matches!(name.as_str(), "crate" | "self" | "super" | "_").then_some(name)
}

/// A `belongs_to` field names its relation (from `<name>_id`, or `relation =
/// "..."`); `relation` needs `belongs_to`; relation names are identifiers,
/// unique, and differ from field names (they share the columns module).
fn check_relations(cx: &Ctxt, cont: &Container) {
    let mut names: Vec<(String, proc_macro2::TokenStream)> = Vec::new();
    for field in &cont.fields {
        let a = &field.attrs;
        if let (Some(relation), None) = (&a.relation, &a.belongs_to) {
            cx.error_spanned_by(
                relation,
                "`relation` names a `belongs_to` relation: add `belongs_to = Model` or remove it",
            );
            continue;
        }
        let Some(belongs_to) = &a.belongs_to else {
            continue;
        };
        match field.relation_name() {
            Some(name) => {
                let at = match &a.relation {
                    Some(r) => r.tokens.clone(),
                    None => belongs_to.tokens.clone(),
                };
                names.push((name, at));
            }
            None => cx.error_spanned_by(
                belongs_to,
                format!(
                    "name this relation: the field `{}` does not end in `_id`, so add `relation = \"...\"`",
                    field.ident
                ),
            ),
        }
    }
    for relation in &cont.attrs.relations {
        names.push((
            relation.name.to_string(),
            quote::ToTokens::to_token_stream(&relation.name),
        ));
    }
    for (i, (name, at)) in names.iter().enumerate() {
        if syn::parse_str::<syn::Ident>(name).is_err() {
            cx.error_spanned_by(at, format!("relation name `{name}` is not an identifier"));
        } else if names[..i].iter().any(|(n, _)| n == name) {
            cx.error_spanned_by(
                at,
                format!("relation `{name}` is declared twice; give one another name"),
            );
        } else if let Some(f) = cont.fields.iter().find(|f| f.ident == name.as_str()) {
            cx.error_spanned_by(
                at,
                format!(
                    "relation `{name}` has the name of field `{}`; name the relation differently",
                    f.ident
                ),
            );
        }
    }
}
