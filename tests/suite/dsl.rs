// The query DSL beyond filters: expressions, atomic updates, joins of any
// shape, subqueries, UNION, CTEs, window functions; each compared with the
// rows it must return, on every backend. The data: `orm_tests::music::fill`.

use orm::prelude::*;
use orm::query::{dense_rank, exists, not_exists, rank, row_number, window, WindowOps};
use orm::Error;
use orm_tests::music::*;

async fn store() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    create_tables(&t.db).await;
    fill(&t.db).await;
    Some(t)
}

#[tokio::test]
async fn arithmetic_between_columns_and_values() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    // Today's motivating query: price times quantity, per line.
    let amounts: Vec<(i64, i32)> = BillLine::query()
        .order_by(bill_line::id)
        .select((bill_line::id, bill_line::unit_price_cents * bill_line::quantity))
        .all(db)
        .await
        .unwrap();
    assert_eq!(amounts, [(1, 198), (2, 129), (3, 258), (4, 99), (5, 99), (6, 149)]);
    // Mixed with values, and summed.
    let total: Option<i64> = BillLine::query()
        .select((bill_line::unit_price_cents * bill_line::quantity).sum())
        .one(db)
        .await
        .unwrap();
    assert_eq!(total, Some(932));
    let shifted: Vec<i64> = Song::query()
        .order_by(song::id)
        .limit(3)
        .select(song::milliseconds / 1000 + 1 - orm::value(1_i64))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s: Option<i64>| s.unwrap())
        .collect();
    assert_eq!(shifted, [312, 317, 208]);
    // Integer division truncates toward zero everywhere; by zero is None.
    let divided: Vec<(Option<i32>, Option<i32>)> = BillLine::query()
        .order_by(bill_line::id)
        .limit(2)
        .select((bill_line::unit_price_cents / 2, bill_line::unit_price_cents / 0))
        .all(db)
        .await
        .unwrap();
    assert_eq!(divided, [(Some(49), None), (Some(64), None)]);
    // Floats.
    let prices: Vec<f64> = Product::query()
        .order_by(product::id)
        .select(product::price * 2.0 - 0.5)
        .all(db)
        .await
        .unwrap();
    assert_eq!(prices, [49.5, 14.5]);
}

#[tokio::test]
async fn comparisons_between_two_columns() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    // Lines whose quantity exceeds one, and lines priced above the song's
    // own price (a join, compared column to column).
    let many = BillLine::query()
        .filter(bill_line::quantity.gt(1))
        .order_by(bill_line::id)
        .select(bill_line::id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(many, [1, 3]);
    let same_price = BillLine::query()
        .join(bill_line::track)
        .filter(bill_line::unit_price_cents.eq(song::unit_price_cents))
        .count(db)
        .await
        .unwrap();
    assert_eq!(same_price, 6);
    // Text compared with text, byte by byte on every backend.
    let n = Album::query()
        .join(album::artist)
        .filter(album::title.lt(artist::name))
        .count(db)
        .await
        .unwrap();
    // "Back in Black" < "AC/DC"? no; "Highway" < "AC/DC"? no;
    // "Kind of Blue" < "Miles Davis": yes; "Pastel Blues" < "Nina Simone": no.
    assert_eq!(n, 1);
}

#[tokio::test]
async fn cast_coalesce_case_and_text_functions() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    // SQLite's upper() changes ASCII letters only (documented).
    let upper = |unicode: &str, ascii: &str| {
        if crate::KIND == orm_tests::Kind::Sqlite { ascii.to_string() } else { unicode.to_string() }
    };
    let rows = Client::query()
        .order_by(client::id)
        .select((
            client::note.coalesce("none"),
            client::name.upper(),
            client::name.length(),
            client::name.concat(" from ").concat(client::country),
            client::support_rep_id.cast::<Option<String>>(),
        ))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            ("none".to_string(), "LUIS".to_string(), 4, "Luis from Brazil".to_string(), Some("3".to_string())),
            ("vip".into(), "LEONIE".into(), 6, "Leonie from Germany".into(), Some("4".into())),
            ("none".into(), upper("FRANÇOIS", "FRANçOIS"), 8, "François from Canada".into(), Some("3".into())),
            ("new".into(), upper("BJØRN", "BJøRN"), 5, "Bjørn from Norway".into(), None),
        ]
    );
    let lowered: Vec<String> = Client::query()
        .order_by(client::id)
        .select(client::country.lower())
        .all(db)
        .await
        .unwrap();
    assert_eq!(lowered, ["brazil", "germany", "canada", "norway"]);
    // A float cast to an integer truncates on every backend.
    let whole: Vec<i64> = Product::query()
        .order_by(product::id)
        .select(product::price.cast::<i64>())
        .all(db)
        .await
        .unwrap();
    assert_eq!(whole, [25, 7]);
    let size = orm::case_when(song::milliseconds.gt(600_000), "long")
        .when(song::milliseconds.gt(300_000), "medium")
        .otherwise("short");
    let sizes: Vec<String> = Song::query().order_by(song::id).select(size).all(db).await.unwrap();
    assert_eq!(sizes, ["medium", "medium", "short", "medium", "medium", "long", "long", "short"]);
    let no_else: Vec<Option<i32>> = Song::query()
        .order_by(song::id)
        .limit(3)
        .select(orm::case_when(song::album_id.eq(1), 1).end())
        .all(db)
        .await
        .unwrap();
    assert_eq!(no_else, [Some(1), Some(1), None]);
}

#[tokio::test]
async fn distinct_and_count_distinct() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let prices: Vec<i32> = Song::query()
        .distinct()
        .order_by(song::unit_price_cents)
        .select(song::unit_price_cents)
        .all(db)
        .await
        .unwrap();
    assert_eq!(prices, [99, 129, 149]);
    let (songs, genres, prices) = Song::query()
        .select((song::id.count(), song::genre_id.count_distinct(), song::unit_price_cents.count_distinct()))
        .one(db)
        .await
        .unwrap();
    assert_eq!((songs, genres, prices), (8, 2, 3));
}

#[tokio::test]
async fn eq_none_asks_for_null() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let nobody: Option<i64> = None;
    let unassigned = Client::query().filter(client::support_rep_id.eq(nobody)).count(db).await.unwrap();
    assert_eq!(unassigned, 1);
    let assigned = Client::query().filter(client::support_rep_id.ne(None)).count(db).await.unwrap();
    assert_eq!(assigned, 3);
}

#[tokio::test]
async fn atomic_updates_lose_no_concurrent_change() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let sold = Product::query()
        .filter(product::id.eq(1))
        .update()
        .set(product::stock, product::stock - 3)
        .set(product::price, product::price * 2.0)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(sold, 1);
    let vinyl = Product::get(db, 1).await.unwrap();
    assert_eq!((vinyl.stock, vinyl.price), (7, 50.0));
    // A guarded decrement: only where enough is left.
    let n = Product::query()
        .filter(product::id.eq(2).and(product::stock.ge(5)))
        .update()
        .set(product::stock, product::stock - 5)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Twenty concurrent decrements of one, none lost.
    Product::query().filter(product::id.eq(1)).update().set(product::stock, 100).execute(db).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            Product::query()
                .filter(product::id.eq(1))
                .update()
                .set(product::stock, product::stock - 1)
                .execute(&db)
                .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 1);
    }
    assert_eq!(Product::get(db, 1).await.unwrap().stock, 80);
    // `Some("..")` for an `Option<String>` column.
    Client::query().filter(client::id.eq(4)).update().set(client::note, Some("gift".to_string())).execute(db).await.unwrap();
    assert_eq!(Client::get(db, 4).await.unwrap().note.as_deref(), Some("gift"));
}

#[tokio::test]
async fn several_joins_in_one_query() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let rows: Vec<(Song, Album, Artist)> = Song::query()
        .join(song::album)
        .join(album::artist)
        .filter(artist::name.eq("Miles Davis"))
        .order_by(song::name)
        .all(db)
        .await
        .unwrap();
    let names: Vec<_> = rows.iter().map(|(s, a, r)| (s.name.as_str(), a.title.as_str(), r.name.as_str())).collect();
    assert_eq!(
        names,
        [("All Blues", "Kind of Blue", "Miles Davis"), ("Blue in Green", "Kind of Blue", "Miles Davis"), ("So What", "Kind of Blue", "Miles Davis")]
    );
    // A left join in the chain: the song without a genre is kept.
    let genres: Vec<(String, Option<Genre>)> = Song::query()
        .join(song::album)
        .left_join(song::genre)
        .filter(album::artist_id.eq(3))
        .order_by(song::id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, _, g)| (s.name, g))
        .collect();
    assert_eq!(genres[0].0, "Sinnerman");
    assert_eq!(genres[0].1, None);
    assert_eq!(genres[1].1.as_ref().map(|g| g.name.as_str()), Some("Jazz"));
    // Selections across three tables, and a count.
    let n = Song::query().join(song::album).join(album::artist).filter(artist::name.starts_with("AC")).count(db).await.unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn group_by_having_and_aggregates_over_a_join() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let per_artist: Vec<(String, i64, Option<i64>)> = Song::query()
        .join(song::album)
        .join(album::artist)
        .group_by(artist::name)
        .having(count_all().ge(2))
        .order_by(artist::name)
        .select((artist::name, count_all(), song::milliseconds.sum()))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        per_artist,
        [
            ("AC/DC".to_string(), 3, Some(837_000)),
            ("Miles Davis".to_string(), 3, Some(1_592_000)),
            ("Nina Simone".to_string(), 2, Some(790_000)),
        ]
    );
    // Revenue per customer country: invoice lines -> invoices -> customers.
    let revenue: Vec<(String, Option<i64>)> = BillLine::query()
        .join(bill_line::invoice)
        .join(bill::customer)
        .group_by(client::country)
        .order_by(client::country)
        .select((client::country, (bill_line::unit_price_cents * bill_line::quantity).cast::<i64>().sum()))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        revenue,
        [("Brazil".to_string(), Some(327)), ("Canada".to_string(), Some(99)), ("Germany".to_string(), Some(506))]
    );
}

#[tokio::test]
async fn self_joins_through_aliases() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let pairs: Vec<(String, String)> = Staff::query()
        .join_as(staff::manager, Boss)
        .order_by(staff::id)
        .select((staff::name, Boss.column(staff::name)))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        pairs,
        [("Nancy".into(), "Andrew".into()), ("Jane".into(), "Nancy".into()), ("Margaret".into(), "Nancy".into()), ("Steve".into(), "Andrew".into())]
    );
    // Whole rows, a left join keeping the general manager, and a filter
    // on the alias's columns.
    let rows: Vec<(Staff, Option<Staff>)> = Staff::query()
        .left_join_as(staff::manager, Boss)
        .filter(Boss.column(staff::name).ne("Nancy").or(staff::manager_id.is_null()))
        .order_by(staff::id)
        .all(db)
        .await
        .unwrap();
    let names: Vec<_> = rows.iter().map(|(e, b)| (e.name.as_str(), b.as_ref().map(|b| b.name.as_str()))).collect();
    assert_eq!(names, [("Andrew", None), ("Nancy", Some("Andrew")), ("Steve", Some("Andrew"))]);
    // Two levels: an employee's manager's manager.
    let grand: Vec<(String, String)> = Staff::query()
        .join_as(staff::manager, Boss)
        .join_from_as(Boss, staff::manager, GrandBoss)
        .order_by(staff::id)
        .select((staff::name, GrandBoss.column(staff::name)))
        .all(db)
        .await
        .unwrap();
    assert_eq!(grand, [("Jane".into(), "Andrew".into()), ("Margaret".into(), "Andrew".into())]);
    // Without an alias the statement would be ambiguous: refused before sending.
    let err = Staff::query().join(staff::manager).count(db).await.unwrap_err();
    match err {
        Error::InvalidQuery { message } => {
            assert!(message.contains("`m_staff`"), "{message}");
            assert!(message.contains("join_as"), "{message}");
        }
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
}

#[tokio::test]
async fn joins_through_a_many_to_many() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let rows: Vec<(String, String)> = List::query()
        .join(list::songs)
        .filter(list::name.eq("Late Night"))
        .order_by(song::id)
        .select((list::name, song::name))
        .all(db)
        .await
        .unwrap();
    let songs: Vec<_> = rows.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(songs, ["Hells Bells", "So What", "Blue in Green", "Sinnerman"]);
    // Whole rows: the join table's columns are not part of them.
    let pairs: Vec<(List, Song)> = List::query().join(list::songs).order_by(list::id).order_by(song::id).all(db).await.unwrap();
    assert_eq!(pairs.len(), 7);
    assert_eq!((pairs[0].0.name.as_str(), pairs[0].1.name.as_str()), ("Loud", "Hells Bells"));
    let per_list: Vec<(String, i64)> = List::query()
        .join(list::songs)
        .group_by(list::name)
        .order_by(list::name)
        .select((list::name, count_all()))
        .all(db)
        .await
        .unwrap();
    assert_eq!(per_list, [("Late Night".into(), 4), ("Loud".into(), 3)]);
}

#[tokio::test]
async fn subqueries_in_exists_and_scalar() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let buyers: Vec<String> = Client::query()
        .filter(client::id.is_in(Bill::query().filter(bill::total_cents.gt(150)).select(bill::customer_id)))
        .order_by(client::id)
        .select(client::name)
        .all(db)
        .await
        .unwrap();
    assert_eq!(buyers, ["Luis", "Leonie"]);
    let others: Vec<String> = Client::query()
        .filter(client::id.is_not_in(Bill::query().select(bill::customer_id)))
        .select(client::name)
        .all(db)
        .await
        .unwrap();
    assert_eq!(others, ["Bjørn"]);
    let with_bills = Client::query()
        .filter(exists(Bill::query().correlate::<Client>().filter(bill::customer_id.eq(client::id))))
        .count(db)
        .await
        .unwrap();
    assert_eq!(with_bills, 3);
    let without: Vec<String> = Client::query()
        .filter(not_exists(Bill::query().correlate::<Client>().filter(bill::customer_id.eq(client::id))))
        .select(client::name)
        .all(db)
        .await
        .unwrap();
    assert_eq!(without, ["Bjørn"]);
    let spent: Vec<(String, Option<i64>)> = Client::query()
        .order_by(client::id)
        .select((
            client::name,
            Bill::query()
                .correlate::<Client>()
                .filter(bill::customer_id.eq(client::id))
                .select(bill::total_cents.sum())
                .single_value(),
        ))
        .all(db)
        .await
        .unwrap();
    assert_eq!(spent, [("Luis".into(), Some(327)), ("Leonie".into(), Some(506)), ("François".into(), Some(99)), ("Bjørn".into(), None)]);
    // Songs longer than the average song: an uncorrelated scalar subquery.
    let long = Song::query()
        .filter(song::milliseconds.cast::<f64>().gt(Song::query().select(song::milliseconds.avg()).single_value()))
        .count(db)
        .await
        .unwrap();
    assert_eq!(long, 3);
}

#[tokio::test]
async fn unions_sorted_and_limited_as_a_whole() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let names: Vec<String> = Artist::query()
        .select(artist::name)
        .union(Genre::query().select(genre::name))
        .union(Album::query().filter(album::artist_id.eq(2)).select(album::title))
        .order_by(artist::name.desc())
        .limit(4)
        .all(db)
        .await
        .unwrap();
    assert_eq!(names, ["Rock", "Nina Simone", "Miles Davis", "Kind of Blue"]);
    // UNION removes duplicates, UNION ALL keeps them.
    let q = || Song::query().filter(song::album_id.eq(3)).select(song::unit_price_cents);
    let mut distinct = q().union(q()).all(db).await.unwrap();
    distinct.sort();
    assert_eq!(distinct, [99, 129]);
    let all = q().union_all(q()).order_by(song::unit_price_cents).offset(4).all(db).await.unwrap();
    assert_eq!(all, [129, 129]);
    // Whole rows.
    let songs: Vec<Song> = Song::query()
        .filter(song::album_id.eq(1))
        .union(Song::query().filter(song::genre_id.is_null()))
        .order_by(song::id)
        .all(db)
        .await
        .unwrap();
    let ids: Vec<i64> = songs.iter().map(|s| s.id).collect();
    assert_eq!(ids, [1, 2, 7]);
    // A sort key the first query does not select is refused.
    let err = Artist::query().select(artist::name).union(Genre::query().select(genre::name)).order_by(artist::id).all(db).await.unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
}

#[tokio::test]
async fn recursive_ctes_walk_the_tree() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let under = |boss: i64| {
        orm::query::with_recursive("under", Staff::query().filter(staff::manager_id.eq(boss)), |under| {
            Staff::query().join_cte(under, staff::manager_id.eq(under.column(staff::id)))
        })
    };
    let names = |rows: Vec<Staff>| rows.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(under(1).query().order_by(staff::id).all(db).await.unwrap()), ["Nancy", "Jane", "Margaret", "Steve"]);
    assert_eq!(names(under(2).query().order_by(staff::id).all(db).await.unwrap()), ["Jane", "Margaret"]);
    assert_eq!(under(3).query().count(db).await.unwrap(), 0);
    // The CTE read as a table: filtered and aggregated.
    assert_eq!(under(1).query().filter(staff::name.starts_with("M")).count(db).await.unwrap(), 1);
    // A plain CTE.
    let cheap = orm::query::with("cheap", Song::query().filter(song::unit_price_cents.lt(100)));
    let n: i64 = cheap.query().select(count_all()).one(db).await.unwrap();
    assert_eq!(n, 4);
    // A cycle in the data ends: UNION keeps each row once.
    Staff::query().filter(staff::id.eq(1)).update().set(staff::manager_id, Some(5)).execute(db).await.unwrap();
    assert_eq!(under(1).query().count(db).await.unwrap(), 5);
}

#[tokio::test]
async fn window_functions() {
    let Some(t) = store().await else { return };
    let db = &t.db;
    let rows = Song::query()
        .order_by(song::id)
        .select((
            song::id,
            row_number().over(window().partition_by(song::album_id).order_by(song::milliseconds.desc())),
            rank().over(window().order_by(song::unit_price_cents)),
            dense_rank().over(window().order_by(song::unit_price_cents)),
            song::milliseconds.sum().over(window().partition_by(song::album_id)),
            song::name.lag(1).over(window().order_by(song::id)),
            song::name.lead(2).over(window().order_by(song::id)),
        ))
        .all(db)
        .await
        .unwrap();
    type Row<'a> = (i64, i64, i64, i64, Option<i64>, Option<&'a str>, Option<&'a str>);
    let expect: [Row; 8] = [
        (1, 2, 1, 1, Some(629_000), None, Some("Highway to Hell")),
        (2, 1, 1, 1, Some(629_000), Some("Hells Bells"), Some("So What")),
        (3, 1, 5, 2, Some(208_000), Some("Shoot to Thrill"), Some("Blue in Green")),
        (4, 2, 5, 2, Some(1_592_000), Some("Highway to Hell"), Some("All Blues")),
        (5, 3, 1, 1, Some(1_592_000), Some("So What"), Some("Sinnerman")),
        (6, 1, 5, 2, Some(1_592_000), Some("Blue in Green"), Some("Be My Husband")),
        (7, 1, 8, 3, Some(790_000), Some("All Blues"), None),
        (8, 2, 1, 1, Some(790_000), Some("Sinnerman"), None),
    ];
    let got: Vec<_> = rows.iter().map(|(a, b, c, d, e, f, g)| (*a, *b, *c, *d, *e, f.as_deref(), g.as_deref())).collect();
    assert_eq!(got, expect);
    // A running total over a join, with a group: the "report" shape.
    let report: Vec<(String, Option<i64>, Option<i64>)> = Song::query()
        .join(song::album)
        .join(album::artist)
        .group_by(artist::name)
        .order_by(artist::name)
        .select((
            artist::name,
            song::milliseconds.sum(),
            song::milliseconds.sum().sum().over(window().order_by(artist::name)),
        ))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        report,
        [
            ("AC/DC".into(), Some(837_000), Some(837_000)),
            ("Miles Davis".into(), Some(1_592_000), Some(2_429_000)),
            ("Nina Simone".into(), Some(790_000), Some(3_219_000)),
        ]
    );
}

/// A tree of 10,000 employees 12 levels deep (the root, and 11 levels of
/// 909 each: employee `i` reports to `i - 909`, or to the root): every
/// employee under the root comes back exactly once, and under one
/// first-level employee its chain of 10 below it, in one statement.
#[tokio::test]
async fn recursive_cte_over_ten_thousand_rows_and_twelve_levels() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<Staff>().await.unwrap();
    let rows: Vec<Staff> = (1..=10_000_i64)
        .map(|i| Staff {
            id: 0,
            name: format!("e{i}"),
            manager_id: (i > 1).then(|| if i > 910 { i - 909 } else { 1 }),
        })
        .collect();
    for chunk in rows.chunks(2_000) {
        Staff::insert_many(db, chunk).await.unwrap();
    }
    let under = |boss: i64| {
        orm::query::with_recursive("under", Staff::query().filter(staff::manager_id.eq(boss)), |under| {
            Staff::query().join_cte(under, staff::manager_id.eq(under.column(staff::id)))
        })
    };
    let ids: Vec<i64> = under(1).query().order_by(staff::id).select(staff::id).all(db).await.unwrap();
    assert_eq!(ids, (2..=10_000).collect::<Vec<_>>());
    let chain: Vec<i64> = under(2).query().order_by(staff::id).select(staff::id).all(db).await.unwrap();
    assert_eq!(chain, (1..=10).map(|k| 2 + 909 * k).collect::<Vec<_>>());
    // The deepest level: 909 employees with 11 managers above them.
    let deepest = under(1).query().filter(staff::id.gt(9_091)).count(db).await.unwrap();
    assert_eq!(deepest, 909);
}
