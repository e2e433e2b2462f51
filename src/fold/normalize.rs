//! Text normal forms the fold compares on: the exact-duplicate body form and diacritic folding.
//!
//! Folding is what lets "Lê Văn Dũng" in a Vietnamese page meet "Le Van Dung" in its French
//! translation. NFD does not decompose đ/Đ, so they are mapped by hand.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercase ASCII-ish form: NFD, combining marks dropped, đ→d, lowercased.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The body as compared for exact duplicates: NFC, lowercase, typographic quotes and dashes
/// unified, every run of whitespace one space.
pub fn normalize_body(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut pending_space = false;
    for c in body.nfc() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => '"',
            '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
            c => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// BLAKE3 of the normalised body, as the record's `content_hash`.
pub fn content_hash(body: &str) -> String {
    crate::model::short_hash(&blake3::hash(normalize_body(body).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese_names_to_their_translated_spelling() {
        assert_eq!(fold("Lê Văn Dũng"), "le van dung");
        assert_eq!(fold("Quảng Nam"), "quang nam");
        assert_eq!(fold("Nguyễn Đức Dũng"), "nguyen duc dung");
        assert_eq!(fold("03/2019/NĐ-CP"), "03/2019/nd-cp");
        assert_eq!(fold("Thừa Thiên Huế"), "thua thien hue");
    }

    #[test]
    fn body_normal_form_ignores_layout_and_case() {
        let a = "Les forces  se sont\n\ncoordonnées – « bien »";
        let b = "les forces se sont coordonnées - \" bien \"";
        assert_eq!(normalize_body(a), normalize_body(b));
        assert_eq!(content_hash(a), content_hash(b));
        assert_ne!(content_hash(a), content_hash("les forces"));
    }
}
