//! Diesel (synchronous, SQLite and PostgreSQL) and diesel-async (PostgreSQL).

use diesel::prelude::*;

use crate::common::{checksum, Bench, Loaded, NewUser, ReportRow, Shape, UserRow};

diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
        hair_color -> Nullable<Text>,
    }
}

diesel::table! {
    posts (id) {
        id -> Integer,
        user_id -> Integer,
        title -> Text,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    comments (id) {
        id -> Integer,
        post_id -> Integer,
        text -> Text,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::joinable!(comments -> posts (post_id));
diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);

#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct DUser {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Clone, Debug)]
#[diesel(belongs_to(DUser, foreign_key = user_id))]
#[diesel(table_name = posts)]
pub struct DPost {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Clone, Debug)]
#[diesel(belongs_to(DPost, foreign_key = post_id))]
#[diesel(table_name = comments)]
pub struct DComment {
    pub id: i32,
    pub post_id: i32,
    pub text: String,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct DNewUser<'a> {
    pub name: &'a str,
    pub hair_color: Option<&'a str>,
}

fn row(u: DUser) -> UserRow {
    UserRow {
        id: u.id,
        name: u.name,
        hair_color: u.hair_color,
    }
}

fn new_users(users: &[NewUser]) -> Vec<DNewUser<'_>> {
    users
        .iter()
        .map(|u| DNewUser {
            name: &u.name,
            hair_color: u.hair_color.as_deref(),
        })
        .collect()
}

fn shape(users: &[DUser], posts: &[Vec<DPost>], comments: &[Vec<Vec<DComment>>]) -> Loaded {
    let per_user: Shape = users
        .iter()
        .zip(posts)
        .zip(comments)
        .map(|((u, ps), cs)| {
            (
                u.id,
                ps.iter()
                    .zip(cs)
                    .map(|(p, cs)| (p.id, cs.iter().map(|c| c.id).collect()))
                    .collect(),
            )
        })
        .collect();
    checksum(&per_user)
}

/// The report query, typed: Diesel 2.3 has window functions
/// (`rank().window_order(..)`) and accepts one over a grouped query. A macro,
/// for the synchronous and the async connection alike.
macro_rules! report_query {
    () => {
        users::table
            .inner_join(posts::table.inner_join(comments::table))
            .group_by((users::id, users::name))
            .order_by((diesel::dsl::count(comments::id).desc(), users::id.asc()))
            .select((
                users::name,
                diesel::dsl::count(comments::id),
                diesel::dsl::rank().window_order(diesel::dsl::count(comments::id).desc()),
            ))
    };
}

/// Diesel on a synchronous connection (blocking calls, as a sync app makes them).
pub struct Diesel<C> {
    pub conn: C,
}

macro_rules! diesel_bench {
    ($conn:ty) => {
        impl Bench for Diesel<$conn> {
            async fn trivial(&mut self) -> (usize, String) {
                let users: Vec<DUser> = users::table
                    .select(DUser::as_select())
                    .load(&mut self.conn)
                    .unwrap();
                let users: Vec<UserRow> = users.into_iter().map(row).collect();
                (
                    users.len(),
                    users.last().map(|u| u.name.clone()).unwrap_or_default(),
                )
            }

            async fn medium(&mut self) -> (usize, usize) {
                let rows: Vec<(DUser, Option<DPost>)> = users::table
                    .left_join(posts::table)
                    .filter(users::hair_color.eq("black"))
                    .select((DUser::as_select(), Option::<DPost>::as_select()))
                    .load(&mut self.conn)
                    .unwrap();
                (rows.len(), rows.iter().filter(|(_, p)| p.is_some()).count())
            }

            async fn insert(&mut self, users: &[NewUser]) -> usize {
                diesel::insert_into(users::table)
                    .values(&new_users(users))
                    .execute(&mut self.conn)
                    .unwrap()
            }

            async fn associations(&mut self) -> Loaded {
                let users: Vec<DUser> = users::table
                    .order(users::id)
                    .select(DUser::as_select())
                    .load(&mut self.conn)
                    .unwrap();
                let posts: Vec<DPost> = DPost::belonging_to(&users)
                    .order(posts::id)
                    .select(DPost::as_select())
                    .load(&mut self.conn)
                    .unwrap();
                let comments: Vec<DComment> = DComment::belonging_to(&posts)
                    .order(comments::id)
                    .select(DComment::as_select())
                    .load(&mut self.conn)
                    .unwrap();
                let comments = comments.grouped_by(&posts);
                let posts_by_user: Vec<Vec<(DPost, Vec<DComment>)>> =
                    posts.into_iter().zip(comments).grouped_by(&users);
                let (posts, comments): (Vec<Vec<DPost>>, Vec<Vec<Vec<DComment>>>) = posts_by_user
                    .into_iter()
                    .map(|pcs| pcs.into_iter().unzip())
                    .unzip();
                shape(&users, &posts, &comments)
            }

            async fn report(&mut self) -> Vec<ReportRow> {
                report_query!().load(&mut self.conn).unwrap()
            }

            async fn find(&mut self, id: i32) -> UserRow {
                row(users::table
                    .find(id)
                    .select(DUser::as_select())
                    .first(&mut self.conn)
                    .unwrap())
            }

            async fn update(&mut self, id: i32, name: &str) {
                diesel::update(users::table.find(id))
                    .set(users::name.eq(name))
                    .execute(&mut self.conn)
                    .unwrap();
            }

            async fn transaction(&mut self, id: i32, name: &str) {
                self.conn
                    .transaction::<_, diesel::result::Error, _>(|c| {
                        let _: i32 = diesel::insert_into(users::table)
                            .values(&DNewUser {
                                name,
                                hair_color: None,
                            })
                            .returning(users::id)
                            .get_result(c)?;
                        diesel::update(users::table.find(id))
                            .set(users::name.eq(name))
                            .execute(c)?;
                        Ok(())
                    })
                    .unwrap();
            }

            async fn savepoint(&mut self, id: i32, name: &str) {
                self.conn
                    .transaction::<_, diesel::result::Error, _>(|c| {
                        let _: i32 = diesel::insert_into(users::table)
                            .values(&DNewUser {
                                name,
                                hair_color: None,
                            })
                            .returning(users::id)
                            .get_result(c)?;
                        // A nested transaction is a SAVEPOINT.
                        c.transaction::<_, diesel::result::Error, _>(|c| {
                            diesel::update(users::table.find(id))
                                .set(users::name.eq(name))
                                .execute(c)
                        })?;
                        Ok(())
                    })
                    .unwrap();
            }

            /// Diesel's transactions are closures: the same as `transaction`.
            async fn transaction_closure(&mut self, id: i32, name: &str) {
                self.transaction(id, name).await
            }
        }
    };
}

diesel_bench!(diesel::SqliteConnection);
diesel_bench!(diesel::PgConnection);

pub fn sqlite(path: &str) -> Diesel<diesel::SqliteConnection> {
    Diesel {
        conn: diesel::SqliteConnection::establish(path).unwrap(),
    }
}

pub fn postgres(url: &str) -> Diesel<diesel::PgConnection> {
    Diesel {
        conn: diesel::PgConnection::establish(url).unwrap(),
    }
}

pub use async_pg::{postgres_async, DieselAsync};

/// In a module of its own: diesel's prelude would make `load` ambiguous.
mod async_pg {
    use diesel::{
        BelongingToDsl, ExpressionMethods, GroupedBy, QueryDsl, SelectableHelper,
        WindowExpressionMethods,
    };
    use diesel_async::RunQueryDsl;

    use super::{comments, new_users, posts, row, shape, users, DComment, DNewUser, DPost, DUser};
    use crate::common::{Bench, Loaded, NewUser, ReportRow, UserRow};

    /// diesel-async on PostgreSQL.
    pub struct DieselAsync {
        pub conn: diesel_async::AsyncPgConnection,
    }

    pub async fn postgres_async(url: &str) -> DieselAsync {
        use diesel_async::AsyncConnection;
        DieselAsync {
            conn: diesel_async::AsyncPgConnection::establish(url)
                .await
                .unwrap(),
        }
    }

    impl Bench for DieselAsync {
        async fn trivial(&mut self) -> (usize, String) {
            let users: Vec<DUser> = users::table
                .select(DUser::as_select())
                .load(&mut self.conn)
                .await
                .unwrap();
            let users: Vec<UserRow> = users.into_iter().map(row).collect();
            (
                users.len(),
                users.last().map(|u| u.name.clone()).unwrap_or_default(),
            )
        }

        async fn medium(&mut self) -> (usize, usize) {
            let rows: Vec<(DUser, Option<DPost>)> = users::table
                .left_join(posts::table)
                .filter(users::hair_color.eq("black"))
                .select((DUser::as_select(), Option::<DPost>::as_select()))
                .load(&mut self.conn)
                .await
                .unwrap();
            (rows.len(), rows.iter().filter(|(_, p)| p.is_some()).count())
        }

        async fn insert(&mut self, users: &[NewUser]) -> usize {
            diesel::insert_into(users::table)
                .values(&new_users(users))
                .execute(&mut self.conn)
                .await
                .unwrap()
        }

        async fn associations(&mut self) -> Loaded {
            let users: Vec<DUser> = users::table
                .order(users::id)
                .select(DUser::as_select())
                .load(&mut self.conn)
                .await
                .unwrap();
            let posts: Vec<DPost> = DPost::belonging_to(&users)
                .order(posts::id)
                .select(DPost::as_select())
                .load(&mut self.conn)
                .await
                .unwrap();
            let comments: Vec<DComment> = DComment::belonging_to(&posts)
                .order(comments::id)
                .select(DComment::as_select())
                .load(&mut self.conn)
                .await
                .unwrap();
            let comments = comments.grouped_by(&posts);
            let posts_by_user: Vec<Vec<(DPost, Vec<DComment>)>> =
                posts.into_iter().zip(comments).grouped_by(&users);
            let (posts, comments): (Vec<Vec<DPost>>, Vec<Vec<Vec<DComment>>>) = posts_by_user
                .into_iter()
                .map(|pcs| pcs.into_iter().unzip())
                .unzip();
            shape(&users, &posts, &comments)
        }

        async fn find(&mut self, id: i32) -> UserRow {
            row(users::table
                .find(id)
                .select(DUser::as_select())
                .first(&mut self.conn)
                .await
                .unwrap())
        }

        async fn update(&mut self, id: i32, name: &str) {
            diesel::update(users::table.find(id))
                .set(users::name.eq(name))
                .execute(&mut self.conn)
                .await
                .unwrap();
        }

        async fn transaction(&mut self, id: i32, name: &str) {
            use diesel_async::AsyncConnection;
            let name = name.to_owned();
            self.conn
                .transaction(async move |c| {
                    let _: i32 = diesel::insert_into(users::table)
                        .values(&DNewUser {
                            name: &name,
                            hair_color: None,
                        })
                        .returning(users::id)
                        .get_result(c)
                        .await?;
                    diesel::update(users::table.find(id))
                        .set(users::name.eq(&name))
                        .execute(c)
                        .await?;
                    Ok::<_, diesel::result::Error>(())
                })
                .await
                .unwrap();
        }

        async fn savepoint(&mut self, id: i32, name: &str) {
            use diesel_async::AsyncConnection;
            let name = name.to_owned();
            self.conn
                .transaction(async move |c| {
                    let _: i32 = diesel::insert_into(users::table)
                        .values(&DNewUser {
                            name: &name,
                            hair_color: None,
                        })
                        .returning(users::id)
                        .get_result(c)
                        .await?;
                    // A nested transaction is a SAVEPOINT.
                    c.transaction(async |c| {
                        diesel::update(users::table.find(id))
                            .set(users::name.eq(&name))
                            .execute(c)
                            .await
                    })
                    .await?;
                    Ok::<_, diesel::result::Error>(())
                })
                .await
                .unwrap();
        }

        /// diesel-async's transactions are closures: the same as `transaction`.
        async fn transaction_closure(&mut self, id: i32, name: &str) {
            self.transaction(id, name).await
        }

        async fn report(&mut self) -> Vec<ReportRow> {
            report_query!().load(&mut self.conn).await.unwrap()
        }
    }
}
