//! JSON-LD (`<script type="application/ld+json">`): what a page says about its article in
//! schema.org terms. Pure: the script texts in, the first article-like object's fields out.
//!
//! Objects are found at the top level, in arrays and in `@graph`; an article is any object whose
//! `@type` (a string or a list) ends in "Article" or is "BlogPosting"/"Report". Malformed JSON is
//! skipped, as browsers skip it; scripts over `MAX_SCRIPT_BYTES` are not parsed.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::dates::parse_stamp;

const MAX_SCRIPT_BYTES: usize = 1 << 20;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct LdArticle {
    /// The article's `headline`, else its `name`.
    pub headline: Option<String>,
    /// Whether `headline` is the declared `headline` (not a `name`, which may be the site's).
    pub has_headline: bool,
    pub published: Option<DateTime<FixedOffset>>,
    pub modified: Option<DateTime<FixedOffset>>,
    pub authors: Vec<String>,
    pub body: Option<String>,
    pub language: Option<String>,
}

fn is_article(v: &Value) -> bool {
    // Articles, and postings (BlogPosting, LiveBlogPosting, SocialMediaPosting…).
    let kind = |t: &str| t.ends_with("Article") || t.ends_with("Posting") || t == "Report";
    match v.get("@type") {
        Some(Value::String(t)) => kind(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(kind),
        _ => false,
    }
}

fn find_article(v: &Value, depth: usize) -> Option<&Value> {
    if depth > 4 {
        return None;
    }
    match v {
        Value::Object(_) if is_article(v) => Some(v),
        Value::Object(o) => o.get("@graph").and_then(|g| find_article(g, depth + 1)),
        Value::Array(items) => items.iter().find_map(|i| find_article(i, depth + 1)),
        _ => None,
    }
}

/// A script's JSON without the `<![CDATA[ … ]]>` wrapper (also commented out, `//<![CDATA[`)
/// that XHTML-minded templates put around it.
fn without_cdata(script: &str) -> &str {
    let s = script.trim();
    let s = s.strip_prefix("//").map_or(s, str::trim_start);
    let Some(inner) = s.strip_prefix("<![CDATA[") else {
        return s;
    };
    let inner = inner.trim_end();
    let inner = inner.strip_suffix("]]>").unwrap_or(inner).trim_end();
    inner.strip_suffix("//").unwrap_or(inner).trim()
}

fn text(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn date(v: Option<&Value>) -> Option<DateTime<FixedOffset>> {
    let s = v?.as_str()?.trim();
    DateTime::parse_from_rfc3339(s).ok().or_else(|| parse_stamp(s))
}

fn authors(v: Option<&Value>) -> Vec<String> {
    let one = |a: &Value| match a {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(|s| s.trim().to_string()),
        _ => None,
    };
    let mut out: Vec<String> = match v {
        Some(Value::Array(list)) => list.iter().filter_map(one).collect(),
        Some(a) => one(a).into_iter().collect(),
        None => Vec::new(),
    };
    out.retain(|a| !a.is_empty());
    out.dedup();
    out
}

/// The first article described by any of `scripts`.
pub fn article<'a>(scripts: impl IntoIterator<Item = &'a str>) -> Option<LdArticle> {
    for script in scripts {
        if script.len() > MAX_SCRIPT_BYTES {
            continue;
        }
        let Ok(value) = serde_json::from_str::<Value>(without_cdata(script)) else {
            continue;
        };
        if let Some(a) = find_article(&value, 0) {
            return Some(LdArticle {
                headline: text(a.get("headline")).or_else(|| text(a.get("name"))),
                has_headline: text(a.get("headline")).is_some(),
                published: date(a.get("datePublished")),
                modified: date(a.get("dateModified")),
                authors: authors(a.get("author")),
                body: text(a.get("articleBody")),
                language: text(a.get("inLanguage")),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdata_wrapped_script_and_a_social_media_posting_are_read() {
        let wrapped = "\n  <![CDATA[ {\"@context\":\"https://schema.org\",\"@type\":\"Article\",\"datePublished\":\"2001-10-29T01:59:14Z\"} ]]>\n";
        let a = article([wrapped]).expect("read through the CDATA wrapper");
        assert_eq!(
            a.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2001-10-29T01:59:14+00:00")
        );
        let commented =
            "//<![CDATA[\n{\"@type\":\"SocialMediaPosting\",\"datePublished\":\"2014-09-02T08:35:27-04:00\"}\n//]]>";
        assert!(article([commented]).and_then(|a| a.published).is_some());
    }

    #[test]
    fn finds_the_article_in_a_graph_with_its_dates_and_authors() {
        let graph = r#"{"@context":"https://schema.org","@graph":[
            {"@type":"WebSite","name":"Báo Quảng Trị"},
            {"@type":["NewsArticle"],"headline":"Hội nghị cụm thi đua số 7","datePublished":"2024-11-29T08:15:00+07:00",
             "dateModified":"2024-11-29T10:00:00+07:00","author":[{"@type":"Person","name":"Thanh Lê"},"Minh Thư"],
             "articleBody":"Sáng 29/11, tại TP. Đông Hà...","inLanguage":"vi"}]}"#;
        let a = article(["not json", graph]).unwrap();
        assert_eq!(a.headline.as_deref(), Some("Hội nghị cụm thi đua số 7"));
        assert_eq!(a.published.unwrap().to_rfc3339(), "2024-11-29T08:15:00+07:00");
        assert_eq!(a.modified.unwrap().to_rfc3339(), "2024-11-29T10:00:00+07:00");
        assert_eq!(a.authors, ["Thanh Lê", "Minh Thư"]);
        assert_eq!(a.language.as_deref(), Some("vi"));
        assert!(a.body.unwrap().starts_with("Sáng 29/11"));
        assert_eq!(article([r#"{"@type":"Organization","name":"x"}"#]), None);
        let blog = article([r#"[{"@type":"BlogPosting","author":{"name":"An"},"datePublished":"19/01/2024 14:30"}]"#])
            .unwrap();
        assert_eq!(blog.authors, ["An"]);
        assert_eq!(blog.published.unwrap().to_rfc3339(), "2024-01-19T14:30:00+07:00");
    }
}
