//! Bytes to text. Binary and empty inputs are refused here, before any parser sees them.
//!
//! The encoding is decided in the order browsers use, with one correction for the pages this
//! genre serves: a byte-order mark wins; then bytes that are valid UTF-8 are read as UTF-8 whatever
//! the page declares (a mislabelled UTF-8 page is far more common than a legacy page that happens
//! to be valid UTF-8); then bytes that are UTF-8 but for a few stray bytes (a truncated character,
//! a byte pasted in from elsewhere: fewer invalid bytes than a quarter of the valid non-ASCII
//! characters) are read as UTF-8 with the stray bytes replaced and counted, because a legacy page
//! almost never forms valid multi-byte UTF-8 sequences by chance; then the HTTP `charset`, then
//! `<meta charset>` (unless either claims UTF-8, which the bytes just disproved); then chardetng's
//! guess with the `.vn` hint, which tells windows-1258 from windows-1252. Plain-text pages without
//! a declared charset must be UTF-8: a saved text file in another encoding is refused rather than
//! guessed.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};
use unicode_normalization::UnicodeNormalization;

use super::ScrapeError;

/// How much of a page is inspected for binary content and for `<meta charset>`.
const SNIFF: usize = 8192;
const META_PRESCAN: usize = 1024;

/// Why an encoding was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Why {
    /// A byte-order mark.
    Bom,
    /// The bytes are valid UTF-8.
    #[default]
    ValidUtf8,
    /// The bytes are UTF-8 but for a few invalid ones, replaced by U+FFFD.
    MostlyUtf8,
    /// The HTTP `Content-Type` charset.
    Http,
    /// The page's `<meta charset>`.
    Meta,
    /// chardetng's guess.
    Guess,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Bom => "byte order mark",
            Why::ValidUtf8 => "valid utf-8",
            Why::MostlyUtf8 => "utf-8 with invalid bytes replaced",
            Why::Http => "http charset",
            Why::Meta => "meta charset",
            Why::Guess => "guessed",
        }
    }
}

/// The encoding a page was read with, why, and how many invalid bytes were replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charset {
    pub encoding: &'static Encoding,
    pub why: Why,
    pub replaced: usize,
}

impl Default for Charset {
    fn default() -> Self {
        Charset {
            encoding: UTF_8,
            why: Why::ValidUtf8,
            replaced: 0,
        }
    }
}

/// Decodes a page. `declared` is the HTTP charset; `html` enables `<meta charset>` and guessing.
pub fn decode<'a>(bytes: &'a [u8], declared: Option<&str>, html: bool) -> Result<Cow<'a, str>, ScrapeError> {
    decode_reporting(bytes, declared, html).map(|(text, _)| text)
}

/// Decodes a page and says how.
pub fn decode_reporting<'a>(
    bytes: &'a [u8],
    declared: Option<&str>,
    html: bool,
) -> Result<(Cow<'a, str>, Charset), ScrapeError> {
    let charset = |encoding, why, replaced| Charset {
        encoding,
        why,
        replaced,
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return check_text(text).map(|t| (t, charset(enc, Why::Bom, 0)));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScrapeError::Empty);
    }
    let head = &bytes[..bytes.len().min(SNIFF)];
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C | 0x1B)))
        .count();
    if head.contains(&0) || controls * 20 > head.len() {
        return Err(ScrapeError::Binary);
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(s) => return Ok((Cow::Borrowed(s), charset(UTF_8, Why::ValidUtf8, 0))),
        Err(e) => e,
    };
    if let Some(replaced) = mostly_utf8(bytes) {
        return Ok((
            String::from_utf8_lossy(bytes),
            charset(UTF_8, Why::MostlyUtf8, replaced),
        ));
    }
    let label = |l: &str| Encoding::for_label(l.trim().as_bytes()).filter(|e| *e != UTF_8 && !is_utf16(e));
    let chosen = declared.and_then(label).map(|e| (e, Why::Http)).or_else(|| {
        html.then(|| meta_charset(bytes))
            .flatten()
            .and_then(|l| label(&l))
            .map(|e| (e, Why::Meta))
    });
    let (encoding, why) = match chosen {
        Some(e) => e,
        None if html => {
            let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            detector.feed(bytes, true);
            // The bytes are not UTF-8: that much is known.
            (detector.guess(Some(b"vn"), chardetng::Utf8Detection::Deny), Why::Guess)
        }
        None => return Err(ScrapeError::InvalidUtf8(utf8_error.valid_up_to())),
    };
    let (text, _, _) = encoding.decode(bytes);
    // windows-1258 spells tones as combining marks; everything downstream expects composed text.
    Ok((Cow::Owned(text.nfc().collect()), charset(encoding, why, 0)))
}

/// The number of invalid bytes when the bytes are UTF-8 but for a few: fewer invalid bytes than a
/// quarter of the valid non-ASCII characters, and at least 8 of those.
fn mostly_utf8(bytes: &[u8]) -> Option<usize> {
    let (mut valid, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += chunk.invalid().len();
    }
    (valid >= 8 && invalid * 4 < valid).then_some(invalid)
}

fn is_utf16(e: &&'static Encoding) -> bool {
    // Without a BOM, a UTF-16 label on ASCII-compatible bytes is a mislabel (WHATWG treats it as
    // UTF-8); the guess does better.
    *e == encoding_rs::UTF_16LE || *e == encoding_rs::UTF_16BE
}

fn check_text(text: Cow<'_, str>) -> Result<Cow<'_, str>, ScrapeError> {
    if text.trim().is_empty() {
        Err(ScrapeError::Empty)
    } else {
        Ok(text)
    }
}

/// The charset a page's head declares: `<meta charset=…>` or `<meta http-equiv=Content-Type
/// content="…; charset=…">`, within the first 1024 bytes as the HTML prescan does.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(META_PRESCAN)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset=") {
            let value: String = tag[c + 8..]
                .iter()
                .skip_while(|&&b| b == b'"' || b == b'\'' || b == b' ')
                .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
                .map(|&b| b as char)
                .collect();
            if !value.is_empty() {
                return Some(value);
            }
        }
        from = end;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8], declared: Option<&str>, html: bool) -> String {
        decode(bytes, declared, html).unwrap().into_owned()
    }

    #[test]
    fn refuses_what_is_not_text() {
        assert_eq!(decode(b"", None, false), Err(ScrapeError::Empty));
        assert_eq!(decode(b" \n\t ", None, true), Err(ScrapeError::Empty));
        assert_eq!(
            decode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None, true),
            Err(ScrapeError::Binary)
        );
        assert_eq!(
            decode(b"abc\xff\xfe def", None, false),
            Err(ScrapeError::InvalidUtf8(3))
        );
        assert_eq!(text("\u{feff}Chào".as_bytes(), None, false), "Chào");
    }

    #[test]
    fn windows_1258_from_header_meta_or_guess() {
        // As a legacy page spells it: tones as combining marks after the base letter.
        let spelled = "Ti\u{309}nh Qua\u{309}ng Tri\u{323}: Đoa\u{300}n công ta\u{301}c thăm ho\u{309}i gia đi\u{300}nh \
                       chi\u{301}nh sa\u{301}ch ta\u{323}i huyê\u{323}n Hươ\u{301}ng Ho\u{301}a, trao 62 suâ\u{301}t qua\u{300}.";
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1258.encode(spelled);
        assert!(!unmappable);
        let vi: String = spelled.nfc().collect();
        let vi = vi.as_str();
        assert!(vi.starts_with("Tỉnh Quảng Trị"));
        assert_eq!(text(&bytes, Some("windows-1258"), true), vi);
        let page = [
            b"<html><head><meta charset=\"windows-1258\"></head><body><p>".as_slice(),
            &bytes,
        ]
        .concat();
        assert!(text(&page, None, true).contains(vi));
        let equiv = [
            b"<meta http-equiv='Content-Type' content='text/html; charset=windows-1258'><p>".as_slice(),
            &bytes,
        ]
        .concat();
        assert!(text(&equiv, None, true).contains(vi));
        // Declared as UTF-8, which the bytes disprove: the guess with the .vn hint reads it.
        assert_eq!(text(&bytes, Some("utf-8"), true), vi);
        // Saved text with no declaration stays strict.
        assert!(matches!(decode(&bytes, None, false), Err(ScrapeError::InvalidUtf8(_))));
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_declaration() {
        let vi = "Đoàn công tác thăm hỏi gia đình chính sách";
        assert_eq!(text(vi.as_bytes(), Some("iso-8859-1"), true), vi);
        assert_eq!(text(vi.as_bytes(), Some("windows-1258"), true), vi);
        assert_eq!(text(b"plain ascii", Some("no-such-charset"), true), "plain ascii");
    }

    /// Issue 16: a UTF-8 page with three invalid bytes, labelled UTF-8, came out garbled as another
    /// charset. It reads as UTF-8 with those bytes replaced and counted.
    #[test]
    fn a_utf8_page_with_three_invalid_bytes_stays_utf8() {
        let vi = "<html><head><meta charset=utf-8></head><body><p>Công an tỉnh Nghệ An triệt phá \
                  đường dây ma túy, thu giữ 62.000 viên hồng phiến tại huyện Kỳ Sơn.</p></body></html>";
        let mut bytes = vi.as_bytes().to_vec();
        let spaces: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b' ').collect();
        for at in [spaces[4], spaces[9], spaces[14]] {
            bytes[at] = 0xff;
        }
        assert!(std::str::from_utf8(&bytes).is_err());
        let (text, charset) = decode_reporting(&bytes, Some("utf-8"), true).unwrap();
        assert_eq!(charset.encoding, UTF_8);
        assert_eq!(charset.why, Why::MostlyUtf8);
        assert_eq!(charset.replaced, 3);
        assert!(text.contains("Kỳ Sơn"), "{text}");
        assert_eq!(text.matches('\u{fffd}').count(), 3);
        // A legacy page is not mistaken for one.
        let (legacy, _, _) =
            encoding_rs::WINDOWS_1258.encode("Đoàn công tác thăm hỏi gia đình chính sách tại huyện Hướng Hóa");
        assert_eq!(
            decode_reporting(&legacy, Some("utf-8"), true).unwrap().1.why,
            Why::Guess
        );
    }
}
