//! Written numbers: digit runs with their separators, read by the page's conventions (which mark
//! groups thousands, which marks decimals), multiplier words and East Asian units, as features.
//!
//! Pure and linear in the text: one pass over the digit runs the fingerprint found.

use std::fmt::Write;
use std::ops::Range;

use super::fingerprint::Class;
use super::normalize::{fold, is_letter};
use crate::model::Lang;

/// Emits every number of `text` outside `masked` (dates, codes, times) with its class, its
/// canonical text (written into `buf`) and where it is written.
pub(super) fn read(
    text: &str,
    runs: &[Range<usize>],
    lang: Option<Lang>,
    masked: &[Range<usize>],
    emit: &mut dyn FnMut(Class, &str, usize),
    buf: &mut String,
) {
    let comma_thousands = match lang {
        Some(l) => l.comma_thousands(),
        None => reads_comma_thousands(text, runs),
    };
    // A number written in East Asian units ("6万4,300", "3兆8,650億") is the sum of its parts:
    // a part followed by a unit waits for the smaller part that may follow it.
    let mut pending: Option<Pending> = None;
    let mut flush = |p: Pending, buf: &mut String| {
        if let Some(class) = number_feature(p.value, p.grouped, buf) {
            emit(class, buf, p.start);
        }
    };
    for r in numbers(text, runs) {
        if overlaps(&r, masked) {
            continue;
        }
        // A digit glued to a letter on its left ("H5N1", "F0") is part of an identifier, unless
        // the script writes its words without spaces ("約112,400吨", "第18").
        if text[..r.start]
            .chars()
            .next_back()
            .is_some_and(|c| is_letter(c) && !is_spaceless(c))
        {
            continue;
        }
        let (values, end) = parse_numbers(&text[r.clone()], comma_thousands);
        let after = r.start + end;
        let (multiplier, unit_len) = multiplier_after(&text[after..]);
        let n = values.len();
        for (i, (v, grouped)) in values.into_iter().enumerate() {
            let last = i + 1 == n;
            // A multiplier word belongs to the last number of the run only; a count in thousands
            // or more is whole ("4,6 tỷ" is 4 600 000 000, not a float's neighbour of it).
            let v = if last && multiplier > 1.0 {
                (v * multiplier).round()
            } else {
                v
            };
            let unit = if last && unit_len > 0 { multiplier } else { 1.0 };
            if let Some(p) = pending.take() {
                let follows = i == 0 && text[p.end..r.start].trim().is_empty();
                if follows && unit < p.unit {
                    let sum = Pending {
                        value: p.value + v,
                        unit,
                        grouped: true,
                        start: p.start,
                        end: after + unit_len,
                    };
                    if unit > 1.0 {
                        pending = Some(sum);
                    } else {
                        flush(sum, buf);
                    }
                    continue;
                }
                flush(p, buf);
            }
            if unit > 1.0 {
                pending = Some(Pending {
                    value: v,
                    unit,
                    grouped,
                    start: r.start,
                    end: after + unit_len,
                });
            } else {
                flush(
                    Pending {
                        value: v,
                        unit,
                        grouped,
                        start: r.start,
                        end: after,
                    },
                    buf,
                );
            }
        }
    }
    if let Some(p) = pending {
        flush(p, buf);
    }
}

fn overlaps(r: &Range<usize>, masked: &[Range<usize>]) -> bool {
    masked.iter().any(|m| r.start < m.end && m.start < r.end)
}

/// Separators inside one written number: `.`, `,`, a space, a no-break or narrow no-break space.
fn number_separator(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    match b.first()? {
        b'.' | b',' | b' ' => Some(1),
        0xC2 if b.get(1) == Some(&0xA0) => Some(2),
        0xE2 if b.get(1) == Some(&0x80) && b.get(2) == Some(&0xAF) => Some(3),
        _ => None,
    }
}

/// Written numbers: a digit run, then any number of (separator, digit run).
pub(super) fn numbers(text: &str, runs: &[Range<usize>]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut end = 0;
    for run in runs.iter().cloned() {
        if run.start < end {
            continue;
        }
        end = run.end;
        while let Some(sep) = number_separator(&text[end..]) {
            let digits = b[end + sep..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                break;
            }
            end += sep + digits;
        }
        out.push(run.start..end);
    }
    out
}

/// A number waiting for the smaller East Asian part that may follow its unit.
struct Pending {
    value: f64,
    /// The unit that followed it (10⁴ for 万), which a following part must be smaller than.
    unit: f64,
    grouped: bool,
    start: usize,
    /// Where its unit ends.
    end: usize,
}

/// Whether a character belongs to a script written without spaces between words (Chinese,
/// Japanese kana, Thai, Lao, Khmer, Myanmar), where a number touches the words around it.
pub(super) fn is_spaceless(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FDF}'   // CJK radicals
        | '\u{3000}'..='\u{30FF}' // CJK punctuation, Hiragana, Katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF00}'..='\u{FFEF}' // half- and full-width forms
        | '\u{0E00}'..='\u{0EFF}' // Thai, Lao
        | '\u{1000}'..='\u{109F}' // Myanmar
        | '\u{1780}'..='\u{17FF}' // Khmer
    )
}

/// How a page in a language newsfold does not know writes its numbers, from the ones that can
/// be read only one way: a "." or "," followed by other than three digits marks decimals
/// ("712.4", "48.6%" in an Arabic or Japanese machine translation; "6,4" in a German one). True
/// when the page marks decimals with "." (and so groups thousands with ","), false when it
/// marks them with "," or shows nothing either way.
fn reads_comma_thousands(text: &str, runs: &[Range<usize>]) -> bool {
    let b = text.as_bytes();
    let (mut dot, mut comma) = (0u32, 0u32);
    for w in runs.windows(2) {
        let (a, next) = (&w[0], &w[1]);
        if next.start != a.end + 1 {
            continue;
        }
        // "1.5": a separator between two digit runs, the second not a group of three.
        let decimal = next.len() != 3;
        match b[a.end] {
            b'.' if decimal => dot += 1,
            b',' if decimal => comma += 1,
            _ => {}
        }
    }
    dot > comma
}

/// Splits a digit run with separators into numbers: with `comma_thousands` (English, Malay) ","
/// groups thousands and "." marks decimals; otherwise (Vietnamese, French and the other
/// day-first languages) "." or a space groups thousands and "," marks decimals. Returns the
/// numbers and the byte length consumed.
fn parse_numbers(s: &str, comma_thousands: bool) -> (Vec<(f64, bool)>, usize) {
    let mut groups: Vec<&str> = Vec::new();
    let mut seps: Vec<char> = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if !c.is_ascii_digit() {
            groups.push(&s[start..i]);
            seps.push(c);
            start = i + c.len_utf8();
        }
    }
    groups.push(&s[start..]);

    let is_space = |c: char| c == ' ' || c == '\u{00A0}' || c == '\u{202F}';
    let same_sep = |a: char, b: char| a == b || (is_space(a) && is_space(b));
    let is_thousands = |c: char| {
        if comma_thousands {
            c == ','
        } else {
            c == '.' || is_space(c)
        }
    };

    let mut out = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let mut int_part = groups[i].to_string();
        let mut j = i;

        // Thousands groups: one to three leading digits, then groups of exactly three, all joined
        // by the same separator.
        if groups[i].len() <= 3 && j < seps.len() {
            let first = seps[j];
            while j < seps.len() && is_thousands(seps[j]) && same_sep(seps[j], first) && groups[j + 1].len() == 3 {
                int_part.push_str(groups[j + 1]);
                j += 1;
            }
        }
        // Whatever mark follows is a decimal mark ("6,4" in vi/fr, "6.4" anywhere); a space never is.
        // Digits written in thousands groups ("2 028") are a count, never a year.
        let grouped = j > i;
        let mut text = int_part;
        if j < seps.len() && !is_space(seps[j]) {
            text.push('.');
            text.push_str(groups[j + 1]);
            j += 1;
        }
        if let Ok(v) = text.parse::<f64>() {
            out.push((v, grouped));
        }
        i = j + 1;
    }
    (out, s.len())
}

/// "445 triệu" = "445 millions" = "445 million" = "445 مليون" = "4,45億": the multiplier, and the
/// length of an East Asian unit written right after the number (0 for a word: a word ends the
/// number, a unit may be followed by a smaller part, "3兆8,650億").
fn multiplier_after(rest: &str) -> (f64, usize) {
    let unit = |c: char| match c {
        '万' | '萬' | '만' => Some(1e4),
        '亿' | '億' | '억' => Some(1e8),
        // 兆 is 10¹² in Japanese and Korean (조); Chinese writes 万亿.
        '兆' | '조' => Some(1e12),
        _ => None,
    };
    let mut chars = rest.chars();
    if let Some(c) = chars.next()
        && let Some(u) = unit(c)
    {
        let len = c.len_utf8();
        // 万亿: ten thousand times a hundred million.
        return match chars.next() {
            Some(d) if u == 1e4 && unit(d) == Some(1e8) => (1e12, len + d.len_utf8()),
            _ => (u, len),
        };
    }
    (multiplier_word(rest), 0)
}

fn multiplier_word(rest: &str) -> f64 {
    let word: String = rest
        .trim_start_matches([' ', '\u{00A0}', '\u{202F}'])
        .chars()
        .take_while(|c| is_letter(*c))
        .collect();
    match fold(&word).as_str() {
        "trieu" | "million" | "millions" | "millionen" | "millones" | "milhoes" | "milioni" | "miljoen" | "juta" => 1e6,
        "ty" | "ti" | "milliard" | "milliards" | "billion" | "billions" | "milliarden" | "miliardi" | "miljard"
        | "bilion" | "مليار" | "مليارات" => 1e9,
        "nghin" | "ngan" | "thousand" | "thousands" | "mille" | "tausend" | "mil" | "duizend" | "ribu" | "ألف"
        | "آلاف" => 1e3,
        "مليون" | "ملايين" => 1e6,
        _ => 1.0,
    }
}
/// The number's class, with its canonical text written into `buf`.
fn number_feature(v: f64, grouped: bool, buf: &mut String) -> Option<Class> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    buf.clear();
    if v.fract() == 0.0 && v < 1e18 {
        let n = v as u64;
        let class = match n {
            0..=99 => Class::NumSmall,
            1900..=2100 if !grouped => Class::NumYear,
            100..=9999 => Class::NumMid,
            _ => Class::NumLarge,
        };
        buf.push_str(itoa::Buffer::new().format(n));
        Some(class)
    } else {
        let _ = write!(buf, "{v:.4}");
        let kept = buf.trim_end_matches('0').trim_end_matches('.').len();
        buf.truncate(kept);
        Some(Class::NumDecimal)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fingerprint::explain;
    use super::*;

    fn has(text: &str, lang: Option<Lang>, class: Class, canonical: &str) -> bool {
        explain(text, lang)
            .features
            .iter()
            .any(|(c, s)| *c == class && s == canonical)
    }

    #[test]
    fn renderings_in_unknown_scripts_read_as_their_originals() {
        // Machine translations into Japanese, Chinese, Korean and Arabic, language not known:
        // the numbers a Vietnamese original writes as "64.300", "3.865 tỷ", "4,6 nghìn tỷ",
        // "112.400", "1.726", "152.300", "712,4 triệu".
        for (text, class, canonical) in [
            ("党員総数は6万4,300人を超えた。成長率は7.2%", Class::NumLarge, "64300"),
            ("予算収入は3兆8,650億ドン、成長率7.2%", Class::NumLarge, "3865000000000"),
            ("荔枝收入预计约4.6万亿越南盾,占61.3%", Class::NumLarge, "4600000000000"),
            ("全省已销售荔枝约112,400吨,占61.3%", Class::NumLarge, "112400"),
            ("全省已销售荔枝约112,400吨,占61.3%", Class::NumDecimal, "61.3"),
            ("省党委員会は1,726人の新党員を受け入れ、7.2%", Class::NumMid, "1726"),
            (
                "예산 수입은 3조 8,650억 동, 성장률 7.2%",
                Class::NumLarge,
                "3865000000000",
            ),
            ("صدّرت 152,300 طن بقيمة 712.4 مليون دولار", Class::NumLarge, "152300"),
            ("صدّرت 152,300 طن بقيمة 712.4 مليون دولار", Class::NumLarge, "712400000"),
            ("游客约615万人次,增长14.8%", Class::NumLarge, "6150000"),
        ] {
            assert!(
                has(text, None, class, canonical),
                "{canonical} in {text:?}: {:?}",
                explain(text, None)
            );
        }
    }

    #[test]
    fn an_unknown_language_reads_numbers_by_its_own_unambiguous_ones() {
        // Decimals marked with ",": "62.000" groups thousands.
        assert!(has(
            "Produktion 6,4 kg und 62.000 Menschen",
            None,
            Class::NumLarge,
            "62000"
        ));
        // Decimals marked with ".": "62,000" groups thousands.
        assert!(has("produksi 6.4 kg dan 62,000 orang", None, Class::NumLarge, "62000"));
        // Nothing to tell: the day-first reading, as before.
        assert!(has("khoảng 1,5 triệu", None, Class::NumLarge, "1500000"));
    }

    #[test]
    fn latin_letters_glued_to_digits_still_make_identifiers() {
        assert!(!has("virus H5N1 lan rộng", Some(Lang::Vi), Class::NumSmall, "5"));
        // A unit is not a sum with a number that does not follow it.
        let f = explain("売上は3兆円。別の年は8,650件、成長率7.2%", None).features;
        assert!(
            f.iter().any(|(c, s)| *c == Class::NumLarge && s == "3000000000000"),
            "{f:?}"
        );
        assert!(f.iter().any(|(c, s)| *c == Class::NumMid && s == "8650"), "{f:?}");
    }
}
