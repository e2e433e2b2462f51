//! Simple HTML article pages: title, paragraphs of the article container, and the metadata the
//! page states (`article:published_time`, `<time datetime>`, `<html lang>`, a "Source" link).
//!
//! `scraper::Html` is not `Send`; this module only runs inside the scrape workers' threads.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset};
use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};

use super::rules::{Pick, Rules};
use super::{Extracted, ScrapeError};
use super::{jsonld, main_text};
use crate::dates::{find_dates, local_midnight, parse_stamp};
use crate::model::Lang;

struct Selectors {
    h1: Selector,
    html: Selector,
    published: Selector,
    time: Selector,
    article_body: Selector,
    body: Selector,
    links: Selector,
    canonical: Selector,
    ld_json: Selector,
    modified: Selector,
    hreflang: Selector,
    visible_date: Selector,
}

pub(super) fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("built-in selector {s:?} is invalid: {e}"))
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    h1: sel("h1"),
    html: sel("html"),
    published: sel(r#"meta[property="article:published_time"], meta[itemprop="datePublished"], meta[name="pubdate"]"#),
    time: sel("time[datetime]"),
    article_body: sel("[itemprop=articleBody]"),
    body: sel("body"),
    links: sel("a[href]"),
    canonical: sel(r#"link[rel~="canonical"][href]"#),
    ld_json: sel(r#"script[type="application/ld+json"]"#),
    modified: sel(
        r#"meta[property="article:modified_time"], meta[itemprop="dateModified"], meta[property="og:updated_time"]"#,
    ),
    hreflang: sel(r#"link[rel~="alternate"][hreflang][href]"#),
    visible_date: sel(
        r#"time, [class*="date"], [class*="time"], [class*="Date"], [class*="Time"], [id*="date"], [id*="time"], [id*="Date"], [id*="Time"], [class*="meta"], [class*="byline"], [itemprop="datePublished"]"#,
    ),
});

/// Dates the page prints in date, time, meta or byline elements ("Thứ Sáu, 29/11/2024 09:12",
/// "le 29 novembre 2024", "By Staff | November 29, 2024"), in document order, each with whether it
/// states a time of day. Dates inside links or tickers are other articles' and are skipped.
fn printed_dates(doc: &Html) -> Vec<(DateTime<FixedOffset>, bool)> {
    let s = &*SELECTORS;
    let mut out = Vec::new();
    for e in doc.select(&s.visible_date).take(60) {
        // A link to the day's archive ("/date/d21/m12/y2012", "?date=", "/archive/") dates the
        // article it sits beside; other links are other articles.
        let other = |a: ElementRef<'_>| match a.value().name() {
            "a" => !a.value().attr("href").is_some_and(|h| {
                let h = h.to_ascii_lowercase();
                h.contains("/date") || h.contains("date=") || h.contains("/archive")
            }),
            "marquee" | "li" => true,
            _ => false,
        };
        let in_link = e.ancestors().filter_map(ElementRef::wrap).any(other) || other(e);
        if in_link {
            continue;
        }
        // A `<meta itemprop=datePublished>` inside the line it dates: the line is its parent.
        let e = match e.value().name() {
            "meta" => match e.parent().and_then(ElementRef::wrap) {
                Some(p) => p,
                None => continue,
            },
            _ => e,
        };
        let t = text_of(e);
        if t.len() > 120 {
            continue;
        }
        if let Some(d) = parse_stamp(&t) {
            out.push((d, d.time() != chrono::NaiveTime::MIN));
        } else if let Some(d) = find_dates(&t)
            .into_iter()
            .find_map(|m| m.to_date())
            .and_then(local_midnight)
        {
            out.push((d, false));
        }
    }
    out
}

/// The article's date: the first date and time the page prints, when it is within two days of
/// the declared one (rules, JSON-LD, meta: often the time the draft was created, or a date
/// without its time); else the declared one; else the first printed date. With where it came
/// from (`declared_from` names the declared one's origin).
fn published(
    declared: Option<(DateTime<FixedOffset>, &'static str)>,
    printed: &[(DateTime<FixedOffset>, bool)],
) -> Option<(DateTime<FixedOffset>, &'static str)> {
    let timed = printed.iter().find(|(_, t)| *t).map(|(d, _)| *d);
    match (declared, timed) {
        (Some((d, _)), Some(p)) if (p - d).num_hours().abs() <= 48 => {
            Some((p, "printed date line, agreeing with the declared date"))
        }
        (Some(d), _) => Some(d),
        (None, Some(p)) => Some((p, "printed date line")),
        (None, None) => printed.first().map(|(d, _)| (*d, "printed date")),
    }
}

pub(super) fn text_of(el: ElementRef<'_>) -> String {
    el.text().flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ")
}

pub(super) fn nonempty(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() { None } else { Some(t.to_string()) }
}

/// Reads a page with the generic rules.
pub fn read(text: &str) -> Extracted {
    // Without source rules nothing can miss.
    read_with(text, None).unwrap_or_default()
}

/// The value a rule picks from an element: the attribute it names, else the text.
fn picked(el: ElementRef<'_>, pick: &Pick) -> Option<String> {
    match &pick.attr {
        Some(a) => el.value().attr(a).map(str::to_string),
        None => Some(text_of(el)),
    }
    .and_then(nonempty)
}

fn missed(field: &'static str, pick: &Pick) -> ScrapeError {
    ScrapeError::RuleMissed {
        field,
        selector: format!("{pick:?}"),
    }
}

/// What a source's rules pick, and the elements they consumed (removed before the body is read).
struct Ruled {
    title: Option<String>,
    published_at: Option<DateTime<FixedOffset>>,
    authors: Vec<String>,
    detach: Vec<NodeId>,
}

fn apply_rules(doc: &Html, rules: &Rules) -> Result<Ruled, ScrapeError> {
    let mut out = Ruled {
        title: None,
        published_at: None,
        authors: Vec::new(),
        detach: Vec::new(),
    };
    if let Some(pick) = &rules.title {
        let el = doc.select(&pick.selector).find(|e| picked(*e, pick).is_some());
        let el = el.ok_or_else(|| missed("title", pick))?;
        out.title = picked(el, pick);
        out.detach.push(el.id());
    }
    if let Some(pick) = &rules.date {
        let found = doc.select(&pick.selector).find_map(|e| {
            let v = picked(e, pick)?;
            let date = DateTime::parse_from_rfc3339(v.trim())
                .ok()
                .or_else(|| parse_stamp(&v))
                .or_else(|| {
                    find_dates(&v)
                        .into_iter()
                        .find_map(|m| m.to_date())
                        .and_then(local_midnight)
                })?;
            Some((e.id(), date))
        });
        let (id, date) = found.ok_or_else(|| missed("date", pick))?;
        out.published_at = Some(date);
        out.detach.push(id);
    }
    if let Some(pick) = &rules.authors {
        for el in doc.select(&pick.selector) {
            if let Some(a) = picked(el, pick) {
                out.authors.push(a);
                out.detach.push(el.id());
            }
        }
        if out.authors.is_empty() {
            return Err(missed("authors", pick));
        }
    }
    for pick in &rules.remove {
        out.detach.extend(doc.select(&pick.selector).map(|e| e.id()));
    }
    Ok(out)
}

/// Reads a page, with a source's extraction rules when it has them.
pub fn read_with(text: &str, rules: Option<&Rules>) -> Result<Extracted, ScrapeError> {
    let s = &*SELECTORS;
    let mut doc = super::dom::parse(&super::prune::prune(text));
    let ruled = match rules {
        Some(r) => Some(apply_rules(&doc, r)?),
        None => None,
    };
    if let Some(r) = &ruled {
        for id in &r.detach {
            if let Some(mut node) = doc.tree.get_mut(*id) {
                node.detach();
            }
        }
    }
    let body_rule = rules.and_then(|r| r.body.as_ref());
    let lang_code = |l: &str| Lang::from_code(l.split(['-', '_']).next().unwrap_or(l));
    let ld = jsonld::article(
        doc.select(&s.ld_json)
            .map(|e| e.text().collect::<String>())
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    // The article's declared JSON-LD headline (not a `name`, which may be the site's).
    let ld_headline = ld
        .as_ref()
        .filter(|a| a.has_headline)
        .and_then(|a| a.headline.as_deref());
    let title = match ruled.as_ref().and_then(|r| r.title.clone()) {
        Some(t) => Some((t, "the source's title rule")),
        None => super::headline::headline(&doc, ld_headline),
    };
    let declared_lang = doc
        .select(&s.html)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .and_then(lang_code)
        .or_else(|| ld.as_ref().and_then(|a| a.language.as_deref()).and_then(lang_code));
    let meta_date = |sel: &Selector| {
        doc.select(sel)
            .filter_map(|m| m.value().attr("content"))
            .find_map(parse_stamp)
    };
    let updated_at = ld.as_ref().and_then(|a| a.modified).or_else(|| meta_date(&s.modified));
    let mut alternates: Vec<(String, String)> = Vec::new();
    for l in doc.select(&s.hreflang) {
        let (Some(lang), Some(href)) = (l.value().attr("hreflang"), l.value().attr("href")) else {
            continue;
        };
        let pair = (lang.trim().to_ascii_lowercase(), href.trim().to_string());
        if !pair.0.is_empty() && !pair.1.is_empty() && !alternates.contains(&pair) {
            alternates.push(pair);
        }
    }

    let declared = ruled
        .as_ref()
        .and_then(|r| r.published_at)
        .map(|d| (d, "the source's date rule"))
        .or_else(|| {
            ld.as_ref()
                .and_then(|a| a.published)
                .map(|d| (d, "JSON-LD datePublished"))
        })
        .or_else(|| {
            doc.select(&s.published)
                .filter_map(|m| m.value().attr("content"))
                .find_map(parse_stamp)
                .map(|d| (d, "meta published time"))
        })
        .or_else(|| {
            doc.select(&s.time)
                .filter_map(|t| t.value().attr("datetime"))
                .find_map(parse_stamp)
                .map(|d| (d, "<time datetime>"))
        });
    let stated = published(declared, &printed_dates(&doc));
    let (title, title_from) = match title {
        Some((t, from)) => (Some(t), from),
        None => match ld.as_ref().and_then(|a| a.headline.clone()) {
            Some(t) => (Some(t), "JSON-LD headline"),
            None => (None, ""),
        },
    };
    let canonical = doc
        .select(&s.canonical)
        .find_map(|l| l.value().attr("href"))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    let mut ex = Extracted {
        title,
        canonical,
        declared_lang,
        published_at: stated.map(|(d, _)| d),
        updated_at,
        alternates,
        ..Extracted::default()
    };
    ex.provenance.title = title_from;
    ex.provenance.date = stated.map_or("", |(_, from)| from);

    match ruled {
        Some(r) if rules.is_some_and(|r| r.authors.is_some()) => {
            ex.authors = r.authors;
            ex.provenance.authors = "the source's authors rule";
        }
        _ => {
            ex.authors = ld.as_ref().map(|a| a.authors.clone()).unwrap_or_default();
            if !ex.authors.is_empty() {
                ex.provenance.authors = "JSON-LD author";
            }
        }
    }
    if ex.authors.is_empty() && rules.is_none_or(|r| r.authors.is_none()) {
        ex.authors = super::byline::from_page(&doc);
        if !ex.authors.is_empty() {
            ex.provenance.authors = "printed byline";
        }
    }
    let stats = main_text::TextStats::of(&doc);
    let containers: Vec<ElementRef<'_>> = match body_rule {
        Some(pick) => {
            ex.provenance.body = "the source's body rule";
            vec![doc.select(&pick.selector).next().ok_or_else(|| missed("body", pick))?]
        }
        // Markup that names the body is trusted; otherwise the scorer finds it.
        None => match doc
            .select(&s.article_body)
            .find(|e| !matches!(e.value().name(), "meta" | "link"))
        {
            Some(body) => {
                ex.provenance.body = "itemprop=articleBody";
                vec![body]
            }
            None => {
                let found = main_text::main_nodes(&doc, &stats);
                if found.is_empty() {
                    ex.provenance.body = "the whole <body> (no block scored as text)";
                    doc.select(&s.body).next().into_iter().collect()
                } else {
                    ex.provenance.body = "text-density scorer";
                    found
                }
            }
        },
    };
    ex.lines = main_text::blocks(&containers, &stats);
    if ex.lines.is_empty() && body_rule.is_none() {
        // The block that scored best holds no text of its own (images, a form): the page's text
        // is better than none.
        if let Some(body) = doc.select(&s.body).next() {
            ex.provenance.body = "the whole <body> (the best block had no text)";
            ex.lines = main_text::blocks(&[body], &stats);
        }
    }
    // The lead, when the page sets it apart from the body it chose.
    if body_rule.is_none() && !ex.lines.is_empty() {
        let headline = doc.select(&s.h1).next().map(|h| h.id());
        let body = containers.first().map(|c| c.id());
        // The page's language as declared, else as its first blocks read.
        let lang = ex.declared_lang.or_else(|| {
            let sample: String = ex
                .lines
                .iter()
                .take(6)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ");
            super::lang::detect(&sample, None)
        });
        let culture = matches!(lang, Some(Lang::Vi | Lang::Fr));
        if let Some(lead) = super::lead::find(&doc, body, headline, ex.title.as_deref(), culture) {
            let start: String = lead.chars().take(40).collect();
            let squash = |l: &String| l.split_whitespace().collect::<Vec<_>>().join(" ");
            if !ex.lines.iter().take(3).any(|l| squash(l).contains(&start)) {
                ex.lines.insert(0, lead);
                ex.provenance.lead = "lead block beside the body";
            }
        }
    }
    // A page whose JSON-LD states a much longer article body than the markup yielded (text loaded
    // by script, a body split over many containers) is read from the JSON-LD instead.
    if body_rule.is_none()
        && let Some(body) = ld.as_ref().and_then(|a| a.body.as_deref())
    {
        let found: usize = ex.lines.iter().map(String::len).sum();
        if body.len() >= 200 && body.len() * 2 >= found * 3 {
            ex.provenance.body = "JSON-LD articleBody (longer than the markup's text)";
            ex.provenance.lead = "";
            ex.lines = body
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
        }
    }
    for container in &containers {
        for a in container.select(&s.links) {
            let label = text_of(a).to_lowercase();
            let label = label.trim().trim_end_matches(':').trim();
            if matches!(
                label,
                "source" | "lien source" | "nguồn" | "link gốc" | "original" | "source link"
            ) && let Some(href) = a.value().attr("href")
                && (href.starts_with("http://") || href.starts_with("https://"))
            {
                ex.original_url.get_or_insert_with(|| href.to_string());
            }
        }
    }
    if let Some(t) = &ex.title {
        // The headline often repeats as the first block.
        if ex.lines.first() == Some(t) {
            ex.provenance.removed("repeated headline", t, 1);
            ex.lines.remove(0);
        }
    }
    Ok(ex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_date_and_time_win_over_a_meta_date_of_the_same_days() {
        let page = r#"<html lang="vi"><head><meta itemprop="datePublished" content="2012-12-25">
            <meta property="article:published_time" content="2012-12-23T14:02+07:00"></head><body>
            <ul><li><span class="time">16:10 | 26/12/2012</span></li></ul>
            <h1>Tiêu đề bài báo</h1><div class="publication_date">Thứ Hai, 24/12/2012, 03:04 AM (GMT+7)</div>
            <div class="detail-sapo">(Dân trí) - Sáng 24/12, Công an tỉnh đã bắt giữ hai đối tượng vận chuyển 14 bánh heroin.</div>
            <article><p>Theo thông tin ban đầu, hai đối tượng bị bắt quả tang tại thôn Nà Lầm, xã Yên Khoái.</p>
            <p>Vụ việc đang được cơ quan chức năng điều tra làm rõ.</p></article></body></html>"#;
        let ex = read(page);
        assert_eq!(
            ex.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2012-12-24T03:04:00+07:00"),
            "the printed stamp, not the ticker's nor the meta's"
        );
        assert!(ex.lines[0].starts_with("(Dân trí) - Sáng 24/12"), "{:?}", ex.lines);
    }

    #[test]
    fn provenance_names_where_each_field_came_from() {
        let page = r#"<html lang="vi"><head><meta itemprop="datePublished" content="2012-12-25">
            <meta property="og:title" content="Tiêu đề bài báo - Báo Tỉnh"></head><body>
            <div class="detail-header"><h1>Tiêu đề bài báo</h1><div class="publication_date">Thứ Hai, 24/12/2012, 03:04 AM (GMT+7)</div>
            <div class="detail-sapo">(Dân trí) - Sáng 24/12, Công an tỉnh đã bắt giữ hai đối tượng vận chuyển 14 bánh heroin.</div></div>
            <article><p>Theo thông tin ban đầu, hai đối tượng bị bắt quả tang tại thôn Nà Lầm, xã Yên Khoái, huyện Lộc Bình, khi đang vận chuyển ma túy qua biên giới.</p>
            <p>Vụ việc đang được cơ quan chức năng điều tra, làm rõ, mở rộng.</p></article></body></html>"#;
        let ex = read(page);
        // The header's block scores with the story's, so the lead is read as the body's own.
        assert!(ex.lines[1].starts_with("(Dân trí) - Sáng 24/12"), "{:?}", ex.lines);
        let p = ex.provenance;
        assert_eq!(p.title, "heading equal to the declared title's first part");
        assert_eq!(p.date, "printed date line, agreeing with the declared date");
        assert_eq!(p.body, "text-density scorer");
        let p = read("<html><head><title>Một bài báo dài về giao thông</title></head><body><div itemprop=articleBody><p>Đoạn một của bài báo này đủ dài để được giữ lại.</p></div></body></html>").provenance;
        assert_eq!(
            (p.title, p.date, p.body, p.lead),
            ("<title> without the site name", "", "itemprop=articleBody", "")
        );
    }

    #[test]
    fn reads_a_simple_article_page() {
        let page = r#"<!doctype html><html lang="vi"><head><title>Site | Tin</title>
            <meta property="article:published_time" content="2024-01-19T14:30:00+07:00"></head>
            <body><nav><p>Trang chủ</p></nav><article><h1>Hội nghị sơ kết</h1>
            <p>Chiều nay 19/1/2024, tại trụ sở Công an tỉnh Quảng Nam.</p>
            <figure><img src="a.jpg"><figcaption>Các đại biểu. Ảnh: M.T</figcaption></figure>
            <p>Các lực lượng đã phối hợp tổ chức 611 đợt.</p>
            <p><a href="https://baoquangnam.vn/a.html">Nguồn</a></p></article>
            <footer><p>Bản quyền</p></footer></body></html>"#;
        let ex = read(page);
        assert_eq!(ex.title.as_deref(), Some("Hội nghị sơ kết"));
        assert_eq!(ex.declared_lang, Some(Lang::Vi));
        assert_eq!(
            ex.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-01-19T14:30:00+07:00")
        );
        assert_eq!(ex.original_url.as_deref(), Some("https://baoquangnam.vn/a.html"));
        assert_eq!(
            ex.lines,
            vec![
                "Chiều nay 19/1/2024, tại trụ sở Công an tỉnh Quảng Nam.",
                "Các lực lượng đã phối hợp tổ chức 611 đợt."
            ]
        );
    }

    fn rules(title: &str, body: &str, date: &str, authors: &str, remove: &[&str]) -> Rules {
        let p = |s: &str| Some(Pick::parse(s).unwrap());
        Rules {
            title: p(title),
            body: p(body),
            date: p(date),
            authors: p(authors),
            remove: remove.iter().map(|r| Pick::parse(r).unwrap()).collect(),
        }
    }

    const PROVINCIAL: &str = r#"<html lang="vi"><head><title>Báo Quảng Trị</title>
        <meta property="article:published_time" content="2024-11-29T08:15:00+07:00"></head><body>
        <h1 class="site">Báo Quảng Trị điện tử</h1>
        <div class="detail"><h1 class="article-title">Hội nghị cụm thi đua số 7</h1>
        <div class="article-content"><p class="sapo">Sáng 29/11, tại TP. Đông Hà, Cụm thi đua số 7 tổng kết năm 2024.</p>
        <div class="share"><p>Chia sẻ</p></div>
        <p>Cụm gồm 5 tỉnh: Quảng Trị, Thừa Thiên Huế, Quảng Nam, Quảng Ngãi, Bình Định.</p>
        <p class="photo-caption">Quang cảnh hội nghị - Ảnh: T.L</p>
        <p class="author">Thanh Lê</p></div>
        <div class="related"><p>Tin liên quan</p></div></div></body></html>"#;

    #[test]
    fn source_rules_pick_fields_and_remove_elements() {
        let r = rules(
            "h1.article-title",
            "div.article-content",
            "meta[property='article:published_time']@content",
            ".author",
            &[".photo-caption", ".share"],
        );
        let ex = read_with(PROVINCIAL, Some(&r)).unwrap();
        assert_eq!(ex.title.as_deref(), Some("Hội nghị cụm thi đua số 7"));
        assert_eq!(
            ex.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-11-29T08:15:00+07:00")
        );
        assert_eq!(ex.authors, ["Thanh Lê"]);
        assert_eq!(
            ex.lines,
            [
                "Sáng 29/11, tại TP. Đông Hà, Cụm thi đua số 7 tổng kết năm 2024.",
                "Cụm gồm 5 tỉnh: Quảng Trị, Thừa Thiên Huế, Quảng Nam, Quảng Ngãi, Bình Định."
            ]
        );
        // A visible date string works as well as an attribute.
        let page = PROVINCIAL.replace(
            "<div class=\"detail\">",
            "<div class=\"detail\"><span class=\"time\">Thứ Sáu, 29/11/2024 08:15</span>",
        );
        let r = rules("h1.article-title", "div.article-content", "span.time", ".author", &[]);
        let ex = read_with(&page, Some(&r)).unwrap();
        assert_eq!(
            ex.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-11-29T08:15:00+07:00")
        );
    }

    #[test]
    fn a_rule_that_matches_nothing_fails_the_page() {
        for (field, r) in [
            (
                "title",
                rules("h1.headline", "div.article-content", "meta@content", ".author", &[]),
            ),
            (
                "body",
                rules(
                    "h1.article-title",
                    "div.content",
                    "meta[property]@content",
                    ".author",
                    &[],
                ),
            ),
            (
                "date",
                rules(
                    "h1.article-title",
                    "div.article-content",
                    "time@datetime",
                    ".author",
                    &[],
                ),
            ),
            (
                "authors",
                rules(
                    "h1.article-title",
                    "div.article-content",
                    "meta[property]@content",
                    ".byline",
                    &[],
                ),
            ),
        ] {
            match read_with(PROVINCIAL, Some(&r)) {
                Err(ScrapeError::RuleMissed { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
