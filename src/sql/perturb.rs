//! The counting functions of published tables, registered in every
//! session: `protected_count(unit_id)`, `published_count(unit_id)` and
//! `cell_key(unit_id)`.
//!
//! `protected_count` is how every shipped query counts. A report runs its
//! queries twice: once counting true values, from which disclosure control
//! chooses what to suppress, and once counting published values, the true
//! count with the noise its records' key gives it (see
//! [`safetynet_sdc::Perturbation`]); the tables of the second run are what
//! is published, so every share, interval, change and rate a query derives
//! is derived from the published counts and gives away nothing more.
//! `published_count` is always the published value: a query that ranks by
//! a count ranks by it, so both runs list the same rows. `cell_key` is the
//! key itself, for counts the tool assembles outside SQL (service gaps).
//!
//! Counted as cases, a unit is counted once however many rows it has, like
//! `count(DISTINCT unit_id)`; counted as victims, the unit is the record,
//! which the store holds once.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::FieldRef;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use safetynet_sdc::{CellKeySecret, Perturbation};

mod groups;
mod parts;

pub use parts::TwoSteps;

/// What `protected_count` returns in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counting {
    /// True counts: disclosure control's run, `query`, internal work.
    True,
    /// Published counts.
    Published,
}

/// How a session counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountSettings {
    pub counting: Counting,
    /// None for a store without data: every count is 0 and has no noise.
    pub secret: Option<CellKeySecret>,
    pub perturbation: Perturbation,
    /// Count each unit once however many rows it has (cases).
    pub distinct: bool,
}

impl CountSettings {
    /// How a session counts `unit` for a publication.
    pub fn for_unit(
        counting: Counting,
        secret: Option<CellKeySecret>,
        perturbation: Perturbation,
        unit: super::selection::Unit,
    ) -> Self {
        CountSettings {
            counting,
            secret,
            perturbation,
            distinct: unit == super::selection::Unit::Cases,
        }
    }

    /// True counts by `unit`, for `query`: what the report's first pass
    /// counts, so that a shipped query run by hand gives the report's true
    /// counts. Counting victims this way holds no unit's key: while `query`
    /// counted each record once as if it were a case, the shipped query 01
    /// at 10M records ran out of the default memory limit (as counting
    /// cases still does there).
    pub fn for_query(secret: Option<CellKeySecret>, unit: super::selection::Unit) -> Self {
        CountSettings {
            distinct: unit == super::selection::Unit::Cases,
            ..CountSettings::internal(secret)
        }
    }

    /// True counts of records, for a session that publishes nothing.
    pub fn internal(secret: Option<CellKeySecret>) -> Self {
        CountSettings {
            counting: Counting::True,
            secret,
            perturbation: Perturbation {
                max_noise: safetynet_sdc::DEFAULT_MAX_NOISE,
                min_cell: 10,
            },
            distinct: true,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Output {
    Count(Counting),
    Key,
}

/// Registers (or replaces) the three functions in `ctx`.
pub fn register(ctx: &SessionContext, settings: CountSettings) {
    for (name, output) in [
        ("protected_count", Output::Count(settings.counting)),
        ("published_count", Output::Count(Counting::Published)),
        ("cell_key", Output::Key),
    ] {
        ctx.register_udaf(AggregateUDF::from(UnitCount::new(name, settings, output)));
    }
}

/// One of the three functions as DataFusion sees it: its name, what it
/// returns, and the accumulator ([`UnitCounter`]) each group gets. Two are
/// equal when they count alike (DataFusion compares functions in plans).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UnitCount {
    name: &'static str,
    settings: CountSettings,
    output: Output,
    signature: Signature,
}

impl UnitCount {
    fn new(name: &'static str, settings: CountSettings, output: Output) -> Self {
        UnitCount {
            name,
            settings,
            output,
            // the store's text is read as string views; plain strings are
            // turned into views without copying their bytes
            signature: Signature::exact(vec![DataType::Utf8View], Volatility::Immutable),
        }
    }

    /// Whether this function is the number of units present, as the
    /// built-in `count` is: a true count of records (not a published one,
    /// not cases counted once). The optimizer then counts rows instead when
    /// no unit can be missing ([`super::count_rows`]).
    pub fn counts_present_values(&self) -> bool {
        self.output == Output::Count(Counting::True) && !self.settings.distinct
    }

    fn counter(&self) -> UnitCounter {
        UnitCounter {
            settings: self.settings,
            output: self.output,
            count: 0,
            key: 0,
            seen: self.settings.distinct.then(Default::default),
        }
    }
}

impl AggregateUDFImpl for UnitCount {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        // the key's 64 bits as a signed integer, so tables read it like a count
        Ok(DataType::Int64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(self.counter()))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(groups::UnitGroups::new(
            self.settings,
            self.output,
        )))
    }

    /// What a group without rows gives, as `count` gives 0: the value of a
    /// counter that saw nothing. DataFusion uses it where a subquery's
    /// count is joined back and finds no row (otherwise null).
    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        self.counter().evaluate()
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |suffix: &str, data_type: DataType| {
            Arc::new(Field::new(
                format!("{}[{suffix}]", args.name),
                data_type,
                true,
            ))
        };
        Ok(if self.settings.distinct {
            vec![field(
                "keys",
                DataType::List(Arc::new(Field::new_list_field(DataType::UInt64, true))),
            )]
        } else {
            vec![
                field("count", DataType::UInt64),
                field("key", DataType::UInt64),
            ]
        })
    }
}

#[derive(Debug)]
struct UnitCounter {
    settings: CountSettings,
    output: Output,
    count: u64,
    key: u64,
    /// Keys of the units seen, when each is counted once.
    seen: Option<KeySet>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Output::Count(Counting::True) => "true count",
            Output::Count(Counting::Published) => "published count",
            Output::Key => "cell key",
        })
    }
}

/// The keys of the units seen, in a set that takes a key as its own hash:
/// a key is already SipHash output under the store's secret, evenly spread
/// and not choosable by whoever wrote the ids, so hashing it again (the
/// standard set's SipHash) only cost time: `report --unit cases` of 1M
/// records took 10.5-11.2 s with it, 8.8-9.0 s without.
type KeySet = std::collections::HashSet<u64, std::hash::BuildHasherDefault<KeyIsHash>>;

/// The hasher of [`KeySet`]: the key written is the hash.
#[derive(Default)]
struct KeyIsHash(u64);

impl std::hash::Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // only u64 keys are hashed; any other input still hashes, slowly
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// A true count of records needs no unit's key: the key only decides
/// noise (published counts, `cell_key`) and which rows are one unit
/// (cases). Hashing every id was a twentieth of a report's time.
fn needs_keys(settings: &CountSettings, output: Output) -> bool {
    settings.distinct || output != Output::Count(Counting::True)
}

/// The secret units are keyed with (a store without data has none; it
/// has no ids either).
fn secret_of(settings: &CountSettings) -> CellKeySecret {
    settings.secret.unwrap_or(CellKeySecret([0; 16]))
}

/// What a function gives for a group of `count` units whose keys sum to `key`.
fn value_of(settings: &CountSettings, output: Output, count: u64, key: u64) -> i64 {
    match output {
        Output::Key => key as i64,
        Output::Count(Counting::True) => count as i64,
        Output::Count(Counting::Published) => settings.perturbation.apply(count, key) as i64,
    }
}

impl UnitCounter {
    fn needs_keys(&self) -> bool {
        needs_keys(&self.settings, self.output)
    }

    fn add(&mut self, key: u64) {
        if let Some(seen) = &mut self.seen
            && !seen.insert(key)
        {
            return;
        }
        self.count += 1;
        self.key = self.key.wrapping_add(key);
    }
}

impl Accumulator for UnitCounter {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ids = cast(&values[0], &DataType::Utf8View)?;
        let ids = ids.as_string_view();
        if !self.needs_keys() {
            self.count += (ids.len() - ids.null_count()) as u64;
            return Ok(());
        }
        let secret = secret_of(&self.settings);
        for id in ids.iter().flatten() {
            self.add(secret.unit_key(id.as_bytes()));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(value_of(
            &self.settings,
            self.output,
            self.count,
            self.key,
        ))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.seen.as_ref().map_or(0, |s| s.capacity() * 16)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(match &self.seen {
            Some(seen) => {
                // the order does not matter: the merge puts them in a set
                let list = ScalarValue::new_list_nullable(
                    &seen
                        .iter()
                        .map(|&k| ScalarValue::UInt64(Some(k)))
                        .collect::<Vec<_>>(),
                    &DataType::UInt64,
                );
                vec![ScalarValue::List(list)]
            }
            None => vec![
                ScalarValue::UInt64(Some(self.count)),
                ScalarValue::UInt64(Some(self.key)),
            ],
        })
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        if self.seen.is_some() {
            let lists = states[0].as_list::<i32>();
            for list in lists.iter().flatten() {
                let keys = list.as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
                for key in keys.iter().flatten() {
                    self.add(key);
                }
            }
        } else {
            let counts: &UInt64Array = states[0].as_primitive();
            let keys: &UInt64Array = states[1].as_primitive();
            for i in 0..counts.len() {
                if counts.is_valid(i) {
                    self.count += counts.value(i);
                    self.key = self.key.wrapping_add(keys.value(i));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray, StringViewArray};
    use datafusion::arrow::datatypes::Schema;
    use datafusion::arrow::record_batch::RecordBatch;

    async fn counts(ctx: &SessionContext) -> (i64, i64) {
        let batches = ctx
            .sql("SELECT protected_count(id) AS t, published_count(id) AS p FROM units")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let col = |i: usize| {
            batches[0]
                .column(i)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0)
        };
        (col(0), col(1))
    }

    #[tokio::test]
    async fn a_subquery_that_counts_no_unit_gives_0_not_null() {
        let ctx = SessionContext::new();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8View, false),
            Field::new("g", DataType::Utf8View, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringViewArray::from(vec!["R1", "R2"])),
            Arc::new(StringViewArray::from(vec!["a", "a"])),
        ];
        ctx.register_batch("units", RecordBatch::try_new(schema, columns).unwrap())
            .unwrap();
        let mut settings = CountSettings::internal(Some(CellKeySecret(*b"0123456789abcdef")));
        settings.distinct = false;
        register(&ctx, settings);
        let batches = ctx
            .sql(
                "SELECT k, (SELECT protected_count(u.id) FROM units u WHERE u.g = o.k) AS n \
                 FROM (VALUES ('a'), ('z')) AS o(k) ORDER BY k",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let n: Vec<Option<i64>> = batches
            .iter()
            .flat_map(|b| {
                let n = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
                n.iter().collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(n, vec![Some(2), Some(0)]);
    }

    #[tokio::test]
    async fn the_session_counts_true_or_published_values_as_registered() {
        let ctx = SessionContext::new();
        let ids: Vec<String> = (0..500).map(|i| format!("R{i}")).collect();
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(ids)) as ArrayRef])
                .unwrap();
        ctx.register_batch("units", batch).unwrap();
        let mut settings = CountSettings::internal(Some(CellKeySecret(*b"0123456789abcdef")));
        settings.distinct = false;
        register(&ctx, settings);
        let (true_count, published) = counts(&ctx).await;
        assert_eq!(true_count, 500);
        assert!(published.abs_diff(500) <= 2);
        settings.counting = Counting::Published;
        register(&ctx, settings);
        assert_eq!(counts(&ctx).await, (published, published));
    }
}
