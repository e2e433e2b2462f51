//! Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed) to article links. Pure: bytes in, links out.
//!
//! feed-rs reads every format into one model; this module picks each entry's article link (the
//! `alternate` one, else the first), resolves it against the feed URL and reports entries without
//! a usable link instead of dropping them silently.

use url::Url;

use crate::fetch::urls;

/// What a feed lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FeedLinks {
    pub links: Vec<Url>,
    /// Entries that name no http(s) link, by id or title, with what was wrong.
    pub bad_items: Vec<(String, String)>,
}

pub fn parse(body: &[u8], feed_url: &Url) -> Result<FeedLinks, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .sanitize_content(false)
        .build();
    let feed = parser.parse(body).map_err(|e| e.to_string())?;
    let mut out = FeedLinks::default();
    for entry in feed.entries {
        let href = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or_else(|| entry.links.first())
            .map(|l| l.href.clone());
        let name = entry
            .title
            .as_ref()
            .map(|t| t.content.clone())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| entry.id.clone());
        match href {
            Some(h) => match urls::resolve(Some(feed_url), &h) {
                Some(u) => out.links.push(u),
                None => out.bad_items.push((name, format!("link {h:?} is not an http(s) URL"))),
            },
            None => out.bad_items.push((name, "no link".to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://baoquangtri.vn/rss/home.rss").unwrap()
    }

    #[test]
    fn rss_items_with_relative_links_and_bad_items() {
        let rss = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Báo Quảng Trị</title><link>https://baoquangtri.vn/</link>
<item><title>Quảng Trị đón 62.000 lượt khách</title><link>https://baoquangtri.vn/du-lich/a-1.htm?utm_source=rss</link></item>
<item><title>Không có liên kết</title><description>x</description></item>
<item><title>Liên kết hỏng</title><link>javascript:alert(1)</link></item>
<item><title>Tương đối</title><link>/thoi-su/b-2.htm</link><pubDate>not a date</pubDate></item>
</channel></rss>"#;
        let got = parse(rss.as_bytes(), &base()).unwrap();
        let links: Vec<&str> = got.links.iter().map(Url::as_str).collect();
        assert_eq!(
            links,
            [
                "https://baoquangtri.vn/du-lich/a-1.htm",
                "https://baoquangtri.vn/thoi-su/b-2.htm"
            ]
        );
        assert_eq!(got.bad_items.len(), 2, "{:?}", got.bad_items);
        assert_eq!(got.bad_items[0].0, "Không có liên kết");
    }

    #[test]
    fn atom_and_json_feed() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Vietnam+ FR</title><id>urn:x</id><updated>2024-01-19T10:00:00Z</updated>
<entry><title>Quang Tri</title><id>urn:1</id><updated>2024-01-19T10:00:00Z</updated>
<link rel="enclosure" href="https://cdn.example/p.jpg"/><link rel="alternate" href="https://fr.example/qt-1.html"/></entry>
</feed>"#;
        let got = parse(atom.as_bytes(), &base()).unwrap();
        assert_eq!(got.links[0].as_str(), "https://fr.example/qt-1.html");
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","url":"https://en.example/a"},{"id":"2"}]}"#;
        let got = parse(json.as_bytes(), &base()).unwrap();
        assert_eq!(got.links[0].as_str(), "https://en.example/a");
        assert_eq!(got.bad_items, [("2".to_string(), "no link".to_string())]);
    }

    #[test]
    fn not_a_feed_is_an_error() {
        assert!(parse(b"<html><body>hello</body></html>", &base()).is_err());
        assert!(parse(b"", &base()).is_err());
    }
}
