//! Splits CSV text into records. A line with no quote in it is split at
//! its delimiters directly (one vectorised search for the line's end, then
//! the delimiters found 32 bytes at a time); a record with a quote is
//! parsed by `csv_core`,
//! the state machine under the `csv` crate, so quoted fields, doubled
//! quotes and line breaks inside quotes mean what they mean there. Through
//! the `csv` crate every byte went through that state machine, twice per
//! ingest (the screen and the checks), and it was the largest single
//! symbol of a profile (9% of CPU samples, perf, 1M records).
//!
//! Line numbers are where a record's first byte lies, counting `\r\n`,
//! `\n` and a lone `\r` as one line break each, as an editor shows them.
//! The `csv` crate numbered a record from where the reader stood before it
//! skipped blank lines, and, in a file with `\r\n` line ends, before it
//! had taken the `\n` of the line before: every row of a Windows export
//! was named one line early.

use std::io::{self, Read};

use csv_core::ReadRecordResult;

use crate::input::limits::MAX_ROW_BYTES;

/// Bytes read from the text at a time.
const READ_BYTES: usize = 256 * 1024;

/// Where a record lies in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The line of its first byte (the first line is 1).
    pub line: u64,
    /// Line breaks inside it (in quoted fields), not counting the one that
    /// ends it.
    pub breaks_inside: u64,
}

/// A record's fields: their bytes one after another, and where each lies.
#[derive(Debug, Default)]
pub struct Fields {
    pub bytes: Vec<u8>,
    /// Start and end of each field in `bytes` (a row is at most
    /// [`MAX_ROW_BYTES`], so the offsets fit).
    pub bounds: Vec<(u32, u32)>,
}

impl Fields {
    pub fn with_capacity(bytes: usize, fields: usize) -> Self {
        Fields {
            bytes: Vec::with_capacity(bytes),
            bounds: Vec::with_capacity(fields),
        }
    }

    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn get(&self, field: usize) -> &[u8] {
        let (start, end) = self.bounds[field];
        &self.bytes[start as usize..end as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|field| self.get(field))
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.bounds.clear();
    }

    /// A line with no quote: copied whole, split at each delimiter. The
    /// delimiters are found 32 bytes at a time, as a bit mask the compiler
    /// builds with vector compares: a search call per field (`memchr`) cost
    /// more than it saved on fields of a few bytes, and a loop byte by byte
    /// was 6% of ingest's CPU samples (perf, 1M records).
    fn push_line(&mut self, line: &[u8], delimiter: u8) {
        const BLOCK: usize = 32;
        let base = self.bytes.len() as u32;
        self.bytes.extend_from_slice(line);
        let mut start = base;
        let mut end_at = |at: usize, bounds: &mut Vec<(u32, u32)>| {
            let end = base + at as u32;
            bounds.push((start, end));
            start = end + 1;
        };
        let mut blocks = line.chunks_exact(BLOCK);
        for (number, block) in blocks.by_ref().enumerate() {
            let mut mask = (block.iter().enumerate()).fold(0u32, |mask, (i, &byte)| {
                mask | (u32::from(byte == delimiter) << i)
            });
            while mask != 0 {
                end_at(
                    number * BLOCK + mask.trailing_zeros() as usize,
                    &mut self.bounds,
                );
                mask &= mask - 1;
            }
        }
        let tail = line.len() - blocks.remainder().len();
        for (i, &byte) in blocks.remainder().iter().enumerate() {
            if byte == delimiter {
                end_at(tail + i, &mut self.bounds);
            }
        }
        self.bounds.push((start, base + line.len() as u32));
    }

    pub(super) fn push(&mut self, field: &[u8]) {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(field);
        self.bounds.push((start, self.bytes.len() as u32));
    }
}

/// Why no record could be read.
#[derive(Debug)]
pub enum ReadError {
    /// A record runs past [`MAX_ROW_BYTES`] without ending: a quote that
    /// opens and never closes, or one giant cell. The line it began on.
    TooLong { line: u64 },
    /// The text could not be read (or decoded, or decompressed) further.
    Io { line: u64, error: io::Error },
}

pub struct CsvRecords {
    text: Box<dyn Read + Send>,
    buffer: Vec<u8>,
    /// The first byte not yet taken, and the end of the bytes read.
    start: usize,
    end: usize,
    at_end_of_text: bool,
    parser: csv_core::Reader,
    delimiter: u8,
    /// The line of `buffer[start]`.
    line: u64,
    /// Bytes of the text taken before `buffer[start]`.
    taken: u64,
    /// Room the quoted-record parser writes fields and their ends into.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Times a quoted record was parsed from its start, counted so that a
    /// test can hold the re-parsing of a long record to a few.
    #[cfg(test)]
    quoted_parses: usize,
}

impl CsvRecords {
    pub fn new(text: Box<dyn Read + Send>, delimiter: u8) -> Self {
        Self::with_read_size(text, delimiter, READ_BYTES)
    }

    /// Reads `read_size` bytes at a time (tests read a few, so that records
    /// straddle every read).
    fn with_read_size(text: Box<dyn Read + Send>, delimiter: u8, read_size: usize) -> Self {
        CsvRecords {
            text,
            buffer: vec![0; read_size.max(1)],
            start: 0,
            end: 0,
            at_end_of_text: false,
            parser: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            delimiter,
            line: 1,
            taken: 0,
            fields: Vec::new(),
            ends: Vec::new(),
            #[cfg(test)]
            quoted_parses: 0,
        }
    }

    /// Bytes of the text taken so far.
    pub fn position(&self) -> u64 {
        self.taken
    }

    /// Skips a UTF-8 byte order mark at the start of the text.
    pub fn skip_byte_order_mark(&mut self) -> Result<(), ReadError> {
        const MARK: &[u8] = b"\xEF\xBB\xBF";
        while self.end - self.start < MARK.len() && self.read_more()? {}
        if self.buffer[self.start..self.end].starts_with(MARK) {
            self.take(MARK.len());
        }
        Ok(())
    }

    /// The next record into `record` (cleared first) and where it lies;
    /// `None` at the end of the text. Blank lines are skipped, as the `csv`
    /// crate skips them.
    pub fn next_record(&mut self, record: &mut Fields) -> Result<Option<Span>, ReadError> {
        record.clear();
        if !self.skip_blank_lines()? {
            return Ok(None);
        }
        loop {
            let unread = &self.buffer[self.start..self.end];
            match memchr::memchr3(b'"', b'\n', b'\r', unread) {
                Some(at) if unread[at] != b'"' => {
                    if at as u64 > MAX_ROW_BYTES {
                        return Err(ReadError::TooLong { line: self.line });
                    }
                    // a whole line before any quote: split at the delimiters
                    record.push_line(&unread[..at], self.delimiter);
                    let span = Span {
                        line: self.line,
                        breaks_inside: 0,
                    };
                    self.take(at);
                    self.take_line_break()?;
                    return Ok(Some(span));
                }
                Some(_) => return self.quoted_record(record),
                None if self.at_end_of_text => {
                    // the last line, with no line break after it
                    return self.quoted_record(record);
                }
                None => {
                    self.read_more()?;
                }
            }
        }
    }

    /// A record with a quote in it, parsed by `csv_core` from its first
    /// byte. A record that runs past the bytes read is parsed again from
    /// its start once more are read: rare, since records are short next to
    /// a read, and a few times at most for a long one, since each read
    /// fills a buffer that doubles (see [`Self::read_more`]).
    fn quoted_record(&mut self, record: &mut Fields) -> Result<Option<Span>, ReadError> {
        loop {
            #[cfg(test)]
            {
                self.quoted_parses += 1;
            }
            self.parser.reset();
            let input = &self.buffer[self.start..self.end];
            let (mut read, mut written, mut ended) = (0, 0, 0);
            let outcome = loop {
                if self.fields.len() < input.len() + 1 {
                    self.fields.resize(input.len() + 1, 0);
                }
                if self.ends.len() < 64 {
                    self.ends.resize(64, 0);
                }
                let (result, r, w, e) = self.parser.read_record(
                    &input[read..],
                    &mut self.fields[written..],
                    &mut self.ends[ended..],
                );
                (read, written, ended) = (read + r, written + w, ended + e);
                match result {
                    ReadRecordResult::InputEmpty if self.at_end_of_text => {
                        // the next call, with no input left, ends the record
                        if read < input.len() {
                            continue;
                        }
                        let (result, _, _, e) = self.parser.read_record(
                            &[],
                            &mut self.fields[written..],
                            &mut self.ends[ended..],
                        );
                        ended += e;
                        break result;
                    }
                    ReadRecordResult::InputEmpty => break ReadRecordResult::InputEmpty,
                    ReadRecordResult::OutputFull => {
                        let more = self.fields.len() * 2;
                        self.fields.resize(more, 0);
                    }
                    ReadRecordResult::OutputEndsFull => {
                        let more = self.ends.len() * 2;
                        self.ends.resize(more, 0);
                    }
                    done => break done,
                }
            };
            match outcome {
                ReadRecordResult::InputEmpty => {
                    self.read_more()?;
                }
                ReadRecordResult::Record => {
                    // held whole in the buffer before the text ended, a
                    // record past the limit is refused all the same
                    if read as u64 > MAX_ROW_BYTES {
                        return Err(ReadError::TooLong { line: self.line });
                    }
                    let mut field_start = 0;
                    for &field_end in &self.ends[..ended] {
                        record.push(&self.fields[field_start..field_end]);
                        field_start = field_end;
                    }
                    let consumed = &self.buffer[self.start..self.start + read];
                    let ends_with_break = matches!(consumed.last(), Some(b'\n' | b'\r'));
                    let breaks = line_breaks(consumed);
                    let span = Span {
                        line: self.line,
                        breaks_inside: breaks - u64::from(ends_with_break),
                    };
                    // `csv_core` stops after the `\r` of a `\r\n`
                    let ended_on_return = consumed.last() == Some(&b'\r');
                    self.taken += read as u64;
                    self.start += read;
                    self.line += breaks;
                    if ended_on_return {
                        self.skip_newline_after_return()?;
                    }
                    return Ok(Some(span));
                }
                // not reached: blank lines were skipped, so a record begins
                _ => return Ok(None),
            }
        }
    }

    /// Takes the line break at `buffer[start]` (`\n`, `\r` or `\r\n`).
    fn take_line_break(&mut self) -> Result<(), ReadError> {
        let byte = self.buffer[self.start];
        self.take(1);
        self.line += 1;
        if byte == b'\r' {
            self.skip_newline_after_return()?;
        }
        Ok(())
    }

    /// After a `\r`: takes a `\n` that follows it, the second half of the
    /// same line break.
    fn skip_newline_after_return(&mut self) -> Result<(), ReadError> {
        if self.start == self.end && !self.read_more()? {
            return Ok(());
        }
        if self.buffer[self.start] == b'\n' {
            self.take(1);
        }
        Ok(())
    }

    /// Skips empty lines; false at the end of the text.
    fn skip_blank_lines(&mut self) -> Result<bool, ReadError> {
        loop {
            if self.start == self.end && !self.read_more()? {
                return Ok(false);
            }
            match self.buffer[self.start] {
                b'\n' | b'\r' => self.take_line_break()?,
                _ => return Ok(true),
            }
        }
    }

    fn take(&mut self, bytes: usize) {
        self.start += bytes;
        self.taken += bytes as u64;
    }

    /// Reads more of the text after what is unread, until the buffer is
    /// full or the text ends; false when nothing more came. A record longer
    /// than [`MAX_ROW_BYTES`] is refused here, so that one record never
    /// takes more memory than that (and its buffer at most twice that).
    ///
    /// The buffer is filled, not read into once: a gzip or a pipe gives a
    /// few kilobytes a read, and a record that straddles reads is searched
    /// (and, when quoted, parsed) again from its start after each. Filled,
    /// a long record's unread bytes double from one call to the next.
    fn read_more(&mut self) -> Result<bool, ReadError> {
        if self.at_end_of_text {
            return Ok(false);
        }
        let unread = self.end - self.start;
        if unread as u64 > MAX_ROW_BYTES {
            return Err(ReadError::TooLong { line: self.line });
        }
        // the unread bytes move to the front; the buffer doubles when they
        // fill most of it
        self.buffer.copy_within(self.start..self.end, 0);
        (self.start, self.end) = (0, unread);
        if self.buffer.len() - unread < self.buffer.len().div_ceil(2) {
            let doubled = self.buffer.len() * 2;
            self.buffer.resize(doubled, 0);
        }
        while self.end < self.buffer.len() {
            match self.text.read(&mut self.buffer[self.end..]) {
                Ok(0) => {
                    self.at_end_of_text = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(ReadError::Io {
                        line: self.line,
                        error,
                    });
                }
            }
        }
        Ok(self.end > unread)
    }
}

/// Line breaks in `bytes`: each `\n`, and each `\r` not followed by one.
fn line_breaks(bytes: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count();
    let lone_returns = memchr::memchr_iter(b'\r', bytes)
        .filter(|&at| bytes.get(at + 1) != Some(&b'\n'))
        .count();
    (newlines + lone_returns) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn records(text: &[u8], read_size: usize) -> Vec<(Vec<Vec<u8>>, Span)> {
        let mut reader =
            CsvRecords::with_read_size(Box::new(io::Cursor::new(text.to_vec())), b',', read_size);
        let mut record = Fields::default();
        let mut all = Vec::new();
        while let Some(span) = reader.next_record(&mut record).unwrap() {
            all.push((record.iter().map(<[u8]>::to_vec).collect(), span));
        }
        assert_eq!(reader.position(), text.len() as u64, "every byte taken");
        all
    }

    fn fields_only(text: &[u8], read_size: usize) -> Vec<Vec<Vec<u8>>> {
        records(text, read_size)
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    /// What the `csv` crate reads from the same text, with the settings
    /// the readers used before.
    fn csv_crate(text: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text);
        reader
            .byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect()
    }

    fn span(line: u64, breaks_inside: u64) -> Span {
        Span {
            line,
            breaks_inside,
        }
    }

    #[test]
    fn rows_are_numbered_by_the_line_they_begin_on_whatever_the_line_ends() {
        let text = b"h1,h2\na,b\r\nc,d\r\n\r\ne,f\n\n\ng,h\rx,y\n\"q\nq\",z\n";
        let got = records(text, 1 << 16);
        let lines: Vec<(Vec<u8>, Span)> = got.into_iter().map(|(f, s)| (f[0].clone(), s)).collect();
        assert_eq!(
            lines,
            [
                (b"h1".to_vec(), span(1, 0)),
                (b"a".to_vec(), span(2, 0)),
                (b"c".to_vec(), span(3, 0)),
                (b"e".to_vec(), span(5, 0)),
                (b"g".to_vec(), span(8, 0)),
                (b"x".to_vec(), span(9, 0)),
                (b"q\nq".to_vec(), span(10, 1)),
            ]
        );
    }

    #[test]
    fn a_quoted_record_at_the_end_without_a_line_break_is_read() {
        let got = records(b"a,\"b\r\nc\"", 3);
        assert_eq!(got, [(vec![b"a".to_vec(), b"b\r\nc".to_vec()], span(1, 1))]);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_field() {
        let mut reader = CsvRecords::new(
            Box::new(io::Cursor::new(b"\xEF\xBB\xBFid,x\n".to_vec())),
            b',',
        );
        reader.skip_byte_order_mark().unwrap();
        let mut record = Fields::default();
        reader.next_record(&mut record).unwrap();
        assert_eq!(record.get(0), b"id");
    }

    #[test]
    fn a_record_longer_than_the_limit_is_refused_with_its_line() {
        let mut text = b"a,b\n\"".to_vec();
        text.resize(MAX_ROW_BYTES as usize + 1024 * 1024, b'x');
        let mut reader = CsvRecords::new(Box::new(io::Cursor::new(text)), b',');
        let mut record = Fields::default();
        assert!(reader.next_record(&mut record).unwrap().is_some());
        match reader.next_record(&mut record) {
            Err(ReadError::TooLong { line }) => assert_eq!(line, 2),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // a line without quotes, held whole before the text ends
        let mut text = b"a,b\n".to_vec();
        text.resize(MAX_ROW_BYTES as usize + 1024, b'x');
        text.push(b'\n');
        let mut reader = CsvRecords::new(Box::new(io::Cursor::new(text)), b',');
        assert!(reader.next_record(&mut record).unwrap().is_some());
        match reader.next_record(&mut record) {
            Err(ReadError::TooLong { line }) => assert_eq!(line, 2),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Gives at most a few bytes a read, as a gzip stream or a pipe may.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(16);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn a_long_quoted_record_read_a_little_at_a_time_is_parsed_a_few_times() {
        let mut text = b"a,\"".to_vec();
        text.resize(1024 * 1024, b'x');
        text.extend(b"\",b\nc,d\n");
        let mut reader =
            CsvRecords::with_read_size(Box::new(Trickle(io::Cursor::new(text))), b',', 4096);
        let mut record = Fields::default();
        reader.next_record(&mut record).unwrap();
        assert_eq!(record.len(), 3);
        assert_eq!(record.get(1).len(), 1024 * 1024 - 3);
        // read 16 bytes at a time and parsed after each, it was 65,000
        // parses of up to a megabyte; filled and doubled, 4 KiB to 2 MiB
        assert!(
            reader.quoted_parses <= 12,
            "{} parses",
            reader.quoted_parses
        );
        reader.next_record(&mut record).unwrap();
        assert_eq!(record.get(0), b"c");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The same fields as the `csv` crate, whatever the quotes, line
        /// ends and blank lines, however the reads cut the text.
        #[test]
        fn the_same_fields_as_the_csv_crate(
            text in proptest::collection::vec(
                prop::sample::select(vec![b'a', b'b', b',', b'"', b'\n', b'\r', b' ', 0xC3, 0xA9]),
                0..120,
            ),
            read_size in 1usize..9,
        ) {
            prop_assert_eq!(fields_only(&text, read_size), csv_crate(&text));
        }

        /// Long lines without quotes, split 32 bytes at a time.
        #[test]
        fn long_lines_have_the_same_fields_as_the_csv_crate(
            text in proptest::collection::vec(
                prop::sample::select(vec![b'a', b',', b',', b'\n', b'x', b'y', b'z']),
                0..400,
            ),
        ) {
            prop_assert_eq!(fields_only(&text, 64), csv_crate(&text));
        }

        /// Line numbers follow the line breaks before each record.
        #[test]
        fn line_numbers_count_the_breaks_before_each_record(
            text in proptest::collection::vec(
                prop::sample::select(vec![b'a', b',', b'"', b'\n', b'\r']),
                0..80,
            ),
        ) {
            let got = records(&text, 4);
            let mut reader = CsvRecords::new(Box::new(io::Cursor::new(text.clone())), b',');
            let mut record = Fields::default();
            let mut previous_end = 0u64;
            for (_, span) in got {
                prop_assert!(span.line > previous_end, "records do not overlap");
                previous_end = span.line + span.breaks_inside;
                let before = reader.position();
                reader.next_record(&mut record).unwrap();
                // the record's first line is the breaks before its first
                // byte, plus one
                let first_byte = text[before as usize..]
                    .iter()
                    .position(|b| *b != b'\n' && *b != b'\r')
                    .unwrap() + before as usize;
                prop_assert_eq!(span.line, line_breaks(&text[..first_byte]) + 1);
            }
        }
    }
}
