//! Listing (section) pages to article links. Pure: an HTML page in, links and the next page out.
//!
//! The source's `links` selector picks article anchors; `next` picks the pagination link. Both
//! are compiled once, when the config is validated (`Css`), not at every poll.

use std::sync::{Arc, LazyLock};

use scraper::Selector;
use url::Url;

use crate::fetch::urls;

static ANCHORS: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").expect("a valid selector"));
static BASE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("base[href]").expect("a valid selector"));

/// A CSS selector compiled at validation, compared by its text (a reload restarts a source whose
/// selectors changed).
#[derive(Debug, Clone)]
pub struct Css {
    text: String,
    selector: Arc<Selector>,
}

impl Css {
    pub fn parse(text: &str) -> Result<Css, String> {
        let selector = Selector::parse(text).map_err(|e| e.to_string())?;
        Ok(Css {
            text: text.to_string(),
            selector: Arc::new(selector),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn selector(&self) -> &Selector {
        &self.selector
    }
}

impl PartialEq for Css {
    fn eq(&self, other: &Css) -> bool {
        self.text == other.text
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListingLinks {
    pub links: Vec<Url>,
    pub next: Option<Url>,
}

/// Reads a listing page. `links` and `next` are CSS selectors; an element matched by `links`
/// that is not an anchor contributes the anchors inside it.
pub fn parse(html: &str, page_url: &Url, links: &Css, next: &Css) -> ListingLinks {
    let (links, next, anchors) = (links.selector(), next.selector(), &*ANCHORS);
    let doc = crate::scrape::dom::parse(html);
    let base = doc
        .select(&BASE)
        .find_map(|b| b.value().attr("href"))
        .and_then(|h| page_url.join(h).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut out = ListingLinks::default();
    for el in doc.select(links) {
        let hrefs: Vec<&str> = match el.value().attr("href") {
            Some(h) => vec![h],
            None => el.select(anchors).filter_map(|a| a.value().attr("href")).collect(),
        };
        for h in hrefs {
            if let Some(u) = urls::resolve(Some(&base), h)
                && !out.links.contains(&u)
            {
                out.links.push(u);
            }
        }
    }
    out.next = doc
        .select(next)
        .filter_map(|e| e.value().attr("href"))
        .find_map(|h| urls::resolve(Some(&base), h))
        .filter(|u| u != page_url);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_links_and_the_next_page() {
        let html = r#"<html><body>
<div class="list"><h3 class="title"><a href="/thoi-su/a-1.html">Lào Cai: 62.000 lượt khách</a></h3>
<h3 class="title"><a href="https://baolaocai.vn/thoi-su/b-2.html?utm_source=home">B</a></h3>
<h3 class="title"><a href="/thoi-su/a-1.html#comments">A again</a></h3>
<h3 class="title"><a href="javascript:void(0)">share</a></h3></div>
<div class="hot"><a href="/hot/c-3.html">not in the list</a></div>
<div class="paging"><a href="/thoi-su?page=1">1</a><a rel="next" href="/thoi-su?page=2">Trang sau</a></div>
</body></html>"#;
        let page = Url::parse("https://baolaocai.vn/thoi-su").unwrap();
        let got = parse(
            html,
            &page,
            &Css::parse("h3.title a").unwrap(),
            &Css::parse("a[rel=next]").unwrap(),
        );
        let links: Vec<&str> = got.links.iter().map(Url::as_str).collect();
        assert_eq!(
            links,
            [
                "https://baolaocai.vn/thoi-su/a-1.html",
                "https://baolaocai.vn/thoi-su/b-2.html"
            ]
        );
        assert_eq!(got.next.unwrap().as_str(), "https://baolaocai.vn/thoi-su?page=2");
        // A container selector yields the anchors inside it.
        let got = parse(
            html,
            &page,
            &Css::parse("div.hot").unwrap(),
            &Css::parse("a.none").unwrap(),
        );
        assert_eq!(got.links[0].as_str(), "https://baolaocai.vn/hot/c-3.html");
        assert_eq!(got.next, None);
    }
}
