//! Text normal forms the fold compares on: the exact-duplicate body form and diacritic folding.
//!
//! Folding is what lets "Lê Văn Dũng" in a Vietnamese page meet "Le Van Dung" in its French
//! translation. NFD does not decompose đ/Đ, so they are mapped by hand.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercase ASCII-ish form: NFD, combining marks dropped, đ→d, lowercased.
///
/// Character by character (not through the streaming NFD iterator, which reorders marks across
/// characters we drop anyway): ASCII is copied lowercased, anything else is decomposed and only its
/// non-mark parts are kept. Hot: it runs on every page's whole text.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        // Latin-1, Latin Extended A/B and Latin Extended Additional (every Vietnamese letter)
        // come from a table built once by the general path below.
        match FOLDED.get(c) {
            Some('\0') => {}
            Some(f) => out.push(f),
            None => fold_char(c, &mut out),
        }
    }
    out
}

/// The general path: NFD, drop combining marks, map đ to d, lowercase.
fn fold_char(c: char, out: &mut String) {
    match c {
        'đ' | 'Đ' => out.push('d'),
        c => unicode_normalization::char::decompose_canonical(c, |d| {
            if !is_combining_mark(d) {
                out.extend(d.to_lowercase());
            }
        }),
    }
}

/// `fold` of single characters that fold to at most one character ('\0' for none); `None` where
/// the general path must run.
struct FoldTable {
    latin: Vec<Option<char>>,
    additional: Vec<Option<char>>,
}

impl FoldTable {
    /// The entry for `c`: Latin-1 to Latin Extended-B, and Latin Extended Additional.
    fn get(&self, c: char) -> Option<char> {
        let cp = c as u32;
        match cp {
            0xC0..=0x24F => self.latin[(cp - 0xC0) as usize],
            0x1E00..=0x1EFF => self.additional[(cp - 0x1E00) as usize],
            _ => None,
        }
    }
}

static FOLDED: std::sync::LazyLock<FoldTable> = std::sync::LazyLock::new(|| {
    let one = |cp: u32| {
        let c = char::from_u32(cp)?;
        let mut s = String::new();
        fold_char(c, &mut s);
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (None, _) => Some('\0'),
            (Some(f), None) => Some(f),
            _ => None,
        }
    };
    FoldTable {
        latin: (0xC0..=0x24F).map(one).collect(),
        additional: (0x1E00..=0x1EFF).map(one).collect(),
    }
});

/// Lowercase of the Latin blocks that Vietnamese and French use, where it is one character
/// (`None` where the general path must run, e.g. 'İ').
static LOWER: std::sync::LazyLock<FoldTable> = std::sync::LazyLock::new(|| {
    let one = |cp: u32| {
        let mut lower = char::from_u32(cp)?.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => Some(l),
            _ => None,
        }
    };
    FoldTable {
        latin: (0xC0..=0x24F).map(one).collect(),
        additional: (0x1E00..=0x1EFF).map(one).collect(),
    }
});

/// Whether `c` belongs to a word: letters and combining marks. ASCII and the Latin blocks that
/// Vietnamese and French use are answered without the general Unicode tables, which are slow.
pub fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' => true,
        '\0'..='\u{7F}' | '\u{D7}' | '\u{F7}' => false,
        '\u{C0}'..='\u{24F}' | '\u{1E00}'..='\u{1EFF}' | '\u{300}'..='\u{36F}' => true,
        c => c.is_alphabetic() || is_combining_mark(c),
    }
}

/// The body as compared for exact duplicates: NFC, lowercase, typographic quotes and dashes
/// unified, every run of whitespace one space.
pub fn normalize_body(body: &str) -> String {
    // Most pages are already NFC; checking spares them the streaming composition. Characters
    // below U+0300 and the precomposed letters of Latin Extended Additional (all of Vietnamese)
    // are NFC by themselves, so the table-driven check only runs on other text.
    let plain = |c: char| (c as u32) < 0x300 || ('\u{1E00}'..='\u{1EFF}').contains(&c);
    let nfc = body.chars().all(plain)
        || unicode_normalization::is_nfc_quick(body.chars()) == unicode_normalization::IsNormalized::Yes;
    let mut out = String::with_capacity(body.len());
    if nfc {
        push_normal(&mut out, body.chars());
    } else {
        push_normal(&mut out, body.nfc());
    }
    out
}

/// Appends composed characters in the body normal form (see `normalize_body`).
fn push_normal(out: &mut String, composed: impl Iterator<Item = char>) {
    let mut pending_space = false;
    for c in composed {
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
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        match LOWER.get(c) {
            Some(l) => out.push(l),
            None => out.extend(c.to_lowercase()),
        }
    }
}

/// BLAKE3 of the normalised body, as the record's `content_hash`.
pub fn content_hash(body: &str) -> String {
    crate::model::short_hash(&blake3::hash(normalize_body(body).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fold_table_agrees_with_the_general_path() {
        for cp in (0xC0..=0x24F).chain(0x1E00..=0x1EFF) {
            let Some(c) = char::from_u32(cp) else { continue };
            let mut general = String::new();
            fold_char(c, &mut general);
            assert_eq!(fold(&c.to_string()), general, "U+{cp:04X}");
        }
        assert_eq!(fold("Lê Văn Dũng, Đà Nẵng, ĐỨC"), "le van dung, da nang, duc");
    }

    #[test]
    fn the_lowercase_table_agrees_with_to_lowercase() {
        for cp in (0xC0..=0x24F).chain(0x1E00..=0x1EFF) {
            let Some(c) = char::from_u32(cp) else { continue };
            let mut fast = String::new();
            push_normal(&mut fast, std::iter::once(c));
            assert_eq!(fast, c.to_lowercase().collect::<String>(), "U+{cp:04X}");
        }
    }

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

    #[test]
    fn decomposed_and_composed_text_hash_alike() {
        let composed = "Phó Bí thư Lê Văn Dũng phát biểu tại Quảng Nam";
        let decomposed: String = composed.nfd().collect();
        assert_ne!(composed, decomposed);
        assert_eq!(normalize_body(&decomposed), normalize_body(composed));
        assert_eq!(content_hash(&decomposed), content_hash(composed));
    }
}
