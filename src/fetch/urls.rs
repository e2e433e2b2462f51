//! URL identity and scope: one article has one URL, and links are followed only where the source
//! allows.
//!
//! Normalisation drops what does not name a different document (the fragment, tracking
//! parameters, an empty query, the default port; `url` already lowercases the host and resolves
//! dot segments) and keeps everything else as the site wrote it. Two links that normalise alike
//! are fetched once.

use url::Url;

/// Query parameters that only track where a click came from.
const TRACKING_PREFIXES: &[&str] = &["utm_", "mtm_", "pk_"];
const TRACKING_NAMES: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "zarsrc",
    "_hsenc",
    "_hsmi",
    "ref_src",
    "at_medium",
    "at_campaign",
];

fn is_tracking(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TRACKING_NAMES.contains(&lower.as_str()) || TRACKING_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Parses `href` against `base` and normalises it; `None` for what is not an http(s) URL.
pub fn resolve(base: Option<&Url>, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    normalize(url)
}

/// The normal form of an http(s) URL; `None` for other schemes or a URL without a host.
pub fn normalize(mut url: Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    // `url` drops the scheme's default port itself; a bare "host" gets its "/" path.
    Some(url)
}

/// A host name without a leading `www.`, which sites use interchangeably with the bare name.
pub fn site(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

/// The hosts a source may follow links to: its own (from its configured URLs) plus `allow_hosts`.
/// A `www.` prefix is ignored on both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    hosts: Vec<String>,
}

impl Scope {
    pub fn new<'a>(own: impl IntoIterator<Item = &'a Url>, allow_hosts: &[String]) -> Scope {
        let mut hosts: Vec<String> = own
            .into_iter()
            .filter_map(|u| u.host_str())
            .chain(allow_hosts.iter().map(String::as_str))
            .map(|h| site(&h.to_ascii_lowercase()).to_string())
            .collect();
        hosts.sort();
        hosts.dedup();
        Scope { hosts }
    }

    pub fn allows(&self, url: &Url) -> bool {
        url.host_str().is_some_and(|h| self.hosts.iter().any(|s| s == site(h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        resolve(None, s).map(|u| u.to_string()).unwrap_or_else(|| "-".into())
    }

    #[test]
    fn normal_form_drops_what_names_no_other_document() {
        assert_eq!(
            n("HTTPS://BaoQuangTri.vn:443/thoi-su/a-123.htm?utm_source=fb&utm_medium=x#comments"),
            "https://baoquangtri.vn/thoi-su/a-123.htm"
        );
        assert_eq!(
            n("https://baoquangtri.vn/a.htm?id=5&fbclid=abc&page=2"),
            "https://baoquangtri.vn/a.htm?id=5&page=2"
        );
        assert_eq!(n("http://example.vn"), "http://example.vn/");
        assert_eq!(n("https://example.vn/a/../b/./c.htm"), "https://example.vn/b/c.htm");
        assert_eq!(n("javascript:void(0)"), "-");
        assert_eq!(n("mailto:toasoan@baoquangtri.vn"), "-");
        assert_eq!(n("  "), "-");
        let base = Url::parse("https://baolaocai.vn/thoi-su?page=2").unwrap();
        assert_eq!(
            resolve(Some(&base), "/tin/abc-123.html#top").unwrap().as_str(),
            "https://baolaocai.vn/tin/abc-123.html"
        );
        assert_eq!(
            resolve(Some(&base), "tin-2.html").unwrap().as_str(),
            "https://baolaocai.vn/tin-2.html"
        );
    }

    #[test]
    fn scope_is_own_hosts_and_allowed_ones_with_or_without_www() {
        let own = [Url::parse("https://www.baoquangtri.vn/rss/home.rss").unwrap()];
        let scope = Scope::new(&own, &["cdn.baoquangtri.vn".to_string()]);
        for ok in [
            "https://baoquangtri.vn/a",
            "http://www.baoquangtri.vn/b",
            "https://cdn.baoquangtri.vn/c",
        ] {
            assert!(scope.allows(&Url::parse(ok).unwrap()), "{ok}");
        }
        for no in [
            "https://evil.example/a",
            "https://baoquangtri.vn.evil.example/",
            "http://127.0.0.1/",
        ] {
            assert!(!scope.allows(&Url::parse(no).unwrap()), "{no}");
        }
    }
}
