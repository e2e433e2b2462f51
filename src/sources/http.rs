//! `type = "feed" | "sitemap" | "listing" | "pages"`: article pages fetched over HTTP.
//!
//! Every poll discovers article URLs (from the feed, the sitemaps, the listing pages or the
//! configured list), then fetches those not delivered before through the shared `Fetcher` and
//! sends them on. In `once` there is one poll; in `run` polls repeat every `interval` ±10%.
//!
//! Identity and resumption: an article's key is its normalised URL. A URL with any delivered
//! version is not fetched again unless `refresh` says so (then with its ETag/Last-Modified).
//! Discovery documents are fetched with their validators, which are saved only after every link
//! they listed was delivered or failed for good, so a 304 never hides a page still owed.
//! Failures are counted, and logged at WARN once per `[log] repeat_window` for the same URL and
//! kind (DEBUG in between; the next WARN line says how many were left out).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::task::JoinSet;
use url::Url;

use super::listing::Css;
use super::{Mode, SourceCtx, SourceType, feed, listing, sitemap};
use crate::config::{Cx, FetchSettings, check_user_agent, duration_opt, preview, source_lang};
use crate::fetch::hosts::Limits;
use crate::fetch::urls::Scope;
use crate::fetch::{Expect, FetchError, Fetched, Fetcher, Outcome, Policy, Validators};
use crate::kinds::FailureKind;
use crate::model::Lang;
use crate::model::{Page, short_hash};
use crate::repeats::{Repeats, Verdict};
use crate::report::{SourceState, StageExit};

/// Sitemaps read per poll, index files included, and how deep indexes may nest.
const MAX_SITEMAPS: usize = 1000;
const MAX_SITEMAP_DEPTH: usize = 3;

pub const DEFAULT_HTTP_INTERVAL: Duration = Duration::from_secs(600);
pub const DEFAULT_MIN_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_LISTING_NEXT: &str = "a[rel=next], link[rel=next]";

/// `type = "feed" | "sitemap" | "listing" | "pages"` as written. One struct holds every HTTP
/// source's keys; validation refuses the ones a kind does not take.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpSource {
    /// The feed, sitemap or listing page (`feed`, `sitemap`, `listing`).
    #[serde(default)]
    pub url: Option<String>,
    /// The article pages (`pages`).
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    /// CSS selector of article links on a listing page (`listing`).
    #[serde(default)]
    pub links: Option<String>,
    /// CSS selector of the next listing page's link (`listing`).
    #[serde(default)]
    pub next: Option<String>,
    /// Listing pages followed per poll, the first included (`listing`).
    #[serde(default)]
    pub max_pages: Option<usize>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub interval: Option<Duration>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    #[serde(default)]
    pub allow_private: bool,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub min_delay: Option<Duration>,
    /// Re-fetch articles delivered longer ago than this (with ETag/Last-Modified); never if unset.
    #[serde(default, deserialize_with = "duration_opt")]
    pub refresh: Option<Duration>,
    /// CSS rules for this source's article pages.
    #[serde(default)]
    pub extract: Option<RawExtract>,
}

/// `[sources.NAME.extract]`: `selector` or `selector@attribute` per field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExtract {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub authors: Option<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// How an HTTP source of each kind finds its article URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoverKind {
    Feed,
    Sitemap,
    Listing,
    Pages,
}

/// An HTTP source's discovery, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Discover {
    Feed(Url),
    Sitemap(Url),
    Listing {
        url: Url,
        links: Css,
        next: Css,
        max_pages: usize,
    },
    Pages(Vec<Url>),
}

impl Discover {
    /// The URLs the source was configured with; their hosts are the source's own.
    pub fn configured(&self) -> Vec<&Url> {
        match self {
            Discover::Feed(u) | Discover::Sitemap(u) | Discover::Listing { url: u, .. } => vec![u],
            Discover::Pages(v) => v.iter().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub discover: Discover,
    pub interval: Duration,
    pub lang: Option<Lang>,
    pub allow_hosts: Vec<String>,
    pub allow_private: bool,
    pub user_agent: String,
    /// Requests open at once to one host.
    pub max_concurrency: usize,
    pub min_delay: Duration,
    pub refresh: Option<Duration>,
    pub extract: Option<Arc<crate::scrape::rules::Rules>>,
}

impl HttpSettings {
    /// Politeness limits this source asks of its hosts.
    pub fn limits(&self) -> Limits {
        Limits {
            concurrency: self.max_concurrency,
            min_delay: self.min_delay,
        }
    }

    pub fn build(
        cx: &mut Cx<'_>,
        key: &str,
        kind: SourceType,
        discover_kind: DiscoverKind,
        h: RawHttpSource,
        fetch: &FetchSettings,
    ) -> Option<HttpSettings> {
        let name = kind.as_str();
        let only = |cx: &mut Cx<'_>, field: &str, present: bool, kinds: &str| {
            if present {
                cx.error(
                    &format!("{key}.{field}"),
                    format!("is not a key of {name} sources (only of {kinds})"),
                );
            }
        };
        if discover_kind != DiscoverKind::Listing {
            only(cx, "links", h.links.is_some(), "listing");
            only(cx, "next", h.next.is_some(), "listing");
            only(cx, "max_pages", h.max_pages.is_some(), "listing");
        }
        if discover_kind == DiscoverKind::Pages {
            only(
                cx,
                "url",
                h.url.is_some(),
                "feed, sitemap and listing; pages take `urls`",
            );
        } else {
            only(cx, "urls", h.urls.is_some(), "pages; this kind takes `url`");
        }
        let url_key = format!("{key}.url");
        let one_url = |cx: &mut Cx<'_>| match &h.url {
            Some(u) => {
                let u = cx.expand_env(&url_key, u);
                http_url(cx, &url_key, &u)
            }
            None => {
                cx.error(key, format!("missing `url`: the {name} to read"));
                None
            }
        };
        let discover = match discover_kind {
            DiscoverKind::Feed => one_url(cx).map(Discover::Feed),
            DiscoverKind::Sitemap => one_url(cx).map(Discover::Sitemap),
            DiscoverKind::Listing => {
                let url = one_url(cx);
                let links = match &h.links {
                    Some(l) => selector(cx, &format!("{key}.links"), l),
                    None => {
                        cx.error(key, "missing `links`: the CSS selector of article links");
                        None
                    }
                };
                let next = h.next.as_deref().unwrap_or(DEFAULT_LISTING_NEXT);
                let next = selector(cx, &format!("{key}.next"), next);
                let max_pages = h.max_pages.unwrap_or(1);
                if !(1..=100).contains(&max_pages) {
                    cx.error(&format!("{key}.max_pages"), "must be between 1 and 100");
                }
                match (url, links, next) {
                    (Some(url), Some(links), Some(next)) => Some(Discover::Listing {
                        url,
                        links,
                        next,
                        max_pages,
                    }),
                    _ => None,
                }
            }
            DiscoverKind::Pages => match &h.urls {
                Some(list) if !list.is_empty() => {
                    let k = format!("{key}.urls");
                    let parsed: Vec<Url> = list
                        .iter()
                        .filter_map(|u| {
                            let u = cx.expand_env(&k, u);
                            http_url(cx, &k, &u)
                        })
                        .collect();
                    (parsed.len() == list.len()).then_some(Discover::Pages(parsed))
                }
                Some(_) => {
                    cx.error(&format!("{key}.urls"), "needs at least one URL");
                    None
                }
                None => {
                    cx.error(key, "missing `urls`: the pages to fetch");
                    None
                }
            },
        };
        let interval = h.interval.unwrap_or(DEFAULT_HTTP_INTERVAL);
        if interval < Duration::from_secs(1) {
            cx.error(&format!("{key}.interval"), "must be at least 1s");
        }
        let user_agent = h.user_agent.clone().unwrap_or_else(|| fetch.user_agent.clone());
        check_user_agent(cx, &format!("{key}.user_agent"), &user_agent);
        let max_concurrency = h.max_concurrency.unwrap_or(1);
        if !(1..=64).contains(&max_concurrency) {
            cx.error(&format!("{key}.max_concurrency"), "must be between 1 and 64");
        }
        let mut allow_hosts = Vec::new();
        for host in &h.allow_hosts {
            let ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
            if ok {
                allow_hosts.push(host.to_ascii_lowercase());
            } else {
                cx.error(
                    &format!("{key}.allow_hosts"),
                    format!("{} is not a host name", preview(host)),
                );
            }
        }
        if h.refresh.is_some_and(|r| r < Duration::from_secs(60)) {
            cx.error(&format!("{key}.refresh"), "must be at least 1m");
        }
        // Every key is checked even when the discovery URL is wrong, so one run reports them all.
        let lang = source_lang(cx, key, h.lang.as_deref());
        let extract = h.extract.map(|e| Arc::new(extract_rules(cx, key, e)));
        Some(HttpSettings {
            discover: discover?,
            interval,
            lang,
            allow_hosts,
            allow_private: h.allow_private,
            user_agent,
            max_concurrency,
            min_delay: h.min_delay.unwrap_or(DEFAULT_MIN_DELAY),
            refresh: h.refresh,
            extract,
        })
    }
}

fn http_url(cx: &mut Cx<'_>, key: &str, raw: &str) -> Option<Url> {
    match Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => crate::fetch::urls::normalize(u),
        Ok(_) => {
            cx.error(
                key,
                format!("{} must be an http:// or https:// URL with a host", preview(raw)),
            );
            None
        }
        Err(e) => {
            cx.error(key, format!("{} is not a URL: {e}", preview(raw)));
            None
        }
    }
}

fn selector(cx: &mut Cx<'_>, key: &str, css: &str) -> Option<Css> {
    match Css::parse(css) {
        Ok(c) => Some(c),
        Err(e) => {
            cx.error(key, format!("invalid CSS selector {}: {e}", preview(css)));
            None
        }
    }
}

fn extract_rules(cx: &mut Cx<'_>, key: &str, e: RawExtract) -> crate::scrape::rules::Rules {
    use crate::scrape::rules::Pick;
    let pick = |cx: &mut Cx<'_>, field: &str, spec: &str| match Pick::parse(spec) {
        Ok(p) => Some(p),
        Err(msg) => {
            cx.error(&format!("{key}.extract.{field}"), msg);
            None
        }
    };
    crate::scrape::rules::Rules {
        title: e.title.as_deref().and_then(|s| pick(cx, "title", s)),
        body: e.body.as_deref().and_then(|s| pick(cx, "body", s)),
        date: e.date.as_deref().and_then(|s| pick(cx, "date", s)),
        authors: e.authors.as_deref().and_then(|s| pick(cx, "authors", s)),
        remove: e.remove.iter().filter_map(|s| pick(cx, "remove", s)).collect(),
    }
}

struct Crawl {
    source: Arc<str>,
    settings: HttpSettings,
    ctx: SourceCtx,
    fetcher: Arc<Fetcher>,
    policy: Policy,
    /// Failures logged lately, so that a failure repeating at every poll is not logged every poll.
    repeats: Repeats,
}

pub async fn run(id: &str, settings: HttpSettings, ctx: SourceCtx) -> StageExit {
    let Some(fetcher) = ctx.fetcher.clone() else {
        return StageExit::Failed("no HTTP client was built for this source".into());
    };
    let scope = Scope::new(settings.discover.configured(), &settings.allow_hosts);
    let trusted = settings
        .discover
        .configured()
        .into_iter()
        .map(crate::fetch::host_key)
        .collect();
    let policy = Policy {
        user_agent: Arc::from(settings.user_agent.as_str()),
        allow_private: settings.allow_private,
        trusted: Arc::new(trusted),
        limits: settings.limits(),
        scope: Arc::new(scope),
    };
    fetcher.apply_limits(&policy);
    let repeat_window = ctx.repeat_window;
    let mut crawl = Crawl {
        source: Arc::from(id),
        settings,
        ctx,
        fetcher,
        policy,
        repeats: Repeats::new(repeat_window),
    };
    loop {
        crawl.ctx.stats.source_state(&crawl.source, SourceState::Polling);
        if let Err(exit) = crawl.poll().await {
            return exit;
        }
        if crawl.ctx.mode == Mode::Once {
            return StageExit::Completed;
        }
        crawl.ctx.stats.source_state(&crawl.source, SourceState::Idle);
        let wait = crawl.settings.interval.mul_f64(0.9 + 0.2 * fastrand::f64());
        tokio::select! {
            _ = crawl.ctx.shutdown.cancelled() => return StageExit::Cancelled,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// An article URL and the discovery document that listed it (`None`: configured).
type Listed = (Url, Option<Arc<str>>);

fn listed(links: impl IntoIterator<Item = Url>, by: Option<&Url>) -> Vec<Listed> {
    let by: Option<Arc<str>> = by.map(|b| b.as_str().into());
    links.into_iter().map(|u| (u, by.clone())).collect()
}

impl Crawl {
    async fn poll(&mut self) -> Result<(), StageExit> {
        match self.settings.discover.clone() {
            Discover::Pages(urls) => {
                self.articles(listed(urls, None)).await?;
            }
            Discover::Feed(url) => {
                let validators = self.stored_validators(&url).await;
                let Some(doc) = self.document(&url, validators.as_ref(), Expect::Document).await? else {
                    return Ok(());
                };
                let (body, doc_url) = (doc.body, doc.url);
                let found = match blocking(move || feed::parse(&body, &doc_url)).await? {
                    Ok(f) => f,
                    Err(e) => {
                        self.fail(&url, FailureKind::BadFeed, &format!("cannot read the feed: {e}"));
                        return Ok(());
                    }
                };
                for (item, why) in found.bad_items {
                    let key = format!("{url}#{item}");
                    self.fail_key(
                        &key,
                        &url,
                        FailureKind::BadItem,
                        &format!("feed item {item:?} skipped: {why}"),
                    );
                }
                if self.articles(listed(found.links, Some(&url))).await? {
                    self.save_validators(&url, doc.validators).await;
                }
            }
            Discover::Sitemap(url) => self.sitemaps(url).await?,
            Discover::Listing {
                url,
                links,
                next,
                max_pages,
            } => {
                let mut page_url = Some(url);
                let mut visited = HashSet::new();
                for n in 0..max_pages {
                    let Some(current) = page_url.take() else { break };
                    if !visited.insert(current.to_string()) {
                        break;
                    }
                    // Only the first page is revalidated: if it did not change, nothing did.
                    let validators = if n == 0 {
                        self.stored_validators(&current).await
                    } else {
                        None
                    };
                    let Some(doc) = self.document(&current, validators.as_ref(), Expect::Page).await? else {
                        break;
                    };
                    let (body, charset, doc_url) = (doc.body, doc.charset, doc.url);
                    let (l, nx) = (links.clone(), next.clone());
                    let parsed = blocking(move || {
                        crate::scrape::decode::decode(&body, charset.as_deref(), true)
                            .map(|h| listing::parse(&h, &doc_url, &l, &nx))
                            .map_err(|e| e.to_string())
                    })
                    .await?;
                    let found = match parsed {
                        Ok(f) => f,
                        Err(e) => {
                            self.fail(
                                &current,
                                FailureKind::BadListing,
                                &format!("cannot read the listing page: {e}"),
                            );
                            break;
                        }
                    };
                    if found.links.is_empty() {
                        self.fail(
                            &current,
                            FailureKind::NoLinks,
                            &format!("the links selector {:?} matched no article link", links.text()),
                        );
                    }
                    let all_done = self.articles(listed(found.links, Some(&current))).await?;
                    if n == 0 && all_done {
                        self.save_validators(&current, doc.validators).await;
                    }
                    page_url = found.next.filter(|u| self.policy.scope.allows(u));
                }
            }
        }
        Ok(())
    }

    /// Reads a sitemap and the sitemaps it lists, breadth first, then fetches their articles.
    async fn sitemaps(&mut self, root: Url) -> Result<(), StageExit> {
        let mut queue = vec![(root, 0usize)];
        let mut seen = HashSet::new();
        let mut links = Vec::new();
        let mut read: Vec<(Url, Validators)> = Vec::new();
        while let Some((url, depth)) = queue.pop() {
            if !seen.insert(url.to_string()) || seen.len() > MAX_SITEMAPS {
                continue;
            }
            let validators = self.stored_validators(&url).await;
            let Some(doc) = self.document(&url, validators.as_ref(), Expect::Document).await? else {
                continue;
            };
            let (body, doc_url, cap) = (doc.body, doc.url, self.fetcher.settings().max_body_bytes);
            let parsed =
                blocking(move || sitemap::gunzip(&body, cap).and_then(|body| sitemap::parse(&body, &doc_url))).await?;
            match parsed {
                Ok(sitemap::Sitemap::Index(children)) => {
                    for child in children {
                        if seen.contains(child.as_str()) {
                            // An index listing itself, or A → B → A: read once, said once.
                            self.fail(
                                &child,
                                FailureKind::BadSitemap,
                                "the sitemap index lists a sitemap already read (a loop); skipped",
                            );
                        } else if depth + 1 > MAX_SITEMAP_DEPTH {
                            self.fail(
                                &child,
                                FailureKind::BadSitemap,
                                "sitemap indexes nest too deep; skipped",
                            );
                        } else if self.policy.scope.allows(&child) {
                            queue.push((child, depth + 1));
                        } else {
                            self.off_site(&child);
                        }
                    }
                    read.push((url, doc.validators));
                }
                Ok(sitemap::Sitemap::Urls(pages)) => {
                    links.extend(listed(pages.into_iter().map(|(u, _)| u), Some(&url)));
                    read.push((url, doc.validators));
                }
                Err(e) => self.fail(&url, FailureKind::BadSitemap, &format!("cannot read the sitemap: {e}")),
            }
        }
        if self.articles(links).await? {
            for (url, v) in read {
                self.save_validators(&url, v).await;
            }
        }
        Ok(())
    }

    /// Fetches a discovery document. `None` when it did not change (304) or failed (logged).
    async fn document(
        &mut self,
        url: &Url,
        validators: Option<&Validators>,
        expect: Expect,
    ) -> Result<Option<Fetched>, StageExit> {
        let fetched = tokio::select! {
            _ = self.ctx.shutdown.cancelled() => return Err(StageExit::Cancelled),
            r = self.fetcher.fetch(&self.policy, url, validators, expect) => r,
        };
        match fetched {
            Ok(Outcome::Fetched(f)) => {
                self.answered(url);
                Ok(Some(*f))
            }
            Ok(Outcome::NotModified) => {
                self.answered(url);
                tracing::debug!(stage = "source", source = %self.source, url = %url, "not modified");
                self.ctx.stats.not_modified(&self.source);
                Ok(None)
            }
            Err(FetchError::Cancelled) => Err(StageExit::Cancelled),
            Err(e) => {
                self.fail(url, e.kind(), &e.to_string());
                Ok(None)
            }
        }
    }

    /// Fetches the article pages among `links` that are owed and sends them on. Returns whether
    /// none failed in a way worth retrying.
    async fn articles(&mut self, links: Vec<Listed>) -> Result<bool, StageExit> {
        let mut all_done = true;
        let mut tasks: JoinSet<(Listed, Result<Outcome, FetchError>)> = JoinSet::new();
        // Enough fetches in flight to keep every host this source reaches busy, not more: the
        // hosts' own limits decide the pace.
        let in_flight = (self.settings.max_concurrency * 4).max(4);
        let mut queued = HashSet::new();
        for (link, listed_by) in links {
            if !queued.insert(link.to_string()) {
                continue;
            }
            if !self.policy.scope.allows(&link) {
                self.off_site(&link);
                continue;
            }
            let Some(validators) = self.owed(&link).await else {
                continue;
            };
            while tasks.len() >= in_flight {
                if let Some(joined) = tasks.join_next().await {
                    all_done &= self.deliver(joined).await?;
                }
            }
            let (fetcher, policy) = (self.fetcher.clone(), self.policy.clone());
            tasks.spawn(async move {
                let r = fetcher.fetch(&policy, &link, validators.as_ref(), Expect::Page).await;
                ((link, listed_by), r)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            all_done &= self.deliver(joined).await?;
        }
        Ok(all_done)
    }

    /// Whether `link` should be fetched now, and with which validators. `None` when it was
    /// delivered before and is not due for a refresh.
    async fn owed(&mut self, link: &Url) -> Option<Option<Validators>> {
        let key = link.to_string();
        let refresh = self.settings.refresh;
        if refresh.is_none() && self.ctx.sent.get(&key).is_some() {
            return None;
        }
        let state = self.ctx.state.clone();
        let (source, k) = (self.source.to_string(), key.clone());
        let age = tokio::task::spawn_blocking(move || state.done_age(&source, &k))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        match (age, refresh) {
            (None, _) => Some(None),
            (Some(age), Some(every)) if Duration::from_secs(age.max(0) as u64) >= every => {
                Some(self.stored_validators(link).await)
            }
            (Some(_), _) => {
                tracing::debug!(stage = "source", source = %self.source, url = %link, "already delivered");
                self.ctx.stats.already_done(&self.source);
                None
            }
        }
    }

    /// Handles one finished article fetch. Returns whether it needs no retry later.
    async fn deliver(
        &mut self,
        joined: Result<(Listed, Result<Outcome, FetchError>), tokio::task::JoinError>,
    ) -> Result<bool, StageExit> {
        let ((link, listed_by), result) = match joined {
            Ok(j) => j,
            Err(e) => return Err(StageExit::Failed(format!("fetch task failed: {e}"))),
        };
        let fetched = match result {
            Ok(Outcome::Fetched(f)) => {
                self.answered(&link);
                *f
            }
            Ok(Outcome::NotModified) => {
                self.answered(&link);
                self.ctx.stats.not_modified(&self.source);
                return Ok(true);
            }
            Err(FetchError::Cancelled) => return Err(StageExit::Cancelled),
            Err(e) => {
                self.fail(&link, e.kind(), &e.to_string());
                return Ok(!e.is_transient());
            }
        };
        let key = link.to_string();
        let raw_hash = short_hash(&blake3::hash(&fetched.body));
        if self.settings.refresh.is_some() {
            if !fetched.validators.is_empty() {
                self.save_validators(&link, fetched.validators.clone()).await;
            }
            if self.ctx.is_done(&self.source, &key, &raw_hash).await {
                self.ctx.stats.already_done(&self.source);
                return Ok(true);
            }
        }
        tracing::debug!(stage = "source", source = %self.source, url = %fetched.url, bytes = fetched.body.len(), "page fetched");
        let trail = fetched.trail(&link, listed_by.as_deref());
        self.ctx
            .send(Page {
                source: self.source.clone(),
                key,
                location: fetched.url.to_string(),
                format: fetched.format(),
                bytes: fetched.body,
                raw_hash,
                lang_hint: self.settings.lang,
                charset: fetched.charset,
                rules: self.settings.extract.clone(),
                fetch: Some(Box::new(trail)),
            })
            .await?;
        Ok(true)
    }

    async fn stored_validators(&self, url: &Url) -> Option<Validators> {
        let state = self.ctx.state.clone();
        let u = url.to_string();
        let v = tokio::task::spawn_blocking(move || state.validators(&u))
            .await
            .ok()
            .and_then(Result::ok)?;
        (!v.is_empty()).then_some(v)
    }

    async fn save_validators(&self, url: &Url, v: Validators) {
        let state = self.ctx.state.clone();
        let u = url.to_string();
        let saved = tokio::task::spawn_blocking(move || state.save_validators(&u, &v)).await;
        if let Ok(Err(e)) = saved {
            tracing::warn!(stage = "source", source = %self.source, url = %url, error = %format!("{e:#}"), "cannot save validators; the next poll fetches in full");
        }
    }

    fn off_site(&mut self, url: &Url) {
        let host = url.host_str().unwrap_or("");
        let why = format!("link to {host} skipped: not one of the source's hosts (add it to allow_hosts to follow it)");
        self.fail_key(&format!("host:{host}"), url, FailureKind::OffSite, &why);
    }

    fn fail(&mut self, url: &Url, kind: FailureKind, error: &str) {
        self.fail_key(url.as_str(), url, kind, error);
    }

    /// Counts a failure and logs it at WARN, once per `[log] repeat_window` for the same `key`
    /// and kind (with the count of failures left out meanwhile).
    fn fail_key(&mut self, key: &str, url: &Url, kind: FailureKind, error: &str) {
        self.ctx
            .stats
            .failed_with(&self.source, kind, &format!("{url}: {error}"));
        match self.repeats.check(key, kind.as_str(), std::time::Instant::now()) {
            Verdict::Log { repeated: 0 } => {
                tracing::warn!(stage = "source", source = %self.source, url = %url, kind = kind.as_str(), error, "fetch failed");
            }
            Verdict::Log { repeated } => {
                tracing::warn!(stage = "source", source = %self.source, url = %url, kind = kind.as_str(), error, repeated, "fetch still failing");
            }
            Verdict::Suppress => {
                self.ctx.stats.suppressed(&self.source);
                tracing::debug!(stage = "source", source = %self.source, url = %url, kind = kind.as_str(), error, "fetch failed again");
            }
        }
    }

    /// `url` answered: counted as a fetch, and its next failure is logged as news.
    fn answered(&mut self, url: &Url) {
        self.ctx.stats.fetched(&self.source);
        self.repeats.clear(url.as_str());
    }
}

/// Runs a parser on the blocking pool: discovery documents can be megabytes, and parsing them on
/// the runtime would stall every other source.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, StageExit> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StageExit::Failed(format!("parser task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::config::test_errors;

    const SINK: &str = "[sinks.o]\ntype = \"jsonl\"\npath = \"-\"\n";

    #[test]
    fn every_http_source_key_is_validated_with_line_and_column() {
        let text = format!(
            "{SINK}[sources.f]\ntype = \"feed\"\nurl = \"ftp://x.vn/rss\"\nlinks = \"a\"\ninterval = \"10ms\"\nmax_concurrency = 0\nallow_hosts = [\"a b\"]\nrefresh = \"5s\"\nlang = \"xx\"\n[sources.l]\ntype = \"listing\"\nurl = \"https://x.vn/\"\nlinks = \"h3[\"\nmax_pages = 0\n[sources.p]\ntype = \"pages\"\nurls = []\n[sources.u]\ntype = \"sitemap\"\nurls = [\"https://x.vn/a\"]\nuser_agent = \"bad\\u0001agent\"\n"
        );
        let got = test_errors(&text);
        let want = [
            "c.toml:6:7: sources.f.url: \"ftp://x.vn/rss\" must be an http:// or https:// URL with a host",
            "c.toml:7:9: sources.f.links: is not a key of feed sources (only of listing)",
            "c.toml:8:12: sources.f.interval: must be at least 1s",
            "c.toml:9:19: sources.f.max_concurrency: must be between 1 and 64",
            "c.toml:10:15: sources.f.allow_hosts: \"a b\" is not a host name",
            "c.toml:11:11: sources.f.refresh: must be at least 1m",
            "c.toml:12:8: sources.f.lang: unknown language \"xx\", expected one of \"vi\", \"fr\", \"en\", \"de\"",
            "c.toml:16:9: sources.l.links: invalid CSS selector \"h3[\": ",
            "c.toml:17:13: sources.l.max_pages: must be between 1 and 100",
            "c.toml:20:8: sources.p.urls: needs at least one URL",
            "c.toml:21:1: sources.u: missing `url`: the sitemap to read",
            "c.toml:23:8: sources.u.urls: is not a key of sitemap sources (only of pages; this kind takes `url`)",
            "c.toml:24:14: sources.u.user_agent: must be a non-empty header value (printable ASCII)",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{g:?} does not start with {w:?}");
        }
    }
}
