//! Site templates learnt from a site's own pages: a line that several different articles of one
//! host carry (a promo paragraph, a hotline, a signature box, a caption style, a related-box
//! heading) is the site's furniture, not the article's.
//!
//! Pure: `Templates` is data the scrape stage consults and updates under a lock, and the pipeline
//! saves to and loads from the state store. Bounded: at most `MAX_HOSTS` hosts (the least
//! recently read goes first) and `MAX_LINES` lines per host (those seen in the fewest articles,
//! and longest ago, go first).
//!
//! Invariants: a line is furniture only once `ARTICLES` different articles of its host carried it
//! (different by URL and by title, so URL variants, re-posts and an edited headline never teach
//! it) and at least half of the host's pages since it first appeared did (so a background
//! paragraph a series repeats is not a template); stripping never leaves a page without text.

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
    /// The distinct articles seen carrying it: their title hashes and URL hashes.
    articles: [u32; ARTICLES],
    urls: [u32; ARTICLES],
    /// The host's page counter when it was first and last seen, and the pages that carried it.
    first: u32,
    last: u32,
    hits: u32,
}

impl Seen {
    fn count(&self) -> usize {
        self.articles.iter().filter(|a| **a != 0).count()
    }
}

impl Host {
    /// Whether `line` is this host's furniture.
    pub fn is_furniture(&self, line: &str) -> bool {
        self.lines.get(&line_key(line)).is_some_and(|s| self.furniture_seen(s))
    }

    fn furniture_seen(&self, s: &Seen) -> bool {
        let since = self.pages.wrapping_sub(s.first).wrapping_add(1);
        s.count() >= ARTICLES && s.hits.saturating_mul(2) >= since
    }

    /// Notes the lines of one article: `article` and `url` are hashes of its title and URL.
    fn learn<'l>(&mut self, article: u32, url: u32, lines: impl Iterator<Item = &'l String>) {
        self.pages = self.pages.wrapping_add(1);
        let (article, url) = (article.max(1), url.max(1));
        let pages = self.pages;
        let mut keys: Vec<u64> = lines.map(|l| line_key(l)).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let seen = self.lines.entry(key).or_insert_with(|| Seen {
                first: pages,
                ..Seen::default()
            });
            seen.last = pages;
            seen.hits = seen.hits.saturating_add(1);
            // Another article only when both its title and its URL are new to the line.
            if !seen.articles.contains(&article)
                && !seen.urls.contains(&url)
                && let Some(slot) = seen.articles.iter().position(|a| *a == 0)
            {
                seen.articles[slot] = article;
                seen.urls[slot] = url;
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
        self.lines.values().filter(|s| self.furniture_seen(s)).count()
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
    /// Hosts forgotten since the last save, to delete from the state store.
    forgotten: Vec<String>,
}

/// What the state store should do with the templates: save these hosts, delete those.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub save: Vec<(String, Host)>,
    pub delete: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.save.is_empty() && self.delete.is_empty()
    }
}

impl Templates {
    /// Templates as saved in the state store, most recently saved first: at most `MAX_HOSTS`.
    pub fn restore(saved: impl IntoIterator<Item = (String, Host)>) -> Templates {
        let mut t = Templates::default();
        let mut saved: Vec<(String, Host)> = saved.into_iter().collect();
        for (host, _) in saved.drain(MAX_HOSTS.min(saved.len())..) {
            t.forgotten.push(host);
        }
        for (host, h) in saved.into_iter().rev() {
            t.clock += 1;
            t.hosts.insert(host, (h, t.clock));
        }
        t
    }

    /// Removes `host`'s furniture from `lines` (unless that would leave nothing), returns the
    /// lines removed, then learns from the page as it was. `article` names the article (a hash
    /// of its title or first paragraph).
    pub fn apply(&mut self, host: &str, article: u32, url: u32, lines: &mut Vec<String>) -> Vec<String> {
        self.clock += 1;
        let clock = self.clock;
        if !self.hosts.contains_key(host) && self.hosts.len() >= MAX_HOSTS {
            let oldest = self.hosts.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.hosts.remove(&k);
                self.dirty.retain(|d| *d != k);
                self.forgotten.push(k);
            }
        }
        let (h, at) = self.hosts.entry(host.to_string()).or_default();
        *at = clock;
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
        // The page as it was: what is left and what was taken (order does not matter).
        h.learn(article, url, lines.iter().chain(&removed));
        self.mark_dirty(host);
        removed
    }

    /// The hosts changed and forgotten since the last call.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.dirty);
        Changes {
            save: dirty
                .into_iter()
                .filter_map(|d| self.hosts.get(&d).map(|(h, _)| (d, h.to_saved())))
                .collect(),
            delete: std::mem::take(&mut self.forgotten),
        }
    }

    /// Hands back changes a failed save did not write.
    pub fn restore_changes(&mut self, c: Changes) {
        for (host, _) in &c.save {
            self.mark_dirty(host);
        }
        self.forgotten.extend(c.delete);
    }

    /// Marks `host` to be saved again (its last save failed).
    fn mark_dirty(&mut self, host: &str) {
        if !self.dirty.iter().any(|d| d == host) {
            self.dirty.push(host.to_string());
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

/// The hash naming a page's URL.
pub fn url_key(location: &str) -> u32 {
    xxhash_rust::xxh3::xxh3_64(location.as_bytes()) as u32
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

    fn read(t: &mut Templates, host: &str, n: usize, lines: &mut Vec<String>) -> Vec<String> {
        let title = format!("Bài {n}");
        let url = format!("https://{host}/bai-{n}.html");
        t.apply(host, article_key(Some(&title), lines), url_key(&url), lines)
    }

    #[test]
    fn lines_three_articles_share_are_furniture_and_variants_teach_nothing() {
        let mut t = Templates::default();
        // One article read three times teaches nothing.
        for _ in 0..3 {
            let mut lines = page(1);
            assert!(read(&mut t, "baotinh.vn", 1, &mut lines).is_empty());
        }
        for n in 2..=3 {
            let mut lines = page(n);
            let removed = read(&mut t, "baotinh.vn", n, &mut lines);
            assert!(removed.is_empty(), "page {n}: {removed:?}");
        }
        let mut lines = page(4);
        let removed = read(&mut t, "baotinh.vn", 4, &mut lines);
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert_eq!(lines, [page(4)[0].clone(), page(4)[2].clone()]);
        // Another host learnt nothing.
        let mut other = page(5);
        assert!(read(&mut t, "khac.vn", 5, &mut other).is_empty());
        // Saved and restored, the host still knows its furniture.
        let changes = t.take_changes();
        assert_eq!(changes.save.len(), 2);
        let restored = Templates::restore(changes.save);
        assert_eq!(restored.host("baotinh.vn").map(Host::furniture), Some(2));
    }

    #[test]
    fn an_edited_headline_and_a_repeated_background_paragraph_are_not_templates() {
        let mut t = Templates::default();
        // One URL whose headline is edited three times: one article.
        let url = url_key("https://baotinh.vn/bao-so-3.html");
        let text = vec!["Bão số 3 đổ bộ vào các tỉnh ven biển, gây mưa lớn trên diện rộng.".to_string()];
        for n in 0..4 {
            let mut lines = text.clone();
            let title = format!("Bão số 3: {} người thiệt mạng", 12 + n);
            assert!(
                t.apply("baotinh.vn", article_key(Some(&title), &lines), url, &mut lines)
                    .is_empty()
            );
        }
        // A series repeats its background paragraph on three of forty pages: not the site's.
        let background = "Trước đó, như Báo Tỉnh đã đưa tin, dự án được khởi công từ năm 2020.".to_string();
        let mut last = Vec::new();
        for n in 0..40 {
            let mut lines = vec![format!("Tin số {n} của ngày, với nội dung riêng.")];
            if n % 13 == 0 {
                lines.push(background.clone());
            }
            if n == 39 {
                lines.push(background.clone());
            }
            last = read(&mut t, "baotinh.vn", n, &mut lines);
        }
        assert!(last.is_empty(), "the background paragraph was taken: {last:?}");
    }

    #[test]
    fn a_page_made_only_of_furniture_keeps_its_lines() {
        let mut t = Templates::default();
        let furniture = vec!["Đường dây nóng: 0912 345 678".to_string()];
        for n in 1..=4 {
            let mut lines = furniture.clone();
            read(&mut t, "baotinh.vn", n, &mut lines);
            assert_eq!(lines, furniture);
        }
    }

    #[test]
    fn hosts_and_lines_stay_bounded_and_forgotten_hosts_are_deleted() {
        let mut t = Templates::default();
        for n in 0..(MAX_HOSTS + 10) {
            let mut lines: Vec<String> = (0..3).map(|k| format!("dòng {n} {k}")).collect();
            read(&mut t, &format!("h{n}.vn"), n, &mut lines);
        }
        assert_eq!(t.hosts.len(), MAX_HOSTS);
        assert!(t.host("h0.vn").is_none(), "the least recently read host went first");
        let changes = t.take_changes();
        assert_eq!(changes.delete.len(), 10);
        assert_eq!(changes.save.len(), MAX_HOSTS);
        assert!(!changes.save.iter().any(|(h, _)| h == "h0.vn"));
        let restored = Templates::restore((0..(MAX_HOSTS + 5)).map(|n| (format!("s{n}.vn"), Host::default())));
        assert_eq!(restored.hosts.len(), MAX_HOSTS, "a store holding more is cut at start");
        let mut t = Templates::default();
        for n in 0..(MAX_LINES * 2) {
            let mut lines = vec![format!("dòng riêng {n}"), "Đường dây nóng".to_string()];
            read(&mut t, "a.vn", n + 1, &mut lines);
        }
        let h = t.host("a.vn").unwrap();
        assert!(h.lines.len() <= MAX_LINES);
        assert!(h.is_furniture("Đường dây nóng"), "the shared line survives the trim");
        assert_eq!(host_of("https://www.baotinh.vn/a.html").as_deref(), Some("baotinh.vn"));
        assert_eq!(host_of("http://127.0.0.9:8080/a").as_deref(), Some("127.0.0.9:8080"));
        assert_eq!(host_of("/tmp/a.html"), None);
    }
}
