//! Turns an input file into a stream of UTF-8 text: gzip is undone, the
//! encoding is taken from a byte order mark, from `--encoding`, or detected
//! (UTF-8 when the first 64 KiB are valid UTF-8, otherwise Windows-1252, the
//! superset of Latin-1 that spreadsheet exports actually use). Binary files
//! are refused before any row is read.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::base::files::{Hashing, ReadDigest};
use crate::error::{Error, Result};

const SNIFF_BYTES: usize = 64 * 1024;

pub struct TextInput {
    pub reader: Box<dyn Read + Send>,
    pub encoding: &'static Encoding,
    /// The start of the file as decoded text, for delimiter sniffing.
    pub sample: String,
    pub gzip: bool,
}

/// The encoding named by a user (`utf-8`, `latin1`, `windows-1252`,
/// `iso-8859-15`, ...), using the WHATWG labels.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

fn read_up_to(reader: &mut dyn Read, limit: usize, path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(1 << 16));
    reader
        .take(limit as u64)
        .read_to_end(&mut buf)
        .map_err(|e| Error::bad_input(path, format!("cannot read the file: {e}")))?;
    Ok(buf)
}

/// True when `bytes` is UTF-8, allowing a character cut at the end when
/// the sample is only the start of the file.
fn is_utf8(bytes: &[u8], whole_file: bool) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => !whole_file && e.error_len().is_none(),
    }
}

fn detect(sample: &[u8], whole_file: bool, path: &Path) -> Result<&'static Encoding> {
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return Ok(encoding);
    }
    if let Some(at) = sample.iter().position(|&b| b == 0) {
        return Err(Error::bad_input(
            path,
            format!(
                "binary data (a NUL byte at byte {at}); not a text export. \
                 If it is UTF-16 without a byte order mark, pass --encoding utf-16le"
            ),
        ));
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    if controls * 100 > sample.len().max(1) {
        return Err(Error::bad_input(
            path,
            format!(
                "binary data ({controls} control bytes in the first {} bytes); not a text export",
                sample.len()
            ),
        ));
    }
    Ok(if is_utf8(sample, whole_file) || mostly_utf8(sample) {
        UTF_8
    } else {
        WINDOWS_1252
    })
}

/// Whether a sample that is not all UTF-8 is UTF-8 with a stray Latin-1
/// byte or two (a row edited by hand): at least four accented letters or
/// typographic marks written in UTF-8, and four times as many as bytes that
/// are not UTF-8. Read as Windows-1252, every accented value of such a file
/// was garbled ("é" as "Ã©") and classified by the garbled text; read as
/// UTF-8, the rows with the stray bytes are quarantined, naming row and
/// column. Only characters a text export holds count: two Windows-1252
/// characters that happen to form UTF-8 make something else ("É’" is
/// "ɒ"), so a Windows-1252 export is not taken for UTF-8 by accident.
fn mostly_utf8(sample: &[u8]) -> bool {
    let (mut encoded, mut invalid) = (0usize, 0usize);
    let mut rest = sample;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                encoded += text.chars().filter(|&c| written_in_exports(c)).count();
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                let valid = std::str::from_utf8(valid).expect("valid up to here");
                encoded += valid.chars().filter(|&c| written_in_exports(c)).count();
                match e.error_len() {
                    Some(n) => {
                        invalid += 1;
                        rest = &after[n..];
                    }
                    None => break, // a character cut by the sample's end
                }
            }
        }
    }
    encoded >= 4 && encoded >= 4 * invalid
}

/// Latin letters with accents (Latin-1 and Latin Extended-A), the
/// Latin-1 signs, typographic punctuation and the euro sign.
fn written_in_exports(c: char) -> bool {
    matches!(c, '\u{a0}'..='\u{17f}' | '\u{2010}'..='\u{206f}' | '\u{20ac}')
}

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether the file starts as gzip does (what [`open_text`] undoes); a file
/// that cannot be read is not.
pub fn is_gzip(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    File::open(path).is_ok_and(|mut file| file.read_exact(&mut magic).is_ok())
        && magic == GZIP_MAGIC
}

/// Opens `path` as text. `encoding` overrides detection. With a `digest`,
/// the file's bytes, as read from disk (before any gzip is undone), go into
/// it as the text is read.
pub fn open_text(
    path: &Path,
    encoding: Option<&'static Encoding>,
    digest: Option<&ReadDigest>,
) -> Result<TextInput> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file: Box<dyn Read + Send> = match digest {
        Some(digest) => Box::new(Hashing::new(file, digest.clone())),
        None => Box::new(file),
    };
    let (counted, compressed) = crate::input::limits::Counting::new(file);
    let mut raw = BufReader::new(counted);
    let magic = read_up_to(&mut raw, 2, path)?;
    let gzip = magic == GZIP_MAGIC;
    let rest: Box<dyn Read + Send> = Box::new(Cursor::new(magic).chain(raw));
    let mut stream: Box<dyn Read + Send> = if gzip {
        Box::new(crate::input::limits::ExpansionLimit::new(
            flate2::read::MultiGzDecoder::new(rest),
            compressed,
        ))
    } else {
        rest
    };
    let head = read_up_to(&mut stream, SNIFF_BYTES, path).map_err(|e| match e {
        Error::BadInput { path, message } if gzip => Error::BadInput {
            path,
            message: format!("not a readable gzip file: {message}"),
        },
        other => other,
    })?;
    if head.is_empty() {
        return Err(Error::bad_input(path, "file is empty"));
    }
    let encoding = match encoding {
        Some(e) => Encoding::for_bom(&head).map(|(bom, _)| bom).unwrap_or(e),
        None => detect(&head, head.len() < SNIFF_BYTES, path)?,
    };
    let sample = {
        let (text, _, _) = encoding.decode(&head);
        text.into_owned()
    };
    let joined: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(stream));
    // UTF-8 is passed through unchanged (readers strip a byte order mark),
    // so that an invalid byte later in the file is reported at its row and
    // column instead of being replaced silently
    let reader: Box<dyn Read + Send> = if encoding == UTF_8 {
        joined
    } else {
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .bom_override(true)
                .strip_bom(true)
                .build(joined),
        )
    };
    Ok(TextInput {
        reader,
        encoding,
        sample,
        gzip,
    })
}

/// The field delimiter of a delimited text file, from its first line:
/// the most frequent of `,`, `;`, tab and `|` outside quotes.
pub fn sniff_delimiter(sample: &str) -> u8 {
    let mut counts = [0usize; 4];
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for b in sample.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .expect("four candidates");
    if *n == 0 { b',' } else { CANDIDATES[best] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::UTF_16LE;

    #[test]
    fn a_digest_hashes_the_bytes_on_disk_as_the_text_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\u{feff}id;name\n1;Zoë\n2;Ana\n".repeat(5_000);
        let plain = dir.path().join("a.csv");
        std::fs::write(&plain, &text).unwrap();
        let gzip = dir.path().join("a.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        std::fs::write(&gzip, gz.finish().unwrap()).unwrap();
        for path in [&plain, &gzip] {
            let digest = ReadDigest::default();
            let mut input = open_text(path, None, Some(&digest)).unwrap();
            let mut read = String::new();
            input.reader.read_to_string(&mut read).unwrap();
            // the text came through whole, and the digest is of the file's
            // own bytes (the compressed ones for gzip), not of the text
            assert_eq!(
                read.trim_start_matches('\u{feff}'),
                text.trim_start_matches('\u{feff}')
            );
            let (_, sha) = crate::base::files::sha256_file(path).unwrap();
            assert_eq!(digest.of_whole_file(path), Some(sha), "{}", path.display());
        }
        // without reading to the end, it gives no hash of the whole file
        let digest = ReadDigest::default();
        let _opened = open_text(&plain, None, Some(&digest)).unwrap();
        assert_eq!(digest.of_whole_file(&plain), None);
    }

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter("a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(sniff_delimiter("a;b;\"c,d,e\"\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("single"), b',');
    }

    #[test]
    fn detection() {
        let p = Path::new("x");
        assert_eq!(detect(b"caf\xc3\xa9", true, p).unwrap(), UTF_8);
        assert_eq!(detect(b"caf\xe9", true, p).unwrap(), WINDOWS_1252);
        assert_eq!(detect(b"\xef\xbb\xbfa", true, p).unwrap(), UTF_8);
        assert_eq!(detect(b"\xff\xfea\x00", true, p).unwrap(), UTF_16LE);
        assert!(detect(b"PK\x03\x04\x00\x00", true, p).is_err());
        // a multi-byte character cut by the sample's end is still UTF-8,
        // but not at the real end of the file
        assert_eq!(detect(b"caf\xc3", false, p).unwrap(), UTF_8);
        assert_eq!(detect(b"caf\xc3", true, p).unwrap(), WINDOWS_1252);
        // UTF-8 with a stray Latin-1 byte is UTF-8 (that row is
        // quarantined); Latin-1 throughout is Windows-1252
        assert_eq!(
            detect(
                b"caf\xc3\xa9, ni\xc3\xb1o, \xc3\xa9t\xc3\xa9\nstray \xe9",
                true,
                p
            )
            .unwrap(),
            UTF_8
        );
        // Windows-1252 whose "É’" happens to be UTF-8 ("ɒ") stays so
        assert_eq!(
            detect(b"JOS\xc9\x92S BAR, Caf\xe9 Luna", true, p).unwrap(),
            WINDOWS_1252
        );
        assert_eq!(
            detect(b"caf\xe9, ni\xf1o, \xe9t\xe9", true, p).unwrap(),
            WINDOWS_1252
        );
    }
}
