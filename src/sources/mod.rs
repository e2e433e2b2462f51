//! Sources: where pages come from: a folder (`files`) or the web (`http`: feed, sitemap, listing
//! and pages, whose discovery documents `feed`, `sitemap` and `listing` read). The set of kinds is
//! closed: `SourceType` names them (the `type` key), `SourceKind` holds each kind's validated
//! settings, and this file has one exhaustive match per operation (build, run). Each kind's file
//! owns its raw settings, their validation and its run loop. A source runs as an async task that
//! sends `Page`s into the bounded scrape queue, so a slow pipeline slows the source down.
//!
//! Sources stop on the shutdown token (sinks watch it too, to bound their drain). A source skips
//! inputs the state store already counts as done and reports refusals it can judge itself (too
//! large, unreadable) once each, with the source id and location.

pub mod feed;
pub mod files;
pub mod http;
pub mod listing;
pub mod sitemap;
pub mod supervisor;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use toml::Spanned;
use toml::de::DeValue;

use crate::config::{Cx, FetchSettings};
use crate::kinds::FailureKind;
use crate::model::Page;
use crate::report::{SourceState, StageExit};
use crate::state::StateStore;
use crate::stats::Stats;

crate::closed_set! {
    /// The `type` of a `[sources.NAME]` table.
    pub enum SourceType {
        Files = "files",
        Feed = "feed",
        Sitemap = "sitemap",
        Listing = "listing",
        Pages = "pages",
    }
}

/// A configured source, validated. Compared on reload: a source whose spec changed is restarted.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub id: String,
    pub kind: SourceKind,
}

impl SourceSpec {
    /// The source's extraction rules, if it has any.
    pub fn rules(&self) -> Option<Arc<crate::scrape::rules::Rules>> {
        match &self.kind {
            SourceKind::Files(_) => None,
            SourceKind::Http(h) => h.extract.clone(),
        }
    }

    /// The hosts the source may request (its configured URLs' and `allow_hosts`, lowercase,
    /// without `www.`): every request it makes goes to one of them. None for a folder.
    pub fn hosts(&self) -> Vec<String> {
        match &self.kind {
            SourceKind::Files(_) => Vec::new(),
            SourceKind::Http(h) => {
                let configured = h.discover.configured().into_iter().filter_map(|u| u.host_str());
                let mut hosts: Vec<String> = configured
                    .chain(h.allow_hosts.iter().map(String::as_str))
                    .map(|host| {
                        let host = host.to_ascii_lowercase();
                        host.strip_prefix("www.").map(str::to_string).unwrap_or(host)
                    })
                    .collect();
                hosts.sort();
                hosts.dedup();
                hosts
            }
        }
    }
}

/// Each kind's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    Files(files::FilesSettings),
    Http(Box<http::HttpSettings>),
}

/// `[sources]`: every named source, each parsed and validated by its kind.
pub fn build_all(cx: &mut Cx<'_>, value: Spanned<DeValue<'_>>, fetch: &FetchSettings) -> Vec<SourceSpec> {
    cx.typed_sections("sources", value, |cx, key, kind, v| build(cx, key, kind, v, fetch))
        .into_iter()
        .map(|(id, kind)| SourceSpec { id, kind })
        .collect()
}

fn build(
    cx: &mut Cx<'_>,
    key: &str,
    kind: SourceType,
    value: Spanned<DeValue<'_>>,
    fetch: &FetchSettings,
) -> Option<SourceKind> {
    match kind {
        SourceType::Files => {
            let raw = cx.section(key, value)?;
            files::FilesSettings::build(cx, key, raw).map(SourceKind::Files)
        }
        SourceType::Feed => build_http(cx, key, kind, http::DiscoverKind::Feed, value, fetch),
        SourceType::Sitemap => build_http(cx, key, kind, http::DiscoverKind::Sitemap, value, fetch),
        SourceType::Listing => build_http(cx, key, kind, http::DiscoverKind::Listing, value, fetch),
        SourceType::Pages => build_http(cx, key, kind, http::DiscoverKind::Pages, value, fetch),
    }
}

fn build_http(
    cx: &mut Cx<'_>,
    key: &str,
    kind: SourceType,
    discover: http::DiscoverKind,
    value: Spanned<DeValue<'_>>,
    fetch: &FetchSettings,
) -> Option<SourceKind> {
    let raw = cx.section(key, value)?;
    http::HttpSettings::build(cx, key, kind, discover, raw, fetch).map(|h| SourceKind::Http(Box::new(h)))
}

/// Whether a source makes one pass or polls until shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Once,
    Daemon,
}

/// What every source gets to do its work.
#[derive(Clone)]
pub struct SourceCtx {
    pub tx: async_channel::Sender<Page>,
    pub state: Arc<StateStore>,
    pub stats: Arc<Stats>,
    pub max_page_bytes: u64,
    pub mode: Mode,
    pub shutdown: CancellationToken,
    /// The shared HTTP client; present when any HTTP source is configured.
    pub fetcher: Option<Arc<crate::fetch::Fetcher>>,
    /// How long a repeating failure stays out of the log after it was logged.
    pub repeat_window: std::time::Duration,
    /// What this source sent in this process; outlives a restart by a reload.
    pub sent: Arc<Sent>,
}

/// What a source sent in this process: input key → raw hash. The supervisor keeps one per source
/// id, so a source restarted by a reload does not send again what its predecessor sent (those
/// pages may still be in the queues, not yet done in the state store). Cleared when it reaches
/// `MAX_SENT` keys: the state store then answers for delivered pages.
#[derive(Debug, Default)]
pub struct Sent(std::sync::Mutex<std::collections::HashMap<String, String>>);

pub const MAX_SENT: usize = 200_000;

impl Sent {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The raw hash `key` was sent with, if it was.
    pub fn get(&self, key: &str) -> Option<String> {
        self.map().get(key).cloned()
    }

    pub fn insert(&self, key: &str, raw_hash: &str) {
        let mut m = self.map();
        if m.len() >= MAX_SENT {
            m.clear();
        }
        m.insert(key.to_string(), raw_hash.to_string());
    }
}

impl SourceCtx {
    /// Whether this input was delivered before (a state-store failure counts as "not yet", so the
    /// page is processed again rather than lost).
    pub async fn is_done(&self, source: &str, key: &str, raw_hash: &str) -> bool {
        let state = self.state.clone();
        let (s, k, h) = (source.to_string(), key.to_string(), raw_hash.to_string());
        match tokio::task::spawn_blocking(move || state.is_done(&s, &k, &h)).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                tracing::warn!(source = %source, error = %format!("{e:#}"), "state store lookup failed; processing the page again");
                false
            }
            Err(_) => false,
        }
    }

    /// Sends a page on, giving up when shutdown is requested or the pipeline is gone. Only a page
    /// that entered the queue counts as read and is remembered as sent: one given up here is
    /// read again by this source's successor after a reload, or on the next start.
    pub async fn send(&self, page: Page) -> Result<(), StageExit> {
        let (key, raw_hash) = (page.key.clone(), page.raw_hash.clone());
        let source = page.source.clone();
        if page.bytes.len() as u64 > self.max_page_bytes {
            // Every page meets the same cap, whatever read it (a folder checks sizes earlier, before
            // reading; a fetched page is capped by `fetch.max_body_bytes` while it streams).
            let error = format!(
                "{} bytes is over the {} byte cap (pipeline.max_page_bytes)",
                page.bytes.len(),
                self.max_page_bytes
            );
            tracing::warn!(stage = "source", source = %source, location = %page.location, kind = FailureKind::TooLarge.as_str(), error = %error, "page refused");
            self.stats
                .failed_with(&source, FailureKind::TooLarge, &format!("{}: {error}", page.location));
            self.sent.insert(&key, &raw_hash);
            return Ok(());
        }
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(StageExit::Cancelled),
            r = self.tx.send(page) => r.map_err(|_| StageExit::DownstreamClosed),
        }?;
        self.sent.insert(&key, &raw_hash);
        self.stats.read(&source);
        Ok(())
    }
}

pub async fn run(spec: SourceSpec, ctx: SourceCtx) -> StageExit {
    let stats = ctx.stats.clone();
    stats.register_source(&spec.id);
    stats.source_state(&spec.id, SourceState::Starting);
    let exit = match spec.kind {
        SourceKind::Files(settings) => files::run(&spec.id, settings, ctx).await,
        SourceKind::Http(settings) => http::run(&spec.id, *settings, ctx).await,
    };
    let state = match &exit {
        StageExit::Completed => SourceState::Done,
        StageExit::Failed(e) => SourceState::Failed(e.clone()),
        StageExit::DownstreamClosed => SourceState::Failed("the pipeline after it stopped".into()),
        StageExit::Cancelled | StageExit::InputClosed => SourceState::Stopped,
    };
    stats.source_state(&spec.id, state);
    exit
}
