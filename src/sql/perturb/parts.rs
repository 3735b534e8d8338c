//! A count of units taken in two steps, for grouping sets that are counted
//! from one grouping of the rows ([`crate::sql::rollup`]). The first step
//! gives each part its number of units and the sum of their keys (`count`
//! and `cell_key`); the second adds these up and gives what the function
//! gives for the whole, 0 for no part at all (the empty grouping set of no
//! rows), as the function gives for no rows. A published count's noise depends only on its
//! number of units and the sum of their keys, so the whole counted from its
//! parts gets the same noise as the whole counted at once. Cases counted
//! once cannot be taken so: a case in two parts would be counted twice.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use super::{CountSettings, Output, UnitCount, UnitCounter, needs_keys};

/// How a count of units is taken in two steps: each part's count (and,
/// when the value depends on the units' keys, the sum of their keys with
/// `key`), then `total` of them.
pub struct TwoSteps {
    /// The function that sums a part's keys; None for a true count of
    /// records, whose value needs no key (so no id is hashed for it).
    pub key: Option<Arc<AggregateUDF>>,
    pub total: Arc<AggregateUDF>,
}

impl UnitCount {
    /// How this function is taken in two steps; None when it counts each
    /// case once.
    pub fn two_steps(&self) -> Option<TwoSteps> {
        if self.settings.distinct {
            return None;
        }
        let key = needs_keys(&self.settings, self.output).then(|| {
            Arc::new(AggregateUDF::from(UnitCount::new(
                "cell_key",
                self.settings,
                Output::Key,
            )))
        });
        Some(TwoSteps {
            key,
            total: Arc::new(AggregateUDF::from(TotalOfParts {
                settings: self.settings,
                output: self.output,
                signature: Signature::exact(
                    vec![DataType::Int64, DataType::Int64],
                    Volatility::Immutable,
                ),
            })),
        })
    }
}

/// The second step: a function of the parts' counts and key sums.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TotalOfParts {
    settings: CountSettings,
    output: Output,
    signature: Signature,
}

impl AggregateUDFImpl for TotalOfParts {
    fn name(&self) -> &str {
        "unit_count_of_parts"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Total(UnitCounter {
            settings: self.settings,
            output: self.output,
            count: 0,
            key: 0,
            // never a distinct count: those are not taken in two steps
            seen: None,
        })))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |suffix: &str| {
            Arc::new(Field::new(
                format!("{}[{suffix}]", args.name),
                DataType::UInt64,
                true,
            ))
        };
        Ok(vec![field("count"), field("key")])
    }
}

/// The sums of one group's parts: a [`UnitCounter`] of records that adds
/// up counts and key sums instead of ids, and gives, keeps and merges its
/// state as the counter does.
#[derive(Debug)]
struct Total(UnitCounter);

impl Accumulator for Total {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let counts = values[0].as_primitive::<Int64Type>();
        let keys = values[1].as_primitive::<Int64Type>();
        for i in 0..counts.len() {
            if counts.is_valid(i) {
                self.0.count += counts.value(i) as u64;
                // the key's 64 bits, which `cell_key` gives as a signed integer
                self.0.key = self.0.key.wrapping_add(keys.value(i) as u64);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.0.evaluate()
    }

    fn size(&self) -> usize {
        self.0.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.0.merge_batch(states)
    }
}
