// What goes in comes out: every value reads back exactly as written, or is
// refused when it is bound (`Error::UnrepresentableValue`, naming the value,
// the column and why) and nothing is written. Never another value, never a
// misleading error from the server.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use orm::prelude::*;
use orm::Error;
use orm_tests::models::{amount, floats, sample, Amount, Floats, Sample};
use orm_tests::{Kind, TestDb};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Inserts `row`, then reads it back. A refusal must be the typed error,
/// with nothing written.
async fn store(t: &TestDb, row: &Sample) -> Result<Sample, Error> {
    let before = Sample::count(&t.db).await.unwrap();
    match row.clone().insert(&t.db).await {
        Ok(stored) => Ok(Sample::get(&t.db, stored.id).await.unwrap()),
        Err(err) => {
            assert!(matches!(err, Error::UnrepresentableValue { .. }), "{err:?}");
            assert_eq!(Sample::count(&t.db).await.unwrap(), before, "a refused row was written");
            Err(err)
        }
    }
}

/// The fields that read back otherwise than written, as (written, read).
/// `Debug` tells NaN, -0.0, 1 and 1.0 apart, as a user reading values would.
fn differences(written: &Sample, read: &Sample) -> Vec<(String, String)> {
    let short = |v: &dyn std::fmt::Debug| format!("{v:?}").chars().take(200).collect::<String>();
    let pairs: [(&dyn std::fmt::Debug, &dyn std::fmt::Debug); 14] = [
        (&written.small, &read.small),
        (&written.int, &read.int),
        (&written.big, &read.big),
        (&written.single, &read.single),
        (&written.double, &read.double),
        (&written.flag, &read.flag),
        (&written.text, &read.text),
        (&written.bytes, &read.bytes),
        (&written.date, &read.date),
        (&written.time, &read.time),
        (&written.local, &read.local),
        (&written.instant, &read.instant),
        (&written.uuid, &read.uuid),
        (&written.json, &read.json),
    ];
    pairs
        .into_iter()
        .filter(|(w, r)| format!("{w:?}") != format!("{r:?}"))
        .map(|(w, r)| (short(w), short(r)))
        .collect()
}

/// `row` reads back exactly.
async fn kept(t: &TestDb, row: Sample) {
    let read = store(t, &row).await.unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(differences(&row, &read), [], "(written, read)");
}

/// `row` is refused, naming `column` of `samples`.
async fn refused(t: &TestDb, row: Sample, column: &str) {
    let err = store(t, &row).await.err().unwrap_or_else(|| panic!("`{column}` was stored"));
    let Error::UnrepresentableValue { column: Some(c), backend, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(c, &format!("`samples`.`{column}`"), "{err}");
    assert_eq!(*backend, t.db.backend("db").unwrap().name(), "{err}");
}

async fn samples() -> Option<TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Sample>().await.unwrap();
    Some(t)
}

fn double(v: f64) -> Sample {
    Sample { double: Some(v), ..Sample::default() }
}

fn single(v: f32) -> Sample {
    Sample { single: Some(v), ..Sample::default() }
}

#[tokio::test]
async fn nan_reads_back_as_nan_or_is_refused() {
    let Some(t) = samples().await else { return };
    match crate::KIND {
        Kind::Postgres => {
            kept(&t, double(f64::NAN)).await;
            kept(&t, single(f32::NAN)).await;
        }
        // SQLite stores NaN as NULL; MySQL has no NaN.
        Kind::Sqlite | Kind::MySql => {
            refused(&t, double(f64::NAN), "double").await;
            refused(&t, single(f32::NAN), "single").await;
        }
    }
    // In a required column: the value's refusal, not a not-null violation.
    t.db.create_table::<Floats>().await.unwrap();
    let row = Floats { id: 0, single: 1.0, double: f64::NAN };
    match crate::KIND {
        Kind::Postgres => {
            let id = row.insert(&t.db).await.unwrap().id;
            assert!(Floats::get(&t.db, id).await.unwrap().double.is_nan());
        }
        Kind::Sqlite | Kind::MySql => {
            let err = row.insert(&t.db).await.unwrap_err();
            assert!(
                matches!(&err, Error::UnrepresentableValue { column: Some(c), .. } if c == "`floats`.`double`"),
                "{err:?}"
            );
            assert!(err.to_string().contains("NaN"), "{err}");
            assert_eq!(Floats::count(&t.db).await.unwrap(), 0);
        }
    }
    // A filter's operand is refused the same way, naming no column.
    let query = Floats::query().filter(floats::double.eq(f64::NAN)).count(&t.db).await;
    match crate::KIND {
        Kind::Postgres => assert_eq!(query.unwrap(), 1),
        Kind::Sqlite | Kind::MySql => assert!(
            matches!(query, Err(Error::UnrepresentableValue { column: None, .. })),
            "{query:?}"
        ),
    }
}

#[tokio::test]
async fn infinities_and_float_extremes() {
    let Some(t) = samples().await else { return };
    for v in [f64::INFINITY, f64::NEG_INFINITY] {
        match crate::KIND {
            Kind::MySql => refused(&t, double(v), "double").await,
            Kind::Sqlite | Kind::Postgres => kept(&t, double(v)).await,
        }
    }
    for v in [f32::INFINITY, f32::NEG_INFINITY] {
        match crate::KIND {
            Kind::MySql => refused(&t, single(v), "single").await,
            Kind::Sqlite | Kind::Postgres => kept(&t, single(v)).await,
        }
    }
    let subnormal = f32::from_bits(1);
    for v in [f32::MAX, f32::MIN, f32::MIN_POSITIVE, f32::EPSILON, subnormal, -subnormal, 0.1] {
        kept(&t, single(v)).await;
    }
    for v in [f64::MAX, f64::MIN, f64::MIN_POSITIVE, f64::from_bits(1), 0.1, 1e-300] {
        kept(&t, double(v)).await;
    }
    // SQLite keeps an integral REAL as an integer, MySQL drops the sign:
    // -0.0 would read back as 0.0.
    match crate::KIND {
        Kind::Sqlite | Kind::MySql => {
            refused(&t, double(-0.0), "double").await;
            refused(&t, single(-0.0), "single").await;
        }
        Kind::Postgres => {
            kept(&t, double(-0.0)).await;
            kept(&t, single(-0.0)).await;
        }
    }
    // As a filter's operand it is 0.0 everywhere: nothing to refuse.
    kept(&t, double(0.0)).await;
    let zeros = Sample::query().filter(sample::double.eq(-0.0)).count(&t.db).await.unwrap();
    assert_eq!(zeros, if crate::KIND == Kind::Postgres { 2 } else { 1 });
}

#[tokio::test]
async fn strings_of_every_plane_nul_and_length() {
    let Some(t) = samples().await else { return };
    let text = |s: String| Sample { text: Some(s), ..Sample::default() };
    kept(&t, text(String::new())).await;
    kept(&t, text("crab 🦀, Ωμέγα, 漢字, \u{10FFFF}, \u{FFFD}, trailing  ".into())).await;
    // One character from each plane, each plane's last one, and a BOM.
    let planes: String = (0..=16u32)
        .flat_map(|p| [p * 0x10000 + 0x41, p * 0x10000 + 0xFFFD])
        .filter_map(char::from_u32)
        .chain(['\u{FEFF}', '\u{D7FF}', '\u{E000}'])
        .collect();
    kept(&t, text(planes)).await;
    kept(&t, text("é".repeat(600_000))).await;
    match crate::KIND {
        // PostgreSQL text has no NUL (SQLSTATE 22021).
        Kind::Postgres => refused(&t, text("a\0b".into()), "text").await,
        Kind::Sqlite | Kind::MySql => kept(&t, text("a\0b".into())).await,
    }
    let bytes = |b: Vec<u8>| Sample { bytes: Some(b), ..Sample::default() };
    kept(&t, bytes(Vec::new())).await;
    kept(&t, bytes(vec![0])).await;
    kept(&t, bytes((0..2_000_000u32).map(|i| (i * 7) as u8).collect())).await;
}

#[tokio::test]
async fn dates_inside_and_outside_each_backends_range() {
    let Some(t) = samples().await else { return };
    let date = |y, m, d| Sample { date: NaiveDate::from_ymd_opt(y, m, d), ..Sample::default() };
    kept(&t, date(1000, 1, 1)).await;
    kept(&t, date(9999, 12, 31)).await;
    kept(&t, date(2024, 2, 29)).await;
    match crate::KIND {
        Kind::Sqlite => {
            kept(&t, date(0, 1, 1)).await;
            refused(&t, date(-1, 12, 31), "date").await;
            refused(&t, date(10000, 1, 1), "date").await;
        }
        Kind::Postgres => {
            kept(&t, date(-4713, 11, 24)).await;
            refused(&t, date(-4713, 11, 23), "date").await;
            kept(&t, Sample { date: Some(NaiveDate::MAX), ..Sample::default() }).await;
        }
        Kind::MySql => {
            refused(&t, date(999, 12, 31), "date").await;
            refused(&t, date(10000, 1, 1), "date").await;
        }
    }
    let local = |d: NaiveDateTime| Sample { local: Some(d), ..Sample::default() };
    let instant = |d: DateTime<Utc>| Sample { instant: Some(d), ..Sample::default() };
    refused(&t, local(NaiveDateTime::MIN), "local").await;
    refused(&t, instant(DateTime::<Utc>::MIN_UTC), "instant").await;
    match crate::KIND {
        Kind::Postgres => {
            kept(&t, local(NaiveDateTime::MAX.with_nanosecond_floor())).await;
            kept(&t, instant(DateTime::<Utc>::MAX_UTC.with_nanosecond_floor())).await;
        }
        Kind::Sqlite | Kind::MySql => {
            refused(&t, local(NaiveDateTime::MAX), "local").await;
            refused(&t, instant(DateTime::<Utc>::MAX_UTC), "instant").await;
        }
    }
    // Past TIMESTAMP's 2038 and before 1970: MariaDB once stored NULL.
    for year in [2038, 2039, 2106, 1969, 1000] {
        let day = NaiveDate::from_ymd_opt(year, 6, 1).unwrap().and_hms_micro_opt(1, 2, 3, 4).unwrap();
        kept(&t, instant(day.and_utc())).await;
        kept(&t, local(day)).await;
    }
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
    kept(&t, local(last)).await;
    kept(&t, instant(last.and_utc())).await;
}

/// The largest whole number of microseconds at or below the value.
trait MicrosecondFloor {
    fn with_nanosecond_floor(self) -> Self;
}

impl MicrosecondFloor for NaiveDateTime {
    fn with_nanosecond_floor(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(self.nanosecond() / 1000 * 1000).unwrap()
    }
}

impl MicrosecondFloor for DateTime<Utc> {
    fn with_nanosecond_floor(self) -> Self {
        self.naive_utc().with_nanosecond_floor().and_utc()
    }
}

#[tokio::test]
async fn sub_second_times_are_kept_to_the_microsecond_or_refused() {
    let Some(t) = samples().await else { return };
    let micro = NaiveTime::from_hms_micro_opt(12, 34, 56, 789_012).unwrap();
    kept(&t, Sample { time: Some(micro), ..Sample::default() }).await;
    kept(&t, Sample { time: NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999), ..Sample::default() }).await;
    let nano = NaiveTime::from_hms_nano_opt(12, 34, 56, 789_012_345).unwrap();
    let leap = NaiveTime::from_hms_milli_opt(23, 59, 59, 1_500).unwrap();
    let day = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
    let cases = [
        (Sample { time: Some(nano), ..Sample::default() }, "time"),
        (Sample { time: Some(leap), ..Sample::default() }, "time"),
        (Sample { local: Some(day.and_time(nano)), ..Sample::default() }, "local"),
        (Sample { instant: Some(day.and_time(nano).and_utc()), ..Sample::default() }, "instant"),
        (Sample { instant: Some(day.and_time(leap).and_utc()), ..Sample::default() }, "instant"),
    ];
    for (row, column) in cases {
        match crate::KIND {
            // SQLite keeps times as text, to the nanosecond.
            Kind::Sqlite => kept(&t, row).await,
            // Microseconds at most: a silent truncation is refused instead.
            Kind::Postgres | Kind::MySql => refused(&t, row, column).await,
        }
    }
    let instant = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(1);
    kept(&t, Sample { instant: Some(instant), ..Sample::default() }).await;
}

#[tokio::test]
async fn json_numbers_and_strings_read_back_as_written() {
    let Some(t) = samples().await else { return };
    let json = |v: serde_json::Value| Sample { json: Some(v), ..Sample::default() };
    kept(&t, json(serde_json::json!(1.0))).await;
    kept(&t, json(serde_json::json!(1))).await;
    kept(&t, json(serde_json::json!([1, 1.0, -0.5, 0.1, 1e300, 5e-324, 2.5e-8]))).await;
    // A subnormal: serde_json without `float_roundtrip` parsed its neighbour.
    kept(&t, json(serde_json::json!([6.95638783806062e-309, f64::MAX, f64::MIN_POSITIVE]))).await;
    kept(&t, json(serde_json::json!([u64::MAX, i64::MIN, i64::MAX, 9007199254740993u64]))).await;
    kept(&t, json(serde_json::json!({"crab": "🦀", "": [], "nested": {"a": null, "b": true}}))).await;
    match crate::KIND {
        // JSONB has no U+0000 (SQLSTATE 22P05).
        Kind::Postgres => refused(&t, json(serde_json::json!({"k": "a\u{0}b"})), "json").await,
        Kind::Sqlite | Kind::MySql => kept(&t, json(serde_json::json!({"k": "a\u{0}b"}))).await,
    }
}

#[tokio::test]
async fn integer_extremes_and_uuids() {
    let Some(t) = samples().await else { return };
    for (small, int, big) in [(i16::MIN, i32::MIN, i64::MIN), (i16::MAX, i32::MAX, i64::MAX), (0, 0, 0)] {
        kept(&t, Sample { small: Some(small), int: Some(int), big: Some(big), ..Sample::default() }).await;
    }
    for uuid in [uuid::Uuid::nil(), uuid::Uuid::max(), uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210)] {
        kept(&t, Sample { uuid: Some(uuid), ..Sample::default() }).await;
    }
}

/// The decimal columns' types, as the server reports them.
async fn decimal_columns(t: &TestDb) -> Vec<String> {
    let sql = match crate::KIND {
        Kind::Postgres => "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
            WHERE attrelid = 'amounts'::regclass AND attnum > 1 ORDER BY attnum",
        _ => "SELECT COLUMN_TYPE FROM information_schema.COLUMNS \
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'amounts' AND COLUMN_NAME <> 'id' \
            ORDER BY ORDINAL_POSITION",
    };
    t.direct_connect().await.fetch_strings(sql).await
}

/// A database with the `amounts` table; none on SQLite, which has no exact decimal.
async fn amounts() -> Option<TestDb> {
    if orm_tests::not_on(crate::KIND, &[Kind::Sqlite], "SQLite has no exact decimal") {
        return None;
    }
    let t = crate::db().await?;
    t.db.create_table::<Amount>().await.unwrap();
    Some(t)
}

#[tokio::test]
async fn decimals_keep_their_declared_precision_and_scale() {
    let Some(t) = amounts().await else { return };
    let expected: &[&str] = match crate::KIND {
        Kind::Postgres => &["numeric", "numeric(12,2)", "numeric(5,0)", "numeric(28,28)"],
        _ => &["decimal(38,10)", "decimal(12,2)", "decimal(5,0)", "decimal(28,28)"],
    };
    assert_eq!(decimal_columns(&t).await, expected);
    let d = |s: &str| Some(Decimal::from_str(s).unwrap());
    // Prints as written: the column's scale, on both backends.
    let row = Amount { id: 0, any: d("2328.6"), money: d("2328.6"), whole: d("-99999"), fraction: d("0.9999999999999999999999999999") };
    let id = row.clone().insert(&t.db).await.unwrap().id;
    let read = Amount::get(&t.db, id).await.unwrap();
    assert_eq!(read, Amount { id, ..row });
    assert_eq!(read.money.unwrap().to_string(), "2328.60");
    assert_eq!(read.whole.unwrap().to_string(), "-99999");

    let refusals = [
        (Amount { money: d("0.125"), ..Amount::default() }, "money", "after the point"),
        (Amount { money: d("10000000000"), ..Amount::default() }, "money", "before the point"),
        (Amount { whole: d("100000"), ..Amount::default() }, "whole", "before the point"),
        (Amount { whole: d("1.5"), ..Amount::default() }, "whole", "after the point"),
        (Amount { fraction: d("1"), ..Amount::default() }, "fraction", "before the point"),
    ];
    for (row, column, why) in refusals {
        let err = row.insert(&t.db).await.unwrap_err();
        assert!(
            matches!(&err, Error::UnrepresentableValue { column: Some(c), reason, .. }
                if *c == format!("`amounts`.`{column}`") && reason.contains(why)),
            "{err:?}"
        );
    }
    // Trailing zeros beyond the scale are no digits lost.
    let id = Amount { money: d("1.5000"), ..Amount::default() }.insert(&t.db).await.unwrap().id;
    assert_eq!(Amount::get(&t.db, id).await.unwrap().money, d("1.5"));
    // Without a declared size: PostgreSQL keeps every digit; MySQL's
    // DECIMAL(38, 10) refuses an eleventh after the point.
    let fine = Amount { any: d("0.12345678901"), ..Amount::default() };
    match crate::KIND {
        Kind::Postgres => {
            let id = fine.insert(&t.db).await.unwrap().id;
            assert_eq!(Amount::get(&t.db, id).await.unwrap().any, d("0.12345678901"));
        }
        _ => {
            let err = fine.insert(&t.db).await.unwrap_err();
            assert!(matches!(err, Error::UnrepresentableValue { .. }), "{err:?}");
        }
    }
    // An update's `set` is checked against the column the same way.
    let count = Amount::count(&t.db).await.unwrap();
    let err = Amount::query().update().set(amount::money, d("0.001")).execute(&t.db).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnrepresentableValue { column: Some(c), .. } if c == "`amounts`.`money`"),
        "{err:?}"
    );
    let unchanged = Amount::query().filter(amount::money.eq(Decimal::from_str("0.001").unwrap())).count(&t.db).await.unwrap();
    assert_eq!((Amount::count(&t.db).await.unwrap(), unchanged), (count, 0));
}

/// Every field type, generated: extremes, NaN and infinities, empty, long
/// and every-plane strings, sub-second times, `None`. Each row reads back
/// exactly, or the value at fault is refused (naming its column, nothing
/// written) and the row is stored without it.
#[tokio::test]
async fn generated_values_round_trip_or_are_refused() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let Some(t) = samples().await else { return };
    let mut runner = TestRunner::deterministic();
    let rows = generated::sample_rows();
    let (mut stored, mut refusals) = (vec![0usize; 14], 0);
    for _ in 0..generated::CASES {
        let mut row = rows.new_tree(&mut runner).unwrap().current();
        loop {
            match store(&t, &row).await {
                Ok(read) => {
                    assert_eq!(differences(&row, &read), [], "(written, read)");
                    for (n, set) in generated::set_fields(&row).into_iter().enumerate() {
                        stored[n] += usize::from(set);
                    }
                    break;
                }
                Err(Error::UnrepresentableValue { column: Some(column), .. }) => {
                    refusals += 1;
                    let field = column.trim_start_matches("`samples`.`").trim_end_matches('`');
                    assert!(generated::clear(&mut row, field), "{column}");
                }
                Err(err) => panic!("{err:?}"),
            }
        }
    }
    // Every type was stored with a value many times; something was refused
    // on every backend (NaN on SQLite and MySQL, NUL on PostgreSQL, ...).
    assert!(stored.iter().all(|&n| n >= generated::CASES / 8), "{stored:?}");
    assert!(refusals > 0);
}

#[tokio::test]
async fn generated_decimals_round_trip_or_are_refused() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let Some(t) = amounts().await else { return };
    let mut runner = TestRunner::deterministic();
    let decimals = generated::decimals();
    let (mut kept, mut refused) = (0, 0);
    for _ in 0..generated::CASES {
        let value = decimals.new_tree(&mut runner).unwrap().current();
        for row in [
            Amount { any: Some(value), ..Amount::default() },
            Amount { money: Some(value), ..Amount::default() },
            Amount { fraction: Some(value), ..Amount::default() },
        ] {
            let before = Amount::count(&t.db).await.unwrap();
            match row.clone().insert(&t.db).await {
                Ok(stored) => {
                    assert_eq!(Amount::get(&t.db, stored.id).await.unwrap(), Amount { id: stored.id, ..row });
                    kept += 1;
                }
                Err(Error::UnrepresentableValue { .. }) => {
                    assert_eq!(Amount::count(&t.db).await.unwrap(), before);
                    refused += 1;
                }
                Err(err) => panic!("{row:?}: {err:?}"),
            }
        }
    }
    assert!(kept > 0 && refused > 0, "kept {kept}, refused {refused}");
}

/// What the property tests generate.
mod generated {
    use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
    use orm_tests::models::Sample;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// Rows (or decimals) per backend: a few seconds each.
    pub const CASES: usize = 48;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            // Any character of any plane, U+0000 included.
            vec(any::<char>(), 0..40).prop_map(|c| c.into_iter().collect()),
            "[ -~]{0,20}",
            (any::<char>(), 10_000..70_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        ]
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        let (min, max) = (NaiveDate::MIN.num_days_from_ce(), NaiveDate::MAX.num_days_from_ce());
        prop_oneof![
            1 => Just(NaiveDate::MIN),
            1 => Just(NaiveDate::MAX),
            // Years 1000 to 9999: inside every backend's range.
            6 => (364_878..=3_652_059).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
            2 => (min..=max).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        ]
    }

    fn time() -> impl Strategy<Value = NaiveTime> {
        let second = 0..86_400u32;
        prop_oneof![
            3 => second.clone().prop_map(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap()),
            3 => (second.clone(), 0..1_000_000u32)
                .prop_map(|(s, us)| NaiveTime::from_num_seconds_from_midnight_opt(s, us * 1000).unwrap()),
            1 => (second, 0..1_000_000_000u32)
                .prop_map(|(s, ns)| NaiveTime::from_num_seconds_from_midnight_opt(s, ns).unwrap()),
            // A leap second.
            1 => (0..1_440u32, 1_000_000_000..2_000_000_000u32)
                .prop_map(|(m, ns)| NaiveTime::from_num_seconds_from_midnight_opt(m * 60 + 59, ns).unwrap()),
        ]
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            proptest::num::f64::NORMAL
                .prop_union(proptest::num::f64::SUBNORMAL)
                .or(proptest::num::f64::ZERO)
                .prop_map(serde_json::Value::from),
            Just(serde_json::json!(1.0)),
            text().prop_map(|s| serde_json::Value::from(s.chars().take(30).collect::<String>())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\\u{0}🦀]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn some<T: std::fmt::Debug + Clone + 'static>(s: impl Strategy<Value = T> + 'static) -> BoxedStrategy<Option<T>> {
        prop_oneof![1 => Just(None), 7 => s.prop_map(Some)].boxed()
    }

    fn extreme_or_any<T>(extremes: Vec<T>) -> impl Strategy<Value = T>
    where
        T: Arbitrary + Clone + std::fmt::Debug + 'static,
    {
        prop_oneof![proptest::sample::select(extremes), any::<T>()]
    }

    pub fn sample_rows() -> impl Strategy<Value = Sample> {
        let numbers = (
            some(extreme_or_any(vec![i16::MIN, i16::MAX, 0])),
            some(extreme_or_any(vec![i32::MIN, i32::MAX, 0])),
            some(extreme_or_any(vec![i64::MIN, i64::MAX, 0])),
            some(proptest::num::f32::ANY),
            some(proptest::num::f64::ANY),
            some(any::<bool>()),
        );
        let others = (
            some(text()),
            some(prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 100_000..300_000)]),
            some(date()),
            some(time()),
            some((date(), time()).prop_map(|(d, t)| d.and_time(t))),
            some((date(), time()).prop_map(|(d, t)| DateTime::<Utc>::from_naive_utc_and_offset(d.and_time(t), Utc))),
            some(any::<u128>().prop_map(uuid::Uuid::from_u128)),
            some(json()),
        );
        (numbers, others).prop_map(|((small, int, big, single, double, flag), others)| {
            let (text, bytes, date, time, local, instant, uuid, json) = others;
            Sample { id: 0, small, int, big, single, double, flag, text, bytes, date, time, local, instant, uuid, json }
        })
    }

    /// Which of the 14 fields hold a value.
    pub fn set_fields(row: &Sample) -> [bool; 14] {
        [
            row.small.is_some(),
            row.int.is_some(),
            row.big.is_some(),
            row.single.is_some(),
            row.double.is_some(),
            row.flag.is_some(),
            row.text.is_some(),
            row.bytes.is_some(),
            row.date.is_some(),
            row.time.is_some(),
            row.local.is_some(),
            row.instant.is_some(),
            row.uuid.is_some(),
            row.json.is_some(),
        ]
    }

    /// Sets the field of column `name` to `None`; false if it had no value
    /// (a refusal of a field without a value is a defect).
    pub fn clear(row: &mut Sample, name: &str) -> bool {
        match name {
            "small" => row.small.take().is_some(),
            "int" => row.int.take().is_some(),
            "big" => row.big.take().is_some(),
            "single" => row.single.take().is_some(),
            "double" => row.double.take().is_some(),
            "flag" => row.flag.take().is_some(),
            "text" => row.text.take().is_some(),
            "bytes" => row.bytes.take().is_some(),
            "date" => row.date.take().is_some(),
            "time" => row.time.take().is_some(),
            "local" => row.local.take().is_some(),
            "instant" => row.instant.take().is_some(),
            "uuid" => row.uuid.take().is_some(),
            "json" => row.json.take().is_some(),
            _ => false,
        }
    }

    /// Decimals of every scale `Decimal` allows (0 to 28), 96-bit mantissas
    /// short and long, and the extremes.
    pub fn decimals() -> impl Strategy<Value = Decimal> {
        let mantissa = prop_oneof![-1_000_000i128..1_000_000, -(1i128 << 96) + 1..(1i128 << 96)];
        prop_oneof![
            proptest::sample::select(vec![Decimal::MAX, Decimal::MIN, Decimal::ZERO, Decimal::new(1, 28)]),
            (mantissa, 0..=28u32).prop_map(|(m, s)| Decimal::from_i128_with_scale(m, s)),
        ]
    }
}

#[tokio::test]
async fn a_change_of_precision_or_scale_is_a_migration() {
    use orm::migrate::{apply, diff, Column, Operation, Snapshot, Table};
    if orm_tests::not_on(crate::KIND, &[Kind::Sqlite], "SQLite has no exact decimal") {
        return;
    }
    let Some(t) = crate::db().await else { return };
    let snapshot = |column: Column| {
        let mut s = Snapshot::default();
        let table = Table::new("amounts", Column::new("id", orm::SqlType::BigInt).auto_increment()).column(column);
        s.tables.insert("amounts".into(), table);
        s
    };
    let price = || Column::new("money", orm::SqlType::Decimal);
    let v1 = snapshot(price().decimal(10, 2));
    let v2 = snapshot(price().decimal(14, 4));
    // Recorded in the snapshot file, and read back from it.
    let stored = serde_json::to_string(&v2).unwrap();
    assert!(stored.contains(r#""decimal":{"precision":14,"scale":4}"#), "{stored}");
    assert_eq!(serde_json::from_str::<Snapshot>(&stored).unwrap(), v2);
    let (up, _) = diff(&Snapshot::default(), &v1);
    apply(&t.db, "db", &Snapshot::default(), &up).await.unwrap();
    let (up, down) = diff(&v1, &v2);
    assert!(matches!(&up[..], [Operation::AlterColumn { .. }]), "{up:?}");
    assert!(diff(&v2, &v2).0.is_empty());
    let sql = match crate::KIND {
        Kind::Postgres => "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
            WHERE attrelid = 'amounts'::regclass AND attname = 'money'",
        _ => "SELECT COLUMN_TYPE FROM information_schema.COLUMNS \
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'amounts' AND COLUMN_NAME = 'money'",
    };
    let mut conn = t.direct_connect().await;
    let expected = |p: u8, s: u8| match crate::KIND {
        Kind::Postgres => format!("numeric({p},{s})"),
        _ => format!("decimal({p},{s})"),
    };
    assert_eq!(conn.fetch_strings(sql).await, [expected(10, 2)]);
    apply(&t.db, "db", &v1, &up).await.unwrap();
    assert_eq!(conn.fetch_strings(sql).await, [expected(14, 4)]);
    apply(&t.db, "db", &v2, &down).await.unwrap();
    assert_eq!(conn.fetch_strings(sql).await, [expected(10, 2)]);
}
