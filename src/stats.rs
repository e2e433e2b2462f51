//! Live counters, shared by every stage without a lock they all take per page.
//!
//! Each stage owns its counters: per-stage totals are atomics (`Stage` indexes them); each source
//! has its own `SourceStats` (atomic counts, and a mutex of its own for its state, last error and
//! failures by kind, which change rarely); each sink its own `SinkStats` (atomics); the fold's
//! relation counts, index size and recent stories sit behind a mutex that only the fold thread
//! writes. The maps from an id to its counters are written only when a source or sink registers.
//! `snapshot` turns all of it into a `RunReport`, the one source of the numbers shown by the
//! summary, `/metrics`, the status page and the progress line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};

use crate::kinds::{FailureKind, Named, Stage};
use crate::model::{Record, StoryUpdate};
use crate::recent::Recent;
use crate::report::{IndexSize, LastError, RunReport, SinkEvents, SourceCounts, SourceState, StageCounts};

#[derive(Debug, Default)]
struct StageStats {
    received: AtomicU64,
    emitted: AtomicU64,
    failed: AtomicU64,
}

impl StageStats {
    fn passed(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.emitted.fetch_add(1, Ordering::Relaxed);
    }

    fn refused(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self) -> StageCounts {
        StageCounts {
            received: self.received.load(Ordering::Relaxed),
            emitted: self.emitted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// One source's counters.
#[derive(Debug, Default)]
pub struct SourceStats {
    read: AtomicU64,
    fetched: AtomicU64,
    already_done: AtomicU64,
    not_modified: AtomicU64,
    records: AtomicU64,
    suppressed: AtomicU64,
    /// Unix milliseconds of the last success; 0 before the first.
    last_success_ms: AtomicI64,
    health: Mutex<SourceHealth>,
}

#[derive(Debug, Default)]
struct SourceHealth {
    state: SourceState,
    failed: BTreeMap<FailureKind, u64>,
    last_error: Option<LastError>,
}

impl SourceStats {
    fn succeeded_now(&self) {
        self.last_success_ms
            .store(Utc::now().timestamp_millis().max(1), Ordering::Relaxed);
    }

    fn health(&self) -> std::sync::MutexGuard<'_, SourceHealth> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failure(&self, kind: FailureKind, message: &str) {
        let mut h = self.health();
        *h.failed.entry(kind).or_insert(0) += 1;
        h.last_error = Some(LastError {
            kind,
            message: message.to_string(),
            at: Utc::now(),
        });
    }

    fn counts(&self) -> SourceCounts {
        let h = self.health();
        let ms = self.last_success_ms.load(Ordering::Relaxed);
        SourceCounts {
            read: self.read.load(Ordering::Relaxed),
            fetched: self.fetched.load(Ordering::Relaxed),
            already_done: self.already_done.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            failed: h.failed.clone(),
            suppressed: self.suppressed.load(Ordering::Relaxed),
            state: h.state.clone(),
            last_success: (ms > 0).then(|| DateTime::from_timestamp_millis(ms)).flatten(),
            last_error: h.last_error.clone(),
        }
    }
}

/// One sink's counters.
#[derive(Debug, Default)]
pub struct SinkStats {
    received: AtomicU64,
    delivered: AtomicU64,
    outages: AtomicU64,
    retries: AtomicU64,
    dead_lettered: AtomicU64,
    down: AtomicBool,
    stopped: AtomicBool,
}

/// What the fold stage alone writes.
#[derive(Debug, Default)]
struct FoldStats {
    relations: BTreeMap<&'static str, u64>,
    updates: BTreeMap<&'static str, u64>,
    /// Stories and events founded this run, less those merged or linked away.
    stories: u64,
    events: u64,
    index: IndexSize,
    recent: Recent,
}

/// Live counters, shared by every stage.
#[derive(Debug, Default)]
pub struct Stats {
    stages: [StageStats; 4],
    sources: RwLock<BTreeMap<String, Arc<SourceStats>>>,
    sinks: RwLock<BTreeMap<String, Arc<SinkStats>>>,
    fold: Mutex<FoldStats>,
    /// Where refused inputs go on their way to the decision log, while a pipeline runs.
    refusals: Mutex<Option<async_channel::Sender<crate::explain::Refusal>>>,
}

fn stage_index(stage: Stage) -> usize {
    match stage {
        Stage::Source => 0,
        Stage::Scrape => 1,
        Stage::Fold => 2,
        Stage::Sink => 3,
    }
}

impl Stats {
    fn stage(&self, stage: Stage) -> &StageStats {
        &self.stages[stage_index(stage)]
    }

    /// A source's counters, registered on first use.
    fn source(&self, id: &str) -> Arc<SourceStats> {
        if let Some(s) = self.sources.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return s.clone();
        }
        let mut map = self.sources.write().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    /// A sink's counters, registered on first use.
    fn sink(&self, id: &str) -> Arc<SinkStats> {
        if let Some(s) = self.sinks.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return s.clone();
        }
        let mut map = self.sinks.write().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    fn fold_stats(&self) -> std::sync::MutexGuard<'_, FoldStats> {
        self.fold.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register_source(&self, source: &str) {
        self.source(source);
    }

    /// An input read and sent on.
    pub fn read(&self, source: &str) {
        let s = self.source(source);
        s.read.fetch_add(1, Ordering::Relaxed);
        s.succeeded_now();
        self.stage(Stage::Source).passed();
    }

    /// The source's folder was listed, or its site answered (any status but an error).
    pub fn succeeded(&self, source: &str) {
        self.source(source).succeeded_now();
    }

    /// An HTTP response received for this source.
    pub fn fetched(&self, source: &str) {
        let s = self.source(source);
        s.fetched.fetch_add(1, Ordering::Relaxed);
        s.succeeded_now();
    }

    pub fn already_done(&self, source: &str) {
        self.source(source).already_done.fetch_add(1, Ordering::Relaxed);
        self.stage(Stage::Source).received.fetch_add(1, Ordering::Relaxed);
    }

    pub fn not_modified(&self, source: &str) {
        self.source(source).not_modified.fetch_add(1, Ordering::Relaxed);
    }

    pub fn source_state(&self, source: &str, state: SourceState) {
        self.source(source).health().state = state;
    }

    /// A failure at a source (fetching, listing, reading): counted by kind, remembered as the
    /// source's last error with `message`.
    pub fn failed_with(&self, source: &str, kind: FailureKind, message: &str) {
        self.source(source).failure(kind, message);
        self.stage(Stage::Source).refused();
        self.refusal(source, "source", kind, message);
    }

    /// A page the scrape stage refused: counted at its source by kind, and in the scrape stage.
    pub fn scrape_refused(&self, source: &str, kind: FailureKind, message: &str) {
        self.source(source).failure(kind, message);
        self.stage(Stage::Scrape).refused();
        self.refusal(source, "scrape", kind, message);
    }

    /// Sends refused inputs to `tx` (the decision log's writer) until `close_refusals`.
    pub fn log_refusals_to(&self, tx: async_channel::Sender<crate::explain::Refusal>) {
        *self.refusals.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// Stops sending refusals, so the writer drains and ends.
    pub fn close_refusals(&self) {
        self.refusals.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn refusal(&self, source: &str, stage: &'static str, kind: FailureKind, message: &str) {
        if let Some(tx) = self.refusals.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            // A full queue drops the entry, never the pipeline's pace: the counts above hold.
            let _ = tx.try_send(crate::explain::Refusal {
                source: source.to_string(),
                stage,
                kind: kind.as_str(),
                message: message.to_string(),
            });
        }
    }

    /// A failure line left out of the log because it repeats one logged lately.
    pub fn suppressed(&self, source: &str) {
        self.source(source).suppressed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn scraped(&self) {
        self.stage(Stage::Scrape).passed();
    }

    /// A folded record, with the updates it caused and the index's size after it.
    pub fn record(&self, record: &Record, updates: &[StoryUpdate], index: IndexSize) {
        self.source(&record.source).records.fetch_add(1, Ordering::Relaxed);
        self.stage(Stage::Fold).passed();
        let mut f = self.fold_stats();
        *f.relations.entry(record.relation.as_str()).or_insert(0) += 1;
        f.recent.record(record, Utc::now());
        // A story is founded by its first record, an event by its first story's.
        if record.story_id == record.id {
            f.stories += 1;
            if record.event_id == record.id {
                f.events += 1;
            }
        }
        for u in updates {
            f.recent.update(u);
            *f.updates.entry(u.kind()).or_insert(0) += 1;
            match u {
                StoryUpdate::StoryMerge(_) => f.stories = f.stories.saturating_sub(1),
                StoryUpdate::StorySplit(_) => {
                    f.stories += 1;
                    f.events += 1;
                }
                StoryUpdate::EventLink(_) => f.events = f.events.saturating_sub(1),
                StoryUpdate::Canonical(_) => {}
            }
        }
        f.index = index;
    }

    pub fn index_size(&self, index: IndexSize) {
        self.fold_stats().index = index;
    }

    /// Records and updates handed to a sink's thread.
    pub fn sink_received(&self, sink: &str, n: u64) {
        self.sink(sink).received.fetch_add(n, Ordering::Relaxed);
        self.stage(Stage::Sink).received.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sink_outage(&self, sink: &str) {
        let s = self.sink(sink);
        s.outages.fetch_add(1, Ordering::Relaxed);
        s.down.store(true, Ordering::Relaxed);
    }

    pub fn sink_recovered(&self, sink: &str) {
        self.sink(sink).down.store(false, Ordering::Relaxed);
    }

    pub fn sink_stopped(&self, sink: &str) {
        self.sink(sink).stopped.store(true, Ordering::Relaxed);
    }

    pub fn sink_retry(&self, sink: &str) {
        self.sink(sink).retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dead_lettered(&self, sink: &str) {
        self.sink(sink).dead_lettered.fetch_add(1, Ordering::Relaxed);
        self.stage(Stage::Sink).failed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivered(&self, sink: &str, n: u64) {
        self.sink(sink).delivered.fetch_add(n, Ordering::Relaxed);
        self.stage(Stage::Sink).emitted.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters so far, as a report without stage exits.
    pub fn snapshot(&self) -> RunReport {
        let sources = self
            .sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, s)| (id.clone(), s.counts()))
            .collect();
        let sinks = self.sinks.read().unwrap_or_else(|p| p.into_inner());
        let delivered = sinks
            .iter()
            .filter(|(_, s)| s.received.load(Ordering::Relaxed) > 0 || s.delivered.load(Ordering::Relaxed) > 0)
            .map(|(id, s)| (id.clone(), s.delivered.load(Ordering::Relaxed)))
            .collect();
        let sink_events = sinks
            .iter()
            .map(|(id, s)| {
                let e = SinkEvents {
                    outages: s.outages.load(Ordering::Relaxed),
                    retries: s.retries.load(Ordering::Relaxed),
                    dead_lettered: s.dead_lettered.load(Ordering::Relaxed),
                    received: s.received.load(Ordering::Relaxed),
                    down: s.down.load(Ordering::Relaxed),
                    stopped: s.stopped.load(Ordering::Relaxed),
                };
                (id.clone(), e)
            })
            .collect();
        drop(sinks);
        let stage_counts = Stage::ALL
            .iter()
            .map(|st| (*st, self.stage(*st).counts()))
            .filter(|(_, c)| *c != StageCounts::default())
            .collect();
        let f = self.fold_stats();
        RunReport {
            sources,
            relations: f.relations.clone(),
            updates: f.updates.clone(),
            stories: f.stories,
            events: f.events,
            delivered,
            sink_events,
            stage_counts,
            index: f.index,
            stages: Vec::new(),
        }
    }

    /// A copy of the recent stories and throughput, for the status page.
    pub fn recent(&self) -> Recent {
        self.fold_stats().recent.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_from_many_threads_add_up() {
        let stats = Arc::new(Stats::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let stats = stats.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        stats.read("a");
                        stats.scraped();
                        if t == 0 {
                            stats.failed_with("b", FailureKind::Timeout, "u: slow");
                        }
                    }
                    stats.delivered("out", 10);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let r = stats.snapshot();
        assert_eq!(r.sources["a"].read, 4000);
        assert!(r.sources["a"].last_success.is_some());
        assert_eq!(r.sources["b"].failed[&FailureKind::Timeout], 1000);
        assert_eq!(
            r.sources["b"].last_error.as_ref().map(|e| e.kind),
            Some(FailureKind::Timeout)
        );
        assert_eq!(r.stage_counts[&Stage::Source].received, 5000);
        assert_eq!(r.stage_counts[&Stage::Source].failed, 1000);
        assert_eq!(r.stage_counts[&Stage::Scrape].emitted, 4000);
        assert_eq!(r.delivered["out"], 40);
        assert!(!r.stage_counts.contains_key(&Stage::Fold));
    }
}
