//! What a run did: a snapshot of the live counters (`stats::Stats`) as plain values — per-source
//! counts and health, per-stage and per-sink counts, relation counts, the fold index's size — and
//! why each stage stopped. Read by `once`'s progress line and summary table, and by the API's
//! `/metrics` and status page, so all of them show the same numbers.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::kinds::{FailureKind, Stage};

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
    pub kind: FailureKind,
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
    /// Failures by kind.
    pub failed: BTreeMap<FailureKind, u64>,
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

/// The end-of-run report.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub sources: BTreeMap<String, SourceCounts>,
    pub relations: BTreeMap<&'static str, u64>,
    /// Story updates sent, by kind (`story_update`, `story_merge`, `story_split`, `event_link`).
    pub updates: BTreeMap<&'static str, u64>,
    /// Distinct stories and events among the run's records.
    pub stories: u64,
    pub events: u64,
    pub delivered: BTreeMap<String, u64>,
    pub sink_events: BTreeMap<String, SinkEvents>,
    pub stage_counts: BTreeMap<Stage, StageCounts>,
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

/// "a 1, b 2", or "none".
fn counts<K: fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "none".to_string();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
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
        writeln!(f, "relations: {}", counts(&self.relations))?;
        writeln!(f, "stories: {}, events: {}", self.stories, self.events)?;
        writeln!(f, "story updates: {}", counts(&self.updates))?;
        writeln!(f, "delivered: {}", counts(&self.delivered))?;
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
