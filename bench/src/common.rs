//! What every implementation runs: the workloads of Diesel's benchmark suite
//! (users with a nullable hair_color, posts, comments) plus find, update and
//! transactions (plain, with a savepoint, closure form) by primary key, and a
//! report (three tables joined, grouped, with a window function). Each
//! implementation returns what it read, and the harness reads back what the
//! writes left, so that it checks the answers before it times anything.

use std::future::Future;

/// Which database a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// A user row as every implementation reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

/// A user to insert.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub name: String,
    pub hair_color: Option<String>,
}

/// The summary of one associations load: users, posts and comments seen,
/// and a checksum of how they were attached (sum of post ids per user and
/// comment ids per post, weighted by the parent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub users: usize,
    pub posts: usize,
    pub comments: usize,
    pub checksum: i64,
}

/// One row of the report workload: a user's name, how many comments the
/// user's posts have, and the rank of that count among all users (1 for the
/// most; ties share a rank and leave a gap, as SQL's `RANK()`).
pub type ReportRow = (String, i64, i64);

/// One implementation under test.
pub trait Bench {
    /// Every user (the trivial query): how many rows and the last name seen.
    fn trivial(&mut self) -> impl Future<Output = (usize, String)>;
    /// Users LEFT JOIN posts WHERE hair_color = 'black': rows and users with a post.
    fn medium(&mut self) -> impl Future<Output = (usize, usize)>;
    /// Inserts the users in one statement; returns how many.
    fn insert(&mut self, users: &[NewUser]) -> impl Future<Output = usize>;
    /// Loads all users, their posts, and the posts' comments.
    fn associations(&mut self) -> impl Future<Output = Loaded>;
    /// The user with this key.
    fn find(&mut self, id: i32) -> impl Future<Output = UserRow>;
    /// Sets the user's name.
    fn update(&mut self, id: i32, name: &str) -> impl Future<Output = ()>;
    /// In one transaction: inserts a user, renames user `id`.
    fn transaction(&mut self, id: i32, name: &str) -> impl Future<Output = ()>;
    /// In one transaction: inserts a user, then renames user `id` in a
    /// savepoint (a nested transaction) that is released before the commit.
    fn savepoint(&mut self, id: i32, name: &str) -> impl Future<Output = ()>;
    /// The writes of `transaction` through the library's closure API
    /// (commit on `Ok`, rollback on `Err`), where it has one.
    fn transaction_closure(&mut self, id: i32, name: &str) -> impl Future<Output = ()>;
    /// The report (issue 12): users joined to their posts and the posts'
    /// comments, grouped per user, with the comment count and
    /// `RANK() OVER (ORDER BY count DESC)`, sorted by count descending then
    /// user id; users without a comment are not in it (inner joins).
    fn report(&mut self) -> impl Future<Output = Vec<ReportRow>>;
}

/// Checksum of an association load, in one form for every implementation.
pub fn checksum(per_user: &[(i32, Vec<(i32, Vec<i32>)>)]) -> Loaded {
    let mut out = Loaded {
        users: per_user.len(),
        posts: 0,
        comments: 0,
        checksum: 0,
    };
    for (user, posts) in per_user {
        for (post, comments) in posts {
            out.posts += 1;
            out.checksum += i64::from(*user) * i64::from(*post);
            for comment in comments {
                out.comments += 1;
                out.checksum += i64::from(*post) * i64::from(*comment);
            }
        }
    }
    out
}
