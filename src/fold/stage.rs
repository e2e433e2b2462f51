//! The fold stage: one thread owns the story index. For each scraped article it settles the
//! record's identity (a same-site canonical URL names the page), folds it, persists the index
//! change, assembles the record and hands one `Delivery` to every sink.
//!
//! Invariant: the index change is in the state store before the record reaches any sink, and a
//! delivery is registered with `Acks` before it is sent, so nothing a sink acknowledges can be
//! lost by a crash, and a replay repeats the same decision.

use std::sync::Arc;

use chrono::Utc;

use super::{FoldInput, Folder};
use crate::model::{Delivery, Receipt, record_id};
use crate::report::{IndexSize, StageExit};
use crate::scrape::stage::{Placement, Scraped};
use crate::sinks::Acks;
use crate::state::StateStore;
use crate::stats::Stats;

fn index_size(folder: &Folder) -> IndexSize {
    IndexSize {
        documents: folder.len() as u64,
        memory_bytes: folder.memory_bytes() as u64,
    }
}

/// Runs until its input closes, a sink's queue closes, or the state store fails.
pub fn run(
    mut folder: Folder,
    rx: async_channel::Receiver<Scraped>,
    sinks: Vec<async_channel::Sender<Arc<Delivery>>>,
    state: &StateStore,
    stats: &Stats,
    acks: &Acks,
    decision_log: bool,
) -> StageExit {
    stats.index_size(index_size(&folder));
    let min_score = folder.min_score();
    while let Ok(s) = rx.recv_blocking() {
        let started = std::time::Instant::now();
        // A page's canonical URL on its own site is its identity, so URL variants of one page
        // make one record and are all done once it is delivered.
        let (canonical_url, alternates) = s.links();
        let alias = canonical_alias(&s.key, &s.location, canonical_url.as_deref());
        let id = record_id(&s.source, alias.as_deref().unwrap_or(&s.key), &s.raw_hash);
        let body = s.article.body();
        let mut input = FoldInput::from_article(
            id.clone(),
            s.location.clone(),
            &s.article,
            &body,
            Utc::now().timestamp(),
        );
        // Versions the page names in other languages: direct evidence of its story.
        input.alternates = alternates
            .into_iter()
            .map(|a| a.url)
            .filter(|u| *u != s.location)
            .collect();
        let content_hash = input.content_hash.clone();
        let (decision, indexed) = folder.fold(input);
        let receipt = Receipt {
            source: s.source.clone(),
            key: s.key.clone(),
            raw_hash: s.raw_hash.clone(),
            record_id: id.clone(),
            alias,
        };
        let placement = Placement {
            story_id: decision.story_id,
            event_id: decision.event_id,
            relation: decision.relation,
            duplicate_of: decision.duplicate_of,
        };
        let meta = crate::explain::PageMeta::of(&s);
        let record = s.into_record(id, body, content_hash, placement);
        // A replay (the record is indexed already) repeats its decision: nothing new to keep.
        if indexed.doc.is_some() || !indexed.moved.is_empty() || !indexed.evicted.is_empty() {
            let entry = decision_log.then(|| {
                crate::explain::Entry::for_record(
                    &meta,
                    &record,
                    decision.score,
                    min_score,
                    decision.event_via.clone(),
                    decision.updates.iter().map(|u| u.kind().to_string()).collect(),
                    &decision.considered,
                )
            });
            let doc = indexed.doc.as_ref().map(|d| d.to_row());
            let log = entry.as_ref().map(|e| (e, record.body.as_str()));
            if let Err(e) = state.commit_fold(doc.as_ref(), &indexed.moved, &indexed.evicted, log) {
                tracing::error!(stage = "fold", source = %record.source, location = %record.location, error = %format!("{e:#}"), "cannot persist the fold index");
                return StageExit::Failed(format!("state store: {e:#}"));
            }
        }
        tracing::debug!(
            stage = "fold", source = %record.source, location = %record.location, record_id = %record.id,
            story_id = %record.story_id, relation = record.relation.as_str(), score = ?decision.score,
            elapsed_ms = started.elapsed().as_millis() as u64, "record folded"
        );
        stats.record(&record, &decision.updates, index_size(&folder));
        for u in &decision.updates {
            tracing::debug!(stage = "fold", record_id = %record.id, kind = u.kind(), subject = %u.subject(), "story update");
        }
        let delivery = Arc::new(Delivery {
            updates: decision.updates,
            receipt,
            record,
        });
        acks.expect(delivery.receipt.clone());
        for tx in &sinks {
            if tx.send_blocking(delivery.clone()).is_err() {
                return StageExit::DownstreamClosed;
            }
        }
    }
    StageExit::InputClosed
}

/// A fetched page's canonical URL (resolved and normalised) when it differs from the page's key
/// and names a page on the same site; a canonical pointing elsewhere (an aggregator naming the
/// original) is not this page's identity.
fn canonical_alias(key: &str, location: &str, canonical_url: Option<&str>) -> Option<String> {
    use crate::fetch::urls;
    let base = url::Url::parse(location).ok()?;
    let canonical_url = canonical_url?;
    let canonical = url::Url::parse(canonical_url).ok()?;
    let same_site = urls::site(canonical.host_str()?) == urls::site(base.host_str()?);
    (same_site && canonical_url != key).then(|| canonical_url.to_string())
}

#[cfg(test)]
mod tests {
    use super::canonical_alias;

    #[test]
    fn canonical_urls_on_the_same_site_alias_the_page() {
        let key = "https://baoquangtri.vn/a.htm?page=amp";
        let article = crate::model::Article {
            canonical: Some("/a.htm#top".into()),
            ..Default::default()
        };
        let (resolved, _) = crate::scrape::resolved_links(key, &article);
        assert_eq!(
            canonical_alias(key, key, resolved.as_deref()).as_deref(),
            Some("https://baoquangtri.vn/a.htm")
        );
        assert_eq!(
            canonical_alias(key, key, Some("https://www.baoquangtri.vn/a.htm")).as_deref(),
            Some("https://www.baoquangtri.vn/a.htm")
        );
        assert_eq!(canonical_alias(key, key, Some(key)), None);
        assert_eq!(canonical_alias(key, key, Some("https://other.vn/a.htm")), None);
        assert_eq!(canonical_alias("a.html", "/seeds/a.html", Some("https://x.vn/a")), None);
        assert_eq!(canonical_alias(key, key, None), None);
    }
}
