//! Sources: where pages come from: a folder (`files`) or the web (`http`: feed, sitemap, listing
//! and pages, whose discovery documents `feed`, `sitemap` and `listing` read). The set of kinds is closed (`SourceKind` in config); each runs
//! as an async task that sends `Page`s into the bounded scrape queue, so a slow pipeline slows the
//! source down.
//!
//! Sources are the only stage that watches the shutdown token. A source skips inputs the state
//! store already counts as done and reports refusals it can judge itself (too large, unreadable)
//! once each, with the source id and location.

pub mod feed;
pub mod files;
pub mod http;
pub mod listing;
pub mod sitemap;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{SourceKind, SourceSpec};
use crate::model::Page;
use crate::report::{StageExit, Stats};
use crate::state::StateStore;

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

    /// Sends a page on, giving up when shutdown is requested or the pipeline is gone.
    pub async fn send(&self, page: Page) -> Result<(), StageExit> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(StageExit::Cancelled),
            r = self.tx.send(page) => r.map_err(|_| StageExit::DownstreamClosed),
        }
    }
}

pub async fn run(spec: SourceSpec, ctx: SourceCtx) -> StageExit {
    ctx.stats.register_source(&spec.id);
    match spec.kind {
        SourceKind::Files(settings) => files::run(&spec.id, settings, ctx).await,
        SourceKind::Http(settings) => http::run(&spec.id, settings, ctx).await,
    }
}
