//! Scraping: a page's bytes in, an `Article` out. Pure (no I/O), so every rule here is tested with
//! fixtures.
//!
//! The steps are the same for every format: decode the bytes, read the format into candidate
//! paragraphs plus whatever metadata it states (`text`, `html`), then clean the paragraphs the same
//! way (`debris` drops captions, counters and source labels; `byline` moves trailing bylines into
//! `authors`), date the article and detect its language.

pub mod byline;
pub mod debris;
pub mod decode;
pub mod dom;
pub mod headline;
pub mod html;
pub mod jsonld;
pub mod lang;
pub mod lead;
pub mod main_text;
pub mod prune;
pub mod rules;
pub mod stage;
pub mod template;
pub mod text;

use chrono::{DateTime, FixedOffset};
use thiserror::Error;

use crate::dates::{find_dates, local_midnight};
use crate::model::{Article, Lang, Page, PageFormat};

/// Why a page gave no article. Each is counted per source and logged once.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ScrapeError {
    #[error("empty page")]
    Empty,
    #[error("binary content, not text")]
    Binary,
    #[error("invalid utf-8 at byte {0}")]
    InvalidUtf8(usize),
    #[error("no article text left after cleaning")]
    NoText,
    #[error("extract.{field} selector {selector} matched nothing")]
    RuleMissed { field: &'static str, selector: String },
}

impl ScrapeError {
    /// A short stable name for counters and summaries.
    pub fn kind(&self) -> crate::kinds::FailureKind {
        use crate::kinds::FailureKind;
        match self {
            ScrapeError::Empty => FailureKind::Empty,
            ScrapeError::Binary => FailureKind::Binary,
            ScrapeError::InvalidUtf8(_) => FailureKind::InvalidUtf8,
            ScrapeError::NoText => FailureKind::NoText,
            ScrapeError::RuleMissed { .. } => FailureKind::RuleMissed,
        }
    }
}

/// What a format reader found before cleaning.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub lines: Vec<String>,
    /// A date the page states outright (a stamp line, a meta tag).
    pub published_at: Option<DateTime<FixedOffset>>,
    /// A date known only to the month ("date 2024-01"): refined from the text when it agrees.
    pub published_month: Option<(i32, u32)>,
    pub original_url: Option<String>,
    /// `<link rel=canonical>`, as written (resolved against the page URL later).
    pub canonical: Option<String>,
    pub declared_lang: Option<Lang>,
    /// Authors a source's rules or the page's JSON-LD name; bylines found in the text follow.
    pub authors: Vec<String>,
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// `<link rel=alternate hreflang>`: (language tag, href as written).
    pub alternates: Vec<(String, String)>,
    /// Where each field came from.
    pub provenance: Provenance,
}

/// Where extraction found each field, and what cleaning removed: for `newsfold explain`.
/// Every label is a short phrase ("og:title", "printed date line", "text-density scorer"); an
/// empty one means the field was not found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    pub title: &'static str,
    pub date: &'static str,
    pub authors: &'static str,
    pub body: &'static str,
    /// Set when a lead block beside the body was added as the first paragraph.
    pub lead: &'static str,
    /// The first lines cleaning removed (why, the line cut at 60 characters), at most
    /// `MAX_DROPPED`; `dropped_count` counts them all.
    pub dropped: Vec<(&'static str, String)>,
    pub dropped_count: usize,
}

/// Removed lines a provenance names.
pub const MAX_DROPPED: usize = 6;

impl Provenance {
    /// Notes `n` removed lines, shown as `text`.
    pub(crate) fn removed(&mut self, why: &'static str, text: &str, n: usize) {
        self.dropped_count += n;
        if self.dropped.len() < MAX_DROPPED {
            let cut = match text.char_indices().nth(60) {
                Some((at, _)) => format!("{}…", &text[..at]),
                None => text.to_string(),
            };
            self.dropped.push((why, cut));
        }
    }
}

/// Scrapes one page.
pub fn scrape(page: &Page) -> Result<Article, ScrapeError> {
    let (text, charset) =
        decode::decode_reporting(&page.bytes, page.charset.as_deref(), page.format == PageFormat::Html)?;
    let extracted = match page.format {
        PageFormat::Text => text::read(&text),
        PageFormat::Html => html::read_with(&text, page.rules.as_deref())?,
    };
    let mut article = finish(extracted, page.lang_hint)?;
    article.charset = charset;
    Ok(article)
}

/// Cleans the lines and fills in the metadata every format shares.
pub fn finish(ex: Extracted, lang_hint: Option<Lang>) -> Result<Article, ScrapeError> {
    let mut original_url = ex.original_url;
    let mut lines: Vec<String> = Vec::with_capacity(ex.lines.len());
    // A line that is only a date stamp ("Thứ Sáu, 19/01/2024 16:05") is page furniture; it dates
    // the article when nothing better does.
    let mut stamp = None;
    let mut provenance = ex.provenance;
    for line in ex.lines {
        if let Some(d) = crate::dates::parse_stamp(&line) {
            stamp.get_or_insert(d);
            provenance.removed("date line", &line, 1);
            continue;
        }
        match debris::classify(&line) {
            debris::Line::Keep => lines.push(line),
            debris::Line::Drop => provenance.removed("debris", &line, 1),
            debris::Line::Source(url) => {
                provenance.removed("source attribution", &line, 1);
                original_url.get_or_insert(url);
            }
        }
    }
    let mut authors = ex.authors;
    let kept = lines.len();
    let trailing = byline::take_trailing(&mut lines);
    if !trailing.is_empty() {
        provenance.removed("byline", &trailing.join(", "), kept - lines.len());
        if authors.is_empty() {
            provenance.authors = "byline at the end of the body";
        }
    }
    for a in trailing {
        if !authors.contains(&a) {
            authors.push(a);
        }
    }
    // A caption-like line kept only because it looked like a byline candidate is gone by now; what
    // is left must be article text.
    if lines.is_empty() {
        return Err(ScrapeError::NoText);
    }
    let published_at = match (ex.published_at, stamp) {
        (Some(d), _) => Some(d),
        (None, Some(d)) => {
            provenance.date = "date line in the text";
            Some(d)
        }
        (None, None) => {
            let d = date_from_text(&lines, ex.published_month);
            if d.is_some() {
                provenance.date = "first date in the text";
            }
            d
        }
    };
    // The first paragraphs, up to about 1,000 bytes: plenty for a trigram detector.
    let mut body_sample = String::with_capacity(1100);
    for l in lines.iter().take(8) {
        if body_sample.len() >= 1000 {
            break;
        }
        body_sample.push_str(l);
        body_sample.push('\n');
    }
    let (lang, lang_confidence) = lang::detect_scored(&body_sample, ex.declared_lang.or(lang_hint));
    Ok(Article {
        title: ex.title,
        paragraphs: lines,
        published_at,
        authors,
        original_url,
        canonical: ex.canonical,
        lang,
        lang_confidence,
        updated_at: ex.updated_at,
        alternates: ex.alternates,
        charset: decode::Charset::default(),
        provenance,
    })
}

/// The first full date in the first paragraph ("le 19 janvier 2024", "19/1/2024"); when the page
/// stated a month, the date must fall in it, and otherwise the month's first day stands.
fn date_from_text(lines: &[String], month: Option<(i32, u32)>) -> Option<DateTime<FixedOffset>> {
    let first = lines.first()?;
    let found = find_dates(first).into_iter().find_map(|m| m.to_date());
    match (found, month) {
        (Some(d), Some((y, m))) if chrono::Datelike::year(&d) == y && chrono::Datelike::month(&d) == m => {
            local_midnight(d)
        }
        (Some(d), None) => local_midnight(d),
        (_, Some((y, m))) => chrono::NaiveDate::from_ymd_opt(y, m, 1).and_then(local_midnight),
        (None, None) => None,
    }
}

/// An article's canonical URL and hreflang alternates, resolved against the page's location
/// (relative ones are dropped for pages read from files) and normalised.
pub fn resolved_links(location: &str, article: &Article) -> (Option<String>, Vec<crate::model::Alternate>) {
    use crate::fetch::urls;
    let base = url::Url::parse(location).ok();
    let resolve = |href: &str| urls::resolve(base.as_ref(), href).map(|u| u.to_string());
    let canonical = article.canonical.as_deref().and_then(resolve);
    let mut alternates: Vec<crate::model::Alternate> = Vec::new();
    for (lang, href) in &article.alternates {
        if let Some(url) = resolve(href)
            && Some(&url) != canonical.as_ref()
            && !alternates.iter().any(|a| a.url == url)
        {
            alternates.push(crate::model::Alternate {
                lang: lang.clone(),
                url,
            });
        }
    }
    (canonical, alternates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_names_the_lines_it_removed() {
        let ex = Extracted {
            lines: [
                "Thứ Sáu, 07/03/2026 - 09:40",
                "Sáng 7/3, Công an tỉnh Nghệ An tổ chức hội nghị tổng kết công tác năm 2025.",
                "Nguồn: https://baonghean.vn/bai-viet.html",
                "Hội nghị đã biểu dương 25 tập thể và 40 cá nhân có thành tích xuất sắc.",
                "Nguyễn Văn Hùng",
            ]
            .map(str::to_string)
            .to_vec(),
            ..Extracted::default()
        };
        let a = finish(ex, Some(Lang::Vi)).expect("text is left");
        let p = &a.provenance;
        let why: Vec<&str> = p.dropped.iter().map(|(w, _)| *w).collect();
        assert_eq!(why, ["date line", "source attribution", "byline"], "{p:?}");
        assert_eq!(p.dropped_count, 3);
        assert_eq!(p.date, "date line in the text");
        assert_eq!(p.authors, "byline at the end of the body");
        assert_eq!(a.paragraphs.len(), 2);
    }
}
