//! SeaORM, through its `DatabaseConnection` (sqlx's pool underneath).

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectOptions, LoaderTrait, QueryOrder, TransactionTrait};

use crate::common::{checksum, Bench, Loaded, NewUser, ReportRow, Shape, UserRow};

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
        pub hair_color: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod post {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub user_id: i32,
        pub title: String,
        pub body: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
        #[sea_orm(has_many = "super::comment::Entity")]
        Comment,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl Related<super::comment::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Comment.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub post_id: i32,
        pub text: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id"
        )]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct SeaOrm {
    pub db: sea_orm::DatabaseConnection,
}

pub async fn connect(url: &str, pool_size: u32) -> SeaOrm {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(pool_size).sqlx_logging(false);
    SeaOrm {
        db: sea_orm::Database::connect(options).await.unwrap(),
    }
}

fn row(u: user::Model) -> UserRow {
    UserRow {
        id: u.id,
        name: u.name,
        hair_color: u.hair_color,
    }
}

impl Bench for SeaOrm {
    async fn trivial(&mut self) -> (usize, String) {
        let users: Vec<UserRow> = user::Entity::find()
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .map(row)
            .collect();
        (
            users.len(),
            users.last().map(|u| u.name.clone()).unwrap_or_default(),
        )
    }

    async fn medium(&mut self) -> (usize, usize) {
        let rows = user::Entity::find()
            .find_also_related(post::Entity)
            .filter(user::Column::HairColor.eq("black"))
            .all(&self.db)
            .await
            .unwrap();
        (rows.len(), rows.iter().filter(|(_, p)| p.is_some()).count())
    }

    async fn insert(&mut self, users: &[NewUser]) -> usize {
        let models = users.iter().map(|u| user::ActiveModel {
            name: Set(u.name.clone()),
            hair_color: Set(u.hair_color.clone()),
            ..Default::default()
        });
        user::Entity::insert_many(models)
            .exec_without_returning(&self.db)
            .await
            .unwrap() as usize
    }

    async fn associations(&mut self) -> Loaded {
        let users = user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await
            .unwrap();
        let posts = users.load_many(post::Entity, &self.db).await.unwrap();
        let flat: Vec<post::Model> = posts.iter().flatten().cloned().collect();
        let comments = flat.load_many(comment::Entity, &self.db).await.unwrap();
        let mut comments = comments.into_iter();
        let per_user: Shape = users
            .iter()
            .zip(&posts)
            .map(|(u, ps)| {
                let ps = ps
                    .iter()
                    .map(|p| {
                        (
                            p.id,
                            comments
                                .next()
                                .unwrap_or_default()
                                .iter()
                                .map(|c| c.id)
                                .collect(),
                        )
                    })
                    .collect();
                (u.id, ps)
            })
            .collect();
        checksum(&per_user)
    }

    async fn find(&mut self, id: i32) -> UserRow {
        row(user::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .unwrap()
            .unwrap())
    }

    async fn update(&mut self, id: i32, name: &str) {
        user::Entity::update_many()
            .col_expr(user::Column::Name, Expr::value(name))
            .filter(user::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .unwrap();
    }

    async fn transaction(&mut self, id: i32, name: &str) {
        let txn = self.db.begin().await.unwrap();
        user::Entity::insert(user::ActiveModel {
            name: Set(name.to_owned()),
            hair_color: Set(None),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .unwrap();
        user::Entity::update_many()
            .col_expr(user::Column::Name, Expr::value(name))
            .filter(user::Column::Id.eq(id))
            .exec(&txn)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }

    async fn savepoint(&mut self, id: i32, name: &str) {
        let txn = self.db.begin().await.unwrap();
        user::Entity::insert(user::ActiveModel {
            name: Set(name.to_owned()),
            hair_color: Set(None),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .unwrap();
        // A transaction begun on a transaction is a SAVEPOINT.
        let sp = txn.begin().await.unwrap();
        user::Entity::update_many()
            .col_expr(user::Column::Name, Expr::value(name))
            .filter(user::Column::Id.eq(id))
            .exec(&sp)
            .await
            .unwrap();
        sp.commit().await.unwrap();
        txn.commit().await.unwrap();
    }

    async fn transaction_closure(&mut self, id: i32, name: &str) {
        let name = name.to_owned();
        self.db
            .transaction::<_, (), DbErr>(|txn| {
                Box::pin(async move {
                    user::Entity::insert(user::ActiveModel {
                        name: Set(name.clone()),
                        hair_color: Set(None),
                        ..Default::default()
                    })
                    .exec(txn)
                    .await?;
                    user::Entity::update_many()
                        .col_expr(user::Column::Name, Expr::value(name))
                        .filter(user::Column::Id.eq(id))
                        .exec(txn)
                        .await?;
                    Ok(())
                })
            })
            .await
            .unwrap();
    }

    /// Through SeaORM's query builder (SeaQuery): joins, group, aggregate
    /// and the window (`.over(WindowStatement)`) are typed. SeaQuery has no
    /// built-in `RANK`, so the function is named with `Func::cust("RANK")`:
    /// a function name, not SQL text.
    async fn report(&mut self) -> Vec<ReportRow> {
        use sea_orm::sea_query::{ExprTrait, Func, Order, SelectExprTrait, WindowStatement};
        use sea_orm::{JoinType, QuerySelect};
        let count = || Expr::col((comment::Entity, comment::Column::Id)).count();
        let mut window = WindowStatement::new();
        window.order_by_expr(count(), Order::Desc);
        user::Entity::find()
            .select_only()
            .column(user::Column::Name)
            .expr(count())
            .expr(Func::cust("RANK").over(window))
            .join(JoinType::InnerJoin, user::Relation::Post.def())
            .join(JoinType::InnerJoin, post::Relation::Comment.def())
            .group_by(user::Column::Id)
            .group_by(user::Column::Name)
            .order_by(count(), Order::Desc)
            .order_by_asc(user::Column::Id)
            .into_tuple::<ReportRow>()
            .all(&self.db)
            .await
            .unwrap()
    }
}
