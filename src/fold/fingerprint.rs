//! The cross-lingual fingerprint: what survives machine translation of a news article.
//!
//! Translations share no words, but they keep numbers ("62.000" = "62 000" = "62,000"), dates
//! ("19/1/2024" = "19 janvier 2024"), document codes ("03/2019/NĐ-CP" = "03/2019/ND-CP") and
//! personal and place names once diacritics are folded ("Lê Văn Dũng" = "Le Van Dung"). This module
//! turns an article into a sorted set of such features, each a 32-bit key whose top four bits say
//! its class (28 bits of hash are plenty: two unrelated features of two documents collide with odds
//! of about one in a million per document pair). Pure: no I/O, no state; rarity weighting is the index's business.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::names::names;
use super::normalize::fold;
use super::numbers::{self, is_spaceless};
use crate::dates::{digit_runs, find_dates_in, is_word_byte};
use crate::model::Lang;

/// What kind of thing a feature is; decides its prior weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Class {
    /// Whole number below 100: counts of cases, ordinals. Nearly every article has some.
    NumSmall = 0,
    /// 1900–2100: usually a year.
    NumYear = 1,
    NumMid = 2,
    /// 10 000 and more.
    NumLarge = 3,
    NumDecimal = 4,
    DateFull = 5,
    DateDayMonth = 6,
    DateMonthYear = 7,
    /// A legal document number such as 03/2019/NĐ-CP.
    Code = 8,
    /// Two consecutive words of a capitalised name.
    Name = 9,
    /// A reference date: the date of a cited document ("Decree 03/2019/ND-CP dated 5/9/2019"), an
    /// anniversary or a founding. Translations keep it, but every page citing the same decree or
    /// marking the same anniversary shares it, so it says little about which event a page reports.
    DateRef = 10,
}

impl Class {
    const ALL: [Class; 11] = [
        Class::NumSmall,
        Class::NumYear,
        Class::NumMid,
        Class::NumLarge,
        Class::NumDecimal,
        Class::DateFull,
        Class::DateDayMonth,
        Class::DateMonthYear,
        Class::Code,
        Class::Name,
        Class::DateRef,
    ];

    pub fn of(feature: u32) -> Class {
        let tag = (feature >> 28) as usize;
        Class::ALL.get(tag).copied().unwrap_or(Class::Name)
    }

    /// How much one shared feature of this class says about two pages being one story, before
    /// rarity is taken into account.
    pub fn prior(self) -> f32 {
        match self {
            Class::NumSmall => 0.25,
            Class::NumYear => 0.35,
            Class::NumMid => 1.0,
            Class::NumLarge => 1.5,
            Class::NumDecimal => 1.3,
            Class::DateFull => 1.6,
            Class::DateDayMonth => 1.0,
            Class::DateMonthYear => 0.4,
            Class::Code => 2.0,
            Class::Name => 0.8,
            Class::DateRef => 0.4,
        }
    }

    /// How much one shared feature of this class counts towards `fold::MIN_EVIDENCE`: specific
    /// classes one, names half, small numbers and years nothing.
    pub fn evidence(self) -> f32 {
        match self {
            Class::NumMid
            | Class::NumLarge
            | Class::NumDecimal
            | Class::DateFull
            | Class::DateDayMonth
            | Class::Code => 1.0,
            Class::Name => 0.5,
            Class::NumSmall | Class::NumYear | Class::DateMonthYear | Class::DateRef => 0.0,
        }
    }
}

/// A feature key: class in the top four bits, a stable hash of the canonical text below.
pub fn key(class: Class, canonical: &str) -> u32 {
    let h = (xxhash_rust::xxh3::xxh3_64(canonical.as_bytes()) as u32) & ((1u32 << 28) - 1);
    ((class as u32) << 28) | h
}

/// Most features kept per document: the most telling ones (by class prior, then key order).
/// Bounds the index's memory and the work per candidate.
pub const MAX_FEATURES: usize = 48;

/// Features with their canonical text, for tests and `fold-eval` explanations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Explained {
    pub features: Vec<(Class, String)>,
}

/// An article's fingerprint: sorted, unique feature keys (at most `MAX_FEATURES`), each one's rank
/// in the text (`order[i]` is the rank of `features[i]`'s first mention, 0 first, saturating at
/// 255), and the event day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fingerprint {
    pub features: Vec<u32>,
    pub order: Vec<u8>,
    /// (month, day) of the first event date in the lead: a dated mention that is not a reference
    /// date (`Class::DateRef`).
    pub event_day: Option<(u8, u8)>,
}

/// The fingerprint's feature keys of `text`.
pub fn fingerprint(text: &str, lang: Option<Lang>) -> Vec<u32> {
    fingerprint_and_event(text, lang, &[]).features
}

/// The fingerprint, with the event day looked for in the byte ranges `lead` (the title and the
/// lead paragraphs). One pass over the dates serves both.
pub fn fingerprint_and_event(text: &str, lang: Option<Lang>, lead: &[Range<usize>]) -> Fingerprint {
    let mut keys: Vec<(u32, u32)> = Vec::with_capacity(64);
    let event_day = features(
        text,
        lang,
        &mut |c, s, at| keys.push((key(c, s), at.min(u32::MAX as usize) as u32)),
        lead,
    );
    // Each key once, at its first mention.
    keys.sort_unstable();
    keys.dedup_by_key(|k| k.0);
    if keys.len() > MAX_FEATURES {
        keys.sort_by(|a, b| {
            Class::of(b.0)
                .prior()
                .total_cmp(&Class::of(a.0).prior())
                .then(a.0.cmp(&b.0))
        });
        keys.truncate(MAX_FEATURES);
        keys.sort_unstable();
    }
    // Ranks by position; ties (one date's several keys) share the rank of the first.
    let mut by_pos: Vec<usize> = (0..keys.len()).collect();
    by_pos.sort_by_key(|&i| (keys[i].1, keys[i].0));
    let mut order = vec![0u8; keys.len()];
    let mut rank = 0u8;
    for (n, &i) in by_pos.iter().enumerate() {
        if n > 0 && keys[by_pos[n - 1]].1 != keys[i].1 {
            rank = rank.saturating_add(1);
        }
        order[i] = rank;
    }
    Fingerprint {
        features: keys.into_iter().map(|k| k.0).collect(),
        order,
        event_day,
    }
}

/// Words that, just before a date, make it a reference date (compared folded, as whole words):
/// a document's issue or signature, a founding, an anniversary, in the languages read.
const REFERENCE_CUES: &[&str] = &[
    "dated",
    "signed",
    "issued",
    "promulgated",
    "founding",
    "founded",
    "establishment",
    "anniversary",
    "ban hanh",
    "thanh lap",
    "ky niem",
    "date du",
    "signe",
    "promulgue",
    "fondation",
    "creation",
    "anniversaire",
    "vom",
    "gegrundet",
    "jahrestag",
    "de fecha",
    "fundacion",
    "aniversario",
    "fundacao",
    "gedateerd",
    "bertarikh",
    "ulang tahun",
    "penubuhan",
];

/// Cues found inside words: Chinese and Japanese (anniversary, founding, establishment, signed,
/// promulgated, issued) and Arabic stems (anniversary, founding, dated), which take
/// prefixes ("بالذكرى", "للذكرى").
const SPACELESS_REFERENCE_CUES: &[&str] = &[
    "周年",
    "週年",
    "創立",
    "创立",
    "成立",
    "設立",
    "设立",
    "建党",
    "建黨",
    "署名",
    "签署",
    "簽署",
    "颁布",
    "頒布",
    "発布",
    "印发",
    "ذكرى",
    "تأسيس",
    "المؤرخ",
];

/// Whether the date starting at byte `at` is a reference date: it follows a document code closely
/// (nothing but a connector such as "ngày", "dated", "du", ", dated" between them), or a cue word
/// comes shortly before it within the same clause (a "(" may open between them, as in "founding
/// of the Party (3/2/1930 - 3/2/2025)").
fn is_reference(text: &str, span: &Range<usize>, codes: &[Range<usize>]) -> bool {
    let at = span.start;
    // Codes end before the date; the nearest one decides.
    if let Some(c) = codes.iter().rev().find(|c| c.end <= at) {
        let gap = &text[c.end..at];
        // Up to 16 characters (a connector: "ngày", ", dated", "الصادر في").
        if gap.chars().count() <= 16 && !gap.contains(['.', ';', ':', '\n', '。', '；', '：', '؛', '．']) {
            return true;
        }
    }
    // In a script without spaces the date comes first: "2017年10月25日付決議第18-NQ/TW号".
    if let Some(c) = codes.iter().find(|c| c.start >= span.end) {
        let gap = &text[span.end..c.start];
        if gap.len() <= 16 && !gap.is_empty() && gap.chars().all(|c| is_spaceless(c) && c.is_alphabetic()) {
            return true;
        }
    }
    let mut start = at.saturating_sub(64);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let before = &text[start..at];
    // The clause the date sits in: after the last clause break before it.
    let clause = before
        .rfind([',', ';', '.', ':', '\n', '،', '؛', '，', '。', '；', '：', '、'])
        .map(|i| &before[i..])
        .map_or(before, |rest| {
            rest.split_at(rest.chars().next().map_or(0, char::len_utf8)).1
        });
    if clause.trim().is_empty() {
        return false;
    }
    // Scripts without spaces between words, and Arabic's attached prefixes, are searched for
    // their cues as they stand.
    if SPACELESS_REFERENCE_CUES.iter().any(|cue| clause.contains(cue)) {
        return true;
    }
    // Arabic "issued" ("الصادر في"), not "exports" ("الصادرات").
    if clause
        .match_indices("الصادر")
        .any(|(i, m)| !clause[i + m.len()..].starts_with("ات"))
    {
        return true;
    }
    // The clause's folded words, each between single spaces, so a cue is found as a whole
    // word sequence by one substring search.
    let mut words = String::with_capacity(clause.len() + 2);
    words.push(' ');
    for w in fold(clause)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        words.push_str(w);
        words.push(' ');
    }
    REFERENCE_CUES.iter().any(|cue| {
        words
            .match_indices(cue)
            .any(|(i, _)| words[..i].ends_with(' ') && words[i + cue.len()..].starts_with(' '))
    })
}

/// A document code (`03/2019/NĐ-CP`, `15-KH/TU`), matched where a digit run starts: the scan below
/// finds the runs, and this anchored pattern reads the rest.
static CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[0-9]{1,5}(?:/[0-9]{4})?/[\p{Lu}Đ][\p{L}0-9]*(?:[-–][\p{L}0-9]+)*(?:/[\p{L}0-9]+)?|[0-9]{1,5}-[\p{Lu}Đ]{2,}/[\p{Lu}Đ]{2,}(?-u:\b))",
    )
    .expect("code pattern compiles")
});

/// Document codes, leftmost first and without overlaps. A code starts a digit run at an ASCII word
/// boundary, with at most five digits followed by `/` or `-`.
fn codes(text: &str, runs: &[Range<usize>]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut end = 0;
    for run in runs.iter().cloned() {
        if run.start < end
            || run.len() > 5
            || (run.start > 0 && is_word_byte(b[run.start - 1]))
            || !matches!(b.get(run.end), Some(b'/' | b'-'))
        {
            continue;
        }
        if let Some(m) = CODE.find(&text[run.start..]) {
            end = run.start + m.end();
            out.push(run.start..end);
        }
    }
    out
}

/// Clock times (`9:30`, `14h05`): one or two digits at a word boundary, `:` or `h`, two digits, a
/// word boundary.
fn times(text: &str, runs: &[Range<usize>]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut end = 0;
    for run in runs.iter().cloned() {
        if run.start < end || run.len() > 2 || (run.start > 0 && is_word_byte(b[run.start - 1])) {
            continue;
        }
        let m = run.end;
        if matches!(b.get(m), Some(b':' | b'h'))
            && b.get(m + 1).is_some_and(u8::is_ascii_digit)
            && b.get(m + 2).is_some_and(u8::is_ascii_digit)
            && !b.get(m + 3).is_some_and(|&c| is_word_byte(c))
        {
            end = m + 3;
            out.push(run.start..end);
        }
    }
    out
}

/// The features of `text`, with their canonical text.
pub fn explain(text: &str, lang: Option<Lang>) -> Explained {
    let mut out = Explained::default();
    features(text, lang, &mut |c, s, _| out.features.push((c, s.to_string())), &[]);
    out
}

/// Calls `emit` with every feature of `text`, its canonical text (which may repeat) and the byte
/// where it is mentioned; returns the first event day (a day-and-month that is not a reference
/// date) mentioned in the `lead` ranges.
fn features(
    text: &str,
    lang: Option<Lang>,
    emit: &mut dyn FnMut(Class, &str, usize),
    lead: &[Range<usize>],
) -> Option<(u8, u8)> {
    // Native digits (Arabic-Indic, Khmer, full-width...) read as the ASCII ones they stand for.
    let rewritten = numbers::ascii_digits(text, lead);
    let (text, lead) = match &rewritten {
        Some((t, l)) => (t.as_str(), l.as_slice()),
        None => (text, lead),
    };
    let mut masked: Vec<Range<usize>> = Vec::new();
    let mut event = None;
    let mut buf = String::with_capacity(16);

    // One scan for digit runs serves dates, codes, times and numbers.
    let runs: Vec<Range<usize>> = digit_runs(text).collect();
    let dates = find_dates_in(text, &runs);
    // Codes that overlap no date: a date's digits are never a code's.
    let code_spans: Vec<Range<usize>> = codes(text, &runs)
        .into_iter()
        .filter(|r| !dates.iter().any(|d| r.start < d.span.end && d.span.start < r.end))
        .filter(|r| text[r.clone()].chars().any(char::is_uppercase))
        .collect();
    for d in dates {
        let at = d.span.start;
        let reference = is_reference(text, &d.span, &code_spans);
        if event.is_none()
            && !reference
            && lead.iter().any(|r| r.contains(&at))
            && let Some(day) = d.day
        {
            event = Some((d.month as u8, day as u8));
        }
        // Canonical forms written into one reused buffer: `yyyy-mm-dd`, `mm-dd`, `yyyy-mm` (dates
        // are validated: years 1900–2100, months 1–12, days 1–31).
        let mut put = |class: Class, year: Option<i32>, day: Option<u32>| {
            buf.clear();
            if let Some(y) = year {
                push_digits(&mut buf, y.unsigned_abs(), 4);
                buf.push('-');
            }
            push_digits(&mut buf, d.month, 2);
            if let Some(day) = day {
                buf.push('-');
                push_digits(&mut buf, day, 2);
            }
            emit(class, &buf, at);
        };
        match (d.year, d.day) {
            _ if reference => put(Class::DateRef, d.year, d.day),
            (Some(y), Some(day)) => {
                put(Class::DateFull, Some(y), Some(day));
                put(Class::DateDayMonth, None, Some(day));
                put(Class::DateMonthYear, Some(y), None);
            }
            (None, Some(day)) => put(Class::DateDayMonth, None, Some(day)),
            (Some(y), None) => put(Class::DateMonthYear, Some(y), None),
            (None, None) => {}
        }
        masked.push(d.span);
    }
    for r in code_spans {
        emit(Class::Code, &fold(&text[r.clone()]).replace('–', "-"), r.start);
        masked.push(r);
    }
    masked.extend(times(text, &runs));
    numbers::read(text, &runs, lang, &masked, emit, &mut buf);
    names(text, emit);
    event
}

/// Appends `n` in decimal, zero-padded to `width` digits (`format!("{n:0width$}")` for the small
/// numbers of dates, without the formatting machinery).
fn push_digits(buf: &mut String, n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut k = digits.len();
    let mut n = n;
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    k = k.min(digits.len() - width);
    buf.extend(digits[k..].iter().map(|&b| b as char));
}

/// Whether `text` has the feature: for the tests of this module and `numbers`.
#[cfg(test)]
pub(super) fn has(text: &str, lang: Option<Lang>, class: Class, canonical: &str) -> bool {
    explain(text, lang)
        .features
        .iter()
        .any(|(c, s)| *c == class && s == canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_agree_across_locales() {
        let cases: &[(&str, Option<Lang>, Class, &str)] = &[
            ("hơn 62.000 người", Some(Lang::Vi), Class::NumLarge, "62000"),
            ("plus de 62 000 participants", Some(Lang::Fr), Class::NumLarge, "62000"),
            (
                "plus de 62\u{202F}000 participants",
                Some(Lang::Fr),
                Class::NumLarge,
                "62000",
            ),
            ("more than 62,000 people", Some(Lang::En), Class::NumLarge, "62000"),
            ("hơn 6,4kg cần sa", Some(Lang::Vi), Class::NumDecimal, "6.4"),
            ("plus de 6,4 kg de marijuana", Some(Lang::Fr), Class::NumDecimal, "6.4"),
            ("over 6.4 kg of marijuana", Some(Lang::En), Class::NumDecimal, "6.4"),
            (
                "thu giữ 445 triệu VN đồng",
                Some(Lang::Vi),
                Class::NumLarge,
                "445000000",
            ),
            (
                "confisquant 445 millions de VND",
                Some(Lang::Fr),
                Class::NumLarge,
                "445000000",
            ),
            ("seizing 445 million VND", Some(Lang::En), Class::NumLarge, "445000000"),
            ("gần 1.600 tin", Some(Lang::Vi), Class::NumMid, "1600"),
            ("près de 1 600 éléments", Some(Lang::Fr), Class::NumMid, "1600"),
            ("un taux de 94,72 %", Some(Lang::Fr), Class::NumDecimal, "94.72"),
            ("2 028 groupes", Some(Lang::Fr), Class::NumMid, "2028"),
        ];
        for (text, lang, class, want) in cases {
            assert!(has(text, *lang, *class, want), "{text}: {:?}", explain(text, *lang));
        }
    }

    #[test]
    fn separate_numbers_stay_separate() {
        let f = explain("période 2013 - 2023 ; 14 cas et 14 suspects, 611 62", Some(Lang::Fr));
        let nums: Vec<&str> = f.features.iter().map(|(_, s)| s.as_str()).collect();
        assert!(
            nums.contains(&"2013") && nums.contains(&"2023") && nums.contains(&"611"),
            "{nums:?}"
        );
        assert!(!nums.iter().any(|s| s.contains("61162")), "{nums:?}");
    }

    #[test]
    fn dates_and_codes_survive_translation() {
        let vi = fingerprint("Chiều nay 19/1/2024, Nghị định 03/2019/NĐ-CP", Some(Lang::Vi));
        let fr = fingerprint("le 19 janvier 2024, le décret 03/2019/ND-CP", Some(Lang::Fr));
        let shared = vi.iter().filter(|k| fr.contains(k)).count();
        assert!(shared >= 3, "vi={vi:?} fr={fr:?}");
        assert!(has("décret 03/2019/ND-CP", None, Class::Code, "03/2019/nd-cp"));
        // The date's parts are not also counted as loose numbers.
        assert!(!has("le 19 janvier 2024", Some(Lang::Fr), Class::NumYear, "2024"));
    }

    #[test]
    fn east_asian_and_arabic_dates_read_as_day_and_month() {
        for (text, class, canonical) in [
            ("2月3日午前、省党委員会は式典を開催した", Class::DateDayMonth, "02-03"),
            ("2025年2月3日、式典", Class::DateFull, "2025-02-03"),
            ("6月20日下午,工贸厅表示", Class::DateDayMonth, "06-20"),
            ("2025년 2월 3일 오전", Class::DateFull, "2025-02-03"),
            ("في 8 نوفمبر، أعلنت إدارة الصناعة", Class::DateDayMonth, "11-08"),
            ("بعد ظهر يوم 27 ديسمبر 2024", Class::DateFull, "2024-12-27"),
            ("29 июня 2025 года", Class::DateFull, "2025-06-29"),
            ("วันที่ 12 เมษายน 2568", Class::DateFull, "2025-04-12"),
            ("ថ្ងៃទី 26 ខែកុម្ភៈ ឆ្នាំ ២០២៤", Class::DateFull, "2024-02-26"),
            ("ວັນທີ 31 ສິງຫາ", Class::DateDayMonth, "08-31"),
            ("9 सितंबर 2023 को", Class::DateFull, "2023-09-09"),
            ("২৬ ফেব্রুয়ারি ২০২৪", Class::DateFull, "2024-02-26"),
            // Exports are not a cue, nor a code in an earlier sentence.
            ("الصادرات في 8 نوفمبر", Class::DateDayMonth, "11-08"),
            ("第18-NQ/TW号决议。10月3日上午", Class::DateDayMonth, "10-03"),
            ("2月3日、省は第18-NQ/TW号", Class::DateDayMonth, "02-03"),
            // An anniversary's dates, and a resolution's date written before its code.
            (
                "共産党創立95周年(1930年2月3日～2025年2月3日)記念式典",
                Class::DateRef,
                "1930-02-03",
            ),
            ("2017年10月25日付決議第18-NQ/TW号", Class::DateRef, "2017-10-25"),
        ] {
            assert!(
                has(text, None, class, canonical),
                "{canonical} in {text:?}: {:?}",
                explain(text, None)
            );
        }
        // A month's name inside another word is no month.
        assert!(
            explain("نتائج متفاوت 2024", None)
                .features
                .iter()
                .all(|(c, _)| *c != Class::DateMonthYear)
        );
        // No date inside a longer number, nor a month's name starting a longer word.
        for text in ["编号32024年6月", "১০ মেগাওয়াট"] {
            let f = explain(text, None).features;
            assert!(
                f.iter()
                    .all(|(c, _)| !matches!(c, Class::DateMonthYear | Class::DateDayMonth)),
                "{f:?}"
            );
        }
        // A number after the month that is no year leaves the day and stays a number.
        assert!(has("5 мая 2500 тонн", None, Class::DateDayMonth, "05-05"));
        assert!(has("5 мая 2500 тонн", None, Class::NumMid, "2500"));
        // The Arabic "issued" before a cited date makes it a reference; exports do not.
        assert!(has(
            "القرار 18-NQ/TW الصادر في 25 أكتوبر 2017",
            None,
            Class::DateRef,
            "2017-10-25"
        ));
        let lead = "2月3日午前、トゥエンクアン省党委員会は式典を開催した。";
        let whole = std::iter::once(0..lead.len()).collect::<Vec<_>>();
        let fp = fingerprint_and_event(lead, None, &whole);
        assert_eq!(fp.event_day, Some((2, 3)));
    }

    #[test]
    fn names_fold_diacritics() {
        assert!(has(
            "Phó Bí thư Lê Văn Dũng dự",
            Some(Lang::Vi),
            Class::Name,
            "van dung"
        ));
        assert!(has(
            "le secrétaire, Le Van Dung, a assisté",
            Some(Lang::Fr),
            Class::Name,
            "van dung"
        ));
        assert!(has("tỉnh Quảng Nam tổ chức", Some(Lang::Vi), Class::Name, "quang nam"));
        assert!(!has("UBND Quảng", Some(Lang::Vi), Class::Name, "ubnd quang"));
    }

    /// The scanners against the regexes they replaced (leftmost-first, non-overlapping, over the
    /// whole text), on every text of the seeds, the fold dev set and the scrape fixtures, and on
    /// edge cases.
    #[test]
    fn scanners_match_the_patterns_they_replace() {
        let code = Regex::new(
            r"(?-u:\b)\d{1,5}(?:/\d{4})?/[\p{Lu}Đ][\p{L}\d]*(?:[-–][\p{L}\d]+)*(?:/[\p{L}\d]+)?|(?-u:\b)\d{1,5}-[\p{Lu}Đ]{2,}/[\p{Lu}Đ]{2,}(?-u:\b)",
        )
        .unwrap();
        let time = Regex::new(r"(?-u:\b)\d{1,2}[:h]\d{2}(?-u:\b)").unwrap();
        let number = Regex::new(r"\d+(?:[.,\u{00A0}\u{202F} ]\d+)*").unwrap();
        let ranges = |re: &Regex, t: &str| re.find_iter(t).map(|m| m.range()).collect::<Vec<_>>();
        let mut texts: Vec<String> = [
            "1:23:45 et 9h30h45, a1:30, 12:345",
            "123456/2019/ND-CP, 03/2019/NĐ-CP, 15-KH/TU, 15-KH/TUx, 7/QĐ-UBND, 12/ 3, 2024/",
            "62 000 ; 62\u{202F}000 ; 62\u{00A0}000 ; 6,4kg ; 1.600.000 đồng ; 3. ; 4,",
            "x5 H5N1 F0 _12 é12 12é 1 2 3 4",
            "",
            "9",
            "03/2019/ND-CP–x 05/2020/TT-BCA/abc",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        texts.extend(crate::dates::tests::fixture_texts());
        assert!(texts.len() > 40, "{}", texts.len());
        for t in &texts {
            let runs: Vec<Range<usize>> = digit_runs(t).collect();
            assert_eq!(codes(t, &runs), ranges(&code, t), "codes in {t:?}");
            assert_eq!(times(t, &runs), ranges(&time, t), "times in {t:?}");
            assert_eq!(numbers::numbers(t, &runs), ranges(&number, t), "numbers in {t:?}");
        }
    }

    fn event(text: &str, lang: Lang) -> Option<(u8, u8)> {
        let lead = std::iter::once(0..text.len()).collect::<Vec<_>>();
        fingerprint_and_event(text, Some(lang), &lead).event_day
    }

    #[test]
    fn reference_dates_are_not_the_event_day() {
        type Case<'a> = (&'a str, Lang, Option<(u8, u8)>);
        let cases: &[Case<'_>] = &[
            (
                "Triển khai Nghị định 03/2019/NĐ-CP ngày 5/9/2019 của Chính phủ, chiều 15/10 Công an tỉnh họp",
                Lang::Vi,
                Some((10, 15)),
            ),
            (
                "Five years of implementing Decree 03/2019/ND-CP dated September 5, 2019: on the afternoon of October 15 the police met",
                Lang::En,
                Some((10, 15)),
            ),
            (
                "le décret 03/2019/ND-CP du 5 septembre 2019 ; le 15 janvier, la réunion",
                Lang::Fr,
                Some((1, 15)),
            ),
            (
                "Decree No. 03/2019/ND-CP, dated 5 September 2019, was reviewed on January 15",
                Lang::En,
                Some((1, 15)),
            ),
            (
                "Kỷ niệm 95 năm Ngày thành lập Đảng (3/2/1930 - 3/2/2025), sáng 1/2 tỉnh tổ chức",
                Lang::Vi,
                Some((2, 1)),
            ),
            (
                "On the afternoon of October 15, the committee met",
                Lang::En,
                Some((10, 15)),
            ),
            (
                "Am Nachmittag des 20. Juni tagte der Ausschuss",
                Lang::De,
                Some((6, 20)),
            ),
        ];
        for (text, lang, want) in cases {
            assert_eq!(event(text, *lang), *want, "{text}");
        }
        // The decree's date is still a feature, of the reference class.
        assert!(has(
            "Nghị định 03/2019/NĐ-CP ngày 5/9/2019",
            Some(Lang::Vi),
            Class::DateRef,
            "2019-09-05"
        ));
        assert!(!has(
            "Nghị định 03/2019/NĐ-CP ngày 5/9/2019",
            Some(Lang::Vi),
            Class::DateDayMonth,
            "09-05"
        ));
    }

    #[test]
    fn numbers_of_other_locales_read_the_same() {
        for (text, lang) in [
            ("mehr als 62.000 Menschen und 6,4 kg", Lang::De),
            ("más de 62.000 personas y 6,4 kg", Lang::Es),
            ("lebih 62,000 orang dan 6.4 kg", Lang::Ms),
        ] {
            assert!(has(text, Some(lang), Class::NumLarge, "62000"), "{text}");
            assert!(has(text, Some(lang), Class::NumDecimal, "6.4"), "{text}");
        }
        assert!(has("180 Millionen VND", Some(Lang::De), Class::NumLarge, "180000000"));
    }

    #[test]
    fn ranks_follow_the_text() {
        let fp = fingerprint_and_event(
            "Le 15 janvier, 611 personnes et 62 000 participants",
            Some(Lang::Fr),
            &[],
        );
        let rank_of = |class: Class, s: &str| {
            let k = key(class, s);
            fp.features.iter().position(|f| *f == k).map(|i| fp.order[i])
        };
        let (day, small, large) = (
            rank_of(Class::DateDayMonth, "01-15"),
            rank_of(Class::NumMid, "611"),
            rank_of(Class::NumLarge, "62000"),
        );
        assert!(day < small && small < large, "{day:?} {small:?} {large:?}");
    }

    #[test]
    fn digits_are_padded_like_format() {
        for (n, w) in [
            (0, 2),
            (7, 2),
            (12, 2),
            (31, 2),
            (1900, 4),
            (2024, 4),
            (5, 4),
            (123_456, 2),
        ] {
            let mut b = String::new();
            push_digits(&mut b, n, w);
            assert_eq!(b, format!("{n:0w$}"));
        }
    }

    #[test]
    fn class_round_trips_through_the_key() {
        for c in Class::ALL {
            assert_eq!(Class::of(key(c, "x")), c);
        }
    }
}
