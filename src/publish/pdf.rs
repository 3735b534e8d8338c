//! The report as a PDF, printed from its own HTML by a headless Chromium
//! (or Chrome): the browser lays out what readers of the HTML see, with the
//! print styles, so the PDF holds the same audited figures. A pure-Rust
//! typesetter would mean a second layout of every table and chart to keep
//! in step; the browser is optional, asked for only by `--pdf`, so a fresh
//! machine still needs nothing but cargo for everything else.
//!
//! The PDF is made byte-for-byte reproducible: the only varying bytes
//! Chromium writes are the creation and modification times, which are set
//! to a fixed date of the same length (offsets in the file stay valid).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// Names tried on the PATH, in order, when `SAFETYNET_BROWSER` is not set.
const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Longest a print may take before it is given up.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The browser to print with: `SAFETYNET_BROWSER`, or the first of
/// [`BROWSERS`] on the PATH.
pub fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SAFETYNET_BROWSER") {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .flat_map(|dir| BROWSERS.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Prints `html` to `pdf`.
pub fn print(html: &Path, pdf: &Path) -> Result<()> {
    let browser = browser().ok_or_else(|| {
        Error::Usage(
            "--pdf prints the report with a headless Chromium or Chrome, and none was found: install one \
             (Debian: apt-get install chromium) or set SAFETYNET_BROWSER to its path"
                .into(),
        )
    })?;
    let html = html.canonicalize().map_err(|e| Error::io(html, e))?;
    let profile = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let log_path = profile.path().join("browser.log");
    let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let mut child = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            // the page is one self-contained file: nothing to fetch
            "--proxy-server=127.0.0.1:9",
            "--no-pdf-header-footer",
            // bookmarks from the headings: a reader can jump to a section
            "--generate-pdf-document-outline",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(file_url(&html))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        // to a file, not a pipe: a browser that logs more than a pipe holds
        // would block on it and never finish
        .stderr(log.try_clone().map_err(|e| Error::io(&log_path, e))?)
        .spawn()
        .map_err(|e| Error::Pdf(format!("cannot start {}: {e}", browser.display())))?;
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| Error::io(&browser, e))? {
            Some(status) => break status,
            None if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                return Err(Error::Pdf(format!(
                    "{} did not finish printing within {} s",
                    browser.display(),
                    TIMEOUT.as_secs()
                )));
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let mut bytes = match std::fs::read(pdf) {
        Ok(bytes) if status.success() && bytes.starts_with(b"%PDF-") => bytes,
        _ => {
            let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(Error::Pdf(format!(
                "{} did not write a PDF ({status}): {}",
                browser.display(),
                stderr.lines().last().unwrap_or("")
            )));
        }
    };
    fix_dates(&mut bytes);
    std::fs::write(pdf, bytes).map_err(|e| Error::io(pdf, e))
}

/// Sets `/CreationDate (D:…)` and `/ModDate (D:…)` to one fixed date of
/// the same length, so the same report prints to the same bytes.
fn fix_dates(bytes: &mut [u8]) {
    for key in [&b"/CreationDate (D:"[..], &b"/ModDate (D:"[..]] {
        let mut from = 0;
        while let Some(at) = find(&bytes[from..], key).map(|i| i + from) {
            let start = at + key.len();
            let mut end = start;
            while end < bytes.len() && bytes[end] != b')' {
                end += 1;
            }
            for (i, b) in bytes[start..end].iter_mut().enumerate() {
                // 20000101000000+00'00'
                *b = match i {
                    0 => b'2',
                    4 | 6 => b'0',
                    5 | 7 => b'1',
                    // the same zone sign wherever the report was printed
                    14 if *b == b'+' || *b == b'-' => b'+',
                    14 if *b == b'Z' => *b,
                    _ if b.is_ascii_digit() => b'0',
                    _ => *b,
                };
            }
            from = end;
        }
    }
}

/// A `file://` URL of an absolute path, with every byte outside the
/// unreserved set and `/` percent-encoded (a folder named `a#b` or `50%`
/// is that folder, not a fragment or an escape).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The pages of a PDF Chromium wrote (its page objects), for what the
/// tool says it wrote.
pub fn page_count(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"/Type /Page").map(|i| i + from) {
        let next = bytes.get(at + b"/Type /Page".len());
        if next != Some(&b's') {
            count += 1;
        }
        from = at + 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_fixed_in_place_and_pages_counted() {
        let mut pdf = b"%PDF-1.4\n<</CreationDate (D:20261203221959+00'00')\n/ModDate (D:20261203221959+00'00')>>\n<</Type /Pages /Count 2>>\n<</Type /Page>>\n<</Type /Page /Parent 2 0 R>>".to_vec();
        let before = pdf.len();
        fix_dates(&mut pdf);
        let text = String::from_utf8(pdf.clone()).unwrap();
        assert_eq!(pdf.len(), before);
        assert!(
            text.contains("/CreationDate (D:20000101000000+00'00')"),
            "{text}"
        );
        assert!(
            text.contains("/ModDate (D:20000101000000+00'00')"),
            "{text}"
        );
        assert_eq!(page_count(&pdf), 2);
        let mut west = b"/CreationDate (D:20261203221959-05'00')".to_vec();
        fix_dates(&mut west);
        assert_eq!(west, b"/CreationDate (D:20000101000000+00'00')");
        assert_eq!(
            file_url(Path::new("/tmp/a #b/50%/r.html")),
            "file:///tmp/a%20%23b/50%25/r.html"
        );
    }
}
