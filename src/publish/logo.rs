//! The organisation's logo, carried inside the HTML as a `data:` URI so the
//! page stays one self-contained file. Only PNG and JPEG are taken, checked
//! by their signature: an SVG could carry script into the published page.

use std::path::Path;

use base64::Engine as _;

use crate::error::{Error, Result};

/// A logo larger than this is refused (it would be carried in every page).
const MAX_BYTES: u64 = 2 * 1024 * 1024;

/// The logo file as a `data:` URI.
pub fn data_uri(path: &Path) -> Result<String> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_BYTES {
        return Err(Error::bad_input(
            path,
            format!("the logo is {size} bytes; at most {MAX_BYTES} are taken"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mime = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else {
        return Err(Error::bad_input(
            path,
            "the logo must be a PNG or JPEG image (by its content, not its name)",
        ));
    };
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_jpeg_are_taken_anything_else_refused() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("logo.png");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\nrest").unwrap();
        assert!(
            data_uri(&png)
                .unwrap()
                .starts_with("data:image/png;base64,iVBORw0KG")
        );
        let svg = dir.path().join("logo.png.svg");
        std::fs::write(&svg, b"<svg onload=alert(1)>").unwrap();
        let err = data_uri(&svg).unwrap_err().to_string();
        assert!(err.contains("PNG or JPEG"), "{err}");
    }
}
