//! What a run did: per-source counters, relation counts, and why each stage stopped. Shared by the
//! stages while they run (behind a mutex: updates are per page, not per byte) and printed by
//! `once` as a summary table.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use crate::model::Relation;

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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Inputs read and sent on.
    pub read: u64,
    /// Inputs skipped because they were delivered before.
    pub already_done: u64,
    /// Feeds, sitemaps, listings and pages the server said had not changed (HTTP 304).
    pub not_modified: u64,
    /// Records produced.
    pub records: u64,
    /// Failures by kind (`too_large`, `unreadable`, `binary`, …).
    pub failed: BTreeMap<String, u64>,
}

impl SourceCounts {
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

#[derive(Debug, Default)]
struct Inner {
    sources: BTreeMap<String, SourceCounts>,
    relations: BTreeMap<&'static str, u64>,
    delivered: BTreeMap<String, u64>,
    sink_events: BTreeMap<String, SinkEvents>,
}

/// What went wrong at one sink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkEvents {
    pub outages: u64,
    pub retries: u64,
    pub dead_lettered: u64,
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

    pub fn read(&self, source: &str) {
        self.with(|i| i.sources.entry(source.to_string()).or_default().read += 1);
    }

    pub fn already_done(&self, source: &str) {
        self.with(|i| i.sources.entry(source.to_string()).or_default().already_done += 1);
    }

    pub fn not_modified(&self, source: &str) {
        self.with(|i| i.sources.entry(source.to_string()).or_default().not_modified += 1);
    }

    pub fn failed(&self, source: &str, kind: &str) {
        self.with(|i| {
            *i.sources
                .entry(source.to_string())
                .or_default()
                .failed
                .entry(kind.to_string())
                .or_insert(0) += 1
        });
    }

    pub fn record(&self, source: &str, relation: Relation) {
        self.with(|i| {
            i.sources.entry(source.to_string()).or_default().records += 1;
            *i.relations.entry(relation.as_str()).or_insert(0) += 1;
        });
    }

    pub fn sink_outage(&self, sink: &str) {
        self.with(|i| i.sink_events.entry(sink.to_string()).or_default().outages += 1);
    }

    pub fn sink_retry(&self, sink: &str) {
        self.with(|i| i.sink_events.entry(sink.to_string()).or_default().retries += 1);
    }

    pub fn dead_lettered(&self, sink: &str) {
        self.with(|i| i.sink_events.entry(sink.to_string()).or_default().dead_lettered += 1);
    }

    pub fn delivered(&self, sink: &str, n: u64) {
        self.with(|i| *i.delivered.entry(sink.to_string()).or_insert(0) += n);
    }

    /// The counters so far, as a report without stage exits.
    pub fn snapshot(&self) -> RunReport {
        self.with(|i| RunReport {
            sources: i.sources.clone(),
            relations: i.relations.clone(),
            delivered: i.delivered.clone(),
            sink_events: i.sink_events.clone(),
            stages: Vec::new(),
        })
    }
}

/// The end-of-run report.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub sources: BTreeMap<String, SourceCounts>,
    pub relations: BTreeMap<&'static str, u64>,
    pub delivered: BTreeMap<String, u64>,
    pub sink_events: BTreeMap<String, SinkEvents>,
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
