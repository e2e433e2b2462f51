//! Simple HTML article pages: title, paragraphs of the article container, and the metadata the
//! page states (`article:published_time`, `<time datetime>`, `<html lang>`, a "Source" link).
//!
//! `scraper::Html` is not `Send`; this module only runs inside the scrape workers' threads.

use std::sync::LazyLock;

use chrono::DateTime;
use scraper::{ElementRef, Html, Selector};

use super::Extracted;
use crate::dates::parse_stamp;
use crate::model::Lang;

struct Selectors {
    h1: Selector,
    og_title: Selector,
    title: Selector,
    html: Selector,
    published: Selector,
    time: Selector,
    containers: Vec<Selector>,
    blocks: Selector,
    links: Selector,
    canonical: Selector,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("built-in selector {s:?} is invalid: {e}"))
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    h1: sel("h1"),
    og_title: sel(r#"meta[property="og:title"]"#),
    title: sel("title"),
    html: sel("html"),
    published: sel(r#"meta[property="article:published_time"], meta[itemprop="datePublished"], meta[name="pubdate"]"#),
    time: sel("time[datetime]"),
    containers: ["[itemprop=articleBody]", "article", "main", "body"]
        .into_iter()
        .map(sel)
        .collect(),
    blocks: sel("p, h2, h3, blockquote"),
    links: sel("a[href]"),
    canonical: sel(r#"link[rel~="canonical"][href]"#),
});

/// Elements whose text is never article body.
const SKIP_ANCESTORS: &[&str] = &[
    "figure",
    "figcaption",
    "nav",
    "footer",
    "aside",
    "header",
    "form",
    "script",
    "style",
    "noscript",
];

fn text_of(el: ElementRef<'_>) -> String {
    el.text().flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ")
}

fn nonempty(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() { None } else { Some(t.to_string()) }
}

pub fn read(text: &str) -> Extracted {
    let s = &*SELECTORS;
    let doc = Html::parse_document(text);
    let title = doc
        .select(&s.h1)
        .next()
        .map(text_of)
        .and_then(nonempty)
        .or_else(|| {
            doc.select(&s.og_title)
                .next()
                .and_then(|m| m.value().attr("content"))
                .map(str::to_string)
                .and_then(nonempty)
        })
        .or_else(|| doc.select(&s.title).next().map(text_of).and_then(nonempty));

    let declared_lang = doc
        .select(&s.html)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .and_then(|l| Lang::from_code(l.split(['-', '_']).next().unwrap_or(l)));

    let stated = doc
        .select(&s.published)
        .filter_map(|m| m.value().attr("content"))
        .chain(doc.select(&s.time).filter_map(|t| t.value().attr("datetime")))
        .find_map(|v| DateTime::parse_from_rfc3339(v.trim()).ok().or_else(|| parse_stamp(v)));
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
        published_at: stated,
        ..Extracted::default()
    };

    let container = s.containers.iter().find_map(|c| doc.select(c).next());
    if let Some(container) = container {
        for block in container.select(&s.blocks) {
            let skipped = block
                .ancestors()
                .filter_map(ElementRef::wrap)
                .take_while(|a| a.id() != container.id())
                .any(|a| SKIP_ANCESTORS.contains(&a.value().name()));
            if skipped {
                continue;
            }
            // A block nested in another block is read with its parent.
            let nested = block
                .ancestors()
                .filter_map(ElementRef::wrap)
                .take_while(|a| a.id() != container.id())
                .any(|a| matches!(a.value().name(), "p" | "blockquote"));
            if nested {
                continue;
            }
            let t = text_of(block);
            if !t.is_empty() {
                ex.lines.push(t);
            }
        }
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
            ex.lines.remove(0);
        }
    }
    ex
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "Các lực lượng đã phối hợp tổ chức 611 đợt.",
                "Nguồn"
            ]
        );
    }
}
