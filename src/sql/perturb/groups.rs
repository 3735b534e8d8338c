//! The counting functions' grouped form: every group's count and key kept
//! side by side in vectors, updated row by row as DataFusion's hash
//! aggregation hands them over.
//!
//! Without it DataFusion runs a one-group [`super::UnitCounter`] per group
//! through its adapter, which sorts each batch by group and copies every
//! group's slice of the ids before counting them. Counting cases goes
//! through it in both of a report's passes, counting victims only in the
//! published one: at 1M records `report --unit cases` took 13.2-14.6 s with
//! the adapter and 10.5-11.2 s with this, `report` (victims) 4.27-4.42 s
//! and 4.16-4.28 s.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListBuilder, UInt64Array, UInt64Builder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, UInt64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use super::{CountSettings, KeySet, Output};

/// Every group's state of one counting function.
pub(super) struct UnitGroups {
    settings: CountSettings,
    output: Output,
    counts: Vec<u64>,
    keys: Vec<u64>,
    /// Per group, the keys of the units seen, when each is counted once.
    seen: Option<Vec<KeySet>>,
    /// How many keys the sets hold together (`size` must not walk them).
    seen_keys: usize,
}

impl UnitGroups {
    pub(super) fn new(settings: CountSettings, output: Output) -> Self {
        UnitGroups {
            settings,
            output,
            counts: Vec::new(),
            keys: Vec::new(),
            seen: settings.distinct.then(Vec::new),
            seen_keys: 0,
        }
    }

    fn make_room(&mut self, groups: usize) {
        self.counts.resize(groups, 0);
        self.keys.resize(groups, 0);
        if let Some(seen) = &mut self.seen {
            seen.resize_with(groups, KeySet::default);
        }
    }

    fn add(&mut self, group: usize, key: u64) {
        if let Some(seen) = &mut self.seen {
            if !seen[group].insert(key) {
                return;
            }
            self.seen_keys += 1;
        }
        self.counts[group] += 1;
        self.keys[group] = self.keys[group].wrapping_add(key);
    }

    /// Takes the sets of the groups emitted, keeping `seen_keys` true.
    fn take_sets(&mut self, emit_to: EmitTo) -> Vec<KeySet> {
        let Some(seen) = &mut self.seen else {
            return Vec::new();
        };
        let sets = emit_to.take_needed(seen);
        self.seen_keys -= sets.iter().map(KeySet::len).sum::<usize>();
        sets
    }
}

/// The rows that count (an id, and not left out by the aggregate's
/// FILTER), each with its unit's key, or None when `output` needs none.
fn row_keys<'a>(
    settings: CountSettings,
    output: Output,
    ids: &'a ArrayRef,
    opt_filter: Option<&'a BooleanArray>,
) -> impl Iterator<Item = (usize, Option<u64>)> + 'a {
    let ids = ids.as_string_view();
    let needs_keys = super::needs_keys(&settings, output);
    let secret = super::secret_of(&settings);
    (0..ids.len())
        .filter(move |&row| {
            ids.is_valid(row) && opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row))
        })
        .map(move |row| {
            (
                row,
                needs_keys.then(|| secret.unit_key(ids.value(row).as_bytes())),
            )
        })
}

impl GroupsAccumulator for UnitGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.make_room(total_num_groups);
        let ids = cast(&values[0], &DataType::Utf8View)?;
        for (row, key) in row_keys(self.settings, self.output, &ids, opt_filter) {
            let group = group_indices[row];
            match key {
                Some(key) => self.add(group, key),
                // a true count of records: the rows present are the count
                None => self.counts[group] += 1,
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let counts = emit_to.take_needed(&mut self.counts);
        let keys = emit_to.take_needed(&mut self.keys);
        self.take_sets(emit_to);
        let values: Int64Array = counts
            .iter()
            .zip(&keys)
            .map(|(&count, &key)| Some(super::value_of(&self.settings, self.output, count, key)))
            .collect();
        Ok(Arc::new(values))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let counts = emit_to.take_needed(&mut self.counts);
        let keys = emit_to.take_needed(&mut self.keys);
        if self.seen.is_none() {
            return Ok(vec![
                Arc::new(UInt64Array::from(counts)),
                Arc::new(UInt64Array::from(keys)),
            ]);
        }
        // the order does not matter: the merge puts them in a set
        let mut lists = ListBuilder::new(UInt64Builder::new());
        for set in self.take_sets(emit_to) {
            lists
                .values()
                .append_slice(&set.into_iter().collect::<Vec<_>>());
            lists.append(true);
        }
        Ok(vec![Arc::new(lists.finish())])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.make_room(total_num_groups);
        if self.seen.is_some() {
            let lists = values[0].as_list::<i32>();
            for (row, &group) in group_indices.iter().enumerate() {
                if lists.is_valid(row) {
                    let list = lists.value(row);
                    for key in list.as_primitive::<UInt64Type>().iter().flatten() {
                        self.add(group, key);
                    }
                }
            }
        } else {
            let counts: &UInt64Array = values[0].as_primitive();
            let keys: &UInt64Array = values[1].as_primitive();
            for (row, &group) in group_indices.iter().enumerate() {
                if counts.is_valid(row) {
                    self.counts[group] += counts.value(row);
                    self.keys[group] = self.keys[group].wrapping_add(keys.value(row));
                }
            }
        }
        Ok(())
    }

    /// Each row as a group of its own, for when DataFusion skips the
    /// partial aggregation (groups nearly as many as rows).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let ids = cast(&values[0], &DataType::Utf8View)?;
        let rows = ids.len();
        let mut counted: Vec<Option<u64>> = vec![None; rows];
        let mut present = vec![false; rows];
        for (row, key) in row_keys(self.settings, self.output, &ids, opt_filter) {
            present[row] = true;
            counted[row] = key;
        }
        if self.seen.is_some() {
            let mut lists = ListBuilder::new(UInt64Builder::new());
            for (key, present) in counted.iter().zip(&present) {
                if *present {
                    lists.values().append_value(key.unwrap_or_default());
                }
                lists.append(true);
            }
            return Ok(vec![Arc::new(lists.finish())]);
        }
        let counts: UInt64Array = present.iter().map(|&p| Some(u64::from(p))).collect();
        let keys: UInt64Array = counted
            .iter()
            .map(|k| Some(k.unwrap_or_default()))
            .collect();
        Ok(vec![Arc::new(counts), Arc::new(keys)])
    }

    fn size(&self) -> usize {
        let sets = self.seen.as_ref().map_or(0, |seen| {
            seen.capacity() * std::mem::size_of::<KeySet>() + self.seen_keys * 16
        });
        std::mem::size_of_val(self) + (self.counts.capacity() + self.keys.capacity()) * 8 + sets
    }
}

#[cfg(test)]
mod tests {
    use super::super::Counting;
    use super::*;
    use datafusion::arrow::array::StringViewArray;
    use safetynet_sdc::{CellKeySecret, Perturbation};

    fn settings(counting: Counting, distinct: bool) -> CountSettings {
        CountSettings {
            counting,
            secret: Some(CellKeySecret(*b"0123456789abcdef")),
            perturbation: Perturbation {
                max_noise: 3,
                min_cell: 10,
            },
            distinct,
        }
    }

    /// 600 rows over 5 groups: ids repeat (R0..R199 three times), one in
    /// ten is null, and the FILTER leaves out every seventh row.
    fn rows() -> (ArrayRef, Vec<usize>, BooleanArray) {
        let ids: StringViewArray = (0..600)
            .map(|i| (i % 10 != 3).then(|| format!("R{}", i % 200)))
            .collect();
        let groups = (0..600).map(|i| (i * 7 + i / 13) % 5).collect();
        let filter: BooleanArray = (0..600).map(|i| Some(i % 7 != 0)).collect();
        (Arc::new(ids), groups, filter)
    }

    /// What the one-group counter gives each group: the reference.
    fn one_group_counters(s: CountSettings, output: Output) -> Vec<i64> {
        let (ids, groups, filter) = rows();
        (0..5)
            .map(|group| {
                let mut counter = super::super::UnitCount::new("t", s, output).counter();
                let picked: BooleanArray = (0..600)
                    .map(|i| Some(groups[i] == group && filter.value(i)))
                    .collect();
                let mine = datafusion::arrow::compute::filter(&ids, &picked).unwrap();
                datafusion::logical_expr::Accumulator::update_batch(&mut counter, &[mine]).unwrap();
                match datafusion::logical_expr::Accumulator::evaluate(&mut counter).unwrap() {
                    datafusion::common::ScalarValue::Int64(Some(v)) => v,
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    fn values(array: ArrayRef) -> Vec<i64> {
        array
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .values()
            .to_vec()
    }

    const KINDS: [(Counting, bool, Output); 5] = [
        (Counting::True, false, Output::Count(Counting::True)),
        (Counting::True, true, Output::Count(Counting::True)),
        (
            Counting::Published,
            false,
            Output::Count(Counting::Published),
        ),
        (
            Counting::Published,
            true,
            Output::Count(Counting::Published),
        ),
        (Counting::True, true, Output::Key),
    ];

    #[test]
    fn each_group_counts_as_a_one_group_counter_would() {
        for (counting, distinct, output) in KINDS {
            let s = settings(counting, distinct);
            let (ids, groups, filter) = rows();
            let mut all = UnitGroups::new(s, output);
            // in two batches, the second bringing no new group
            all.update_batch(
                &[ids.slice(0, 250)],
                &groups[..250],
                Some(&filter.slice(0, 250)),
                5,
            )
            .unwrap();
            all.update_batch(
                &[ids.slice(250, 350)],
                &groups[250..],
                Some(&filter.slice(250, 350)),
                5,
            )
            .unwrap();
            let got = values(all.evaluate(EmitTo::All).unwrap());
            assert_eq!(
                got,
                one_group_counters(s, output),
                "{counting:?} {distinct} {output:?}"
            );
        }
    }

    #[test]
    fn states_merged_and_rows_converted_give_the_same_counts() {
        for (counting, distinct, output) in KINDS {
            let s = settings(counting, distinct);
            let (ids, groups, filter) = rows();
            let expected = one_group_counters(s, output);
            // two partial aggregations, their states merged; the first two
            // groups emitted first
            let mut merged = UnitGroups::new(s, output);
            for (from, len) in [(0, 300), (300, 300)] {
                let mut partial = UnitGroups::new(s, output);
                let part_groups = &groups[from..from + len];
                partial
                    .update_batch(
                        &[ids.slice(from, len)],
                        part_groups,
                        Some(&filter.slice(from, len)),
                        5,
                    )
                    .unwrap();
                let state = partial.state(EmitTo::All).unwrap();
                merged.merge_batch(&state, &[0, 1, 2, 3, 4], 5).unwrap();
            }
            let mut got = values(merged.evaluate(EmitTo::First(2)).unwrap());
            got.extend(values(merged.evaluate(EmitTo::All).unwrap()));
            assert_eq!(got, expected, "merged {counting:?} {distinct} {output:?}");

            // every row its own state, merged into its group
            let mut converted = UnitGroups::new(s, output);
            let state = converted
                .convert_to_state(std::slice::from_ref(&ids), Some(&filter))
                .unwrap();
            converted.merge_batch(&state, &groups, 5).unwrap();
            let got = values(converted.evaluate(EmitTo::All).unwrap());
            assert_eq!(
                got, expected,
                "converted {counting:?} {distinct} {output:?}"
            );
        }
    }

    #[test]
    fn emitted_groups_leave_the_accounted_size() {
        let s = settings(Counting::True, true);
        let (ids, groups, _) = rows();
        let mut all = UnitGroups::new(s, Output::Count(Counting::True));
        all.update_batch(&[ids], &groups, None, 5).unwrap();
        assert!(all.seen_keys > 0);
        all.evaluate(EmitTo::All).unwrap();
        assert_eq!(all.seen_keys, 0);
    }
}
