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

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;

use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::crud::read_of;
use crate::model::types::{FieldType, ScalarType, Value};
use crate::model::{Column, Model};
use crate::query::{render, Node, Parts};
use crate::routing::{Executor, Session};

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
    fn load<'e, P, E>(
        self,
        rows: &'e [P],
        exec: E,
    ) -> impl Future<Output = Result<Vec<Self::Loaded>>> + Send + 'e
    where
        P: SameModel<Self::From> + Sync + 'e,
        E: Executor<'e, <Self::To as Model>::Connection> + 'e,
    {
        async move {
            let conn = exec.__session(&read_of::<Self::To>()).await?;
            self.__load(rows.iter().map(P::__as_model).collect(), conn)
                .await
        }
    }

    /// [`load`](Self::load) for rows grouped in lists (the result of an
    /// earlier `load`): one query for all of them, aligned with the groups.
    fn load_nested<'e, P, E>(
        self,
        groups: &'e [Vec<P>],
        exec: E,
    ) -> impl Future<Output = Result<Vec<Vec<Self::Loaded>>>> + Send + 'e
    where
        P: SameModel<Self::From> + Sync + 'e,
        E: Executor<'e, <Self::To as Model>::Connection> + 'e,
    {
        async move {
            let conn = exec.__session(&read_of::<Self::To>()).await?;
            let flat = groups.iter().flatten().map(P::__as_model).collect();
            let mut loaded = self.__load(flat, conn).await?.into_iter();
            Ok(groups
                .iter()
                .map(|g| loaded.by_ref().take(g.len()).collect())
                .collect())
        }
    }

    /// The related rows of one row: what the generated accessors call.
    fn of<'e, P, E>(
        self,
        row: &'e P,
        exec: E,
    ) -> impl Future<Output = Result<Self::Loaded>> + Send + 'e
    where
        P: SameModel<Self::From> + Sync + 'e,
        E: Executor<'e, <Self::To as Model>::Connection> + 'e,
    {
        async move {
            let conn = exec.__session(&read_of::<Self::To>()).await?;
            let mut loaded = self.__load(vec![row.__as_model()], conn).await?;
            loaded.pop().ok_or(Error::NotFound {
                model: <Self::To as Model>::NAME,
            })
        }
    }
}

/// A relation an SQL join can follow: both ends on one connection.
pub trait Joinable: Relation {
    /// The `ON` condition: `(From side, To side)`.
    #[doc(hidden)]
    fn __on(&self) -> (Node, Node);
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

/// Rows of `M` whose `column` is one of `keys`, in `M`'s key order; as few
/// statements as the backend's parameter limit allows (one up to its limit).
async fn fetch_where_in<M, T>(
    conn: &mut Session<'_>,
    column: Node,
    columns: Option<Vec<Node>>,
    keys: &[Value],
    decode: fn(RowRef<'_>) -> Result<T>,
) -> Result<Vec<T>>
where
    M: Model,
    T: Send,
{
    let mut out = Vec::new();
    let op = read_of::<M>();
    let backend = conn.backend();
    for chunk in keys.chunks(backend.max_params()) {
        let parts = Parts {
            columns: columns.clone(),
            filter: Some(Node::In(Box::new(column.clone()), chunk.to_vec(), false)),
            order: vec![(key_node::<M>(), false)],
            ..Parts::default()
        };
        let (sql, args) = render::select::<M>(backend, &parts)?;
        out.extend(conn.fetch_all(&op, sql_owned(sql), args, decode).await?);
    }
    Ok(out)
}

fn decode_model<M: Model>(row: RowRef<'_>) -> Result<M> {
    M::__decode(row, 0)
}

/// Hands out the loaded groups: moved to a key's last parent, cloned before.
fn take_group<T: Clone>(
    groups: &mut HashMap<KeyRepr, Vec<T>>,
    remaining: &mut HashMap<KeyRepr, usize>,
    key: &Option<KeyRepr>,
) -> Vec<T> {
    let Some(key) = key else { return Vec::new() };
    let left = remaining.get_mut(key).map(|n| {
        *n -= 1;
        *n
    });
    match left {
        Some(0) => groups.remove(key).unwrap_or_default(),
        _ => groups.get(key).cloned().unwrap_or_default(),
    }
}

fn counts(keys: &[Option<KeyRepr>]) -> HashMap<KeyRepr, usize> {
    let mut out = HashMap::new();
    for k in keys.iter().flatten() {
        *out.entry(k.clone()).or_insert(0) += 1;
    }
    out
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
        let raw: Vec<Value> = parents.iter().map(|p| C::__value(p)).collect();
        let keys: Vec<Option<KeyRepr>> = raw.iter().map(key_repr).collect();
        let wanted = distinct(&keys, &raw);
        let targets: Vec<C::Target> = if wanted.is_empty() {
            Vec::new()
        } else {
            fetch_where_in::<C::Target, _>(
                &mut conn,
                key_node::<C::Target>(),
                None,
                &wanted,
                decode_model,
            )
            .await?
        };
        let by_key: HashMap<KeyRepr, C::Target> = targets
            .into_iter()
            .filter_map(|t| key_repr(&t.__key_value()).map(|k| (k, t)))
            .collect();
        keys.iter()
            .map(|k| {
                let found = k.as_ref().and_then(|k| by_key.get(k)).cloned();
                // A key that is set but finds no row is an error even when
                // the key is optional: the data is inconsistent.
                if k.is_some() && found.is_none() {
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
    fn __on(&self) -> (Node, Node) {
        (column_node::<C>(), key_node::<C::Target>())
    }
}

/// Children of each parent: one query for all, grouped by foreign key.
async fn load_children<C>(
    parents: &[&C::Target],
    conn: &mut Session<'_>,
) -> Result<(Vec<Option<KeyRepr>>, HashMap<KeyRepr, Vec<C::Model>>)>
where
    C: ForeignKey,
    C::Model: Clone,
{
    let raw: Vec<Value> = parents.iter().map(|p| p.__key_value()).collect();
    let keys: Vec<Option<KeyRepr>> = raw.iter().map(key_repr).collect();
    let wanted = distinct(&keys, &raw);
    let mut groups: HashMap<KeyRepr, Vec<C::Model>> = HashMap::new();
    if !wanted.is_empty() {
        let children =
            fetch_where_in::<C::Model, _>(conn, column_node::<C>(), None, &wanted, decode_model)
                .await?;
        for child in children {
            if let Some(k) = key_repr(&C::__value(&child)) {
                groups.entry(k).or_default().push(child);
            }
        }
    }
    Ok((keys, groups))
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
        let (keys, mut groups) = load_children::<C>(&parents, &mut conn).await?;
        let mut remaining = counts(&keys);
        Ok(keys
            .iter()
            .map(|k| take_group(&mut groups, &mut remaining, k))
            .collect())
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
        let (keys, mut groups) = load_children::<C>(&parents, &mut conn).await?;
        let mut remaining = counts(&keys);
        Ok(keys
            .iter()
            .map(|k| {
                take_group(&mut groups, &mut remaining, k)
                    .into_iter()
                    .next()
            })
            .collect())
    }
}

impl<C> Joinable for HasMany<C>
where
    C: ForeignKey,
    C::Model: Clone,
{
    fn __on(&self) -> (Node, Node) {
        (key_node::<C::Target>(), column_node::<C>())
    }
}

impl<C> Joinable for HasOne<C>
where
    C: ForeignKey,
    C::Model: Clone,
{
    fn __on(&self) -> (Node, Node) {
        (key_node::<C::Target>(), column_node::<C>())
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
        let raw: Vec<Value> = parents.iter().map(|p| p.__key_value()).collect();
        let keys: Vec<Option<KeyRepr>> = raw.iter().map(key_repr).collect();
        let wanted = distinct(&keys, &raw);
        if wanted.is_empty() {
            return Ok(parents.iter().map(|_| Vec::new()).collect());
        }
        // 1: the join rows, as (this side, other side) pairs.
        let pairs: Vec<(Value, Value)> = fetch_where_in::<A::Model, _>(
            &mut conn,
            column_node::<A>(),
            Some(vec![column_node::<A>(), column_node::<B>()]),
            &wanted,
            |row| {
                Ok((
                    <A::Type as FieldType>::decode(row, 0)?.into_value(),
                    <B::Type as FieldType>::decode(row, 1)?.into_value(),
                ))
            },
        )
        .await?;
        // 2: the related rows.
        let other_raw: Vec<Value> = pairs.iter().map(|(_, b)| b.clone()).collect();
        let other_keys: Vec<Option<KeyRepr>> = other_raw.iter().map(key_repr).collect();
        let other_wanted = distinct(&other_keys, &other_raw);
        let targets: Vec<B::Target> = if other_wanted.is_empty() {
            Vec::new()
        } else {
            fetch_where_in::<B::Target, _>(
                &mut conn,
                key_node::<B::Target>(),
                None,
                &other_wanted,
                decode_model,
            )
            .await?
        };
        let by_key: HashMap<KeyRepr, B::Target> = targets
            .into_iter()
            .filter_map(|t| key_repr(&t.__key_value()).map(|k| (k, t)))
            .collect();
        let mut groups: HashMap<KeyRepr, Vec<B::Target>> = HashMap::new();
        for ((a, _), b) in pairs.iter().zip(&other_keys) {
            let (Some(a), Some(b)) = (key_repr(a), b) else {
                continue;
            };
            if let Some(t) = by_key.get(b) {
                groups.entry(a).or_default().push(t.clone());
            }
        }
        let mut remaining = counts(&keys);
        Ok(keys
            .iter()
            .map(|k| take_group(&mut groups, &mut remaining, k))
            .collect())
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
