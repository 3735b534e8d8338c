use std::collections::BTreeMap;

use datafusion::arrow::array::{BooleanArray, RecordBatch, StringViewArray, UInt32Array};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionConfig;
use proptest::prelude::*;

use super::*;

/// Texts short enough to sit inside their views and long enough not to,
/// some sharing their first four bytes (the view's prefix).
const VOCABULARY: [&str; 8] = [
    "Sexual exploitation",
    "Sexual exploitation in a brothel",
    "Forced labour",
    "domestic",
    "Domestic servitude",
    "a",
    "",
    "Žilina, not ASCII",
];

/// Rows of the vocabulary as a string view array whose equal texts share
/// one view, as the rows of one Parquet dictionary do; None rows are null.
fn shared_views(picks: &[Option<usize>]) -> ArrayRef {
    let vocabulary: ArrayRef = Arc::new(StringViewArray::from(VOCABULARY.to_vec()));
    let indices: UInt32Array = picks.iter().map(|p| p.map(|i| i as u32)).collect();
    take(&vocabulary, &indices, None).unwrap()
}

/// Deterministic rows: group, text (or null), filter (or null).
fn rows(seed: u64, n: usize, groups: u64) -> Vec<(i64, Option<usize>, Option<bool>)> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let group = next() % groups;
            // each group sees three neighbouring texts of the vocabulary, so
            // that groups differ in their extremes
            let text = (next() % 7 != 0)
                .then(|| ((group + next() % 3) % VOCABULARY.len() as u64) as usize);
            let group = group as i64;
            let filter = match next() % 5 {
                0 => None,
                1 | 2 => Some(false),
                _ => Some(true),
            };
            (group, text, filter)
        })
        .collect()
}

fn batch(rows: &[(i64, Option<usize>, Option<bool>)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("t", DataType::Utf8View, true),
        Field::new("f", DataType::Boolean, true),
    ]));
    let groups = datafusion::arrow::array::Int64Array::from_iter_values(rows.iter().map(|r| r.0));
    let picks: Vec<Option<usize>> = rows.iter().map(|r| r.1).collect();
    let filters: BooleanArray = rows.iter().map(|r| r.2).collect();
    RecordBatch::try_new(
        schema,
        vec![Arc::new(groups), shared_views(&picks), Arc::new(filters)],
    )
    .unwrap()
}

/// A session over the table `x` (two partitions of three batches each),
/// with DataFusion's `max` and `min` or with these.
fn session(ours: bool, config: SessionConfig, groups: u64) -> SessionContext {
    let ctx = SessionContext::new_with_config(config);
    if ours {
        register(&ctx);
    }
    let partitions: Vec<Vec<RecordBatch>> = (0..2)
        .map(|p| {
            (0..3)
                .map(|b| batch(&rows(1 + p * 3 + b, 700, groups)))
                .collect()
        })
        .collect();
    let schema = partitions[0][0].schema();
    let table = MemTable::try_new(schema, partitions).unwrap();
    ctx.register_table("x", Arc::new(table)).unwrap();
    ctx
}

const QUERIES: [&str; 6] = [
    "SELECT g, max(t) AS hi, min(t) AS lo FROM x GROUP BY g ORDER BY g",
    "SELECT g, max(t) FILTER (WHERE f) AS hi, min(t) FILTER (WHERE f) AS lo FROM x GROUP BY g ORDER BY g",
    "SELECT g, f, grouping(f) AS whole, max(t) AS hi, min(t) AS lo FROM x \
     GROUP BY GROUPING SETS ((g, f), (g), ()) ORDER BY g NULLS LAST, whole, f NULLS LAST",
    "SELECT max(t) AS hi, min(t) AS lo FROM x",
    "SELECT g, hi FROM (SELECT g, max(t) OVER (PARTITION BY g) AS hi FROM x) GROUP BY g, hi ORDER BY g",
    "SELECT g, max(t) AS hi FROM x WHERE g < 0 GROUP BY g",
];

async fn results(ctx: &SessionContext) -> Vec<String> {
    let mut out = Vec::new();
    for sql in QUERIES {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        out.push(pretty_format_batches(&batches).unwrap().to_string());
    }
    out
}

#[tokio::test]
async fn gives_what_datafusion_gives() {
    let config = || SessionConfig::new().with_target_partitions(2);
    let ours = results(&session(true, config(), 40)).await;
    let theirs = results(&session(false, config(), 40)).await;
    assert_eq!(ours, theirs);
    // not two empty or uniform answers: the groups' extremes differ
    let ctx = session(true, config(), 40);
    let distinct = "SELECT count(DISTINCT hi) AS his, count(DISTINCT lo) AS los \
        FROM (SELECT g, max(t) AS hi, min(t) AS lo FROM x GROUP BY g)";
    let batches = ctx.sql(distinct).await.unwrap().collect().await.unwrap();
    let count = |column: usize| {
        let counts = batches[0].column(column);
        counts
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0)
    };
    // the eight windows of three neighbouring texts have four maxima and four minima
    assert_eq!((count(0), count(1)), (4, 4));
    assert_eq!(ours[0].lines().count(), 40 + 4, "{}", ours[0]);
}

#[tokio::test]
async fn gives_what_datafusion_gives_when_partial_aggregation_is_skipped() {
    // many groups, and the partial aggregation told to give up early: rows
    // go to the final aggregation as states (convert_to_state)
    let config = || {
        let mut config = SessionConfig::new().with_target_partitions(2);
        let execution = &mut config.options_mut().execution;
        execution.skip_partial_aggregation_probe_rows_threshold = 10;
        execution.skip_partial_aggregation_probe_ratio_threshold = 0.01;
        config
    };
    let ours = results(&session(true, config(), 3000)).await;
    let theirs = results(&session(false, config(), 3000)).await;
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn replaces_the_builtin_functions_by_name() {
    let ctx = session(true, SessionConfig::new(), 3);
    let state = ctx.state();
    for name in ["max", "min"] {
        let function = state.aggregate_functions().get(name).unwrap();
        let function = function.inner().as_ref() as &dyn std::any::Any;
        assert!(function.is::<TextExtreme>(), "{name}");
    }
}

/// The reference: for groups `0..groups`, the extreme of the texts of the
/// rows (group, text, passes) that pass, by Rust's order of strings (not the
/// one under test); None for a group with none.
fn reference<'a>(
    rows: impl IntoIterator<Item = (usize, Option<&'a str>, bool)>,
    extreme: Extreme,
    groups: usize,
) -> Vec<Option<String>> {
    let mut kept: BTreeMap<usize, &str> = BTreeMap::new();
    for (group, text, passes) in rows {
        let (Some(text), true) = (text, passes) else {
            continue;
        };
        let entry = kept.entry(group).or_insert(text);
        let replaces = match extreme {
            Extreme::Max => text > *entry,
            Extreme::Min => text < *entry,
        };
        if replaces {
            *entry = text;
        }
    }
    (0..groups)
        .map(|g| kept.get(&g).map(|t| t.to_string()))
        .collect()
}

fn texts(array: &ArrayRef) -> Vec<Option<String>> {
    array
        .as_string_view()
        .iter()
        .map(|t| t.map(str::to_string))
        .collect()
}

/// Two arrays can hold the same view for different text: same length,
/// same first four bytes, same place in their own buffers. A view compared
/// in one batch must not settle a row of the next.
#[test]
fn a_view_counts_only_in_its_own_batch() {
    let first: ArrayRef = Arc::new(StringViewArray::from(vec!["abcd long text 1"]));
    let second: ArrayRef = Arc::new(StringViewArray::from(vec!["abcd long text 9"]));
    assert_eq!(
        first.as_string_view().views()[0],
        second.as_string_view().views()[0]
    );
    let mut groups = ViewExtremes::new(Extreme::Max);
    groups.update_batch(&[first], &[0], None, 1).unwrap();
    groups.merge_batch(&[second], &[0], 1).unwrap();
    let got = texts(&groups.evaluate(EmitTo::All).unwrap());
    assert_eq!(got, vec![Some("abcd long text 9".to_string())]);
}

/// Texts of one length and one first four bytes: in two arrays that hold
/// them in different orders, one view names different texts.
const LOOK_ALIKES: [&str; 8] = [
    "abcd long text 0",
    "abcd long text 1",
    "abcd long text 2",
    "abcd long text 3",
    "abcd long text 4",
    "abcd long text 5",
    "abcd long text 6",
    "abcd long text 7",
];

/// Rows of [`LOOK_ALIKES`] (by index) from an array that holds them rotated
/// by `rotation`, so that the same view names another text in each
/// rotation; the array is sliced after `pad` leading rows, as DataFusion
/// slices the batches it hands over.
fn rotated_views(picks: &[Option<usize>], rotation: usize, pad: usize) -> ArrayRef {
    let n = LOOK_ALIKES.len();
    let rotated: Vec<&str> = (0..n).map(|k| LOOK_ALIKES[(k + rotation) % n]).collect();
    let vocabulary: ArrayRef = Arc::new(StringViewArray::from(rotated));
    let indices: UInt32Array = std::iter::repeat_n(Some(0), pad)
        .chain(
            picks
                .iter()
                .map(|p| p.map(|i| ((i + n - rotation % n) % n) as u32)),
        )
        .collect();
    take(&vocabulary, &indices, None)
        .unwrap()
        .slice(pad, picks.len())
}

/// A filter of `passes` sliced after `pad` leading entries; a null entry's
/// value bit is set, as a kernel may leave it.
fn sliced_filter(passes: &[Option<bool>], pad: usize) -> BooleanArray {
    let entries: Vec<Option<bool>> = std::iter::repeat_n(Some(true), pad)
        .chain(passes.iter().copied())
        .collect();
    let bits: BooleanBuffer = entries.iter().map(|e| e.unwrap_or(true)).collect();
    let valid = NullBuffer::from_iter(entries.iter().map(Option::is_some));
    BooleanArray::new(bits, Some(valid)).slice(pad, passes.len())
}

/// Rows handed to the final aggregation as states: a row the filter does
/// not pass, false or null (whatever its value bit), and a null row are
/// nulls; the others keep their text.
#[test]
fn convert_to_state_leaves_out_what_the_filter_does_not_pass() {
    let groups = ViewExtremes::new(Extreme::Max);
    let values = shared_views(&[Some(0), Some(1), Some(2), None, Some(4)]);
    let filter = sliced_filter(&[Some(true), Some(false), None, Some(true), Some(true)], 1);
    let state = groups
        .convert_to_state(&[Arc::clone(&values)], Some(&filter))
        .unwrap();
    let expected = vec![
        Some(VOCABULARY[0].to_string()),
        None,
        None,
        None,
        Some(VOCABULARY[4].to_string()),
    ];
    assert_eq!(texts(&state[0]), expected);
    // without a filter, the values themselves
    let state = groups
        .convert_to_state(&[Arc::clone(&values)], None)
        .unwrap();
    assert_eq!(texts(&state[0]), texts(&values));
}

proptest! {
    /// Batch after batch from arrays whose views name other texts than the
    /// batch before's (same length, same prefix, same offsets), through
    /// update and merge in turn, sliced inputs and filters: every group
    /// ends with the reference's extreme. A view remembered past its batch
    /// would settle a row by another text.
    #[test]
    fn folds_across_batches_whose_views_name_other_texts(
        batches in prop::collection::vec(
            (
                prop::collection::vec(
                    (0usize..5, prop::option::of(0usize..8), prop::option::of(any::<bool>())),
                    1..40,
                ),
                0usize..8,
                0usize..3,
            ),
            2..6,
        ),
        max in any::<bool>(),
    ) {
        let extreme = if max { Extreme::Max } else { Extreme::Min };
        let mut groups = ViewExtremes::new(extreme);
        let mut folded: Vec<(usize, Option<&str>, bool)> = Vec::new();
        for (number, (rows, rotation, pad)) in batches.iter().enumerate() {
            let picks: Vec<Option<usize>> = rows.iter().map(|r| r.1).collect();
            let indices: Vec<usize> = rows.iter().map(|r| r.0).collect();
            let values = rotated_views(&picks, *rotation, *pad);
            if number % 2 == 0 {
                let passes: Vec<Option<bool>> = rows.iter().map(|r| r.2).collect();
                let filter = sliced_filter(&passes, *pad);
                groups.update_batch(&[values], &indices, Some(&filter), 5).unwrap();
            } else {
                groups.merge_batch(&[values], &indices, 5).unwrap();
            }
            // a merged batch has no filter; a null entry does not pass
            folded.extend(rows.iter().map(|(group, pick, pass)| {
                let passes = number % 2 == 1 || *pass == Some(true);
                (*group, pick.map(|p| LOOK_ALIKES[p]), passes)
            }));
        }
        let got = texts(&groups.evaluate(EmitTo::All).unwrap());
        prop_assert_eq!(got, reference(folded, extreme, 5));
    }

    /// Folded batch by batch, emitted whole or in two parts (the first
    /// groups, then the rest renumbered from 0), every group ends with the
    /// reference's extreme, and a group with no passing text with null.
    #[test]
    fn folds_like_the_reference(
        batches in prop::collection::vec(
            prop::collection::vec(
                (0usize..12, prop::option::of(0usize..8), prop::option::of(any::<bool>())),
                0..60,
            ),
            1..5,
        ),
        max in any::<bool>(),
        split in prop::option::of(0usize..12),
    ) {
        let extreme = if max { Extreme::Max } else { Extreme::Min };
        let mut groups = ViewExtremes::new(extreme);
        let total = 12;
        for rows in &batches {
            let picks: Vec<Option<usize>> = rows.iter().map(|r| r.1).collect();
            let indices: Vec<usize> = rows.iter().map(|r| r.0).collect();
            let passes: Vec<Option<bool>> = rows.iter().map(|r| r.2).collect();
            let filter = sliced_filter(&passes, 0);
            groups
                .update_batch(&[shared_views(&picks)], &indices, Some(&filter), total)
                .unwrap();
        }
        let mut emitted = match split {
            Some(n) => texts(&groups.evaluate(EmitTo::First(n)).unwrap()),
            None => Vec::new(),
        };
        emitted.extend(texts(&groups.evaluate(EmitTo::All).unwrap()));
        // a null filter entry does not pass, as a false one
        let rows = batches
            .iter()
            .flatten()
            .map(|r| (r.0, r.1.map(|t| VOCABULARY[t]), r.2 == Some(true)));
        prop_assert_eq!(emitted, reference(rows, extreme, total));
        prop_assert_eq!(groups.kept_bytes, 0);
    }

    /// After the first groups are emitted, the rest are numbered from 0 and
    /// new rows fold into the right ones, with views compared before the
    /// emission not taken for the renumbered groups'.
    #[test]
    fn folds_after_an_early_emission(
        first in prop::collection::vec((0usize..6, prop::option::of(0usize..8)), 1..30),
        second in prop::collection::vec((0usize..3, prop::option::of(0usize..8)), 1..30),
        max in any::<bool>(),
    ) {
        let extreme = if max { Extreme::Max } else { Extreme::Min };
        let mut groups = ViewExtremes::new(extreme);
        let picks: Vec<Option<usize>> = first.iter().map(|r| r.1).collect();
        let indices: Vec<usize> = first.iter().map(|r| r.0).collect();
        groups.update_batch(&[shared_views(&picks)], &indices, None, 6).unwrap();
        groups.evaluate(EmitTo::First(3)).unwrap();
        let picks: Vec<Option<usize>> = second.iter().map(|r| r.1).collect();
        let indices: Vec<usize> = second.iter().map(|r| r.0).collect();
        groups.update_batch(&[shared_views(&picks)], &indices, None, 3).unwrap();
        let got = texts(&groups.evaluate(EmitTo::All).unwrap());
        // the groups left were 3..6 of the first batch
        let renumbered = first
            .iter()
            .filter(|r| r.0 >= 3)
            .map(|r| (r.0 - 3, r.1))
            .chain(second.iter().copied())
            .map(|(group, pick)| (group, pick.map(|t| VOCABULARY[t]), true));
        prop_assert_eq!(got, reference(renumbered, extreme, 3));
    }
}
