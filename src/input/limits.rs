//! Limits that hold whatever an input claims or compresses to: a hostile
//! file (a gzip bomb, one gigabyte-long cell, a quote that never closes)
//! is refused or quarantined with its row, and the process's memory stays
//! bounded by these numbers, not by the file.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest cell a row may hold; a longer one quarantines its row (the
/// value cut short there). A megabyte is far beyond any venue text.
pub const MAX_CELL_BYTES: usize = 1024 * 1024;

/// The most bytes one row (one CSV record or one JSON line) may take. The
/// readers hold a row in memory to split it; beyond this the file is
/// refused, naming the line where the row began.
pub const MAX_ROW_BYTES: u64 = 8 * 1024 * 1024;

/// Decompressed bytes up to which no ratio is checked.
pub const FREE_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Beyond [`FREE_DECOMPRESSED_BYTES`], a compressed input may expand to at
/// most this many times its size on disk (exports compress 5 to 50 times;
/// a gzip bomb thousands of times).
pub const MAX_EXPANSION: u64 = 200;

/// Counts the bytes read through it into a shared counter.
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Counting<R> {
    pub fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            Counting {
                inner,
                count: Arc::clone(&count),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The decompressed side of a compressed input: fails once it has given
/// more than [`MAX_EXPANSION`] times the compressed bytes read so far (past
/// the first [`FREE_DECOMPRESSED_BYTES`]).
pub struct ExpansionLimit<R> {
    inner: R,
    compressed: Arc<AtomicU64>,
    decompressed: u64,
}

impl<R: Read> ExpansionLimit<R> {
    pub fn new(inner: R, compressed: Arc<AtomicU64>) -> Self {
        ExpansionLimit {
            inner,
            compressed,
            decompressed: 0,
        }
    }
}

impl<R: Read> Read for ExpansionLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.decompressed += n as u64;
        let compressed = self.compressed.load(Ordering::Relaxed).max(1);
        if self.decompressed > FREE_DECOMPRESSED_BYTES
            && self.decompressed > compressed.saturating_mul(MAX_EXPANSION)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "decompresses to more than {MAX_EXPANSION} times its size ({} bytes from {compressed}); refused as a likely compression bomb",
                    self.decompressed
                ),
            ));
        }
        Ok(n)
    }
}

/// Reads one line (without its `\n`) into `line`, keeping at most
/// [`MAX_ROW_BYTES`] of it: the rest of an overlong line is consumed and
/// dropped, so one line can never take more memory than that. Returns the
/// bytes consumed (0 at the end) and whether the line was cut.
pub fn read_line_bounded(
    reader: &mut impl io::BufRead,
    line: &mut Vec<u8>,
) -> io::Result<(usize, bool)> {
    line.clear();
    let mut consumed = 0;
    let mut cut = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok((consumed, cut));
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        let room = (MAX_ROW_BYTES as usize).saturating_sub(line.len());
        if chunk.len() > room {
            cut = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = found.unwrap_or(available.len());
        reader.consume(used);
        consumed += used;
        if found.is_some() {
            return Ok((consumed, cut));
        }
    }
}

/// A cell over [`MAX_CELL_BYTES`], as a quarantine reason; `None` when it
/// fits.
pub fn cell_too_long(cell: &[u8]) -> Option<String> {
    (cell.len() > MAX_CELL_BYTES).then(|| {
        format!(
            "a cell of {} bytes, over the limit of {} (the value is cut short here)",
            cell.len(),
            MAX_CELL_BYTES
        )
    })
}

/// The first characters of a value too long to keep whole.
pub fn cut(value: &str, chars: usize) -> String {
    value.chars().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bomb_is_stopped_and_ordinary_compression_passes() {
        let data = vec![b'a'; (FREE_DECOMPRESSED_BYTES + 10 * 1024 * 1024) as usize];
        // ordinary: as many compressed bytes as a 10x ratio would give
        let compressed = Arc::new(AtomicU64::new(data.len() as u64 / 10));
        let mut ok = ExpansionLimit::new(&data[..], compressed);
        assert!(io::copy(&mut ok, &mut io::sink()).is_ok());
        let compressed = Arc::new(AtomicU64::new(1024 * 1024));
        let mut bomb = ExpansionLimit::new(&data[..], compressed);
        let err = io::copy(&mut bomb, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("compression bomb"), "{err}");
    }
}
