//! Bytes to text for saved pages: UTF-8 only, with a BOM dropped. Binary and empty inputs are
//! refused here, before any parser sees them.

use super::ScrapeError;

/// How much of a page is inspected for binary content.
const SNIFF: usize = 8192;

pub fn decode(bytes: &[u8]) -> Result<&str, ScrapeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScrapeError::Empty);
    }
    let head = &bytes[..bytes.len().min(SNIFF)];
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C)))
        .count();
    if head.contains(&0) || controls * 20 > head.len() {
        return Err(ScrapeError::Binary);
    }
    std::str::from_utf8(bytes).map_err(|e| ScrapeError::InvalidUtf8(e.valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_text() {
        assert_eq!(decode(b""), Err(ScrapeError::Empty));
        assert_eq!(decode(b" \n\t "), Err(ScrapeError::Empty));
        assert_eq!(decode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Err(ScrapeError::Binary));
        assert_eq!(decode(b"abc\xff\xfe def"), Err(ScrapeError::InvalidUtf8(3)));
        assert_eq!(decode("\u{feff}Chào".as_bytes()), Ok("Chào"));
    }
}
