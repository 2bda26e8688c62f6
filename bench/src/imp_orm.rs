//! This ORM, through its public API and its own pool.

use orm::prelude::*;
use orm::query::{rank, window};

use crate::common::{checksum, Bench, Loaded, NewUser, ReportRow, Shape, UserRow};

#[orm::model(table = "users", has_many(posts = post::user_id))]
#[derive(Clone, Debug)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

#[orm::model(table = "posts", has_many(comments = comment::post_id))]
#[derive(Clone, Debug)]
pub struct Post {
    #[orm(primary_key, auto)]
    pub id: i32,
    #[orm(belongs_to = User)]
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
}

#[orm::model(table = "comments")]
#[derive(Clone, Debug)]
pub struct Comment {
    #[orm(primary_key, auto)]
    pub id: i32,
    #[orm(belongs_to = Post)]
    pub post_id: i32,
    pub text: String,
}

pub struct Orm {
    pub db: orm::Database,
}

impl Orm {
    pub async fn connect(url: &str, pool_size: u32) -> Orm {
        let db = orm::Database::builder()
            .connection_with(
                "db",
                url,
                orm::PoolOptions::new().max_connections(pool_size),
            )
            .build()
            .await
            .expect("orm connect");
        Orm { db }
    }

    /// Connection "db" with the server at `url` as its primary and again as
    /// its one replica (weight 1), reads routed by `read_your_writes`: with
    /// `Off`, or a sticky window and no write through this handle, every
    /// read goes to the replica's pool (issue 13's routing-cost figure).
    pub async fn connect_with_replica(
        url: &str,
        pool_size: u32,
        read_your_writes: orm::ReadYourWrites,
    ) -> Orm {
        let db = orm::Database::builder()
            .connection_with(
                "db",
                url,
                orm::PoolOptions::new().max_connections(pool_size),
            )
            .replica("db", url)
            .replication(
                "db",
                orm::ReplicationOptions::new().read_your_writes(read_your_writes),
            )
            .build()
            .await
            .expect("orm connect with a replica");
        Orm { db }
    }
}

fn row(u: User) -> UserRow {
    UserRow {
        id: u.id,
        name: u.name,
        hair_color: u.hair_color,
    }
}

impl Bench for Orm {
    async fn trivial(&mut self) -> (usize, String) {
        let users = User::query().all(&self.db).await.unwrap();
        (
            users.len(),
            users.last().map(|u| u.name.clone()).unwrap_or_default(),
        )
    }

    async fn medium(&mut self) -> (usize, usize) {
        let rows = User::query()
            .left_join(user::posts)
            .filter(user::hair_color.eq("black"))
            .all(&self.db)
            .await
            .unwrap();
        (rows.len(), rows.iter().filter(|(_, p)| p.is_some()).count())
    }

    async fn insert(&mut self, users: &[NewUser]) -> usize {
        let rows: Vec<User> = users
            .iter()
            .map(|u| User {
                id: 0,
                name: u.name.clone(),
                hair_color: u.hair_color.clone(),
            })
            .collect();
        User::insert_many(&self.db, &rows).await.unwrap() as usize
    }

    async fn associations(&mut self) -> Loaded {
        let users = User::query()
            .order_by(user::id)
            .all(&self.db)
            .await
            .unwrap();
        let posts = user::posts.load(&users, &self.db).await.unwrap();
        let comments = post::comments.load_nested(&posts, &self.db).await.unwrap();
        let shape: Shape = users
            .iter()
            .zip(&posts)
            .zip(&comments)
            .map(|((u, ps), cs)| {
                let ps = ps
                    .iter()
                    .zip(cs)
                    .map(|(p, cs)| (p.id, cs.iter().map(|c| c.id).collect()))
                    .collect();
                (u.id, ps)
            })
            .collect();
        checksum(&shape)
    }

    async fn find(&mut self, id: i32) -> UserRow {
        row(User::get(&self.db, id).await.unwrap())
    }

    async fn update(&mut self, id: i32, name: &str) {
        User::query()
            .filter(user::id.eq(id))
            .update()
            .set(user::name, name)
            .execute(&self.db)
            .await
            .unwrap();
    }

    async fn transaction(&mut self, id: i32, name: &str) {
        let mut tx = self.db.begin().await.unwrap();
        User {
            id: 0,
            name: name.to_owned(),
            hair_color: None,
        }
        .insert(&mut tx)
        .await
        .unwrap();
        User::query()
            .filter(user::id.eq(id))
            .update()
            .set(user::name, name)
            .execute(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn savepoint(&mut self, id: i32, name: &str) {
        let mut tx = self.db.begin().await.unwrap();
        User {
            id: 0,
            name: name.to_owned(),
            hair_color: None,
        }
        .insert(&mut tx)
        .await
        .unwrap();
        let mut sp = tx.savepoint().await.unwrap();
        User::query()
            .filter(user::id.eq(id))
            .update()
            .set(user::name, name)
            .execute(&mut sp)
            .await
            .unwrap();
        sp.commit().await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn transaction_closure(&mut self, id: i32, name: &str) {
        self.db
            .transaction(async |tx| {
                User {
                    id: 0,
                    name: name.to_owned(),
                    hair_color: None,
                }
                .insert(&mut *tx)
                .await?;
                User::query()
                    .filter(user::id.eq(id))
                    .update()
                    .set(user::name, name)
                    .execute(&mut *tx)
                    .await?;
                Ok::<_, orm::Error>(())
            })
            .await
            .unwrap();
    }

    /// Typed, no SQL text: two joins through the has-many relations, a
    /// group, an aggregate and a window function over it.
    async fn report(&mut self) -> Vec<ReportRow> {
        User::query()
            .join(user::posts)
            .join(post::comments)
            .group_by(user::id)
            .group_by(user::name)
            .order_by(comment::id.count().desc())
            .order_by(user::id)
            .select((
                user::name,
                comment::id.count(),
                rank().over(window().order_by(comment::id.count().desc())),
            ))
            .all(&self.db)
            .await
            .unwrap()
    }
}
