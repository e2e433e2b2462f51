//! The scrape stage: worker threads that turn queued `Page`s into `Scraped` articles, and the one
//! place a scraped page becomes a `Record` (`Scraped::into_record`, used by the fold stage and by
//! `newsfold scrape`'s preview).
//!
//! Invariant: a refused page is logged once at WARN with its source, location and kind, and
//! counted at its source; it never stops the stage.

use std::sync::Arc;

use chrono::Utc;

use crate::model::{Alternate, Article, Page, Record, Relation};
use crate::report::StageExit;
use crate::stats::Stats;

/// A page after scraping, without its bytes.
#[derive(Debug, Clone)]
pub struct Scraped {
    pub source: Arc<str>,
    pub key: String,
    pub location: String,
    pub raw_hash: String,
    pub article: Article,
    /// The page's size and declared charset, for the decision log.
    pub fetched: crate::explain::Fetched,
}

/// Where a record stands in its story (the fold's decision, or "alone" for a preview).
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub story_id: String,
    pub event_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
}

impl Scraped {
    pub fn new(page: Page, article: Article) -> Scraped {
        let fetched = crate::explain::Fetched {
            bytes: page.bytes.len(),
            declared_charset: page.charset,
            trail: page.fetch,
        };
        Scraped {
            fetched,
            source: page.source,
            key: page.key,
            location: page.location,
            raw_hash: page.raw_hash,
            article,
        }
    }

    /// The page's canonical URL and hreflang alternates, resolved against its location.
    pub fn links(&self) -> (Option<String>, Vec<Alternate>) {
        super::resolved_links(&self.location, &self.article)
    }

    /// The record this page makes, with `body` (the article's body, computed once by the caller)
    /// and its `content_hash`.
    pub fn into_record(self, id: String, body: String, content_hash: String, placement: Placement) -> Record {
        let (canonical_url, alternates) = self.links();
        let a = self.article;
        Record {
            canonical_url,
            alternates,
            updated_at: a.updated_at,
            lang_confidence: a.lang.map(|_| a.lang_confidence),
            id,
            story_id: placement.story_id,
            event_id: placement.event_id,
            relation: placement.relation,
            duplicate_of: placement.duplicate_of,
            source: self.source.to_string(),
            location: self.location,
            original_url: a.original_url,
            lang: a.lang,
            title: a.title,
            body,
            published_at: a.published_at,
            authors: a.authors,
            content_hash,
            ingested_at: Utc::now(),
        }
    }
}

/// One scrape worker: runs until its input closes or the fold stage is gone.
/// Each page of an HTTP source is cleaned of its site's template (`template.rs`), which it then
/// teaches.
pub fn run(
    rx: async_channel::Receiver<Page>,
    tx: async_channel::Sender<Scraped>,
    stats: &Stats,
    templates: &std::sync::Mutex<super::template::Templates>,
    settle: Option<&crate::model::Settle>,
) -> StageExit {
    while let Ok(page) = rx.recv_blocking() {
        let started = std::time::Instant::now();
        match super::scrape(&page) {
            Ok(mut article) => {
                if let Some(host) = super::template::host_of(&page.location) {
                    let key = super::template::article_key(article.title.as_deref(), &article.paragraphs);
                    let url = super::template::url_key(&page.key);
                    let removed = templates.lock().unwrap_or_else(|e| e.into_inner()).apply(
                        &host,
                        key,
                        url,
                        &mut article.paragraphs,
                    );
                    for line in &removed {
                        article.provenance.removed("site template", line, 1);
                    }
                }
                stats.scraped();
                if article.charset.replaced > 0 {
                    tracing::warn!(
                        stage = "scrape", source = %page.source, location = %page.location,
                        charset = article.charset.encoding.name(), invalid_bytes = article.charset.replaced,
                        "invalid bytes replaced"
                    );
                }
                tracing::debug!(
                    stage = "scrape", source = %page.source, location = %page.location,
                    lang = ?article.lang, paragraphs = article.paragraphs.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64, "page scraped"
                );
                if tx.send_blocking(Scraped::new(page, article)).is_err() {
                    return StageExit::DownstreamClosed;
                }
            }
            Err(e) => {
                tracing::warn!(stage = "scrape", source = %page.source, location = %page.location, kind = e.kind().as_str(), error = %e, "page refused");
                stats.scrape_refused(&page.source, e.kind(), &format!("{}: {e}", page.location));
                if let Some(settle) = settle {
                    settle(&page.source, &page.key, &page.raw_hash);
                }
            }
        }
    }
    StageExit::InputClosed
}
