//! Passes over an input file that use both cores: one thread reads rows,
//! worker threads work on chunks of them, and the caller's thread takes the
//! results in the file's order. The checks ([`check`]) screen every row for
//! personal data too; their results are consumed in order because
//! duplicates, the quarantine and the store depend on order. A file whose
//! store files cannot wait in memory for the screen's verdict is screened in
//! a pass of its own first ([`screen`]), which must finish before anything
//! of the file is written anywhere.
//!
//! Memory stays bounded: the reader needs a free slot to send a chunk, and a
//! slot comes free only when the caller has consumed a chunk, so at most
//! [`IN_FLIGHT`] chunks exist at once, however unevenly the workers run.
//! When any stage fails the others stop: the caller's thread returning drops
//! its channels, the workers' sends fail, and so in turn does the reader.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;

use crate::error::Result;
use crate::input::guard::Guard;
use crate::input::readers::{RawRow, RowSource};
use crate::input::validate::Validator;
use crate::store::RecordIds;

use super::check::{Checked, Shape, check_row};

/// Rows read and worked on together: small enough that the stages overlap
/// finely, large enough that handing a chunk over costs nothing.
pub const FULL_CHUNK_ROWS: usize = 4096;

/// Rows of the first chunk. The chunks double from here to [`FULL_CHUNK_ROWS`],
/// so that both workers have rows within the first few hundred: with whole
/// chunks from the start, a file of 4,000 rows was one chunk, checked on one
/// core while the other waited.
const FIRST_CHUNK_ROWS: usize = 256;

/// Rows of the chunk numbered `sequence`.
pub fn chunk_rows(sequence: usize) -> usize {
    // doublings from the first size to the full one (4); capped, so that
    // the shift cannot overflow however long the file
    let most = (FULL_CHUNK_ROWS / FIRST_CHUNK_ROWS).ilog2() as usize;
    FIRST_CHUNK_ROWS << sequence.min(most)
}

/// Chunks read but not yet consumed, at most.
const IN_FLIGHT: usize = 8;

/// What the rows are checked with.
pub struct Checks<'a> {
    pub shape: &'a Shape,
    pub validator: &'a Validator<'a>,
    pub header: &'a [String],
    /// The ids of the records the store held when the change began.
    pub stored: &'a RecordIds,
}

/// Checked rows of one chunk, in the file's order.
pub struct CheckedChunk {
    /// Each valid row names its row of `records`.
    pub rows: Vec<Checked<usize>>,
    /// The valid rows' records, in the base schema, built on the checking
    /// thread that checked them: the records' strings are read while
    /// still in that core's cache, and freed by the thread that
    /// allocated them.
    pub records: RecordBatch,
    /// Bytes (rows, for Parquet and workbooks) the reader had consumed when
    /// the chunk was complete.
    pub position: u64,
}

/// Screens every row with `guard` on `workers` threads; returns the merged
/// findings over the whole file.
pub fn screen(source: Box<dyn RowSource>, guard: Guard, workers: usize) -> Result<Guard> {
    crate::input::guard::compile_patterns();
    let states = vec![guard; workers.max(1)];
    let screened = run(
        source,
        states,
        |_| {},
        &|guard: &mut Guard, _, rows: Vec<RawRow>| {
            for row in &rows {
                if let RawRow::Cells { number, cells } = row {
                    guard.scan(*number, &cells.strs());
                }
            }
        },
        |_, ()| Ok(()),
    )?;
    Ok(merged(screened).expect("at least one worker"))
}

/// Checks every row on `workers` threads and hands the chunks to `consume`
/// in the file's order. `on_read` hears the reader's position after each
/// chunk (for a progress bar). The checking threads also screen every row
/// with `guard`, and their merged findings are returned.
pub fn check(
    source: Box<dyn RowSource>,
    checks: Checks<'_>,
    guard: Guard,
    workers: usize,
    on_read: impl Fn(u64) + Send,
    mut consume: impl FnMut(CheckedChunk) -> Result<()>,
) -> Result<Guard> {
    crate::input::guard::compile_patterns();
    let states = vec![guard; workers.max(1)];
    let screened = run(
        source,
        states,
        on_read,
        &|guard: &mut Guard,
          sequence,
          rows: Vec<RawRow>|
         -> Result<(Vec<Checked<usize>>, RecordBatch)> {
            // room for every row: a record is some hundreds of bytes, and
            // growing the vector copied them again and again
            let mut records = Vec::with_capacity(rows.len());
            let checked = (rows.into_iter().enumerate())
                .map(|(i, row)| {
                    check_row(&checks, guard, sequence == 0 && i == 0, row).map_valid(|record| {
                        records.push(record);
                        records.len() - 1
                    })
                })
                .collect();
            Ok((checked, crate::base::batch::base_batch(&records)?))
        },
        |position, checked| {
            let (rows, records) = checked?;
            consume(CheckedChunk {
                rows,
                records,
                position,
            })
        },
    )?;
    Ok(merged(screened).expect("at least one worker"))
}

/// The findings of the workers' guards together; `None` without guards.
fn merged(guards: impl IntoIterator<Item = Guard>) -> Option<Guard> {
    let mut guards = guards.into_iter();
    let mut merged = guards.next()?;
    for part in guards {
        merged.merge(part);
    }
    Some(merged)
}

struct ReadChunk {
    sequence: usize,
    position: u64,
    rows: Vec<RawRow>,
}

/// The machinery of a pass: one worker thread per element of `states`,
/// each applying `work` to whole chunks with its own state; the states are
/// returned at the end.
fn run<S: Send, T: Send>(
    source: Box<dyn RowSource>,
    states: Vec<S>,
    on_read: impl Fn(u64) + Send,
    work: &(impl Fn(&mut S, usize, Vec<RawRow>) -> T + Sync),
    mut consume: impl FnMut(u64, T) -> Result<()>,
) -> Result<Vec<S>> {
    std::thread::scope(|scope| {
        let (slot_tx, slot_rx) = sync_channel::<()>(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            slot_tx
                .send(())
                .expect("the channel has room for every slot");
        }
        let (read_tx, read_rx) = sync_channel::<ReadChunk>(IN_FLIGHT);
        let (done_tx, done_rx) = sync_channel::<(usize, u64, T)>(IN_FLIGHT);
        let reader = scope.spawn(move || read_chunks(source, &slot_rx, &read_tx, on_read));
        let read_rx = Arc::new(Mutex::new(read_rx));
        let workers: Vec<_> = states
            .into_iter()
            .map(|mut state| {
                let read_rx = Arc::clone(&read_rx);
                let done_tx = done_tx.clone();
                scope.spawn(move || {
                    loop {
                        // the lock is held only while waiting for a chunk
                        let next = read_rx.lock().expect("no worker panics").recv();
                        let Ok(chunk) = next else {
                            break;
                        };
                        let result = work(&mut state, chunk.sequence, chunk.rows);
                        if done_tx
                            .send((chunk.sequence, chunk.position, result))
                            .is_err()
                        {
                            break;
                        }
                    }
                    state
                })
            })
            .collect();
        drop(done_tx);
        drop(read_rx);

        // Chunks arrive in the order workers finish them; each is handed on
        // when all before it have been, and only then frees its slot.
        let mut waiting: BTreeMap<usize, (u64, T)> = BTreeMap::new();
        let mut next = 0;
        for (sequence, position, result) in done_rx.iter() {
            waiting.insert(sequence, (position, result));
            while let Some((position, result)) = waiting.remove(&next) {
                consume(position, result)?;
                next += 1;
                // the reader may have finished and dropped its end
                let _ = slot_tx.send(());
            }
        }
        reader.join().expect("the reader does not panic")?;
        Ok(workers
            .into_iter()
            .map(|w| w.join().expect("a worker does not panic"))
            .collect())
    })
}

/// The reader's thread. An error here (a file that cannot be read further)
/// ends the pass; it closes the channel, so the other stages finish what
/// they have and the error is returned.
fn read_chunks(
    mut source: Box<dyn RowSource>,
    slots: &Receiver<()>,
    read_tx: &SyncSender<ReadChunk>,
    on_read: impl Fn(u64),
) -> Result<()> {
    for sequence in 0.. {
        let size = chunk_rows(sequence);
        let mut rows = Vec::with_capacity(size);
        while rows.len() < size {
            match source.next_row()? {
                Some(row) => rows.push(row),
                None => break,
            }
        }
        if rows.is_empty() {
            break;
        }
        let last = rows.len() < size;
        let position = source.position();
        on_read(position);
        // A closed channel means a later stage failed; its error is the one
        // to report.
        if slots.recv().is_err() {
            break;
        }
        let chunk = ReadChunk {
            sequence,
            position,
            rows,
        };
        if read_tx.send(chunk).is_err() || last {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` rows that carry only their number.
    struct Numbered {
        next: u64,
        rows: u64,
    }

    impl RowSource for Numbered {
        fn header(&self) -> &[String] {
            &[]
        }
        fn next_row(&mut self) -> Result<Option<RawRow>> {
            if self.next == self.rows {
                return Ok(None);
            }
            self.next += 1;
            Ok(Some(RawRow::Malformed {
                number: self.next,
                column: String::new(),
                value: String::new(),
                reason: String::new(),
            }))
        }
        fn position(&self) -> u64 {
            self.next
        }
    }

    fn number(row: &RawRow) -> u64 {
        match row {
            RawRow::Malformed { number, .. } | RawRow::Cells { number, .. } => *number,
        }
    }

    #[test]
    fn chunks_double_from_the_first_to_the_full_size() {
        let sizes: Vec<usize> = (0..8).map(chunk_rows).collect();
        assert_eq!(sizes, [256, 512, 1024, 2048, 4096, 4096, 4096, 4096]);
    }

    #[test]
    fn a_small_file_is_several_chunks_handed_on_in_the_files_order() {
        let mut chunks: Vec<(usize, u64, u64)> = Vec::new();
        run(
            Box::new(Numbered {
                next: 0,
                rows: 5000,
            }),
            vec![(); 2],
            |_| {},
            &|_: &mut (), _, rows: Vec<RawRow>| {
                (rows.len(), number(&rows[0]), number(&rows[rows.len() - 1]))
            },
            |_, chunk| {
                chunks.push(chunk);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            chunks,
            [
                (256, 1, 256),
                (512, 257, 768),
                (1024, 769, 1792),
                (2048, 1793, 3840),
                (1160, 3841, 5000)
            ]
        );
    }
}
