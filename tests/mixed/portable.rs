//! The same typed queries over the same rows on SQLite, PostgreSQL and
//! MySQL/MariaDB give the same answers: every operation of the DSL, with
//! text that differs only in case or trailing spaces, NULLs, ties, empty
//! sets and integer aggregates.

use std::fmt::Debug;

use orm::prelude::*;
use orm::{count_all, not, Condition, Database};
use orm_tests::blog::{author, post, Author, Post};
use orm_tests::{Kind, TestDb};

/// Rows with the awkward cases: text by case and trailing space, NULLs,
/// ties, negative numbers.
#[orm::model(table = "samples")]
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 40)]
    pub name: String,
    pub note: Option<String>,
    pub qty: i32,
    pub small: i16,
    pub price: f64,
    pub flag: bool,
}

/// name, note, qty, small, price, flag
type Row = (&'static str, Option<&'static str>, i32, i16, f64, bool);

const ROWS: &[Row] = &[
    ("apple", Some("b"), 3, 1, 1.5, true),
    ("Apple", None, 3, 2, 2.25, false),
    ("APPLE", Some("a"), -7, 3, 0.5, true),
    ("apple ", None, 10, 4, 10.0, false),
    ("banana", Some("B"), 3, 5, 3.0, true),
    ("éclair", Some("é"), 0, 6, 4.75, false),
    ("Zebra", Some("a "), 12, 7, 100.0, true),
    ("50%_off", None, 1, 8, 0.0, false),
];

/// One backend, filled with [`ROWS`] and a small blog.
async fn filled(kind: Kind) -> Option<TestDb> {
    let t = TestDb::of(kind).await?;
    let db = &t.db;
    db.create_table::<Sample>().await.unwrap();
    db.create_table::<Author>().await.unwrap();
    db.create_table::<Post>().await.unwrap();
    let rows: Vec<Sample> = ROWS
        .iter()
        .map(|&(name, note, qty, small, price, flag)| Sample {
            id: 0,
            name: name.into(),
            note: note.map(Into::into),
            qty,
            small,
            price,
            flag,
        })
        .collect();
    Sample::insert_many(db, &rows).await.unwrap();
    for name in ["Ada", "ada", "Bob", "bob "] {
        Author::create(
            db,
            Author {
                id: 0,
                name: name.into(),
            },
        )
        .await
        .unwrap();
    }
    for (author_id, title) in [(1, "x"), (1, "Y"), (3, "y"), (4, "Z")] {
        Post::create(
            db,
            Post {
                id: 0,
                author_id,
                title: title.into(),
            },
        )
        .await
        .unwrap();
    }
    Some(t)
}

/// Runs `$query` (an expression over `$db: &Database`) on each backend and
/// asserts every answer equals SQLite's.
macro_rules! same {
    ($dbs:expr, |$db:ident| $query:expr) => {{
        let mut answers = Vec::new();
        for (kind, $db) in $dbs.iter() {
            let $db: &Database = $db;
            answers.push((kind, $query.await.unwrap()));
        }
        agree(stringify!($query), &answers);
    }};
}

/// [`same!`] for a query of samples, compared by their names in order.
macro_rules! same_rows {
    ($dbs:expr, $query:expr) => {
        same!($dbs, |db| async { $query.all(db).await.map(names) })
    };
}

fn agree<T: Debug + PartialEq>(what: &str, answers: &[(&Kind, T)]) {
    let (first_kind, first) = &answers[0];
    for (kind, answer) in &answers[1..] {
        assert_eq!(
            answer, first,
            "`{what}`: {kind:?} answers differently from {first_kind:?}"
        );
    }
}

/// The rows (their names, in key order) that `condition` keeps are the same
/// on every backend.
async fn same_filter<S: orm::query::InScope<Sample, I>, I>(
    dbs: &[(Kind, &Database)],
    condition: Condition<S>,
) {
    let mut answers = Vec::new();
    for (kind, db) in dbs {
        let rows = Sample::query()
            .order_by(sample::id)
            .filter(condition.clone())
            .all(*db)
            .await
            .unwrap();
        answers.push((kind, names(rows)));
    }
    agree(&format!("filter({condition:?})"), &answers);
}

fn names(rows: Vec<Sample>) -> Vec<String> {
    rows.into_iter().map(|s| s.name).collect()
}

#[tokio::test]
async fn the_same_query_gives_the_same_answer_on_every_backend() {
    let Some(pg) = filled(Kind::Postgres).await else {
        return;
    };
    let Some(my) = filled(Kind::MySql).await else {
        return;
    };
    let lite = filled(Kind::Sqlite).await.unwrap();
    let dbs = [
        (Kind::Sqlite, &lite.db),
        (Kind::Postgres, &pg.db),
        (Kind::MySql, &my.db),
    ];
    let q = || Sample::query().order_by(sample::id);

    // Comparisons of text: case and trailing spaces count.
    for word in ["apple", "Apple", "apple ", "APPLE", "b", "Zebra", "éclair"] {
        same_filter(&dbs, sample::name.eq(word)).await;
        same_filter(&dbs, sample::name.ne(word)).await;
        same_filter(&dbs, sample::name.lt(word)).await;
        same_filter(&dbs, sample::name.le(word)).await;
        same_filter(&dbs, sample::name.gt(word)).await;
        same_filter(&dbs, sample::name.ge(word)).await;
        same_filter(&dbs, sample::note.eq(word)).await;
    }
    same_filter(&dbs, sample::name.is_in(["apple", "BANANA", "Zebra"])).await;
    same_filter(&dbs, sample::name.is_not_in(["apple", "banana"])).await;
    same_filter(&dbs, sample::name.is_in(Vec::<String>::new())).await;
    same_filter(&dbs, sample::name.between("A", "b")).await;
    same_filter(&dbs, sample::note.between("a", "b")).await;

    // Numbers, booleans, NULL tests, and/or/not.
    same_filter(&dbs, sample::qty.gt(2)).await;
    same_filter(&dbs, sample::price.between(0.5, 4.75)).await;
    same!(dbs, |db| async {
        q().filter(sample::flag).all(db).await.map(names)
    });
    same_filter(&dbs, sample::flag.eq(false)).await;
    same_filter(&dbs, sample::note.is_null()).await;
    same_filter(&dbs, sample::note.is_not_null()).await;
    same_filter(&dbs, sample::note.ne("a")).await;
    same_filter(&dbs, not(sample::note.eq("a"))).await;
    same_filter(
        &dbs,
        sample::qty
            .eq(3)
            .and(sample::flag.eq(true))
            .or(sample::qty.lt(0)),
    )
    .await;

    // The LIKE family.
    for pattern in [
        "app%", "App%", "%e", "%E", "_pple", "%\\%", "50%", "%_off", "é%", "É%", "apple",
    ] {
        same_filter(&dbs, sample::name.like(pattern)).await;
        if !pattern.contains(['é', 'É']) {
            // Beyond ASCII, SQLite does not fold case (documented).
            same_filter(&dbs, sample::name.ilike(pattern)).await;
        }
    }
    for part in ["pp", "PP", "%", "_", "a ", "E"] {
        same_filter(&dbs, sample::name.contains(part)).await;
        same_filter(&dbs, sample::name.starts_with(part)).await;
        same_filter(&dbs, sample::name.ends_with(part)).await;
        same_filter(&dbs, sample::name.contains_ci(part)).await;
        same_filter(&dbs, sample::name.starts_with_ci(part)).await;
        same_filter(&dbs, sample::name.ends_with_ci(part)).await;
    }

    // Ordering: text, NULLs both ways, ties broken by a second key.
    same_rows!(dbs, Sample::query().order_by(sample::name));
    same_rows!(dbs, Sample::query().order_by(sample::name.desc()));
    same_rows!(
        dbs,
        Sample::query().order_by(sample::note).order_by(sample::id)
    );
    same_rows!(
        dbs,
        Sample::query()
            .order_by(sample::note.desc())
            .order_by(sample::id)
    );
    same_rows!(
        dbs,
        Sample::query()
            .order_by(sample::note.asc().nulls_last())
            .order_by(sample::id)
    );
    same_rows!(
        dbs,
        Sample::query()
            .order_by(sample::note.desc().nulls_first())
            .order_by(sample::id)
    );
    same_rows!(
        dbs,
        Sample::query()
            .order_by(sample::qty)
            .order_by(sample::name.desc())
    );
    same_rows!(
        dbs,
        Sample::query()
            .order_by(sample::flag)
            .order_by(sample::price.desc())
    );

    // Limits, offsets, first, count, exists.
    same_rows!(
        dbs,
        Sample::query().order_by(sample::name).limit(3).offset(2)
    );
    same_rows!(dbs, Sample::query().order_by(sample::name).offset(6));
    same!(dbs, |db| async {
        Sample::query()
            .order_by(sample::note)
            .first(db)
            .await
            .map(|s| s.map(|s| s.name))
    });
    same!(dbs, |db| Sample::query()
        .filter(sample::name.eq("apple"))
        .count(db));
    same!(dbs, |db| Sample::query()
        .filter(sample::name.eq("APPLE "))
        .exists(db));

    // Aggregates, over rows and over no rows.
    same!(dbs, |db| Sample::query()
        .select((
            count_all(),
            sample::note.count(),
            sample::qty.sum(),
            sample::small.sum(),
            sample::qty.avg(),
            sample::price.sum()
        ))
        .one(db));
    same!(dbs, |db| Sample::query()
        .select((
            sample::qty.min(),
            sample::qty.max(),
            sample::price.min(),
            sample::name.min(),
            sample::name.max(),
            sample::note.max()
        ))
        .one(db));
    same!(dbs, |db| Sample::query()
        .filter(sample::qty.gt(1000))
        .select((
            count_all(),
            sample::qty.sum(),
            sample::qty.avg(),
            sample::name.max()
        ))
        .one(db));
    same!(dbs, |db| Sample::query()
        .select((sample::qty, count_all(), sample::price.sum()))
        .group_by(sample::qty)
        .order_by(sample::qty)
        .all(db));
    same!(dbs, |db| Sample::query()
        .select((sample::name, count_all()))
        .group_by(sample::name)
        .order_by(sample::name)
        .all(db));
    same!(dbs, |db| Sample::query()
        .select((sample::note, count_all()))
        .group_by(sample::note)
        .order_by(sample::note)
        .all(db));
    same!(dbs, |db| Sample::query()
        .select(sample::qty)
        .group_by(sample::qty)
        .having(count_all().ge(2))
        .order_by(sample::qty)
        .all(db));
    same!(dbs, |db| Sample::query().group_by(sample::name).count(db));

    // Joins, left joins and relation loads over text that differs in case.
    same!(dbs, |db| Post::query()
        .join(post::author)
        .filter(author::name.eq("ada"))
        .order_by(post::id)
        .all(db));
    same!(dbs, |db| Post::query()
        .join(post::author)
        .order_by(author::name)
        .order_by(post::title)
        .select((author::name, post::title))
        .all(db));
    same!(dbs, |db| Author::query()
        .left_join(author::posts)
        .order_by(author::name.desc())
        .order_by(post::title)
        .all(db));
    // Rows without a match sort as NULLs do.
    same!(dbs, |db| Author::query()
        .left_join(author::posts)
        .order_by(post::title)
        .all(db));
    same!(dbs, |db| Author::query()
        .left_join(author::posts)
        .order_by(post::title.desc())
        .all(db));
    same!(dbs, |db| Author::query()
        .left_join(author::posts)
        .order_by(post::id.desc())
        .order_by(author::id)
        .all(db));
    // Ties without a second key: broken by the primary key on every backend.
    same_rows!(dbs, Sample::query().order_by(sample::qty));
    same_rows!(dbs, Sample::query().order_by(sample::flag).limit(3));
    same_rows!(dbs, Sample::query().limit(2).offset(1));
    same!(dbs, |db| async {
        Sample::query()
            .filter(sample::qty.eq(3))
            .first(db)
            .await
            .map(|s| s.map(|s| s.name))
    });
    same!(dbs, |db| async {
        let authors = Author::query().order_by(author::name).all(db).await?;
        author::posts.load(&authors, db).await
    });
    same!(dbs, |db| async {
        let posts = Post::query().order_by(post::title).all(db).await?;
        post::author.load(&posts, db).await
    });
}
