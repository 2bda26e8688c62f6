//! What rustc says when a relation accessor is called on a model that does
//! not declare it (`post.posts(&db)` where `posts` is `User`'s).
//!
//! rustc's "no method named `posts` found for struct `Post`" takes no
//! message from a library, so the model macro gives every model a second,
//! lower place to look for methods: each model dereferences to
//! [`Hint<Model, 0>`](Hint), which dereferences to `Hint<Model, 1>`, and so
//! on to [`HINT_DEPTH`] - 1. Method lookup reaches these only after every
//! method of the model itself (inherent, or of any trait in scope) has
//! failed to match, so they never take a call that compiles today.
//!
//! For each relation it declares, a model generates a trait with the
//! accessor's name and signature, implemented for `Hint<M, d>` of every
//! model `M` at one depth `d` (a hash of the model's and the relation's
//! names). Its method requires [`HasRelation`], which no type implements,
//! so the call is reported once, on the method name, in the user's terms:
//! "`Post` has no relation `posts`: it is a relation of `User`". Two
//! models that declare a relation of the same name are found at different
//! depths, and the nearer one is named; only when their depths coincide (1
//! in [`HINT_DEPTH`]) does rustc report both as "multiple applicable items".
//!
//! The traits are in scope where the model is declared and wherever its
//! module is glob-imported; elsewhere rustc's own message stays.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::ops::Deref;

/// A stand-in a model dereferences to, at depth `D` of the chain; has no
/// data and no methods of its own. Not for use in programs.
pub struct Hint<M, const D: u8>(PhantomData<fn() -> M>);

/// How many [`Hint`] depths a model's chain has (32): the depth of a
/// relation's hint is a hash of its model's and its own name, modulo this.
pub const HINT_DEPTH: u8 = 32;

impl<M: 'static, const D: u8> Hint<M, D> {
    /// The one value of each hint type (zero bytes).
    pub const NEW: &'static Hint<M, D> = &Hint(PhantomData);
}

macro_rules! chain {
    ($($from:literal => $to:literal),* $(,)?) => {$(
        impl<M: 'static> Deref for Hint<M, $from> {
            type Target = Hint<M, $to>;

            fn deref(&self) -> &Hint<M, $to> {
                Hint::NEW
            }
        }
    )*};
}

chain! {
    0 => 1, 1 => 2, 2 => 3, 3 => 4, 4 => 5, 5 => 6, 6 => 7, 7 => 8, 8 => 9, 9 => 10,
    10 => 11, 11 => 12, 12 => 13, 13 => 14, 14 => 15, 15 => 16, 16 => 17, 17 => 18,
    18 => 19, 19 => 20, 20 => 21, 21 => 22, 22 => 23, 23 => 24, 24 => 25, 25 => 26,
    26 => 27, 27 => 28, 28 => 29, 29 => 30, 30 => 31,
}

// The chain above ends at `HINT_DEPTH - 1`.
const _: () = assert!(HINT_DEPTH == 32);

mod sealed {
    pub trait Sealed {}
}

/// `Self` declares the relation `R` that model `M` declares: never true
/// (no type implements this trait, and none can: it is sealed). Required by
/// the hint accessors, so that calling one is reported with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no relation `{R}`: it is a relation of `{M}`",
    label = "a relation of `{M}`, not of `{Self}`",
    note = "call it on a `{M}` row, or declare the relation on `{Self}`: `#[orm::model(has_many(NAME = child::KEY))]` (or `has_one`, `many_to_many`), or `#[orm(belongs_to = Model)]` on a key field"
)]
pub trait HasRelation<M, R>: sealed::Sealed {
    /// Never called: no type implements this trait.
    fn never() -> Infallible;
}
