//! Written numbers: digit runs with their separators, read by the page's conventions (which mark
//! groups thousands, which marks decimals), multiplier words and East Asian units, as features.
//!
//! Pure: one pass over the digit runs the fingerprint found, each checked against the few masked
//! spans (dates, codes, times).

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
        None => reads_comma_thousands(text, runs, masked),
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
            // A count with a multiplier is a count, never a year ("2 nghìn").
            let (v, grouped) = if last && multiplier > 1.0 {
                ((v * multiplier).round(), true)
            } else {
                (v, grouped)
            };
            let unit = if last && unit_len > 0 { multiplier } else { 1.0 };
            let mut part = Pending {
                value: v,
                unit,
                grouped,
                start: r.start,
                end: after + unit_len,
            };
            if let Some(p) = pending.take() {
                // The smaller part follows the unit directly or after a space, not on another line.
                let gap = &text[p.end..r.start];
                let follows = i == 0 && gap.chars().all(|c| c == ' ' || c == '\u{00A0}');
                if follows && unit < p.unit && v < p.unit {
                    part.value += p.value;
                    part.grouped = true;
                    part.start = p.start;
                } else {
                    flush(p, buf);
                }
            }
            // A part followed by a unit waits; any other is a number now.
            if part.unit > 1.0 {
                pending = Some(part);
            } else {
                flush(part, buf);
            }
        }
    }
    if let Some(p) = pending {
        flush(p, buf);
    }
}

/// The ASCII digit a native decimal digit stands for: Arabic-Indic, Persian, Devanagari, Bengali,
/// Thai, Lao, Khmer, Myanmar and full-width digits.
fn native_digit(c: char) -> Option<u8> {
    const ZEROS: [u32; 9] = [0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x0ED0, 0x17E0, 0x1040, 0xFF10];
    let u = u32::from(c);
    ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&u))
        .map(|&z| b'0' + (u - z) as u8)
}

/// `text` with native digits written in ASCII (and the Arabic decimal and thousands marks and
/// percent sign as "." "," "%"), with `lead` moved to match; `None` when there is nothing to
/// rewrite, the common case, found by one scan of the bytes for the lead bytes those characters
/// start with.
pub(super) fn ascii_digits(text: &str, lead: &[Range<usize>]) -> Option<(String, Vec<Range<usize>>)> {
    let b = text.as_bytes();
    let maybe = b.iter().enumerate().any(|(i, &x)| {
        matches!(x, 0xD9 | 0xDB | 0xE0 | 0xEF) || (x == 0xE1 && matches!(b.get(i + 1), Some(0x81 | 0x9F)))
    });
    if !maybe
        || !text
            .chars()
            .any(|c| native_digit(c).is_some() || matches!(c, '\u{066B}' | '\u{066C}' | '\u{066A}'))
    {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    // Old byte offset → new byte offset, for every lead boundary.
    let mut bounds: Vec<usize> = lead.iter().flat_map(|r| [r.start, r.end]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut moved: Vec<(usize, usize)> = Vec::with_capacity(bounds.len());
    let mut k = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        while k < bounds.len() && bounds[k] <= i {
            moved.push((bounds[k], out.len()));
            k += 1;
        }
        // A full-width "．" or "，" between digits is a number's mark, elsewhere punctuation.
        let between_digits = matches!(c, '\u{FF0E}' | '\u{FF0C}')
            && out.ends_with(|p: char| p.is_ascii_digit())
            && chars
                .peek()
                .is_some_and(|&(_, n)| n.is_ascii_digit() || native_digit(n).is_some());
        match (native_digit(c), c) {
            (Some(d), _) => out.push(char::from(d)),
            (None, '\u{066B}') => out.push('.'),
            (None, '\u{066C}') => out.push(','),
            (None, '\u{066A}') => out.push('%'),
            (None, '\u{FF0E}') if between_digits => out.push('.'),
            (None, '\u{FF0C}') if between_digits => out.push(','),
            (None, c) => out.push(c),
        }
    }
    for &bound in &bounds[k..] {
        moved.push((bound, out.len()));
    }
    let at = |old: usize| moved.iter().find(|(o, _)| *o == old).map_or(out.len(), |(_, n)| *n);
    let lead = lead.iter().map(|r| at(r.start)..at(r.end)).collect();
    Some((out, lead))
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

/// Scripts whose own number writing groups thousands with "," and marks decimals with ".":
/// Chinese, Japanese, Korean, the Arabic script (Arabic, Persian, Urdu, in Western digits), Thai,
/// Devanagari and Bengali.
fn groups_with_commas(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}'
        | '\u{0600}'..='\u{06FF}' | '\u{0E00}'..='\u{0E7F}' | '\u{0900}'..='\u{09FF}')
}

/// How a page in a language newsfold does not know writes its numbers, from the ones outside
/// dates, times and codes that can be read only one way: a "." or "," followed by other than three
/// digits marks decimals ("712.4", "48.6%" in an Arabic or Japanese machine translation; "6,4" in a
/// German one, "22,2 трлн" in a Russian one). The mark seen more often decides. When nothing
/// tells, the script does: Chinese, Japanese, Korean, Arabic and Thai group thousands with ","
/// ("1,893件"); other scripts are read day-first, as Vietnamese, French and Russian write.
fn reads_comma_thousands(text: &str, runs: &[Range<usize>], masked: &[Range<usize>]) -> bool {
    let b = text.as_bytes();
    let (mut dot, mut comma) = (0u32, 0u32);
    for w in runs.windows(2) {
        let (a, next) = (&w[0], &w[1]);
        if next.start != a.end + 1 || overlaps(&(a.start..next.end), masked) {
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
    if dot != comma {
        return dot > comma;
    }
    text.chars().any(groups_with_commas)
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

/// "445 triệu" = "445 millions" = "445 million" = "445 مليون" = "445 млн" = "4,45億": the
/// multiplier, and the length of an East Asian unit written right after the number (0 for a
/// word: a word ends the number, a unit may be followed by a smaller part, "3兆8,650億").
fn multiplier_after(rest: &str) -> (f64, usize) {
    // An optional 千 or 百 (천, 백), then an optional 万, 億 or 兆 (만, 억, 조): "5千万", "9천억".
    let small = |c: char| match c {
        '千' | '仟' | '천' => Some(1e3),
        '百' | '佰' | '백' => Some(1e2),
        _ => None,
    };
    let large = |c: char| match c {
        '万' | '萬' | '만' => Some(1e4),
        '亿' | '億' | '억' => Some(1e8),
        // 兆 is 10¹² in Japanese and Korean (조); Chinese writes 万亿.
        '兆' | '조' => Some(1e12),
        _ => None,
    };
    // Before a unit of measure 千 is kilo ("2,4千克" is 2.4 kg) and 兆 mega ("500兆瓦").
    let measure = |c: Option<&char>| c.is_some_and(|d| "克米瓦伏卡焦帕赫欧字".contains(*d));
    let mut mult = 1.0;
    let mut len = 0;
    let mut chars = rest.chars().peekable();
    if let Some(s) = chars.peek().and_then(|&c| small(c)) {
        let c = chars.next().unwrap_or_default();
        if c == '千' && measure(chars.peek()) {
            return (1.0, 0);
        }
        mult = s;
        len += c.len_utf8();
    }
    if let Some(&c) = chars.peek()
        && let Some(l) = large(c)
    {
        chars.next();
        if c == '兆' && measure(chars.peek()) {
            return (mult, len);
        }
        mult *= l;
        len += c.len_utf8();
        // 万亿: ten thousand times a hundred million.
        if l == 1e4
            && let Some(&d) = chars.peek()
            && large(d) == Some(1e8)
        {
            mult *= 1e8;
            len += d.len_utf8();
        }
    }
    if len > 0 {
        return (mult, len);
    }
    (multiplier_word(rest), 0)
}

/// A multiplier word after a number: whole words in the languages newsfold reads, Arabic,
/// Persian, Urdu, Hindi, Bengali and Russian abbreviations; Russian stems by their start, and
/// for Thai, Lao and Khmer, written against the next word, the units the word starts with,
/// multiplied ("หมื่นล้าน" is 10⁴ × 10⁶).
fn multiplier_word(rest: &str) -> f64 {
    let raw: String = rest
        .trim_start_matches([' ', '\u{00A0}', '\u{202F}'])
        .chars()
        .take_while(|c| is_letter(*c))
        .collect();
    let word = fold(&raw);
    let m = match word.as_str() {
        "trieu" | "million" | "millions" | "millionen" | "millones" | "milhoes" | "milioni" | "miljoen" | "juta"
        | "مليون" | "ملايين" | "млн" => 1e6,
        "ty" | "ti" | "milliard" | "milliards" | "billion" | "billions" | "milliarden" | "miliardi" | "miljard"
        | "bilion" | "مليار" | "مليارات" | "млрд" => 1e9,
        "nghin" | "ngan" | "thousand" | "thousands" | "mille" | "tausend" | "mil" | "duizend" | "ribu" | "الف"
        | "الاف" | "тыс" => 1e3,
        "تريليون" | "трлн" => 1e12,
        _ => 0.0,
    };
    if m > 0.0 {
        return m;
    }
    // Scripts whose vowel signs folding would strip, as written.
    let m = match raw.as_str() {
        "मिलियन" | "মিলিয়ন" | "میلیون" | "ملین" => 1e6,
        "अरब" | "बिलियन" | "বিলিয়ন" | "میلیارد" | "ارب" => 1e9,
        // करोड़ and हज़ार with the nukta composed or not.
        "\u{0915}\u{0930}\u{094B}\u{095C}" | "\u{0915}\u{0930}\u{094B}\u{0921}\u{093C}" | "কোটি" | "کروڑ" => {
            1e7
        }
        "लाख" | "লাখ" | "لاکھ" => 1e5,
        "\u{0939}\u{095B}\u{093E}\u{0930}"
        | "\u{0939}\u{091C}\u{093C}\u{093E}\u{0930}"
        | "हजार"
        | "হাজার"
        | "هزار"
        | "ہزار" => 1e3,
        _ => 0.0,
    };
    if m > 0.0 {
        return m;
    }
    // Prefixes, longest first: Russian stems take endings ("миллионов"), Thai, Lao and Khmer
    // glue the unit to the next word ("ล้านดอง").
    const PREFIXES: &[(&str, f64)] = &[
        ("миллиард", 1e9),
        ("триллион", 1e12),
        ("миллион", 1e6),
        ("тысяч", 1e3),
        ("พันล้าน", 1e9),
        ("ล้าน", 1e6),
        ("แสน", 1e5),
        ("หมื่น", 1e4),
        ("ພັນລ້ານ", 1e9),
        ("ພັນຕື້", 1e12),
        ("ຕື້", 1e9),
        ("ລ້ານ", 1e6),
        ("ពាន់លាន", 1e9),
        ("ប៊ីលាន", 1e9),
        ("លាន", 1e6),
    ];
    // Units as written, each multiplying the last; at most three ("ล้านล้าน"), a bound on the
    // loop, not a rule.
    let (mut rest, mut m) = (raw.as_str(), 1.0);
    for _ in 0..3 {
        let Some(&(p, u)) = PREFIXES.iter().find(|(p, _)| rest.starts_with(p)) else {
            break;
        };
        m *= u;
        rest = &rest[p.len()..];
    }
    // A Russian stem with a capital, folded ("Миллионов").
    if m == 1.0
        && let Some(&(_, u)) = PREFIXES.iter().find(|(p, _)| word.starts_with(p))
    {
        m = u;
    }
    m
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
    use super::super::fingerprint::{explain, has};
    use super::*;

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
    fn units_words_and_native_digits_of_other_scripts() {
        for (text, class, canonical) in [
            // No decimal on the page: the script decides, and CJK writes "," for thousands.
            ("累計は1,893件で、薬剤1,800リットルを配布した", Class::NumMid, "1893"),
            // 千 and 百 multiply the unit after them and take part in sums.
            ("党员1万2千人", Class::NumLarge, "12000"),
            ("投资5千万越南盾", Class::NumLarge, "50000000"),
            ("총 5조 9천억 동", Class::NumLarge, "5900000000000"),
            // 兆 before a unit of measure is mega.
            ("风电500兆瓦", Class::NumMid, "500"),
            ("3 آلاف طن و2 ألف", Class::NumMid, "3000"),
            ("22,2 трлн донгов и 115 000 донгов", Class::NumLarge, "22200000000000"),
            ("22,2 трлн донгов и 115 000 донгов", Class::NumLarge, "115000"),
            ("369 миллионов донгов", Class::NumLarge, "369000000"),
            ("มูลค่า 8 ล้านดอง", Class::NumLarge, "8000000"),
            // Native digits, the Arabic decimal mark and full-width digits.
            ("بلغت ١٥٢٬٣٠٠ طن بقيمة ٧١٢٫٤ مليون", Class::NumLarge, "712400000"),
            ("ចំនួន ៨១.០០០ នាក់", Class::NumLarge, "81000"),
            // 千 before a unit of measure is kilo, and 兆 mega after a 千.
            ("缴获冰毒2.4千克", Class::NumDecimal, "2.4"),
            ("装机5千兆瓦", Class::NumMid, "5000"),
            // Devanagari groups thousands with ","; Hindi and Thai amount words, Thai units multiplied.
            ("1,340 घर और 212 अरब डोंग", Class::NumMid, "1340"),
            ("1,340 घर और 212 अरब डोंग", Class::NumLarge, "212000000000"),
            ("มูลค่า 4.6 ล้านล้านดอง", Class::NumLarge, "4600000000000"),
            ("มูลค่า 5 หมื่นล้านดอง", Class::NumLarge, "50000000000"),
            // A part no smaller than the unit before it is a number of its own.
            ("6万12,000", Class::NumLarge, "60000"),
            ("6万12,000", Class::NumLarge, "12000"),
            ("成長率は７．２％、１，７２６人", Class::NumMid, "1726"),
        ] {
            assert!(
                has(text, None, class, canonical),
                "{canonical} in {text:?}: {:?}",
                explain(text, None)
            );
        }
        // Parts on two lines are two numbers.
        assert!(has("来客615万\n2024年は", None, Class::NumLarge, "6150000"));
        // A count with a multiplier is no year.
        assert!(has("khoảng 2 nghìn người", Some(Lang::Vi), Class::NumMid, "2000"));
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
