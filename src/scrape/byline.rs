//! Bylines. Trailing ones in the body: "Actualités et photos : Kim Tien", "Bài và ảnh: Minh Anh",
//! or a bare line of names such as "Dieu Thuy-Anh Tuan" (two reporters, "Diệu Thùy" and "Anh
//! Tuấn", as Vietnamese papers join them); they move from the body to `authors`, nothing else in
//! the text is touched. And the page's own (`from_page`): author meta tags, `itemprop=author`,
//! `rel=author`, then a short byline or author element, with "By", "Par", "Theo" and the like
//! stripped and never the outlet's own name.

use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};

/// Author meta tags, the most deliberate declaration first: Dublin Core's creator, then the plain
/// `author`, then the others. All tags of the first kind that names someone are read (a page
/// with two authors states two tags).
static META: LazyLock<Vec<Selector>> = LazyLock::new(|| {
    [
        r#"meta[property~="dc:creator"], meta[name="dc.creator" i], meta[name="dcterms.creator" i]"#,
        r#"meta[name="author" i]"#,
        r#"meta[property~="article:author"], meta[name="parsely-author"], meta[name="sailthru.author"], meta[name="byl"]"#,
    ]
    .into_iter()
    .map(|s| Selector::parse(s).expect("author meta selector parses"))
    .collect()
});
static MARKED: LazyLock<Selector> = LazyLock::new(|| {
    Selector::parse(r#"[itemprop~="author"] [itemprop~="name"], [itemprop~="author"], [rel~="author"]"#)
        .expect("author selector parses")
});
static NAMED: LazyLock<Selector> = LazyLock::new(|| {
    Selector::parse(
        r#"[class*="byline"], [class*="author"], [id*="byline"], [id*="author"], [class*="Byline"], [class*="Author"]"#,
    )
    .expect("byline selector parses")
});
static SITE: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse(r#"meta[property="og:site_name"]"#).expect("site selector parses"));

static WEB_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*[(<]\s*(?:https?://|mailto:|www\.)[^)>]*[)>]").expect("address pattern compiles"));

/// A byline's lead-in word, stripped: "By Jane Doe", "Par Jean Dupont", "Theo Minh Anh".
static LEAD_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:by|par|por|von|di|door|oleh|theo|written by|posted by|words by|author:|tác giả:?)\s+")
        .expect("lead-in pattern compiles")
});

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Names in one byline string, or none when it does not read as names: at most 100 characters,
/// no URL, a capitalised word, not the site's name.
fn names_in(raw: &str, site: Option<&str>) -> Vec<String> {
    let t = squash(raw);
    let t = LEAD_IN.replace(&t, "");
    // A home page or address after the name ("Jane Doe (https://example.org/jane)") is not part of it.
    let t = WEB_ADDRESS.replace_all(&t, "");
    let t = t
        .trim()
        .trim_matches(|c: char| c == '|' || c == '-' || c == '–' || c == ',');
    if t.is_empty() || t.chars().count() > 100 || t.contains("://") || t.starts_with('@') {
        return Vec::new();
    }
    // A date or time after the names ("Jane Doe | 22 Dec 2016", "Jane Doe, 10:05") is not a name.
    let t = t.split(['|', '\n', '•', '·']).next().unwrap_or(t).trim();
    let cut = t
        .find(|c: char| c.is_ascii_digit())
        .map_or(t, |i| t[..i].trim_end_matches([',', ' ', '-', '–']));
    // A name starts with a capital, or with a letter of a script without case (Chinese, Thai...).
    if !cut
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || (c.is_alphabetic() && !c.is_lowercase()))
    {
        return Vec::new();
    }
    let is_site = |n: &str| site.is_some_and(|s| n.eq_ignore_ascii_case(s.trim()));
    split_names(cut)
        .into_iter()
        .map(|n| without_trailing_month(&n))
        .filter(|n| {
            !n.is_empty()
                && n.split_whitespace().count() <= 6
                && !is_site(n)
                && !is_domain(n)
                && !is_credit(n)
                && !is_lead_word(n)
                && !is_degree(n)
        })
        .collect()
}

/// A web address standing for the outlet ("VCCorp.vn", "dantri.com.vn"): one word whose last dot
/// is followed by two to six lowercase letters.
fn is_domain(name: &str) -> bool {
    !name.contains(char::is_whitespace)
        && name.rsplit_once('.').is_some_and(|(head, tld)| {
            !head.is_empty() && (2..=6).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_lowercase())
        })
}

/// A byline's lead-in word standing alone ("By" in one element, the name in the next).
fn is_lead_word(name: &str) -> bool {
    matches!(
        name.trim_end_matches(':').to_lowercase().as_str(),
        "by" | "par" | "theo" | "bởi" | "von" | "por" | "door" | "oleh" | "di" | "de" | "written by" | "words by"
    )
}

/// An academic or professional degree after a comma ("Brenda Goodman, MA"): not a name.
fn is_degree(name: &str) -> bool {
    const DEGREES: &[&str] = &[
        "ma", "ms", "msc", "mba", "md", "phd", "ph.d.", "rn", "mph", "do", "dds", "jd", "bsc", "ba", "bs", "lcsw",
        "rd", "pharmd", "facp", "faap", "ths", "ts", "pgs", "bs.", "ths.", "ts.", "pgs.ts",
    ];
    DEGREES.contains(&name.trim().to_lowercase().as_str())
}

/// A month name the byline's date left after the name ("Nathan Willis March 26"): cut. Only
/// names of five letters or more: shorter ones are given names too ("Nguyễn Thị Mai", "May").
fn without_trailing_month(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let month = |w: &str| w.chars().count() >= 5 && crate::dates::month_number(w).is_some();
    match words.split_last() {
        Some((last, rest)) if rest.len() >= 2 && (month(last) || last.to_lowercase() == "tháng") => rest.join(" "),
        _ => name.to_string(),
    }
}

/// A generic credit rather than a person: "Staff Writer", "Reporter", "PV", "Nhóm PV".
fn is_credit(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "staff",
        "writer",
        "writers",
        "reporter",
        "reporters",
        "correspondent",
        "editor",
        "editors",
        "editorial",
        "team",
        "desk",
        "admin",
        "administrator",
        "newsroom",
        "pv",
        "btv",
        "ctv",
        "nhóm",
        "rédaction",
        "redaction",
    ];
    name.split_whitespace()
        .all(|w| WORDS.contains(&w.to_lowercase().as_str()))
}

/// The page's own byline: author meta tags first, then `itemprop=author` or `rel=author`, then a
/// short element whose class or id names a byline or author. Empty when none reads as names.
pub fn from_page(doc: &Html) -> Vec<String> {
    let site = doc
        .select(&SITE)
        .next()
        .and_then(|m| m.value().attr("content"))
        .map(str::to_string);
    let site = site.as_deref();
    let pick = |raw: &str| names_in(raw, site);
    for kind in META.iter() {
        let mut names: Vec<String> = Vec::new();
        for n in doc
            .select(kind)
            .filter_map(|m| m.value().attr("content"))
            .flat_map(pick)
        {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        if !names.is_empty() {
            return names;
        }
    }
    let text = |e: ElementRef<'_>| e.text().collect::<Vec<_>>().join(" ");
    for e in doc.select(&MARKED) {
        let raw = e.value().attr("content").map_or_else(|| text(e), str::to_string);
        let names = pick(&raw);
        if !names.is_empty() {
            return names;
        }
    }
    for e in doc.select(&NAMED).take(40) {
        let raw = text(e);
        if raw.chars().count() > 120 {
            continue;
        }
        let names = pick(&raw);
        if !names.is_empty() {
            return names;
        }
    }
    Vec::new()
}

static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:actualités? et photos?|texte et photos?|texte|textes|photos?|bài và ảnh|bài, ảnh|bài - ảnh|tin và ảnh|tin, ảnh|tin - ảnh|bài|tin|ảnh|story and photos|text and photos|words and photos|reported by|written by|auteurs?|authors?|tác giả|phóng viên|reporter|by|par)\s*:\s*(.{2,80})$",
    )
    .expect("byline pattern compiles")
});

static BY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:By|Par)\s+(\p{Lu}.{1,60})$").expect("by pattern compiles"));

/// A source credit closing a Vietnamese article: "Theo Minh Nguyễn/Vcamp.vn", "Theo VnExpress".
/// A capital after "Theo" and no comma or sentence punctuation: "Theo thông tin ban đầu, ..." and
/// "Theo Bộ Công an, ..." open sentences.
static THEO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Theo\s+(\p{Lu}[\p{L}\p{N} ./&-]{1,60})$").expect("credit pattern compiles"));

/// The people a "Theo" credit names: its parts of two words or more without a dot (a domain or
/// an outlet's one-word name is the source, not an author).
fn credited(credit: &str) -> Vec<String> {
    split_names(credit)
        .into_iter()
        .filter(|n| !n.contains('.') && word_count(n) >= 2)
        .collect()
}

/// Most lines at the end of an article that can be bylines (names, then "text and photos").
const MAX_BYLINE_LINES: usize = 2;

pub fn is_labelled(line: &str) -> bool {
    LABELLED.is_match(line.trim())
}

/// Removes trailing byline lines from `lines` and returns the names they held, in order.
pub fn take_trailing(lines: &mut Vec<String>) -> Vec<String> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    // The original outlet's name alone under a credit ("Theo Minh Nguyễn/Vcamp.vn", then
    // "Forbes") belongs to the credit.
    if lines.len() >= 3
        && let [.., credit, label] = lines.as_slice()
        && THEO.is_match(credit.trim())
        && (1..=3).contains(&word_count(label))
        && label.split_whitespace().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase) && w.chars().all(|c| c.is_alphanumeric() || c == '.')
        })
    {
        lines.pop();
    }
    for _ in 0..MAX_BYLINE_LINES {
        // Keep at least one line of body.
        if lines.len() < 2 {
            break;
        }
        let Some(last) = lines.last() else { break };
        let last = last.trim();
        let names = if let Some(c) = LABELLED.captures(last).or_else(|| BY.captures(last)) {
            split_names(&c[1])
        } else if let Some(c) = THEO.captures(last) {
            // A credit leaves the body even when it names only an outlet.
            let names = credited(&c[1]);
            lines.pop();
            groups.push(names);
            continue;
        } else if is_name_line(last) {
            split_names(last)
        } else {
            break;
        };
        if names.is_empty() {
            break;
        }
        groups.push(names);
        lines.pop();
    }
    groups.into_iter().rev().flatten().collect()
}

/// A short line of capitalised words with no sentence punctuation or digits.
fn is_name_line(line: &str) -> bool {
    if line.chars().count() > 60 || line.chars().any(|c| c.is_ascii_digit() || ".!?;:,«»\"()[]".contains(c)) {
        return false;
    }
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '-' || c == '–')
        .filter(|w| !w.is_empty())
        .collect();
    (2..=8).contains(&words.len()) && words.iter().all(|w| w.chars().next().is_some_and(char::is_uppercase))
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// "Kim Tien" → ["Kim Tien"]; "Dieu Thuy-Anh Tuan" → ["Dieu Thuy", "Anh Tuan"];
/// "Jean-Pierre Martin" stays one name (a hyphen splits only between multi-word names).
fn split_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let s = s.trim().trim_end_matches('.');
    for part in s
        .split([',', ';', '&', '/'])
        .flat_map(|p| p.split(" et "))
        .flat_map(|p| p.split(" và "))
        .flat_map(|p| p.split(" and "))
    {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let pieces: Vec<&str> = part.split(['-', '–']).map(str::trim).collect();
        if pieces.len() > 1 && pieces.iter().all(|p| word_count(p) >= 2) {
            out.extend(pieces.into_iter().map(str::to_string));
        } else {
            out.push(part.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(lines: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let authors = take_trailing(&mut v);
        (v, authors)
    }

    #[test]
    fn moves_trailing_bylines_to_authors() {
        let (body, authors) = take(&["Un paragraphe.", "Actualités et photos : Kim Tien"]);
        assert_eq!(body, vec!["Un paragraphe."]);
        assert_eq!(authors, vec!["Kim Tien"]);

        let (_, authors) = take(&["Un paragraphe.", "Dieu Thuy-Anh Tuan"]);
        assert_eq!(authors, vec!["Dieu Thuy", "Anh Tuan"]);

        let (_, authors) = take(&["A paragraph.", "By Jean-Pierre Martin"]);
        assert_eq!(authors, vec!["Jean-Pierre Martin"]);

        let (_, authors) = take(&["Đoạn văn.", "Bài và ảnh: Minh Anh, Quốc Tuấn"]);
        assert_eq!(authors, vec!["Minh Anh", "Quốc Tuấn"]);

        // A source credit, with the original outlet under it: the person is an author, the
        // outlets are not, and both lines leave the body.
        let (body, authors) = take(&["Đoạn một.", "Đoạn hai.", "Theo Minh Nguyễn/Vcamp.vn", "Forbes"]);
        assert_eq!((body.len(), authors), (2, vec!["Minh Nguyễn".to_string()]));
        let (body, authors) = take(&["Đoạn một.", "Theo VnExpress"]);
        assert_eq!((body.len(), authors.len()), (1, 0));
        // A sentence opening on "Theo" stays.
        let (body, _) = take(&["Đoạn một.", "Theo Bộ Công an, vụ việc đang được điều tra"]);
        assert_eq!(body.len(), 2);
    }

    #[test]
    fn the_pages_own_byline_is_read_from_meta_or_markup() {
        let page = |html: &str| from_page(&Html::parse_document(html));
        assert_eq!(page(r#"<meta name="author" content="Jane Doe">"#), vec!["Jane Doe"]);
        assert_eq!(
            page(r#"<div class="byline">By Jane Doe and John Roe | 22 Dec 2016</div>"#),
            vec!["Jane Doe", "John Roe"]
        );
        assert_eq!(
            page(r#"<span itemprop="author"><span itemprop="name">Minh Anh</span></span>"#),
            vec!["Minh Anh"]
        );
        assert_eq!(page(r#"<p class="author">Theo Nhật Xuân</p>"#), vec!["Nhật Xuân"]);
        // The outlet's own name is no author; a URL is none either.
        assert!(
            page(r#"<meta property="og:site_name" content="Báo Dân trí"><meta name="author" content="Báo Dân trí">"#)
                .is_empty()
        );
        assert!(page(r#"<meta property="article:author" content="https://facebook.com/x">"#).is_empty());
        assert!(page(r#"<meta name="author" content="VCCorp.vn">"#).is_empty());
        assert!(page(r#"<div class="byline">By Staff Writer | Nov 29</div>"#).is_empty());
        // A degree after a comma, a month the date left behind, a lead-in standing alone.
        assert_eq!(
            page(r#"<div class="byline">By Brenda Goodman, MA</div>"#),
            vec!["Brenda Goodman"]
        );
        assert_eq!(
            page(r#"<div class="byline">By Nathan Willis March 26, 2015</div>"#),
            vec!["Nathan Willis"]
        );
        assert!(page(r#"<span class="byline">By</span>"#).is_empty());
        assert_eq!(
            page(r#"<div class="byline">Nguyễn Thị Mai</div>"#),
            vec!["Nguyễn Thị Mai"]
        );
        // Dublin Core's creator before the plain author tag, every tag of that kind, a
        // property naming several keys, a script without capitals, a home page after the name.
        assert_eq!(
            page(r#"<meta name="author" content="Ban biên tập"><meta property="dc:creator" content="Hoàng Lan">"#),
            vec!["Hoàng Lan"]
        );
        assert_eq!(
            page(r#"<meta name="DC.Creator" content="Lê Văn Tám"><meta name="DC.Creator" content="Trần Thu Hà">"#),
            vec!["Lê Văn Tám", "Trần Thu Hà"]
        );
        assert_eq!(
            page(
                r#"<meta property="dc:creator twitter:site_name" content="Phạm Minh"><meta name="author" content="Other">"#
            ),
            vec!["Phạm Minh"]
        );
        assert_eq!(page(r#"<meta name="author" content="肖春芳">"#), vec!["肖春芳"]);
        assert_eq!(
            page(r#"<meta name="author" content="Jane Doe (https://example.org/jane/)">"#),
            vec!["Jane Doe"]
        );
        assert!(page(r#"<div class="author-box">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</div>"#).is_empty());
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let (body, authors) = take(&["Un paragraphe.", "Le taux d'enquête est supérieur à 80 %."]);
        assert_eq!(body.len(), 2);
        assert!(authors.is_empty());
        // A lone line is the body, never a byline.
        let (body, authors) = take(&["Kim Tien"]);
        assert_eq!(body, vec!["Kim Tien"]);
        assert!(authors.is_empty());
    }
}
