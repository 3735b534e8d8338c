//! Ingest's stages on threads of their own, so that both cores work: one
//! thread reads rows, worker threads screen and check them (the personal-data
//! guard, mapping, validation), and the caller's thread takes the checked
//! rows in the file's order, because duplicates, the quarantine and the store
//! depend on order. Bounded channels keep a few chunks in flight, so memory
//! does not grow with the file (chunks a worker finished early wait for their
//! turn; in practice as many as there are workers).
//!
//! When any stage fails the others stop: the caller's thread returning drops
//! its receiver, the workers' sends fail, and so in turn does the reader's.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::guard::Guard;
use crate::readers::{RawRow, RowSource};
use crate::validate::Validator;

use super::check::{Checked, Shape, check_row};

/// Rows read and checked together: small enough that the stages overlap
/// finely, large enough that handing a chunk over costs nothing.
const CHUNK_ROWS: usize = 4096;

/// Chunks that may wait in each channel.
const CHANNEL_CHUNKS: usize = 2;

/// What the rows are checked with.
pub struct Checks<'a> {
    pub shape: &'a Shape,
    pub validator: &'a Validator<'a>,
    pub header: &'a [String],
    /// Cloned for each worker; the clones' findings are merged at the end.
    pub guard: Guard,
    pub workers: usize,
}

/// Checked rows of one chunk, in the file's order.
pub struct CheckedChunk {
    pub rows: Vec<Checked>,
    /// Bytes the reader had consumed when the chunk was complete.
    pub position: u64,
}

struct ReadChunk {
    sequence: usize,
    position: u64,
    rows: Vec<RawRow>,
}

/// Reads `source` to its end, checks every row and hands the chunks to
/// `consume` in order. `on_read` hears the reader's position after each
/// chunk (for a progress bar). Returns the guard's merged findings over the
/// whole file.
pub fn run(
    source: Box<dyn RowSource>,
    checks: Checks<'_>,
    on_read: impl Fn(u64) + Send,
    mut consume: impl FnMut(CheckedChunk) -> Result<()>,
) -> Result<Guard> {
    let Checks {
        shape,
        validator,
        header,
        guard,
        workers,
    } = checks;
    std::thread::scope(|scope| {
        let (read_tx, read_rx) = sync_channel::<ReadChunk>(CHANNEL_CHUNKS);
        let (checked_tx, checked_rx) = sync_channel::<(usize, CheckedChunk)>(CHANNEL_CHUNKS);
        let reader = scope.spawn(move || read_chunks(source, read_tx, on_read));
        let read_rx = Arc::new(Mutex::new(read_rx));
        let checkers: Vec<_> = (0..workers.max(1))
            .map(|_| {
                let read_rx = Arc::clone(&read_rx);
                let checked_tx = checked_tx.clone();
                let guard = guard.clone();
                scope.spawn(move || {
                    check_chunks(shape, validator, header, guard, &read_rx, &checked_tx)
                })
            })
            .collect();
        drop(checked_tx);
        drop(read_rx);

        // Chunks arrive in the order workers finish them; each is handed on
        // when all before it have been.
        let mut waiting: BTreeMap<usize, CheckedChunk> = BTreeMap::new();
        let mut next = 0;
        for (sequence, chunk) in checked_rx.iter() {
            waiting.insert(sequence, chunk);
            while let Some(chunk) = waiting.remove(&next) {
                consume(chunk)?;
                next += 1;
            }
        }
        debug_assert!(waiting.is_empty());
        reader.join().expect("the reader does not panic")?;
        let mut merged = guard;
        for checker in checkers {
            merged.merge(checker.join().expect("a row check does not panic"));
        }
        Ok(merged)
    })
}

/// The reader's thread. An error here (a file that cannot be read further)
/// ends the ingest; it closes the channel, so the other stages finish what
/// they have and the error is returned.
fn read_chunks(
    mut source: Box<dyn RowSource>,
    read_tx: SyncSender<ReadChunk>,
    on_read: impl Fn(u64),
) -> Result<()> {
    for sequence in 0.. {
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        while rows.len() < CHUNK_ROWS {
            match source.next_row()? {
                Some(row) => rows.push(row),
                None => break,
            }
        }
        if rows.is_empty() {
            break;
        }
        let last = rows.len() < CHUNK_ROWS;
        let position = source.position();
        on_read(position);
        let chunk = ReadChunk {
            sequence,
            position,
            rows,
        };
        // a closed channel means a later stage failed; its error is the one
        // to report
        if read_tx.send(chunk).is_err() || last {
            break;
        }
    }
    Ok(())
}

/// A worker's thread: screens and checks chunks until the reader is done.
fn check_chunks(
    shape: &Shape,
    validator: &Validator<'_>,
    header: &[String],
    mut guard: Guard,
    read_rx: &Mutex<Receiver<ReadChunk>>,
    checked_tx: &SyncSender<(usize, CheckedChunk)>,
) -> Guard {
    loop {
        // the lock is held only while waiting for the next chunk
        let next = read_rx.lock().expect("no worker panics").recv();
        let Ok(chunk) = next else {
            break;
        };
        let first_chunk = chunk.sequence == 0;
        let rows = chunk
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                if let RawRow::Cells { number, cells } = &row {
                    guard.scan(*number, cells);
                }
                check_row(shape, validator, header, first_chunk && i == 0, row)
            })
            .collect();
        let checked = CheckedChunk {
            rows,
            position: chunk.position,
        };
        if checked_tx.send((chunk.sequence, checked)).is_err() {
            break;
        }
    }
    guard
}
