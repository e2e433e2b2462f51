//! Site templates learnt from a site's own pages: a line that several different articles of one
//! host carry (a promo paragraph, a hotline, a signature box, a caption style, a related-box
//! heading) is the site's furniture, not the article's.
//!
//! Pure: `Templates` is data the scrape stage consults and updates under a lock, and the pipeline
//! saves to and loads from the state store. Bounded: at most `MAX_HOSTS` hosts (the least
//! recently read goes first) and `MAX_LINES` lines per host (those seen in the fewest articles,
//! and longest ago, go first).
//!
//! Invariants: a line is furniture only once `ARTICLES` different articles of its host (told apart
//! by their titles, else their first paragraphs) carried it, so URL variants and re-posts of one
//! article never teach it; stripping never leaves a page without text.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Distinct articles of a host that must carry a line before it counts as the site's.
pub const ARTICLES: usize = 3;
/// Lines remembered per host.
pub const MAX_LINES: usize = 1024;
/// Hosts remembered.
pub const MAX_HOSTS: usize = 1024;

/// One host's lines: each line's hash, the (hashes of) distinct articles seen carrying it, up to
/// `ARTICLES`, and when it was last seen (the host's page counter).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pages: u32,
    lines: HashMap<u64, Seen>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Seen {
    articles: [u32; ARTICLES],
    last: u32,
}

impl Seen {
    fn count(&self) -> usize {
        self.articles.iter().filter(|a| **a != 0).count()
    }
}

impl Host {
    /// Whether `line` is this host's furniture.
    pub fn is_furniture(&self, line: &str) -> bool {
        self.lines.get(&line_key(line)).is_some_and(|s| s.count() >= ARTICLES)
    }

    /// Notes the lines of one article (`article`: a hash naming it).
    fn learn(&mut self, article: u32, lines: &[String]) {
        self.pages = self.pages.wrapping_add(1);
        let article = article.max(1);
        for line in lines {
            let seen = self.lines.entry(line_key(line)).or_default();
            seen.last = self.pages;
            if !seen.articles.contains(&article)
                && let Some(slot) = seen.articles.iter_mut().find(|a| **a == 0)
            {
                *slot = article;
            }
        }
        if self.lines.len() > MAX_LINES {
            // Keep the three quarters seen in the most articles, most recently.
            let mut all: Vec<(u64, Seen)> = self.lines.drain().collect();
            all.sort_by_key(|(_, s)| std::cmp::Reverse((s.count(), s.last)));
            all.truncate(MAX_LINES * 3 / 4);
            self.lines = all.into_iter().collect();
        }
    }

    /// The host as saved: only lines seen in two articles or more (a line seen once teaches
    /// nothing yet, and is most of what a host holds).
    pub fn to_saved(&self) -> Host {
        Host {
            pages: self.pages,
            lines: self
                .lines
                .iter()
                .filter(|(_, s)| s.count() >= 2)
                .map(|(k, s)| (*k, *s))
                .collect(),
        }
    }

    /// Lines this host counts as furniture.
    pub fn furniture(&self) -> usize {
        self.lines.values().filter(|s| s.count() >= ARTICLES).count()
    }
}

fn line_key(line: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for w in line.split_whitespace() {
        h.update(w.as_bytes());
        h.update(b" ");
    }
    h.digest()
}

/// What every host taught, and which hosts changed since they were last saved.
#[derive(Debug, Default)]
pub struct Templates {
    hosts: HashMap<String, (Host, u64)>,
    /// Bumped on every page: orders hosts by when they were last read.
    clock: u64,
    dirty: Vec<String>,
}

impl Templates {
    /// Templates as saved in the state store.
    pub fn restore(saved: impl IntoIterator<Item = (String, Host)>) -> Templates {
        let mut t = Templates::default();
        for (host, h) in saved {
            t.clock += 1;
            t.hosts.insert(host, (h, t.clock));
        }
        t
    }

    /// Removes `host`'s furniture from `lines` (unless that would leave nothing), returns the
    /// lines removed, then learns from the page as it was. `article` names the article (a hash
    /// of its title or first paragraph).
    pub fn apply(&mut self, host: &str, article: u32, lines: &mut Vec<String>) -> Vec<String> {
        self.clock += 1;
        let clock = self.clock;
        if !self.hosts.contains_key(host) && self.hosts.len() >= MAX_HOSTS {
            let oldest = self.hosts.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.hosts.remove(&k);
            }
        }
        let (h, at) = self.hosts.entry(host.to_string()).or_default();
        *at = clock;
        let before = lines.clone();
        let mut removed = Vec::new();
        if lines.iter().any(|l| !h.is_furniture(l)) {
            lines.retain(|l| {
                let furniture = h.is_furniture(l);
                if furniture {
                    removed.push(l.clone());
                }
                !furniture
            });
        }
        h.learn(article, &before);
        if !self.dirty.iter().any(|d| d == host) {
            self.dirty.push(host.to_string());
        }
        removed
    }

    /// The hosts changed since the last call, as they should be saved.
    pub fn take_dirty(&mut self) -> Vec<(String, Host)> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .filter_map(|d| self.hosts.get(&d).map(|(h, _)| (d, h.to_saved())))
            .collect()
    }

    /// Marks `host` to be saved again (its last save failed).
    pub fn mark_dirty(&mut self, host: String) {
        if !self.dirty.contains(&host) {
            self.dirty.push(host);
        }
    }

    pub fn host(&self, host: &str) -> Option<&Host> {
        self.hosts.get(host).map(|(h, _)| h)
    }
}

/// The template key of a page's location: its host without `www.`, for http(s) pages only (a
/// folder of files mixes sites).
pub fn host_of(location: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// The hash naming an article: its title, else its first paragraph.
pub fn article_key(title: Option<&str>, lines: &[String]) -> u32 {
    let text = title.or(lines.first().map(String::as_str)).unwrap_or("");
    line_key(text) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize) -> Vec<String> {
        vec![
            format!("Bài {n}: Công an tỉnh bắt giữ {n} đối tượng tại xã số {n}."),
            "Mời quý độc giả theo dõi Báo Tỉnh trên Google News.".to_string(),
            format!("Vụ việc thứ {n} đang được điều tra làm rõ."),
            "Đường dây nóng: 0912 345 678".to_string(),
        ]
    }

    #[test]
    fn lines_three_articles_share_are_furniture_and_variants_teach_nothing() {
        let mut t = Templates::default();
        // One article read three times (URL variants) teaches nothing.
        for _ in 0..3 {
            let mut lines = page(1);
            assert!(
                t.apply("baotinh.vn", article_key(Some("Bài 1"), &lines), &mut lines)
                    .is_empty()
            );
        }
        for n in 2..=3 {
            let mut lines = page(n);
            let removed = t.apply("baotinh.vn", article_key(Some(&format!("Bài {n}")), &lines), &mut lines);
            assert!(removed.is_empty(), "page {n}: {removed:?}");
        }
        let mut lines = page(4);
        let removed = t.apply("baotinh.vn", article_key(Some("Bài 4"), &lines), &mut lines);
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert_eq!(lines, [page(4)[0].clone(), page(4)[2].clone()]);
        // Another host learnt nothing.
        let mut other = page(5);
        assert!(t.apply("khac.vn", 5, &mut other).is_empty());
        // Saved and restored, the host still knows its furniture.
        let saved = t.take_dirty();
        assert_eq!(saved.len(), 2);
        let restored = Templates::restore(saved);
        assert_eq!(restored.host("baotinh.vn").map(Host::furniture), Some(2));
    }

    #[test]
    fn a_page_made_only_of_furniture_keeps_its_lines() {
        let mut t = Templates::default();
        let furniture = vec!["Đường dây nóng: 0912 345 678".to_string()];
        for n in 1..=4 {
            let mut lines = furniture.clone();
            t.apply("baotinh.vn", n, &mut lines);
            assert_eq!(lines, furniture);
        }
    }

    #[test]
    fn hosts_and_lines_stay_bounded() {
        let mut t = Templates::default();
        for n in 0..(MAX_HOSTS + 10) {
            let mut lines: Vec<String> = (0..3).map(|k| format!("dòng {n} {k}")).collect();
            t.apply(&format!("h{n}.vn"), n as u32, &mut lines);
        }
        assert_eq!(t.hosts.len(), MAX_HOSTS);
        assert!(t.host("h0.vn").is_none(), "the least recently read host went first");
        let mut t = Templates::default();
        for n in 0..(MAX_LINES * 2) {
            let mut lines = vec![format!("dòng riêng {n}"), "Đường dây nóng".to_string()];
            t.apply("a.vn", n as u32 + 1, &mut lines);
        }
        let h = t.host("a.vn").unwrap();
        assert!(h.lines.len() <= MAX_LINES);
        assert!(h.is_furniture("Đường dây nóng"), "the shared line survives the trim");
        assert_eq!(host_of("https://www.baotinh.vn/a.html").as_deref(), Some("baotinh.vn"));
        assert_eq!(host_of("http://127.0.0.9:8080/a").as_deref(), Some("127.0.0.9:8080"));
        assert_eq!(host_of("/tmp/a.html"), None);
    }
}
