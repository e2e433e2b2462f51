//! Dates as Vietnamese, French and English news write them: "19/1/2024", "19 janvier 2024",
//! "ngày 19 tháng 1 năm 2024", "November 29, 2024", and stamps such as "19:49, 06/06/2023".
//!
//! Pure text functions shared by the scraper (a page's `published_at`) and the fold fingerprint
//! (dates are among the few things a translation keeps). Weekday names are accepted and ignored.
//! A date without a zone is Vietnamese local time (UTC+7), the zone of every site newsfold targets.

use std::ops::Range;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use regex::Regex;

/// Vietnam's offset; used when a page states no zone.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("+07:00 is a valid offset")
}

/// A date mentioned in running text. Day or year may be missing ("29 novembre", "janvier 2024").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateMention {
    pub year: Option<i32>,
    pub month: u32,
    pub day: Option<u32>,
    /// Byte range in the scanned text.
    pub span: Range<usize>,
}

impl DateMention {
    pub fn to_date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year?, self.month, self.day?)
    }
}

/// Month names written after the day ("19 janvier", "20. Juni", "26 de abril", "21 november",
/// "15 Ogos"): French, German, Spanish, Portuguese, Italian, Dutch, Malay and Indonesian, the
/// day-first languages vietnam.vn publishes in Latin script. Accented names also appear
/// unaccented.
const FR_MONTHS: &str = "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|januar|jänner|februar|märz|april|juni|juli|august|september|oktober|november|dezember|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|januari|februari|maart|mei|augustus|december|mac|maret|julai|ogos|agustus|disember|desember";
/// Month names of scripts read day first with no other date form: Arabic, Russian (genitive),
/// Thai, Lao, Khmer, Hindi, Bengali, Persian and Urdu.
const OTHER_MONTHS: &str = "يناير|فبراير|مارس|أبريل|إبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|نوفمبر|ديسمبر|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|มกราคม|กุมภาพันธ์|มีนาคม|เมษายน|พฤษภาคม|มิถุนายน|กรกฎาคม|สิงหาคม|กันยายน|ตุลาคม|พฤศจิกายน|ธันวาคม|ມັງກອນ|ກຸມພາ|ມີນາ|ເມສາ|ພຶດສະພາ|ມິຖຸນາ|ກໍລະກົດ|ສິງຫາ|ກັນຍາ|ຕຸລາ|ພະຈິກ|ທັນວາ|មករា|កុម្ភៈ|មីនា|មេសា|ឧសភា|មិថុនា|កក្កដា|សីហា|កញ្ញា|តុលា|វិច្ឆិកា|ធ្នូ|जनवरी|জানুয়ারি|জানুয়ারী|ژانویه|جنوری|फरवरी|फ़रवरी|फ़रवरी|ফেব্রুয়ারি|ফেব্রুয়ারী|فوریه|فروری|मार्च|মার্চ|مارچ|अप्रैल|এপ্রিল|آوریل|اپریل|मई|মে|مئی|जून|জুন|ژوئن|جون|जुलाई|জুলাই|ژوئیه|جولائی|अगस्त|আগস্ট|اوت|اگست|सितंबर|सितम्बर|সেপ্টেম্বর|سپتامبر|ستمبر|अक्टूबर|অক্টোবর|اکتبر|اکتوبر|नवंबर|नवम्बर|নভেম্বর|نوامبر|نومبر|दिसंबर|दिसम्बर|ডিসেম্বর|دسامبر|دسمبر";
const EN_MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

/// The month a month name (or its abbreviation) names, in the languages the dates are read in.
pub fn month_number(name: &str) -> Option<u32> {
    let n = name.to_lowercase();
    let n = n.trim_end_matches('.');
    let m = match n {
        "janvier" | "january" | "jan" | "januar" | "jänner" | "enero" | "janeiro" | "gennaio" | "januari" => 1,
        "février" | "fevrier" | "february" | "feb" | "februar" | "febrero" | "fevereiro" | "febbraio" | "februari" => {
            2
        }
        "mars" | "march" | "mar" | "märz" | "marzo" | "março" | "maart" | "mac" | "maret" => 3,
        "avril" | "april" | "apr" | "abril" | "aprile" => 4,
        "mai" | "may" | "mayo" | "maio" | "maggio" | "mei" => 5,
        "juin" | "june" | "jun" | "juni" | "junio" | "junho" | "giugno" => 6,
        "juillet" | "july" | "jul" | "juli" | "julio" | "julho" | "luglio" | "julai" => 7,
        "août" | "aout" | "august" | "aug" | "agosto" | "augustus" | "ogos" | "agustus" => 8,
        "septembre" | "september" | "sept" | "sep" | "septiembre" | "setiembre" | "setembro" | "settembre" => 9,
        "octobre" | "october" | "oct" | "oktober" | "octubre" | "outubro" | "ottobre" => 10,
        "novembre" | "november" | "nov" | "noviembre" | "novembro" => 11,
        "décembre" | "decembre" | "december" | "dec" | "dezember" | "diciembre" | "dezembro" | "dicembre"
        | "disember" | "desember" => 12,
        // Arabic, as machine translations write the months.
        "يناير" | "января" | "มกราคม" | "ມັງກອນ" | "មករា" => 1,
        "فبراير" | "февраля" | "กุมภาพันธ์" | "ກຸມພາ" | "កុម្ភៈ" => {
            2
        }
        "مارس" | "марта" | "มีนาคม" | "ມີນາ" | "មីនា" => 3,
        "أبريل" | "إبريل" | "ابريل" | "апреля" | "เมษายน" | "ເມສາ" | "មេសា" => {
            4
        }
        "مايو" | "мая" | "พฤษภาคม" | "ພຶດສະພາ" | "ឧសភា" => 5,
        "يونيو" | "июня" | "มิถุนายน" | "ມິຖຸນາ" | "មិថុនា" => 6,
        "يوليو" | "июля" | "กรกฎาคม" | "ກໍລະກົດ" | "កក្កដា" => 7,
        "أغسطس" | "اغسطس" | "августа" | "สิงหาคม" | "ສິງຫາ" | "សីហា" => {
            8
        }
        "سبتمبر" | "сентября" | "กันยายน" | "ກັນຍາ" | "កញ្ញា" => 9,
        "أكتوبر" | "اكتوبر" | "октября" | "ตุลาคม" | "ຕຸລາ" | "តុលា" => {
            10
        }
        "نوفمبر" | "ноября" | "พฤศจิกายน" | "ພະຈິກ" | "វិច្ឆិកា" => {
            11
        }
        "ديسمبر" | "декабря" | "ธันวาคม" | "ທັນວາ" | "ធ្នូ" => 12,
        // Hindi, Bengali, Persian and Urdu, the other scripts vietnam.vn publishes in.
        "जनवरी" | "জানুয়ারি" | "জানুয়ারী" | "ژانویه" | "جنوری" => {
            1
        }
        "फरवरी" | "फ़रवरी" | "फ़रवरी" | "ফেব্রুয়ারি" | "ফেব্রুয়ারী" | "فوریه" | "فروری" => {
            2
        }
        "मार्च" | "মার্চ" | "مارچ" => 3,
        "अप्रैल" | "এপ্রিল" | "آوریل" | "اپریل" => 4,
        "मई" | "মে" | "مئی" => 5,
        "जून" | "জুন" | "ژوئن" | "جون" => 6,
        "जुलाई" | "জুলাই" | "ژوئیه" | "جولائی" => 7,
        "अगस्त" | "আগস্ট" | "اوت" | "اگست" => 8,
        "सितंबर" | "सितम्बर" | "সেপ্টেম্বর" | "سپتامبر" | "ستمبر" => {
            9
        }
        "अक्टूबर" | "অক্টোবর" | "اکتبر" | "اکتوبر" => 10,
        "नवंबर" | "नवम्बर" | "নভেম্বর" | "نوامبر" | "نومبر" => 11,
        "दिसंबर" | "दिसम्बर" | "ডিসেম্বর" | "دسامبر" | "دسمبر" => {
            12
        }
        _ => return None,
    };
    Some(m)
}

struct Patterns {
    /// Capture-free month-name detectors, French (and the other Latin-script languages) then
    /// English: the month patterns run only on the lines these match, one scan for both.
    months: regex::RegexSet,
    iso: Regex,
    numeric: Regex,
    vi_full: Regex,
    vi_month_year: Regex,
    fr: Regex,
    en_mdy: Regex,
    en_dmy: Regex,
    en_month_year: Regex,
    /// "2025年2月3日", "2月3日", "2025년 2월 3일": Chinese, Japanese and Korean dates.
    cjk: Regex,
    /// "8 نوفمبر 2024", "29 июня 2025 года", "3 กุมภาพันธ์ พ.ศ. 2568", "ថ្ងៃទី 3 ខែកុម្ភៈ": day first.
    other: Regex,
    ranges: Vec<Regex>,
    stamp_time_first: Regex,
    stamp_date_first: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let weekday = r"(?:(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|bẩy|[2-7])|chủ\s+nhật|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\s*,?\s*)?";
    let zone = r"(?:\s*\(?\s*(?:GMT|UTC)\s*\+\s*7\s*\)?)?";
    let label = r"(?:(?:cập\s+nhật|đăng\s+lúc|đăng\s+ngày|ngày\s+đăng|đăng|published(?:\s+on)?|updated(?:\s+on)?|posted(?:\s+on)?)\s*:?\s*)?";
    let re = |s: &str| Regex::new(s).expect("date pattern compiles");
    Patterns {
        // Every French and English pattern below holds its month name as a whole ASCII word, so
        // a text without one cannot match them.
        months: regex::RegexSet::new([
            format!(r"(?i)(?-u:\b)(?:{FR_MONTHS})(?-u:\b)"),
            format!(r"(?i)(?-u:\b)(?:{EN_MONTHS})(?-u:\b)"),
        ])
        .expect("month detectors compile"),
        // Anchored: tried only where a digit run starts at a word boundary (`at_digit_runs`).
        iso: re(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?-u:\b)"),
        numeric: re(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?-u:\b)(/\d)?"),
        // "ngày 19 tháng 1 năm 2024", "ngày 19/1/2024", and the hyphenated "ngày 20-11".
        // A part of the day may stand for "ngày", as papers write it with a hyphen: "sáng 9-11".
        vi_full: re(
            r"(?i)(?:(?-u:\b)(?:ngày|(?:rạng\s+)?sáng(?:\s+sớm)?|trưa|chiều|tối|khuya)|đêm)\s+(\d{1,2})\s*(?:tháng\s*|/|-)(\d{1,2})(?:\s*(?:năm\s*|/|-)(\d{4}))?(?-u:\b)",
        ),
        vi_month_year: re(r"(?i)(?-u:\b)tháng\s+(\d{1,2})(?:\s*/\s*|\s+năm\s+)(\d{4})(?-u:\b)"),
        fr: re(&format!(
            r"(?i)(?:(?-u:\b)(\d{{1,2}})(?:er|º|\.)?\s+(?:de\s+)?)?(?-u:\b)({FR_MONTHS})(?-u:\b)(?:\s+(?:de\s+)?(\d{{4}})(?-u:\b))?"
        )),
        en_mdy: re(&format!(
            r"(?i)(?-u:\b)({EN_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s+(\d{{4}})(?-u:\b))?"
        )),
        en_dmy: re(&format!(
            r"(?i)(?-u:\b)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({EN_MONTHS})(?-u:\b)\.?(?:,?\s+(\d{{4}})(?-u:\b))?"
        )),
        en_month_year: re(&format!(r"(?i)(?-u:\b)({EN_MONTHS})\.?,?\s+(\d{{4}})(?-u:\b)")),
        cjk: re(r"(?:(\d{4})\s*[年년]\s*)?(\d{1,2})\s*[月월](?:\s*(\d{1,2})\s*[日일])?"),
        other: re(&format!(
            r"(?:(\d{{1,2}})\s*(?:ខែ|ເດືອນ)?\s*)?({OTHER_MONTHS})(?:\s*(?:พ\.ศ\.|ឆ្នាំ|ປີ)?\s*(\d{{4}}))?"
        )),
        // Ranges ("26 - 30/10/2024", "du 26 au 30 octobre", "del 13 al 15 de noviembre",
        // "October 26 to 30"): both days.
        ranges: vec![
            re(r"(?-u:\b)(\d{1,2})\s*[-–]\s*(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?-u:\b)"),
            re(&format!(
                r"(?i)(?-u:\b)(\d{{1,2}})(?:er|\.)?\s*(?:au|-|–|et|al|bis|tot|a|e|hingga|sampai)\s*(\d{{1,2}})\.?\s+(?:de\s+)?({FR_MONTHS})(?-u:\b)(?:\s+(?:de\s+)?(\d{{4}})(?-u:\b))?"
            )),
            re(&format!(
                r"(?i)(?-u:\b)({EN_MONTHS})\.?\s+(\d{{1,2}})\s*(?:to|-|–|and)\s*(\d{{1,2}})(?-u:\b)(?:,?\s+(\d{{4}})(?-u:\b))?"
            )),
        ],
        stamp_time_first: re(&format!(
            r"(?i)^{weekday}(\d{{1,2}})[:h](\d{{2}})(?:\s*(am|pm|sa|ch)(?-u:\b))?(?:\s*(?:[,|-]\s*)?(?:ngày\s+)?)(\d{{1,2}})/(\d{{1,2}})/(\d{{4}}){zone}\s*$"
        )),
        // A label may lead ("Cập nhật", "Đăng lúc", "Published on", after a "|" separator, itself
        // after the section's name: "Đời sống | Cập nhật ..."); the year may have two digits
        // ("24/12/12"); the time may end with a part of the day ("11:05 tối": evening).
        stamp_date_first: re(&format!(
            r"(?i)^(?:[\p{{L}}\s]{{1,30}}\|)?[|•·\s]*{label}{weekday}(?:ngày\s+)?(\d{{1,2}})/(\d{{1,2}})/(\d{{4}}|\d{{2}})(?:\s*(?:[,|-]\s*)?(\d{{1,2}})[:h](\d{{2}})(?::(\d{{2}}))?(?:\s*(am|pm|sa|ch|sáng|trưa|chiều|tối|đêm)(?-u:\b))?)?{zone}\s*$"
        )),
    }
});

fn num(s: Option<regex::Match<'_>>) -> Option<u32> {
    s.and_then(|m| m.as_str().parse().ok())
}

fn valid(year: Option<i32>, month: u32, day: Option<u32>) -> bool {
    if !(1..=12).contains(&month) {
        return false;
    }
    if let Some(y) = year
        && !(1900..=2100).contains(&y)
    {
        return false;
    }
    match (year, day) {
        (Some(y), Some(d)) => NaiveDate::from_ymd_opt(y, month, d).is_some(),
        (None, Some(d)) => (1..=31).contains(&d),
        _ => true,
    }
}

pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A capture of a pattern run on one line, placed in the whole text.
#[derive(Clone, Copy)]
struct Found<'t> {
    start: usize,
    text: &'t str,
}

impl Found<'_> {
    fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// A line's captures, with the line's offset in the text.
struct Caps<'t> {
    caps: regex::Captures<'t>,
    at: usize,
}

impl<'t> Caps<'t> {
    fn get(&self, i: usize) -> Option<Found<'t>> {
        self.caps.get(i).map(|m| Found {
            start: self.at + m.start(),
            text: m.as_str(),
        })
    }

    fn range(&self, i: usize) -> Range<usize> {
        self.get(i).map_or(0..0, |m| m.start..m.end())
    }
}

/// `re`'s captures in `line`, which starts at `at` in the text; none unless `cue`.
fn line_captures<'t>(re: &'static Regex, line: &'t str, at: usize, cue: bool) -> impl Iterator<Item = Caps<'t>> {
    cue.then(|| re.captures_iter(line))
        .into_iter()
        .flatten()
        .map(move |caps| Caps { caps, at })
}

/// Start and end of every run of ASCII digits, in order.
pub(crate) fn digit_runs(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        Some(start..i)
    })
}

/// What `(?-u:\b)` followed by `anchored` (minus its `^`) finds scanning all of `text`, leftmost
/// first and without overlaps, for a pattern that starts with a digit: such a match can only
/// start a digit run at a word boundary, so the pattern is tried there alone, and only where
/// `fits(run length, the byte after the run)`. Returns each match's captures, placed in `text`.
fn at_digit_runs<'t>(
    text: &'t str,
    runs: &[Range<usize>],
    anchored: &Regex,
    fits: impl Fn(usize, Option<u8>) -> bool,
) -> Vec<Caps<'t>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut end = 0;
    for run in runs.iter().cloned() {
        if run.start < end
            || (run.start > 0 && is_word_byte(b[run.start - 1]))
            || !fits(run.len(), b.get(run.end).copied())
        {
            continue;
        }
        if let Some(caps) = anchored.captures(&text[run.start..]) {
            end = run.start + caps.get(0).map_or(0, |m| m.end());
            out.push(Caps { caps, at: run.start });
        }
    }
    out
}

/// Every date mentioned in `text`, in text order, without overlaps (the longer mention wins).
pub fn find_dates(text: &str) -> Vec<DateMention> {
    let runs: Vec<Range<usize>> = digit_runs(text).collect();
    find_dates_in(text, &runs)
}

/// `find_dates`, given the text's digit runs (`digit_runs`), which the caller may share.
pub(crate) fn find_dates_in(text: &str, runs: &[Range<usize>]) -> Vec<DateMention> {
    let p = &*PATTERNS;
    let mut found: Vec<DateMention> = Vec::new();
    let mut push = |year: Option<i32>, month: Option<u32>, day: Option<u32>, span: Range<usize>| {
        let Some(month) = month else { return };
        if day.is_none() && year.is_none() {
            return;
        }
        if valid(year, month, day) {
            found.push(DateMention { year, month, day, span });
        }
    };
    let n = |m: Option<Found<'_>>| m.and_then(|m| m.text.parse::<u32>().ok());
    for c in at_digit_runs(text, runs, &p.iso, |len, next| len == 4 && next == Some(b'-')) {
        push(n(c.get(1)).map(|y| y as i32), n(c.get(2)), n(c.get(3)), c.range(0));
    }
    for c in at_digit_runs(text, runs, &p.numeric, |len, next| len <= 2 && next == Some(b'/')) {
        // "3/12/5…": a fraction or a code, not a date.
        if c.get(4).is_none() {
            push(n(c.get(3)).map(|y| y as i32), n(c.get(2)), n(c.get(1)), c.range(0));
        }
    }
    // Each pattern below runs only where its cue is: a month name of its languages, a day word,
    // a script. A text naming months of the French or English patterns (the costly ones) is read
    // line by line, those patterns running on the lines that hold such a name and a digit, since
    // a mention without a day or a year is dropped; any other is scanned whole, once a pattern.
    let lower_vi = [
        "gày", "GÀY", "áng", "ÁNG", "rưa", "RƯA", "iều", "IỀU", "ối", "ỐI", "huya", "HUYA", "êm", "ÊM",
    ];
    let vi = lower_vi.iter().any(|w| text.contains(w));
    let thang = text.contains("tháng") || text.contains("Tháng") || text.contains("THÁNG");
    let mut range_starts: Vec<DateMention> = Vec::new();
    let months = p.months.matches(text);
    let by_line = months.matched(0) || months.matched(1);
    let segments: Vec<(usize, &str)> = if by_line {
        text.split('\n')
            .scan(0, |off, line| {
                let at = *off;
                *off += line.len() + 1;
                Some((at, line))
            })
            .filter(|(_, line)| line.bytes().any(|b| b.is_ascii_digit()))
            .collect()
    } else {
        vec![(0, text)]
    };
    for (at, line) in segments {
        let run = |re: &'static Regex, cue: bool| line_captures(re, line, at, cue);
        // Every form names a day or a part of one: "ngày", "sáng", "trưa", "chiều", "tối",
        // "khuya", "đêm" (their lower-case endings, which capitals do not change).
        for c in run(&p.vi_full, vi) {
            push(n(c.get(3)).map(|y| y as i32), n(c.get(2)), n(c.get(1)), c.range(0));
        }
        for c in run(&p.vi_month_year, thang) {
            push(n(c.get(2)).map(|y| y as i32), n(c.get(1)), None, c.range(0));
        }
        let (fr, en) = if by_line {
            let months = p.months.matches(line);
            (months.matched(0), months.matched(1))
        } else {
            (false, false)
        };
        for c in run(&p.fr, fr) {
            let month = c.get(2).and_then(|m| month_number(m.text));
            push(n(c.get(3)).map(|y| y as i32), month, n(c.get(1)), c.range(0));
        }
        for c in run(&p.en_mdy, en) {
            let month = c.get(1).and_then(|m| month_number(m.text));
            push(n(c.get(3)).map(|y| y as i32), month, n(c.get(2)), c.range(0));
        }
        for c in run(&p.en_dmy, en) {
            let month = c.get(2).and_then(|m| month_number(m.text));
            push(n(c.get(3)).map(|y| y as i32), month, n(c.get(1)), c.range(0));
        }
        for c in run(&p.en_month_year, en) {
            let month = c.get(1).and_then(|m| month_number(m.text));
            push(n(c.get(2)).map(|y| y as i32), month, None, c.range(0));
        }
        for c in run(&p.cjk, line.contains('月') || line.contains('월')) {
            // The day or year is not the tail of a longer number ("110月").
            let m0 = c.range(0);
            if m0.start > 0 && is_word_byte(text.as_bytes()[m0.start - 1]) {
                continue;
            }
            push(n(c.get(1)).map(|y| y as i32), n(c.get(2)), n(c.get(3)), m0);
        }
        // Arabic and Cyrillic letters start with these bytes, Thai and Lao with 0xE0; Khmer dates
        // name the month (ខែ).
        let other = line.bytes().any(|b| matches!(b, 0xD0 | 0xD1 | 0xD8 | 0xD9 | 0xE0)) || line.contains("ខែ");
        for c in run(&p.other, other) {
            let m0 = c.range(0);
            // "2018 نوفمبر" is no 18 November; a month name without a day starts a word ("اوت" in
            // "متفاوت" is no August).
            if m0.start > 0 && is_word_byte(text.as_bytes()[m0.start - 1]) {
                continue;
            }
            let letter = crate::fold::normalize::is_letter;
            if c.get(1).is_none() && text[..m0.start].chars().next_back().is_some_and(letter) {
                continue;
            }
            let Some(name) = c.get(2) else { continue };
            // Nor does it begin a longer word ("মে" in "মেগাওয়াট" is no May), except in the
            // scripts that write words without spaces.
            let thai = name
                .text
                .starts_with(|ch: char| ('\u{0E00}'..='\u{0E7F}').contains(&ch));
            let spaceless = name.text.starts_with(|ch: char| {
                ('\u{0E00}'..='\u{0EFF}').contains(&ch) || ('\u{1780}'..='\u{17FF}').contains(&ch)
            });
            if !spaceless && text[name.end()..].chars().next().is_some_and(letter) {
                continue;
            }
            let month = month_number(name.text);
            // A year is a whole number ("20250" is none), in the Buddhist era on Thai pages (2568
            // is 2025); a number after the month that is no year leaves the day and month.
            let year = c
                .get(3)
                .filter(|y| !text.as_bytes().get(y.end()).is_some_and(u8::is_ascii_digit))
                .and_then(|y| y.text.parse::<i32>().ok())
                .map(|y| if thai && (2400..=2700).contains(&y) { y - 543 } else { y })
                .filter(|y| (1900..=2100).contains(y));
            let span = if year.is_some() { m0 } else { m0.start..name.end() };
            push(year, month, n(c.get(1)), span);
        }
        for (k, r) in p.ranges.iter().enumerate() {
            let cue = match k {
                1 => fr,
                2 => en,
                _ => line.contains('/'),
            };
            for c in run(r, cue) {
                let (first, last, month) = match k {
                    0 => (n(c.get(1)), n(c.get(2)), n(c.get(3))),
                    1 => (n(c.get(1)), n(c.get(2)), c.get(3).and_then(|m| month_number(m.text))),
                    _ => (n(c.get(2)), n(c.get(3)), c.get(1).and_then(|m| month_number(m.text))),
                };
                let year = n(c.get(4)).map(|y| y as i32);
                let Some(month) = month else { continue };
                if !valid(year, month, first) || !valid(year, month, last) {
                    continue;
                }
                // The last day takes the whole span (so shorter mentions inside it give way); the
                // first day an empty one at the start, so the two never hide each other.
                let m0 = c.range(0);
                range_starts.push(DateMention {
                    year,
                    month,
                    day: first,
                    span: m0.start..m0.start,
                });
                push(year, Some(month), last, m0);
            }
        }
    }
    // Longest first, then keep those that overlap nothing already kept.
    found.sort_by(|a, b| (b.span.len(), a.span.start).cmp(&(a.span.len(), b.span.start)));
    let mut kept: Vec<DateMention> = Vec::new();
    for m in found {
        if kept
            .iter()
            .all(|k| m.span.end <= k.span.start || m.span.start >= k.span.end)
        {
            kept.push(m);
        }
    }
    kept.extend(range_starts);
    kept.sort_by_key(|m| (m.span.start, m.span.len()));
    kept
}

/// A line that is nothing but a date stamp ("19:49, 06/06/2023", "Thứ Năm, 19/01/2024 14:30",
/// "2024-01-19T08:00:00+07:00", "le 29 novembre 2024").
pub fn parse_stamp(line: &str) -> Option<DateTime<FixedOffset>> {
    let line = line.trim();
    // Every stamp form has a year, so at least four digits: most lines fail here, cheaply.
    if line.is_empty() || line.len() > 80 || line.bytes().filter(u8::is_ascii_digit).count() < 4 {
        return None;
    }
    if let Some(dt) = parse_iso(line) {
        return Some(dt);
    }
    let p = &*PATTERNS;
    let at = |y: Option<u32>,
              mo: Option<u32>,
              d: Option<u32>,
              h: Option<u32>,
              mi: Option<u32>,
              s: Option<u32>,
              half: Option<&str>| {
        // A two-digit year is this century's.
        let y = y.map(|y| if y < 100 { y + 2000 } else { y });
        let date = NaiveDate::from_ymd_opt(y? as i32, mo?, d?)?;
        // "03:04 AM", "10:03 CH" (chiều, afternoon), "11:05 tối" (evening): a 12-hour clock.
        let h = h.unwrap_or(0);
        let h = match half.map(str::to_lowercase).as_deref() {
            Some("pm" | "ch" | "chiều" | "tối") if h < 12 => h + 12,
            // Noon: "12:30 trưa", "1:15 trưa".
            Some("trưa") if h < 6 => h + 12,
            // Night: "11:00 đêm" is 23:00, "2:00 đêm" is 02:00.
            Some("đêm") if (6..12).contains(&h) => h + 12,
            Some("am" | "sa" | "sáng") if h == 12 => 0,
            _ => h,
        };
        let time = NaiveTime::from_hms_opt(h, mi.unwrap_or(0), s.unwrap_or(0))?;
        vietnam().from_local_datetime(&date.and_time(time)).single()
    };
    fn text<'t>(m: Option<regex::Match<'t>>) -> Option<&'t str> {
        m.map(|m| m.as_str())
    }
    if let Some(c) = p.stamp_time_first.captures(line) {
        return at(
            num(c.get(6)),
            num(c.get(5)),
            num(c.get(4)),
            num(c.get(1)),
            num(c.get(2)),
            None,
            text(c.get(3)),
        );
    }
    if let Some(c) = p.stamp_date_first.captures(line) {
        return at(
            num(c.get(3)),
            num(c.get(2)),
            num(c.get(1)),
            num(c.get(4)),
            num(c.get(5)),
            num(c.get(6)),
            text(c.get(7)),
        );
    }
    // A line that is one textual date and little else: "le 29 novembre 2024".
    let mentions = find_dates(line);
    if let [m] = mentions.as_slice() {
        let rest: String = format!("{}{}", &line[..m.span.start], &line[m.span.end..]);
        let rest = rest
            .trim()
            .trim_matches(|c: char| c == ',' || c == '-' || c.is_whitespace());
        let filler = rest.is_empty() || rest.eq_ignore_ascii_case("le") || rest.eq_ignore_ascii_case("ngày");
        if filler {
            let date = m.to_date()?;
            return vietnam().from_local_datetime(&date.and_time(NaiveTime::MIN)).single();
        }
    }
    None
}

/// An ISO 8601 date or date-time as pages write it in meta tags and JSON-LD, leniently: RFC 3339,
/// an offset without a colon (`+0700`), no seconds, a space for `T`, no zone (Vietnam time), or a
/// date alone (midnight, Vietnam time).
pub fn parse_iso(value: &str) -> Option<DateTime<FixedOffset>> {
    let v = value.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Some(dt);
    }
    if v.len() < 10 || !v.as_bytes()[..4].iter().all(u8::is_ascii_digit) || v.as_bytes()[4] != b'-' {
        return None;
    }
    let v = v.replacen(' ', "T", 1);
    let v = v.strip_suffix('Z').map_or(v.clone(), |s| format!("{s}+00:00"));
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(&v, f) {
            return Some(dt);
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(&v, f) {
            return vietnam().from_local_datetime(&naive).single();
        }
    }
    NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok().and_then(local_midnight)
}

/// Midnight of `date` in Vietnam.
pub fn local_midnight(date: NaiveDate) -> Option<DateTime<FixedOffset>> {
    vietnam().from_local_datetime(&date.and_time(NaiveTime::MIN)).single()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every text of the seeds, the fold dev set and the scrape fixtures: the corpus the pattern
    /// scanners are checked on against the patterns they replaced.
    pub(crate) fn fixture_texts() -> Vec<String> {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for dir in [
            "seeds",
            "tests/fold-dev/pages",
            "tests/fixtures/scrape",
            "tests/fixtures/web",
        ] {
            for entry in std::fs::read_dir(repo.join(dir)).unwrap() {
                if let Ok(t) = std::fs::read_to_string(entry.unwrap().path()) {
                    texts.push(t);
                }
            }
        }
        texts
    }

    type Ymd = (Option<i32>, u32, Option<u32>);

    fn dates(text: &str) -> Vec<Ymd> {
        find_dates(text).into_iter().map(|m| (m.year, m.month, m.day)).collect()
    }

    #[test]
    fn dates_of_a_text_with_month_names_are_read_line_by_line_in_place() {
        let text = "Hội nghị 15/10/2024 tại tỉnh.\n\nSans date ici.\n\nLe conseil du 3 au 5 janvier 2025 a voté; \
                    on March 7, 2025 too.\nRapport du 12 mai 2025.";
        let got: Vec<(String, Option<NaiveDate>)> = find_dates(text)
            .into_iter()
            .map(|m| (text[m.span.clone()].to_string(), m.to_date()))
            .collect();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(
            got,
            vec![
                ("15/10/2024".to_string(), d(2024, 10, 15)),
                (String::new(), d(2025, 1, 3)),
                ("3 au 5 janvier 2025".to_string(), d(2025, 1, 5)),
                ("March 7, 2025".to_string(), d(2025, 3, 7)),
                ("12 mai 2025".to_string(), d(2025, 5, 12)),
            ]
        );
    }

    #[test]
    fn finds_dates_in_every_language_it_reads() {
        let cases: &[(&str, Vec<Ymd>)] = &[
            ("Chiều nay 19/1/2024, tại trụ sở", vec![(Some(2024), 1, Some(19))]),
            (
                "Cet après-midi, le 19 janvier 2024, au siège",
                vec![(Some(2024), 1, Some(19))],
            ),
            ("ngày 19 tháng 1 năm 2024", vec![(Some(2024), 1, Some(19))]),
            ("On November 29, 2024 the police", vec![(Some(2024), 11, Some(29))]),
            ("on 29 November 2024", vec![(Some(2024), 11, Some(29))]),
            ("Ce matin, le 29 novembre, en ville", vec![(None, 11, Some(29))]),
            ("trong tháng 1/2024 và", vec![(Some(2024), 1, None)]),
            ("Sáng 6/6, Ủy ban", vec![(None, 6, Some(6))]),
            // A part of the day before a hyphenated day and month, as papers write it.
            ("Trước đó, sáng sớm 9-11, lực lượng", vec![(None, 11, Some(9))]),
            ("Đêm 20-11-2024, tại", vec![(Some(2024), 11, Some(20))]),
            ("tỷ số 9-11 và", vec![]),
            ("Nghị định 03/2019/NĐ-CP năm 2023", vec![]),
            ("5 cas/12 personnes; 3 156/3 332 comptes", vec![]),
            ("le 1er mars 2023", vec![(Some(2023), 3, Some(1))]),
            ("31/02/2024 is not a date", vec![]),
            (
                "từ ngày 26 - 30/10/2024 đã làm",
                vec![(Some(2024), 10, Some(26)), (Some(2024), 10, Some(30))],
            ),
            (
                "the floods from October 26 to 30, 2024 killed",
                vec![(Some(2024), 10, Some(26)), (Some(2024), 10, Some(30))],
            ),
            (
                "du 26 au 30 octobre 2024",
                vec![(Some(2024), 10, Some(26)), (Some(2024), 10, Some(30))],
            ),
            ("Am Nachmittag des 20. Juni 2024 hat", vec![(Some(2024), 6, Some(20))]),
            ("En la tarde del 26 de abril de 2024,", vec![(Some(2024), 4, Some(26))]),
            ("Na noite de 29 de maio, a polícia", vec![(None, 5, Some(29))]),
            ("Op de ochtend van 21 november hield", vec![(None, 11, Some(21))]),
            ("Il 28 ottobre 2023 la polizia", vec![(Some(2023), 10, Some(28))]),
            ("Pada petang 15 Ogos, polis", vec![(None, 8, Some(15))]),
            ("khai mạc vào ngày 20-11 tại", vec![(None, 11, Some(20))]),
            (
                "hujan lebat dari 13 - 15 November, banyak",
                vec![(None, 11, Some(13)), (None, 11, Some(15))],
            ),
            (
                "entre el 13 al 15 de noviembre de 2023",
                vec![(Some(2023), 11, Some(13)), (Some(2023), 11, Some(15))],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(&dates(text), want, "{text}");
        }
    }

    /// The digit-run scan against the whole-text patterns it replaced, on every text of the seeds,
    /// the fold dev set and the scrape fixtures, and on edge cases.
    #[test]
    fn digit_run_scans_match_whole_text_patterns() {
        let iso = Regex::new(r"(?-u:\b)(\d{4})-(\d{1,2})-(\d{1,2})(?-u:\b)").unwrap();
        let numeric = Regex::new(r"(?-u:\b)(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?-u:\b)(/\d)?").unwrap();
        let p = &*PATTERNS;
        let mut texts: Vec<String> = [
            "2024-01-19, 12024-01-19, 2024-1-9x, x2024-01-19, 2024-01-19-20, 2024-13-45",
            "19/1/2024, 19/1/20245, 3/12/5, 123/4, a1/2, 1/2/2024/3, 19/01 et 20/01/2024.",
            "",
            "7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        texts.extend(crate::dates::tests::fixture_texts());
        let whole = |re: &Regex, t: &str| -> Vec<Vec<Option<(usize, usize)>>> {
            re.captures_iter(t)
                .map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect())
                .collect()
        };
        let scanned = |re: &Regex, t: &str, fits: &dyn Fn(usize, Option<u8>) -> bool| {
            let runs: Vec<Range<usize>> = digit_runs(t).collect();
            at_digit_runs(t, &runs, re, fits)
                .into_iter()
                .map(|c| {
                    (0..c.caps.len())
                        .map(|i| c.get(i).map(|m| (m.start, m.end())))
                        .collect()
                })
                .collect::<Vec<Vec<_>>>()
        };
        for t in &texts {
            assert_eq!(
                scanned(&p.iso, t, &|len, next| len == 4 && next == Some(b'-')),
                whole(&iso, t),
                "iso in {t:?}"
            );
            assert_eq!(
                scanned(&p.numeric, t, &|len, next| len <= 2 && next == Some(b'/')),
                whole(&numeric, t),
                "numeric in {t:?}"
            );
        }
    }

    #[test]
    fn parses_stamps() {
        let cases = [
            ("19:49, 06/06/2023", "2023-06-06T19:49:00+07:00"),
            ("Thứ Năm, 19/01/2024 14:30", "2024-01-19T14:30:00+07:00"),
            ("Thứ Năm, 19/01/2024 - 14:30 (GMT+7)", "2024-01-19T14:30:00+07:00"),
            ("2024-01-19T08:00:00+00:00", "2024-01-19T08:00:00+00:00"),
            ("le 29 novembre 2024", "2024-11-29T00:00:00+07:00"),
            ("November 29, 2024", "2024-11-29T00:00:00+07:00"),
            ("Thứ Hai, 24/12/2012, 03:04 AM (GMT+7)", "2012-12-24T03:04:00+07:00"),
            ("Thứ Hai, 24/12/2012, 03:04 PM (GMT+7)", "2012-12-24T15:04:00+07:00"),
            ("2026-03-07T00:01:00", "2026-03-07T00:01:00+07:00"),
            ("2026-03-07T09:40:00+0700", "2026-03-07T09:40:00+07:00"),
            ("2026-03-07T09:40+07:00", "2026-03-07T09:40:00+07:00"),
            ("2026-03-07 09:40:00", "2026-03-07T09:40:00+07:00"),
            ("2026-03-07", "2026-03-07T00:00:00+07:00"),
            // A label, a two-digit year and a part of the day.
            (
                "| Cập nhật thứ hai, ngày 24/12/12 11:05 tối",
                "2012-12-24T23:05:00+07:00",
            ),
            (
                "Đời sống Xã hội | Cập nhật thứ hai, ngày 24/12/12 11:05 tối",
                "2012-12-24T23:05:00+07:00",
            ),
            ("Thời sự | 07/03/2026 09:40", "2026-03-07T09:40:00+07:00"),
            ("Đăng lúc: 07/03/2026 09:40 sáng", "2026-03-07T09:40:00+07:00"),
            ("Published on 07/03/2026 - 02:15 chiều", "2026-03-07T14:15:00+07:00"),
            ("07/03/2026 11:30 đêm", "2026-03-07T23:30:00+07:00"),
            ("07/03/2026 12:10 trưa", "2026-03-07T12:10:00+07:00"),
        ];
        for (line, want) in cases {
            let got = parse_stamp(line).map(|d| d.to_rfc3339());
            assert_eq!(got.as_deref(), Some(want), "{line}");
        }
        for line in [
            "Comment (0)",
            "19:49",
            "Le 29 novembre 2024, la police a arrêté 3 suspects",
            "Cập nhật tin tức 24/12/12 mới nhất từ các tỉnh",
            "Trong năm 2023, tỉnh đã | 07/03/2026 09:40",
            "",
        ] {
            assert_eq!(parse_stamp(line), None, "{line}");
        }
    }
}
