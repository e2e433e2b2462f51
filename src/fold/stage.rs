//! The fold stage: one thread owns the story index. For each scraped article it settles the
//! record's identity (a same-site canonical URL names the page), folds it, persists the index
//! change, assembles the record and hands one `Delivery` to every sink.
//!
//! Decisions are committed in batches of what is already queued (`COMMIT_BATCH`), each batch in
//! one state store transaction with its decision log entries.
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

/// Pages folded before their index changes are committed together: one state store transaction
/// for up to this many decisions (only what is already queued; the stage never waits for more).
pub const COMMIT_BATCH: usize = 64;

/// One decision waiting for its commit.
struct Pending {
    doc: Option<crate::fold::row::DocRow>,
    moved: Vec<crate::fold::row::Moved>,
    evicted: Vec<String>,
    /// What the decision log entry is made of (`None` without the log, or for a replay).
    log: Option<LogParts>,
    delivery: Arc<Delivery>,
}

/// A decision log entry's parts, assembled by the committer (off the deciding thread).
struct LogParts {
    meta: crate::explain::PageMeta,
    decided: crate::explain::Decided,
}

/// Batches decided and waiting for the committer.
const BATCHES_IN_FLIGHT: usize = 4;

/// How long the committer waits for more decisions before a commit: a record reaches the sinks
/// at most this much later, and transactions stay large at any pace.
const COMMIT_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs until its input closes, a sink's queue closes, or the state store fails.
///
/// Two threads: this one decides (the index is in memory), a committer persists each batch of
/// decisions with their decision log entries in one transaction and only then sends the records
/// to the sinks. A crash loses decided-but-uncommitted pages, which were never sent, so they are
/// read and decided again.
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
    let (batch_tx, batch_rx) = async_channel::bounded::<Vec<Pending>>(BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        let committer = std::thread::Builder::new()
            .name("fold-commit".into())
            .spawn_scoped(scope, || commit(&batch_rx, &sinks, state, acks, min_score));
        let committer = match committer {
            Ok(c) => c,
            Err(e) => return StageExit::Failed(format!("cannot start the fold committer: {e}")),
        };
        while let Ok(first) = rx.recv_blocking() {
            let mut batch = Vec::with_capacity(COMMIT_BATCH);
            let mut next = Some(first);
            while let Some(s) = next.take() {
                batch.push(fold_one(&mut folder, s, stats, decision_log));
                if batch.len() < COMMIT_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if batch_tx.send_blocking(batch).is_err() {
                break;
            }
        }
        batch_tx.close();
        committer
            .join()
            .unwrap_or_else(|_| StageExit::Failed("the fold committer panicked".into()))
    })
}

/// The committer: persists each batch in one transaction, then hands its records to the sinks.
fn commit(
    batches: &async_channel::Receiver<Vec<Pending>>,
    sinks: &[async_channel::Sender<Arc<Delivery>>],
    state: &StateStore,
    acks: &Acks,
    min_score: f64,
) -> StageExit {
    while let Ok(mut batch) = batches.recv_blocking() {
        // Batches that queued while the last commit ran, or arrive within `COMMIT_LINGER`, go in
        // this one: a transaction's fixed cost (the commit, the text index's flush) is paid once
        // for all of them.
        let until = std::time::Instant::now() + COMMIT_LINGER;
        while batch.len() < COMMIT_BATCH * BATCHES_IN_FLIGHT {
            match batches.try_recv() {
                Ok(more) => batch.extend(more),
                Err(async_channel::TryRecvError::Empty) if std::time::Instant::now() < until => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(_) => break,
            }
        }
        let entries: Vec<Option<crate::explain::Entry>> = batch
            .iter()
            .map(|p| {
                p.log
                    .as_ref()
                    .map(|l| crate::explain::Entry::for_record(&l.meta, &p.delivery.record, min_score, &l.decided))
            })
            .collect();
        let changes: Vec<crate::state::FoldChange<'_>> = batch
            .iter()
            .zip(&entries)
            .map(|(p, e)| crate::state::FoldChange {
                doc: p.doc.as_ref(),
                moved: &p.moved,
                evicted: &p.evicted,
                log: e.as_ref().map(|e| (e, p.delivery.record.body.as_str())),
            })
            .collect();
        if let Err(e) = state.commit_folds(&changes) {
            let r = &batch[0].delivery.record;
            tracing::error!(stage = "fold", source = %r.source, location = %r.location, batch = batch.len(), error = %format!("{e:#}"), "cannot persist the fold index");
            batches.close();
            return StageExit::Failed(format!("state store: {e:#}"));
        }
        drop(changes);
        for p in batch {
            acks.expect(p.delivery.receipt.clone());
            for tx in sinks {
                if tx.send_blocking(p.delivery.clone()).is_err() {
                    batches.close();
                    return StageExit::DownstreamClosed;
                }
            }
        }
    }
    StageExit::InputClosed
}

/// Folds one page: its decision, what to persist, and its delivery.
fn fold_one(folder: &mut Folder, s: Scraped, stats: &Stats, decision_log: bool) -> Pending {
    let started = std::time::Instant::now();
    // A page's canonical URL on its own site is its identity, so URL variants of one page make
    // one record and are all done once it is delivered.
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
    let rarity = if decision_log {
        folder.rarity(&input.features)
    } else {
        crate::fold::Rarity::default()
    };
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
    let meta = decision_log.then(|| crate::explain::PageMeta::of(&s));
    let record = s.into_record(id, body, content_hash, placement);
    // A replay (the record is indexed already) repeats its decision: nothing new to keep.
    let new = indexed.doc.is_some() || !indexed.moved.is_empty() || !indexed.evicted.is_empty();
    let log = meta.filter(|_| new).map(|meta| LogParts {
        meta,
        decided: crate::explain::Decided {
            score: decision.score,
            event_via: decision.event_via.clone(),
            updates: decision.updates.iter().map(|u| u.kind().to_string()).collect(),
            considered: decision.considered.clone(),
            rarity,
        },
    });
    tracing::debug!(
        stage = "fold", source = %record.source, location = %record.location, record_id = %record.id,
        story_id = %record.story_id, relation = record.relation.as_str(), score = ?decision.score,
        elapsed_ms = started.elapsed().as_millis() as u64, "record folded"
    );
    stats.record(&record, &decision.updates, index_size(folder));
    for u in &decision.updates {
        tracing::debug!(stage = "fold", record_id = %record.id, kind = u.kind(), subject = %u.subject(), "story update");
    }
    Pending {
        doc: indexed.doc.as_ref().map(|d| d.to_row()),
        moved: indexed.moved,
        evicted: indexed.evicted,
        log,
        delivery: Arc::new(Delivery {
            updates: decision.updates,
            receipt,
            record,
        }),
    }
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
