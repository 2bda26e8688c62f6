//! Relations between models: belongs_to, has_one, has_many, many-to-many.
//!
//! A relation is a value named after it in the model's columns module
//! (`order::user`, `user::orders`), of one of the generic types here. It
//! loads related rows lazily for one row (the accessors the macro generates,
//! `order.user(&db)`), or for a whole list of rows with one query per level
//! whatever the list's length ([`Relation::load`]). Each query runs on the
//! related model's own connection, so relations work across connections; an
//! SQL join ([`Select::join`](crate::Select::join)) needs both models on one.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model(has_many(posts = post::user_id))]
//! #[derive(Clone, Debug)]
//! pub struct User {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub name: String,
//! }
//!
//! #[orm::model]
//! #[derive(Clone, Debug)]
//! pub struct Post {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     #[orm(belongs_to = User)]
//!     pub user_id: i64,
//!     pub title: String,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<User>().await?;
//! db.create_table::<Post>().await?;
//! let ada = User::create(&db, User { id: 0, name: "Ada".into() }).await?;
//! Post::create(&db, Post { id: 0, user_id: ada.id, title: "Notes".into() }).await?;
//!
//! let author = Post::get(&db, 1).await?.user(&db).await?;        // belongs_to
//! assert_eq!(author.name, "Ada");
//! let users = User::all(&db).await?;
//! let posts: Vec<Vec<Post>> = user::posts.load(&users, &db).await?; // one query for all users
//! assert_eq!(posts[0][0].title, "Notes");
//! # Ok(()) }
//! ```

mod hint;

#[doc(hidden)]
pub use hint::{HasRelation, Hint, HINT_DEPTH};

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;

use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::crud::read_of;
use crate::model::schema::TableSchema;
use crate::model::types::{FieldType, ScalarType, Value};
use crate::model::{Column, Model};
use crate::query::{render, Node, Parts};
use crate::routing::{Executor, Pending, Session};

/// A column that refers to another model's primary key: declared with
/// `#[orm(belongs_to = Model)]`.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not a foreign key",
    label = "not declared `belongs_to`",
    note = "mark the field `#[orm(belongs_to = Model)]` to make it refer to that model's primary key"
)]
pub trait ForeignKey: Column {
    /// The model the key refers to.
    type Target: Model;
    /// The key's value in `row`.
    #[doc(hidden)]
    fn __value(row: &Self::Model) -> Value;
}

/// Foreign key types for a primary key of type `K`: `K` itself, or
/// `Option<K>` for an optional relation.
#[diagnostic::on_unimplemented(
    message = "a foreign key of type `{Self}` cannot refer to a primary key of type `{K}`",
    label = "expected `{K}` or `Option<{K}>`",
    note = "give the foreign key field the type of the target's primary key (or an `Option` of it)"
)]
pub trait KeyOf<K>: FieldType {
    /// What following the key gives: the target itself, or an `Option` of it.
    type One<T: Send + 'static>: Send + 'static;
    #[doc(hidden)]
    fn __one<T: Send + 'static>(found: Option<T>, model: &'static str) -> Result<Self::One<T>>;
}

impl<K: ScalarType> KeyOf<K> for K {
    type One<T: Send + 'static> = T;
    fn __one<T: Send + 'static>(found: Option<T>, model: &'static str) -> Result<T> {
        found.ok_or(Error::NotFound { model })
    }
}

impl<K: ScalarType> KeyOf<K> for Option<K> {
    type One<T: Send + 'static> = Option<T>;
    fn __one<T: Send + 'static>(found: Option<T>, _: &'static str) -> Result<Option<T>> {
        Ok(found)
    }
}

/// Rows of model `M`: what a relation from `M` loads for.
#[diagnostic::on_unimplemented(
    message = "this relation loads for `{M}` rows, not `{Self}` rows",
    label = "rows of the wrong model",
    note = "use a relation that starts from `{Self}` (one in the module named after it)"
)]
pub trait SameModel<M> {
    #[doc(hidden)]
    fn __as_model(&self) -> &M;
}

impl<M: Model> SameModel<M> for M {
    fn __as_model(&self) -> &M {
        self
    }
}

/// A relation from model `From` to model `To`.
pub trait Relation: Copy + Send + Sync + 'static {
    /// The model the relation starts from.
    type From: Model;
    /// The related model.
    type To: Model + Clone;
    /// What one row of `From` loads: `To`, `Option<To>` or `Vec<To>`.
    type Loaded: Send + 'static;

    #[doc(hidden)]
    fn __load<'e>(
        self,
        parents: Vec<&'e Self::From>,
        conn: Session<'e>,
    ) -> impl Future<Output = Result<Vec<Self::Loaded>>> + Send + 'e;

    /// Loads the related rows of every row in `rows`, with one query per
    /// level (two for many-to-many) whatever the number of rows; the result
    /// is aligned with `rows`.
    fn load<'e, P, E>(self, rows: &'e [P], exec: E) -> Pending<'e, Vec<Self::Loaded>>
    where
        P: SameModel<Self::From> + Sync + 'e,
        E: Executor<'e, <Self::To as Model>::Connection> + 'e,
    {
        // The rows are read here, so that the future does not depend on
        // `P`: rows of the wrong model are one error, on the argument.
        let parents: Vec<&'e Self::From> = rows.iter().map(P::__as_model).collect();
        Pending::new(async move {
            let conn = exec.__session(&read_of::<Self::To>()).await?;
            self.__load(parents, conn).await
        })
    }

    /// [`load`](Self::load) for rows grouped in lists (the result of an
    /// earlier `load`): one query for all of them, aligned with the groups.
    fn load_nested<'e, P, E>(
        self,
        groups: &'e [Vec<P>],
        exec: E,
    ) -> Pending<'e, Vec<Vec<Self::Loaded>>>
    where
        P: SameModel<Self::From> + Sync + 'e,
        E: Executor<'e, <Self::To as Model>::Connection> + 'e,
    {
        let flat: Vec<&'e Self::From> = groups.iter().flatten().map(P::__as_model).collect();
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        Pending::new(async move {
            let conn = exec.__session(&read_of::<Self::To>()).await?;
            let mut loaded = self.__load(flat, conn).await?.into_iter();
            Ok(sizes
                .into_iter()
                .map(|len| loaded.by_ref().take(len).collect())
                .collect())
        })
    }

    /// The related rows of one row: what the generated accessors call.
    fn of<'e, P, E>(self, row: &'e P, exec: E) -> Pending<'e, Self::Loaded>
    where
        P: SameModel<Self::From> + Sync + 'e,
        E: Executor<'e, <Self::To as Model>::Connection> + 'e,
    {
        let parent = row.__as_model();
        Pending::new(async move {
            let conn = exec.__session(&read_of::<Self::To>()).await?;
            let mut loaded = self.__load(vec![parent], conn).await?;
            loaded.pop().ok_or(Error::NotFound {
                model: <Self::To as Model>::NAME,
            })
        })
    }
}

/// One table a join adds: its schema, its model's name (for messages),
/// and the `ON` condition `(side already in the query, this table's side)`.
#[doc(hidden)]
pub type JoinStep = (&'static TableSchema, &'static str, (Node, Node));

/// A relation an SQL join can follow: both ends on one connection.
pub trait Joinable: Relation {
    /// The tables to join, in order: the related model's alone, or for a
    /// many-to-many the join model's and then the related model's.
    #[doc(hidden)]
    fn __joins(&self) -> Vec<JoinStep>;
}

/// The one step of a join to `To` on `on`.
fn step<To: Model>(on: (Node, Node)) -> Vec<JoinStep> {
    vec![(To::SCHEMA, To::NAME, on)]
}

/// `belongs_to`: the foreign key `C` on this model points at one `C::Target`.
pub struct BelongsTo<C>(PhantomData<fn() -> C>);
/// `has_many`: rows of `C::Model` whose foreign key `C` points at this model.
pub struct HasMany<C>(PhantomData<fn() -> C>);
/// `has_one`: the row of `C::Model` whose foreign key `C` points at this model.
pub struct HasOne<C>(PhantomData<fn() -> C>);
/// many-to-many through a join model with foreign keys `A` (to this model)
/// and `B` (to the related model).
pub struct ManyToMany<A, B>(PhantomData<fn() -> (A, B)>);

macro_rules! handle {
    ($name:ident<$($p:ident),+>) => {
        impl<$($p),+> $name<$($p),+> {
            /// The relation handle (the macro makes one per declared relation).
            #[allow(clippy::new_without_default)]
            pub const fn new() -> Self {
                $name(PhantomData)
            }
        }
        impl<$($p),+> Clone for $name<$($p),+> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<$($p),+> Copy for $name<$($p),+> {}
        impl<$($p),+> std::fmt::Debug for $name<$($p),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}
handle!(BelongsTo<C>);
handle!(HasMany<C>);
handle!(HasOne<C>);
handle!(ManyToMany<A, B>);

/// A hashable form of a key value, to align loaded rows with their parents.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyRepr {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    Other(String),
}

fn key_repr(value: &Value) -> Option<KeyRepr> {
    Some(match value {
        Value::Null(_) => return None,
        Value::I16(v) => KeyRepr::Int(i64::from(*v)),
        Value::I32(v) => KeyRepr::Int(i64::from(*v)),
        Value::I64(v) => KeyRepr::Int(*v),
        Value::Text(v) => KeyRepr::Text(v.clone()),
        Value::Bytes(v) => KeyRepr::Bytes(v.clone()),
        Value::Bool(v) => KeyRepr::Bool(*v),
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => KeyRepr::Uuid(*v),
        other => KeyRepr::Other(format!("{other:?}")),
    })
}

fn column_node<C: Column>() -> Node {
    Node::Column {
        table: <C::Model as Model>::SCHEMA.name,
        name: C::NAME,
    }
}

fn key_node<M: Model>() -> Node {
    Node::Column {
        table: M::SCHEMA.name,
        name: M::SCHEMA.primary_key().name,
    }
}

/// The distinct non-null keys among `values`, in first-seen order.
fn distinct(values: &[Option<KeyRepr>], raw: &[Value]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .zip(raw)
        .filter_map(|(k, v)| {
            k.as_ref()
                .filter(|k| seen.insert((*k).clone()))
                .map(|_| v.clone())
        })
        .collect()
}

/// Whether the database's equality of two such values is Rust's (byte
/// equality): integers, booleans, bytes and UUIDs. Text is not (a
/// collation may ignore case, as MySQL's defaults do, or trailing spaces,
/// as their `PAD SPACE` does; SQLite's `NOCASE`, PostgreSQL's
/// nondeterministic collations), nor are decimals (`1.0 = 1.00`) or times.
fn exact(value: &Value) -> bool {
    match value {
        Value::I16(_) | Value::I32(_) | Value::I64(_) | Value::Bool(_) | Value::Bytes(_) => true,
        #[cfg(feature = "uuid")]
        Value::Uuid(_) => true,
        _ => false,
    }
}

/// Rows of `M` whose `column` equals one of the distinct `keys`, as the
/// database matches them (the foreign key constraint and an SQL join match
/// the same way), each paired with the position in `keys` of the key it
/// matched (a row that several keys match comes once for each), in `M`'s
/// key order. `decode` reads a row from the given column on; `key_of`
/// gives the value of `column` in a decoded row.
///
/// One statement per parameter limit's worth of keys, as before:
/// - integer, boolean, byte and UUID keys, whose equality is Rust's:
///   `WHERE column IN (..)`, paired in Rust by value;
/// - a single key: the same statement; every row matched it;
/// - other keys: the database says which key each row matched
///   ([`render::select_matching`]), so that `"FR"` finds `"fr"` where the
///   column's collation says they are equal, and only there.
async fn fetch_matching<M, T>(
    conn: &mut Session<'_>,
    column: Node,
    columns: Option<Vec<Node>>,
    keys: &[Value],
    decode: fn(RowRef<'_>, usize) -> Result<T>,
    key_of: fn(&T) -> Value,
) -> Result<Vec<(usize, T)>>
where
    M: Model,
    T: Send,
{
    let mut out = Vec::new();
    let op = read_of::<M>();
    let backend = conn.backend();
    if keys.len() > 1 && !keys.iter().all(exact) {
        let mut first = 0;
        for chunk in keys.chunks(backend.max_params()) {
            let (sql, args) =
                render::select_matching::<M>(backend, &column, columns.as_deref(), chunk, first)?;
            let rows = conn
                .fetch_all(&op, sql_owned(sql), args, |row| {
                    let at = i64::decode(row, 0)?;
                    Ok((usize::try_from(at).unwrap_or(usize::MAX), decode(row, 1)?))
                })
                .await?;
            out.extend(rows.into_iter().filter(|(at, _)| *at < keys.len()));
            first += chunk.len();
        }
        return Ok(out);
    }
    let position: HashMap<KeyRepr, usize> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| key_repr(k).map(|k| (k, i)))
        .collect();
    for chunk in keys.chunks(backend.max_params()) {
        let parts = Parts {
            columns: columns.clone(),
            filter: Some(Node::In(Box::new(column.clone()), chunk.to_vec(), false)),
            order: vec![crate::query::Ordering::<M>::key_of().key],
            collated: true,
            ..Parts::default()
        };
        let (sql, args) = render::select::<M>(backend, &parts)?;
        let rows = conn
            .fetch_all(&op, sql_owned(sql), args, |row| decode(row, 0))
            .await?;
        for row in rows {
            let at = if keys.len() == 1 {
                Some(0)
            } else {
                key_repr(&key_of(&row)).and_then(|k| position.get(&k).copied())
            };
            if let Some(at) = at {
                out.push((at, row));
            }
        }
    }
    Ok(out)
}

fn decode_model<M: Model>(row: RowRef<'_>, offset: usize) -> Result<M> {
    M::__decode(row, offset)
}

fn key_of_model<M: Model>(row: &M) -> Value {
    row.__key_value()
}

/// Rows grouped by the key they matched: `groups[i]` for `keys[i]`.
fn group<T>(count: usize, matched: Vec<(usize, T)>) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = (0..count).map(|_| Vec::new()).collect();
    for (at, row) in matched {
        groups[at].push(row);
    }
    groups
}

/// The keys of `rows` (`None` for NULL), and the distinct ones with the
/// position of each row's key among them.
struct Keys {
    wanted: Vec<Value>,
    /// For each row, the position of its key in `wanted`.
    at: Vec<Option<usize>>,
}

impl Keys {
    fn of(raw: Vec<Value>) -> Keys {
        let reprs: Vec<Option<KeyRepr>> = raw.iter().map(key_repr).collect();
        let wanted = distinct(&reprs, &raw);
        let position: HashMap<&KeyRepr, usize> =
            reprs.iter().flatten().fold(HashMap::new(), |mut m, k| {
                let next = m.len();
                m.entry(k).or_insert(next);
                m
            });
        let at = reprs
            .iter()
            .map(|k| k.as_ref().and_then(|k| position.get(k).copied()))
            .collect();
        Keys { wanted, at }
    }

    /// Hands out each key's group to the rows with that key: moved to the
    /// last of them, cloned before.
    fn hand_out<T: Clone>(&self, mut groups: Vec<Vec<T>>) -> Vec<Vec<T>> {
        let mut remaining = vec![0_usize; groups.len()];
        for at in self.at.iter().flatten() {
            remaining[*at] += 1;
        }
        self.at
            .iter()
            .map(|at| match at {
                None => Vec::new(),
                Some(at) => {
                    remaining[*at] -= 1;
                    if remaining[*at] == 0 {
                        std::mem::take(&mut groups[*at])
                    } else {
                        groups[*at].clone()
                    }
                }
            })
            .collect()
    }
}

impl<C> Relation for BelongsTo<C>
where
    C: ForeignKey,
    C::Type: KeyOf<<C::Target as Model>::Key>,
    C::Target: Clone,
{
    type From = C::Model;
    type To = C::Target;
    type Loaded = <C::Type as KeyOf<<C::Target as Model>::Key>>::One<C::Target>;

    async fn __load<'e>(
        self,
        parents: Vec<&'e C::Model>,
        mut conn: Session<'e>,
    ) -> Result<Vec<Self::Loaded>> {
        let keys = Keys::of(parents.iter().map(|p| C::__value(p)).collect());
        let matched = if keys.wanted.is_empty() {
            Vec::new()
        } else {
            fetch_matching::<C::Target, _>(
                &mut conn,
                key_node::<C::Target>(),
                None,
                &keys.wanted,
                decode_model,
                key_of_model,
            )
            .await?
        };
        let mut targets: Vec<Option<C::Target>> = keys.wanted.iter().map(|_| None).collect();
        for (at, target) in matched {
            targets[at] = Some(target);
        }
        keys.at
            .iter()
            .map(|at| {
                let found = at.and_then(|at| targets[at].clone());
                // A key that is set but finds no row is an error even when
                // the key is optional: the data is inconsistent.
                if at.is_some() && found.is_none() {
                    return Err(Error::NotFound {
                        model: <C::Target as Model>::NAME,
                    });
                }
                <C::Type as KeyOf<_>>::__one(found, <C::Target as Model>::NAME)
            })
            .collect()
    }
}

impl<C> Joinable for BelongsTo<C>
where
    C: ForeignKey,
    C::Type: KeyOf<<C::Target as Model>::Key>,
    C::Target: Clone,
{
    fn __joins(&self) -> Vec<JoinStep> {
        step::<C::Target>((column_node::<C>(), key_node::<C::Target>()))
    }
}

/// Children of each parent, aligned with `parents`: one query for all.
async fn load_children<C>(
    parents: &[&C::Target],
    conn: &mut Session<'_>,
) -> Result<Vec<Vec<C::Model>>>
where
    C: ForeignKey,
    C::Model: Clone,
{
    let keys = Keys::of(parents.iter().map(|p| p.__key_value()).collect());
    if keys.wanted.is_empty() {
        return Ok(parents.iter().map(|_| Vec::new()).collect());
    }
    let children = fetch_matching::<C::Model, _>(
        conn,
        column_node::<C>(),
        None,
        &keys.wanted,
        decode_model,
        C::__value,
    )
    .await?;
    Ok(keys.hand_out(group(keys.wanted.len(), children)))
}

impl<C> Relation for HasMany<C>
where
    C: ForeignKey,
    C::Model: Clone,
{
    type From = C::Target;
    type To = C::Model;
    type Loaded = Vec<C::Model>;

    async fn __load<'e>(
        self,
        parents: Vec<&'e C::Target>,
        mut conn: Session<'e>,
    ) -> Result<Vec<Vec<C::Model>>> {
        load_children::<C>(&parents, &mut conn).await
    }
}

impl<C> Relation for HasOne<C>
where
    C: ForeignKey,
    C::Model: Clone,
{
    type From = C::Target;
    type To = C::Model;
    type Loaded = Option<C::Model>;

    async fn __load<'e>(
        self,
        parents: Vec<&'e C::Target>,
        mut conn: Session<'e>,
    ) -> Result<Vec<Option<C::Model>>> {
        let children = load_children::<C>(&parents, &mut conn).await?;
        Ok(children.into_iter().map(|c| c.into_iter().next()).collect())
    }
}

impl<C> Joinable for HasMany<C>
where
    C: ForeignKey,
    C::Model: Clone,
{
    fn __joins(&self) -> Vec<JoinStep> {
        step::<C::Model>((key_node::<C::Target>(), column_node::<C>()))
    }
}

impl<C> Joinable for HasOne<C>
where
    C: ForeignKey,
    C::Model: Clone,
{
    fn __joins(&self) -> Vec<JoinStep> {
        step::<C::Model>((key_node::<C::Target>(), column_node::<C>()))
    }
}

impl<A, B> Relation for ManyToMany<A, B>
where
    A: ForeignKey,
    B: ForeignKey<Model = A::Model>,
    B::Target: Clone + Model<Connection = <A::Model as Model>::Connection>,
{
    type From = A::Target;
    type To = B::Target;
    type Loaded = Vec<B::Target>;

    async fn __load<'e>(
        self,
        parents: Vec<&'e A::Target>,
        mut conn: Session<'e>,
    ) -> Result<Vec<Vec<B::Target>>> {
        let keys = Keys::of(parents.iter().map(|p| p.__key_value()).collect());
        if keys.wanted.is_empty() {
            return Ok(parents.iter().map(|_| Vec::new()).collect());
        }
        // 1: the join rows' other side, by the parent key each matched.
        let pairs: Vec<(usize, (Value, Value))> = fetch_matching::<A::Model, _>(
            &mut conn,
            column_node::<A>(),
            Some(vec![column_node::<A>(), column_node::<B>()]),
            &keys.wanted,
            |row, at| {
                Ok((
                    <A::Type as FieldType>::decode(row, at)?.into_value(),
                    <B::Type as FieldType>::decode(row, at + 1)?.into_value(),
                ))
            },
            |(a, _)| a.clone(),
        )
        .await?;
        // 2: the related rows, by the join row's key each matched.
        let others = Keys::of(pairs.iter().map(|(_, (_, b))| b.clone()).collect());
        let mut targets: Vec<Vec<B::Target>> = others.wanted.iter().map(|_| Vec::new()).collect();
        if !others.wanted.is_empty() {
            let found = fetch_matching::<B::Target, _>(
                &mut conn,
                key_node::<B::Target>(),
                None,
                &others.wanted,
                decode_model,
                key_of_model,
            )
            .await?;
            for (at, target) in found {
                targets[at].push(target);
            }
        }
        let mut groups: Vec<Vec<B::Target>> = keys.wanted.iter().map(|_| Vec::new()).collect();
        for ((parent, _), other) in pairs.iter().zip(&others.at) {
            if let Some(other) = other {
                groups[*parent].extend(targets[*other].iter().cloned());
            }
        }
        Ok(keys.hand_out(groups))
    }
}

/// many-to-many: the join model's table on its key to this model, then the
/// related model's table on the join model's other key.
impl<A, B> Joinable for ManyToMany<A, B>
where
    A: ForeignKey,
    B: ForeignKey<Model = A::Model>,
    B::Target: Clone + Model<Connection = <A::Model as Model>::Connection>,
{
    fn __joins(&self) -> Vec<JoinStep> {
        let mut steps = step::<A::Model>((key_node::<A::Target>(), column_node::<A>()));
        steps.extend(step::<B::Target>((
            column_node::<B>(),
            key_node::<B::Target>(),
        )));
        steps
    }
}

/// A relation handle, for the constants the macro generates.
#[doc(hidden)]
pub const fn relation<R: RelationHandle>() -> R {
    R::NEW
}

/// The relation types, constructible in constants.
#[doc(hidden)]
pub trait RelationHandle {
    const NEW: Self;
}

impl<C> RelationHandle for BelongsTo<C> {
    const NEW: Self = BelongsTo(PhantomData);
}
impl<C> RelationHandle for HasMany<C> {
    const NEW: Self = HasMany(PhantomData);
}
impl<C> RelationHandle for HasOne<C> {
    const NEW: Self = HasOne(PhantomData);
}
impl<A, B> RelationHandle for ManyToMany<A, B> {
    const NEW: Self = ManyToMany(PhantomData);
}

/// The checks the macro makes of each declared relation, one call each, with
/// every argument spanned on the user's tokens: the first mistake is
/// reported there, once, in the user's terms, and the checks after it see an
/// unknown type and stay silent. The generated relation impls are
/// conditional on the same facts, so they add no error of their own.
#[doc(hidden)]
pub mod check {
    use std::marker::PhantomData;

    use super::KeyOf;
    use crate::model::schema::ForeignTarget;
    use crate::model::Model;
    use crate::routing::ConnectionName;

    /// What a `belongs_to` column refers to, for the schema:
    /// `TargetOf::<T>::TARGET`. Named through this type, not through `T`'s
    /// `Model` impl, so that a target that is not a model is reported once,
    /// by [`belongs_to`], and not again by the schema.
    pub struct TargetOf<T>(PhantomData<fn() -> T>);

    impl<T: Model> TargetOf<T> {
        /// The target's table and connection.
        pub const TARGET: fn() -> ForeignTarget = target::<T>;
    }

    /// `TargetOf::<T>::TARGET` when `T` is not a model. A program that
    /// names it does not compile ([`belongs_to`] reports `T`), so it never
    /// runs.
    pub trait NotAModel {
        /// Never called.
        const TARGET: fn() -> ForeignTarget = not_a_model;
    }

    impl<T> NotAModel for TargetOf<T> {}

    fn target<T: Model>() -> ForeignTarget {
        ForeignTarget {
            table: T::SCHEMA,
            connection: <T::Connection as ConnectionName>::NAME,
        }
    }

    fn not_a_model() -> ForeignTarget {
        unreachable!("a foreign key to a type that is not a model does not compile")
    }

    /// A model, as the target of a relation: implemented by the macro for
    /// each model (not for every type, so that a relation to a type that is
    /// not a model stops the checks after it).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a model",
        label = "not a model",
        note = "a relation refers to a struct annotated with `#[orm::model]`: annotate `{Self}`, or name a model"
    )]
    pub trait RelationTarget {
        /// The model itself.
        type Row;
    }

    /// Rows a relation loads: cloned when several parents share one.
    #[diagnostic::on_unimplemented(
        message = "a relation loads `{Self}` rows, so `{Self}` must implement `Clone`",
        label = "`{Self}` is not `Clone`",
        note = "add `#[derive(Clone)]` to `{Self}`: relations' loaders clone a row for each parent that shares it (`belongs_to`, many-to-many), and every relation's rows are loaded by that one code"
    )]
    pub trait LoadedRow {}

    impl<T: Clone> LoadedRow for T {}

    /// A primary key of type `Self` that a foreign key of type `F` can
    /// refer to: `F` is `Self` or `Option<Self>`.
    #[diagnostic::on_unimplemented(
        message = "a foreign key of type `{F}` cannot refer to a primary key of type `{Self}`",
        label = "expected `{Self}` or `Option<{Self}>`",
        note = "give the foreign key field the type of the target's primary key (or an `Option` of it)"
    )]
    pub trait KeyFor<F> {}

    impl<K, F: KeyOf<K>> KeyFor<F> for K {}

    /// A `belongs_to` column: implemented by the macro for each
    /// `#[orm(belongs_to = Target)]` field of a model (`Child`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a foreign key column",
        label = "not a column declared `belongs_to`",
        note = "`has_many`, `has_one` and `many_to_many` name the other model's foreign key column (a field declared `#[orm(belongs_to = Model)]`, such as `post::user_id`), not a relation: name that column, or add `belongs_to` to the field"
    )]
    pub trait BelongsToColumn {
        /// The model the column refers to.
        type Target;
        /// The model the column is a field of.
        type Child;
    }

    /// `Self`, the model that column `C` refers to, is `M`, the model that
    /// declares a relation through `C`.
    #[diagnostic::on_unimplemented(
        message = "column `{C}` refers to `{Self}`, not to `{M}`",
        label = "a key to `{Self}`",
        note = "the key that `has_many`, `has_one` or the first key of `many_to_many` names refers to the model that declares the relation: name a column declared `belongs_to = {M}`, or declare the relation on `{Self}`"
    )]
    pub trait Targets<M, C> {}

    impl<M, C> Targets<M, C> for M {}

    /// `Self`, the model that column `C` is a field of, is `J`, the join
    /// model of a many-to-many relation.
    #[diagnostic::on_unimplemented(
        message = "column `{C}` is a column of `{Self}`, not of the join model `{J}`",
        label = "a column of `{Self}`",
        note = "both keys of `many_to_many` are `belongs_to` columns of one join model: `tracks = playlist_track::playlist_id -> playlist_track::track_id`"
    )]
    pub trait OfJoinModel<J, C> {}

    impl<J, C> OfJoinModel<J, C> for J {}

    /// A model on connection `C`: implemented by the macro for each model.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is on another connection than the join model, which is on `{C}`",
        label = "on another connection than the join model",
        note = "`many_to_many` reads the join rows and the related rows on one connection: put both models on `{C}`, or load in two steps (`has_many` to the join model, then its `belongs_to`)"
    )]
    pub trait LivesOn<C> {}

    /// `#[orm(belongs_to = T)] field: F`: `T` is a model (its `Row`, `R`),
    /// `Clone`, and its key `K` is what `F` can refer to.
    pub fn belongs_to<T: RelationTarget, R: LoadedRow, K: KeyFor<F>, F>() {}

    /// `has_many(name = C)` or `has_one(name = C)` on model `M`: `C` is a
    /// foreign key, to `M` (its `Target`, `T`), and its model `R` is `Clone`.
    pub fn has<C: BelongsToColumn, M, T: Targets<M, C>, R: LoadedRow>() {}

    /// `many_to_many(name = A -> B)` on model `M`: `A` is a foreign key to
    /// `M` (its `Target`, `TA`) of the join model `J`; `B` is a foreign key of
    /// `J` too (its model, `JB`); `B`'s target `T` is on `J`'s connection
    /// `C`. That `T` is `Clone` is the check of `B`'s own `belongs_to`, so
    /// that a `T` that is not is reported once, there.
    pub fn many_to_many<A, M, TA, J, B, JB, T, C>()
    where
        A: BelongsToColumn,
        TA: Targets<M, A>,
        B: BelongsToColumn,
        JB: OfJoinModel<J, B>,
        T: LivesOn<C>,
    {
    }
}
