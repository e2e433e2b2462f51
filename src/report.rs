//! What a run did and is doing: per-source counters and health, per-stage and per-sink counters,
//! relation counts, the fold index's size, and why each stage stopped. Shared by the stages while
//! they run (behind a mutex: updates are per page, not per byte); read by `once`'s progress line
//! and summary table, and by the API's `/metrics` and status page.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::model::{Record, StoryUpdate};
use crate::recent::Recent;

/// Why a stage stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageExit {
    /// A source finished its single pass (`once`).
    Completed,
    /// Its input channel closed: everything upstream finished and it drained the rest.
    InputClosed,
    /// Shutdown was requested (sources only).
    Cancelled,
    /// The next stage went away, so there was nowhere to send.
    DownstreamClosed,
    Failed(String),
}

impl StageExit {
    pub fn is_failure(&self) -> bool {
        matches!(self, StageExit::Failed(_) | StageExit::DownstreamClosed)
    }
}

impl fmt::Display for StageExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageExit::Completed => f.write_str("completed"),
            StageExit::InputClosed => f.write_str("input closed"),
            StageExit::Cancelled => f.write_str("cancelled"),
            StageExit::DownstreamClosed => f.write_str("downstream closed"),
            StageExit::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// What a source is doing now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SourceState {
    #[default]
    Starting,
    /// Listing, fetching or sending.
    Polling,
    /// Waiting for its next poll.
    Idle,
    /// Finished its single pass (`once`).
    Done,
    /// Stopped by shutdown.
    Stopped,
    /// Taken out of the config by a reload.
    Removed,
    Failed(String),
}

impl fmt::Display for SourceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceState::Starting => f.write_str("starting"),
            SourceState::Polling => f.write_str("polling"),
            SourceState::Idle => f.write_str("idle"),
            SourceState::Done => f.write_str("done"),
            SourceState::Stopped => f.write_str("stopped"),
            SourceState::Removed => f.write_str("removed"),
            SourceState::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// A source's most recent failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastError {
    pub kind: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Inputs read and sent on.
    pub read: u64,
    /// HTTP responses received (documents and articles, 304s included); 0 for folders.
    pub fetched: u64,
    /// Inputs skipped because they were delivered before.
    pub already_done: u64,
    /// Feeds, sitemaps, listings and pages the server said had not changed (HTTP 304).
    pub not_modified: u64,
    /// Records produced.
    pub records: u64,
    /// Failures by kind (`too_large`, `unreadable`, `binary`, …).
    pub failed: BTreeMap<String, u64>,
    /// Failure lines not logged because the same failure was logged lately (see `repeats`).
    pub suppressed: u64,
    pub state: SourceState,
    /// The last time the source read its folder or got an answer from its site.
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<LastError>,
}

impl SourceCounts {
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// Items in and out of one stage (`source`, `scrape`, `fold`, `sink`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub received: u64,
    pub emitted: u64,
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Inner {
    sources: BTreeMap<String, SourceCounts>,
    relations: BTreeMap<&'static str, u64>,
    delivered: BTreeMap<String, u64>,
    sink_events: BTreeMap<String, SinkEvents>,
    stage_counts: BTreeMap<&'static str, StageCounts>,
    index: IndexSize,
    recent: Recent,
}

/// The fold index's size after the last fold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexSize {
    pub documents: u64,
    pub memory_bytes: u64,
}

/// What happened at one sink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkEvents {
    pub outages: u64,
    pub retries: u64,
    pub dead_lettered: u64,
    /// Records and updates handed to the sink.
    pub received: u64,
    /// Between an outage and the next successful write.
    pub down: bool,
    /// The sink thread stopped (failed or drained).
    pub stopped: bool,
}

/// Live counters, shared by every stage.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn register_source(&self, source: &str) {
        self.with(|i| {
            i.sources.entry(source.to_string()).or_default();
        });
    }

    fn source(&self, source: &str, f: impl FnOnce(&mut SourceCounts)) {
        self.with(|i| f(i.sources.entry(source.to_string()).or_default()));
    }

    fn stage(&self, stage: &'static str, f: impl FnOnce(&mut StageCounts)) {
        self.with(|i| f(i.stage_counts.entry(stage).or_default()));
    }

    /// An input read and sent on.
    pub fn read(&self, source: &str) {
        self.source(source, |c| {
            c.read += 1;
            c.last_success = Some(Utc::now());
        });
        self.stage("source", |c| {
            c.received += 1;
            c.emitted += 1;
        });
    }

    /// The source's folder was listed, or its site answered (any status but an error).
    pub fn succeeded(&self, source: &str) {
        self.source(source, |c| c.last_success = Some(Utc::now()));
    }

    /// An HTTP response received for this source.
    pub fn fetched(&self, source: &str) {
        self.source(source, |c| {
            c.fetched += 1;
            c.last_success = Some(Utc::now());
        });
    }

    pub fn already_done(&self, source: &str) {
        self.source(source, |c| c.already_done += 1);
        self.stage("source", |c| c.received += 1);
    }

    pub fn not_modified(&self, source: &str) {
        self.source(source, |c| c.not_modified += 1);
    }

    pub fn source_state(&self, source: &str, state: SourceState) {
        self.source(source, |c| c.state = state);
    }

    /// A failure at a source (fetching, listing, reading): counted by kind, remembered as the
    /// source's last error with `message`.
    pub fn failed_with(&self, source: &str, kind: &str, message: &str) {
        self.source_failure(source, kind, message);
        self.stage("source", |c| {
            c.received += 1;
            c.failed += 1;
        });
    }

    /// A page the scrape stage refused: counted at its source by kind, and in the scrape stage.
    pub fn scrape_refused(&self, source: &str, kind: &str, message: &str) {
        self.source_failure(source, kind, message);
        self.stage("scrape", |c| {
            c.received += 1;
            c.failed += 1;
        });
    }

    fn source_failure(&self, source: &str, kind: &str, message: &str) {
        self.source(source, |c| {
            *c.failed.entry(kind.to_string()).or_insert(0) += 1;
            c.last_error = Some(LastError {
                kind: kind.to_string(),
                message: message.to_string(),
                at: Utc::now(),
            });
        });
    }

    /// A failure line left out of the log because it repeats one logged lately.
    pub fn suppressed(&self, source: &str) {
        self.source(source, |c| c.suppressed += 1);
    }

    pub fn scraped(&self) {
        self.stage("scrape", |c| {
            c.received += 1;
            c.emitted += 1;
        });
    }

    /// A folded record, with the canonical change it caused, if any.
    pub fn record(&self, record: &Record, update: Option<&StoryUpdate>) {
        let now = Utc::now();
        self.with(|i| {
            i.sources.entry(record.source.clone()).or_default().records += 1;
            *i.relations.entry(record.relation.as_str()).or_insert(0) += 1;
            let fold = i.stage_counts.entry("fold").or_default();
            fold.received += 1;
            fold.emitted += 1;
            i.recent.record(record, now);
            if let Some(u) = update {
                i.recent.update(u);
            }
        });
    }

    pub fn index_size(&self, documents: usize, memory_bytes: usize) {
        self.with(|i| {
            i.index = IndexSize {
                documents: documents as u64,
                memory_bytes: memory_bytes as u64,
            }
        });
    }

    /// Records and updates handed to a sink's thread.
    pub fn sink_received(&self, sink: &str, n: u64) {
        self.with(|i| {
            i.sink_events.entry(sink.to_string()).or_default().received += n;
            i.stage_counts.entry("sink").or_default().received += n;
        });
    }

    pub fn sink_outage(&self, sink: &str) {
        self.with(|i| {
            let e = i.sink_events.entry(sink.to_string()).or_default();
            e.outages += 1;
            e.down = true;
        });
    }

    pub fn sink_recovered(&self, sink: &str) {
        self.with(|i| i.sink_events.entry(sink.to_string()).or_default().down = false);
    }

    pub fn sink_stopped(&self, sink: &str) {
        self.with(|i| i.sink_events.entry(sink.to_string()).or_default().stopped = true);
    }

    pub fn sink_retry(&self, sink: &str) {
        self.with(|i| i.sink_events.entry(sink.to_string()).or_default().retries += 1);
    }

    pub fn dead_lettered(&self, sink: &str) {
        self.with(|i| {
            i.sink_events.entry(sink.to_string()).or_default().dead_lettered += 1;
            i.stage_counts.entry("sink").or_default().failed += 1;
        });
    }

    pub fn delivered(&self, sink: &str, n: u64) {
        self.with(|i| {
            *i.delivered.entry(sink.to_string()).or_insert(0) += n;
            i.stage_counts.entry("sink").or_default().emitted += n;
        });
    }

    /// The counters so far, as a report without stage exits.
    pub fn snapshot(&self) -> RunReport {
        self.with(|i| RunReport {
            sources: i.sources.clone(),
            relations: i.relations.clone(),
            delivered: i.delivered.clone(),
            sink_events: i.sink_events.clone(),
            stage_counts: i.stage_counts.clone(),
            index: i.index,
            stages: Vec::new(),
        })
    }

    /// A copy of the recent stories and throughput, for the status page.
    pub fn recent(&self) -> Recent {
        self.with(|i| i.recent.clone())
    }
}

/// The end-of-run report.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub sources: BTreeMap<String, SourceCounts>,
    pub relations: BTreeMap<&'static str, u64>,
    pub delivered: BTreeMap<String, u64>,
    pub sink_events: BTreeMap<String, SinkEvents>,
    pub stage_counts: BTreeMap<&'static str, StageCounts>,
    pub index: IndexSize,
    /// (stage name, exit) for every stage, in pipeline order.
    pub stages: Vec<(String, StageExit)>,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        self.stages.iter().any(|(_, e)| e.is_failure())
    }

    pub fn records(&self) -> u64 {
        self.sources.values().map(|s| s.records).sum()
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.sources.keys().map(String::len).max().unwrap_or(6).max(6);
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>8}  {:>8}  {:>8}",
            "source", "read", "skipped", "records", "failed"
        )?;
        for (name, c) in &self.sources {
            writeln!(
                f,
                "{name:<width$}  {:>8}  {:>8}  {:>8}  {:>8}",
                c.read,
                c.already_done,
                c.records,
                c.failed_total()
            )?;
            if c.not_modified > 0 {
                writeln!(f, "{:<width$}    not modified: {}", "", c.not_modified)?;
            }
            for (kind, n) in &c.failed {
                writeln!(f, "{:<width$}    failed {kind}: {n}", "")?;
            }
            if c.suppressed > 0 {
                writeln!(
                    f,
                    "{:<width$}    repeated failures not logged again: {}",
                    "", c.suppressed
                )?;
            }
        }
        let rel: Vec<String> = self.relations.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            f,
            "relations: {}",
            if rel.is_empty() {
                "none".to_string()
            } else {
                rel.join(", ")
            }
        )?;
        let del: Vec<String> = self.delivered.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            f,
            "delivered: {}",
            if del.is_empty() {
                "none".to_string()
            } else {
                del.join(", ")
            }
        )?;
        for (sink, e) in &self.sink_events {
            writeln!(
                f,
                "sink {sink}: outages {}, retries {}, dead-lettered {}",
                e.outages, e.retries, e.dead_lettered
            )?;
        }
        let stages: Vec<String> = self.stages.iter().map(|(n, e)| format!("{n} {e}")).collect();
        write!(f, "stages: {}", stages.join("; "))
    }
}
