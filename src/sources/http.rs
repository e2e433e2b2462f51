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

use tokio::task::JoinSet;
use url::Url;

use super::{Mode, SourceCtx, feed, listing, sitemap};
use crate::config::{Discover, HttpSettings};
use crate::fetch::hosts::Limits;
use crate::fetch::urls::Scope;
use crate::fetch::{Expect, FetchError, Fetched, Fetcher, Outcome, Policy, Validators};
use crate::model::{Page, short_hash};
use crate::repeats::{Repeats, Verdict};
use crate::report::{SourceState, StageExit};

/// Sitemaps read per poll, index files included, and how deep indexes may nest.
const MAX_SITEMAPS: usize = 1000;
const MAX_SITEMAP_DEPTH: usize = 3;

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
        limits: Limits {
            concurrency: settings.max_concurrency,
            min_delay: settings.min_delay,
        },
        scope: Arc::new(scope),
    };
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

impl Crawl {
    async fn poll(&mut self) -> Result<(), StageExit> {
        match self.settings.discover.clone() {
            Discover::Pages(urls) => {
                self.articles(urls).await?;
            }
            Discover::Feed(url) => {
                let validators = self.stored_validators(&url).await;
                let Some(doc) = self.document(&url, validators.as_ref(), Expect::Document).await? else {
                    return Ok(());
                };
                let found = match feed::parse(&doc.body, &doc.url) {
                    Ok(f) => f,
                    Err(e) => {
                        self.fail(&url, "bad_feed", &format!("cannot read the feed: {e}"));
                        return Ok(());
                    }
                };
                for (item, why) in found.bad_items {
                    let key = format!("{url}#{item}");
                    self.fail_key(&key, &url, "bad_item", &format!("feed item {item:?} skipped: {why}"));
                }
                if self.articles(found.links).await? {
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
                    let html = crate::scrape::decode::decode(&doc.body, doc.charset.as_deref(), true);
                    let parsed = html
                        .map_err(|e| e.to_string())
                        .and_then(|h| listing::parse(&h, &doc.url, &links, &next));
                    let found = match parsed {
                        Ok(f) => f,
                        Err(e) => {
                            self.fail(&current, "bad_listing", &format!("cannot read the listing page: {e}"));
                            break;
                        }
                    };
                    if found.links.is_empty() {
                        self.fail(
                            &current,
                            "no_links",
                            &format!("the links selector {links:?} matched no article link"),
                        );
                    }
                    let all_done = self.articles(found.links).await?;
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
            let parsed = sitemap::gunzip(&doc.body, self.fetcher.settings().max_body_bytes)
                .and_then(|body| sitemap::parse(&body, &doc.url));
            match parsed {
                Ok(sitemap::Sitemap::Index(children)) => {
                    for child in children {
                        if depth + 1 > MAX_SITEMAP_DEPTH {
                            self.fail(&child, "bad_sitemap", "sitemap indexes nest too deep; skipped");
                        } else if self.policy.scope.allows(&child) {
                            queue.push((child, depth + 1));
                        } else {
                            self.off_site(&child);
                        }
                    }
                    read.push((url, doc.validators));
                }
                Ok(sitemap::Sitemap::Urls(pages)) => {
                    links.extend(pages.into_iter().map(|(u, _)| u));
                    read.push((url, doc.validators));
                }
                Err(e) => self.fail(&url, "bad_sitemap", &format!("cannot read the sitemap: {e}")),
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
    async fn articles(&mut self, links: Vec<Url>) -> Result<bool, StageExit> {
        let mut all_done = true;
        let mut tasks: JoinSet<(Url, Result<Outcome, FetchError>)> = JoinSet::new();
        // Enough fetches in flight to keep every host this source reaches busy, not more: the
        // hosts' own limits decide the pace.
        let in_flight = (self.settings.max_concurrency * 4).max(4);
        let mut queued = HashSet::new();
        for link in links {
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
                (link, r)
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
        joined: Result<(Url, Result<Outcome, FetchError>), tokio::task::JoinError>,
    ) -> Result<bool, StageExit> {
        let (link, result) = match joined {
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
        let host = url.host_str().unwrap_or("").to_string();
        let key = format!("host:{host}");
        self.fail_key(
            &key,
            url,
            "off_site",
            &format!("link to {host} skipped: not one of the source's hosts (add it to allow_hosts to follow it)"),
        );
    }

    fn fail(&mut self, url: &Url, kind: &'static str, error: &str) {
        self.fail_key(url.as_str(), url, kind, error);
    }

    /// Counts a failure and logs it at WARN, once per `[log] repeat_window` for the same `key`
    /// and kind (with the count of failures left out meanwhile).
    fn fail_key(&mut self, key: &str, url: &Url, kind: &'static str, error: &str) {
        self.ctx
            .stats
            .failed_with(&self.source, kind, &format!("{url}: {error}"));
        match self.repeats.check(key, kind, std::time::Instant::now()) {
            Verdict::Log { repeated: 0 } => {
                tracing::warn!(stage = "source", source = %self.source, url = %url, kind, error, "fetch failed");
            }
            Verdict::Log { repeated } => {
                tracing::warn!(stage = "source", source = %self.source, url = %url, kind, error, repeated, "fetch still failing");
            }
            Verdict::Suppress => {
                self.ctx.stats.suppressed(&self.source);
                tracing::debug!(stage = "source", source = %self.source, url = %url, kind, error, "fetch failed again");
            }
        }
    }

    /// `url` answered: counted as a fetch, and its next failure is logged as news.
    fn answered(&mut self, url: &Url) {
        self.ctx.stats.fetched(&self.source);
        self.repeats.clear(url.as_str());
    }
}
