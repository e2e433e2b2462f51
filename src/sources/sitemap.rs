//! Sitemaps to article links. Pure: bytes in, links out.
//!
//! Reads a sitemap index (`<sitemapindex>`, whose `<loc>`s are more sitemaps) or a URL set
//! (`<urlset>`, with `<lastmod>` and the news extension's `<news:publication_date>`), gzipped or
//! not. Decompression is capped like any body, so a gzip bomb fails instead of filling memory.
//! At most `MAX_ENTRIES` entries are read, the protocol's own limit.

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use crate::fetch::urls;

pub const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, PartialEq, Eq)]
pub enum Sitemap {
    /// More sitemaps to read.
    Index(Vec<Url>),
    /// Article pages, each with the date the sitemap gives (lastmod or news publication date).
    Urls(Vec<(Url, Option<String>)>),
}

/// Gunzips `body` when it is gzip (whatever the URL says), refusing more than `cap` bytes out.
pub fn gunzip(body: &[u8], cap: u64) -> Result<Vec<u8>, String> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip: {e}"))?;
    if out.len() as u64 > cap {
        return Err(format!(
            "over the {cap} byte cap once decompressed (fetch.max_body_bytes)"
        ));
    }
    Ok(out)
}

pub fn parse(body: &[u8], sitemap_url: &Url) -> Result<Sitemap, String> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut root: Option<String> = None;
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut loc: Option<String> = None;
    let mut date: Option<String> = None;
    let mut children = Vec::new();
    let mut pages = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not a sitemap: {e} at byte {}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if root.is_none() {
                    if name != "urlset" && name != "sitemapindex" {
                        return Err(format!("not a sitemap: the root element is <{name}>"));
                    }
                    root = Some(name.clone());
                }
                if name == "url" || name == "sitemap" {
                    loc = None;
                    date = None;
                }
                stack.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::CData(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_xml_entity(&r) {
                    text.push_str(s);
                }
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                match name.as_str() {
                    "loc" => loc = Some(text.trim().to_string()),
                    "lastmod" | "publication_date" => {
                        date.get_or_insert_with(|| text.trim().to_string());
                    }
                    "url" | "sitemap" => {
                        if let Some(u) = loc.take().and_then(|l| urls::resolve(Some(sitemap_url), &l)) {
                            if name == "url" {
                                pages.push((u, date.take()));
                            } else {
                                children.push(u);
                            }
                        }
                        if pages.len() + children.len() >= MAX_ENTRIES {
                            break;
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match root.as_deref() {
        Some("sitemapindex") => Ok(Sitemap::Index(children)),
        Some(_) => Ok(Sitemap::Urls(pages)),
        None => Err("not a sitemap: no root element".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn base() -> Url {
        Url::parse("https://baohagiang.vn/sitemap.xml").unwrap()
    }

    #[test]
    fn urlset_with_news_extension_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://baohagiang.vn/xa-hoi/a-1.html?id=1&amp;p=2</loc><lastmod>2024-01-19</lastmod></url>
  <url><loc> https://baohagiang.vn/kinh-te/b-2.html#x </loc>
    <news:news><news:publication><news:name>Báo Hà Giang</news:name><news:language>vi</news:language></news:publication>
    <news:publication_date>2024-01-20T08:00:00+07:00</news:publication_date><news:title>Hà Giang</news:title></news:news></url>
  <url><loc>ftp://baohagiang.vn/file</loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
</urlset>"#;
        let Sitemap::Urls(urls) = parse(xml.as_bytes(), &base()).unwrap() else {
            panic!("a urlset")
        };
        assert_eq!(
            urls,
            vec![
                (
                    Url::parse("https://baohagiang.vn/xa-hoi/a-1.html?id=1&p=2").unwrap(),
                    Some("2024-01-19".to_string())
                ),
                (
                    Url::parse("https://baohagiang.vn/kinh-te/b-2.html").unwrap(),
                    Some("2024-01-20T08:00:00+07:00".to_string())
                ),
            ]
        );
    }

    #[test]
    fn index_of_gzipped_sitemaps() {
        let xml = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://baohagiang.vn/sitemap-1.xml.gz</loc></sitemap><sitemap><loc>/sitemap-2.xml</loc></sitemap></sitemapindex>"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(xml.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let plain = gunzip(&gz, 1 << 20).unwrap();
        let Sitemap::Index(children) = parse(&plain, &base()).unwrap() else {
            panic!("an index")
        };
        let children: Vec<&str> = children.iter().map(Url::as_str).collect();
        assert_eq!(
            children,
            [
                "https://baohagiang.vn/sitemap-1.xml.gz",
                "https://baohagiang.vn/sitemap-2.xml"
            ]
        );
    }

    #[test]
    fn gzip_bombs_and_non_sitemaps_are_refused() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 10 << 20]).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 100_000);
        assert!(gunzip(&gz, 1 << 20).unwrap_err().contains("cap"));
        assert!(gunzip(b"\x1f\x8bnot gzip", 1 << 20).is_err());
        assert!(
            parse(b"<html><body/></html>", &base())
                .unwrap_err()
                .contains("root element is <html>")
        );
        assert!(parse(b"", &base()).is_err());
    }
}
