//! Sinks: where records go. The set of kinds is closed: `SinkType` names them (the `type` key),
//! `SinkKind` holds each kind's validated settings, `Sink` each opened sink, and this file has one
//! exhaustive match per operation (build, open, probe, write, reset, is_rejection). Each kind's
//! file owns its raw settings, their validation, its probe and its writes. Every sink runs on its
//! own thread with its own bounded queue (`run`).
//!
//! Delivery contract: a page is marked done in the state store only when every sink has
//! acknowledged its record (`Acks`). A sink that cannot write retries with backoff and blocks its
//! thread meanwhile, so its queue fills and the stages before it slow down; after a shutdown
//! request it gives up at the drain deadline, and the unacknowledged pages are read again on the
//! next start.

pub mod jsonl;
pub mod nats;
pub mod postgres;
pub mod probe;
pub mod sql;
pub mod sqlite;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::config::Cx;
use crate::model::{Delivery, Receipt, Record, Relation, StoryUpdate};
use crate::report::StageExit;
use crate::state::{SinkAck, StateStore};
use crate::stats::Stats;

crate::closed_set! {
    /// The `type` of a `[sinks.NAME]` table.
    pub enum SinkType {
        Jsonl = "jsonl",
        Sqlite = "sqlite",
        Postgres = "postgres",
        Nats = "nats",
        Webhook = "webhook",
    }
}

/// What a sink receives of a story's members (`duplicates` key of every sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    /// Every record, with its relation and `duplicate_of`.
    #[default]
    Mark,
    /// One record per story: the original only.
    Drop,
}

/// A configured sink, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkSpec {
    pub id: String,
    pub duplicates: DuplicatePolicy,
    pub kind: SinkKind,
}

/// Each kind's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    Jsonl(jsonl::JsonlSettings),
    Sqlite(sqlite::SqliteSettings),
    Postgres(postgres::PostgresSettings),
    Nats(nats::NatsSettings),
    Webhook(webhook::WebhookSettings),
}

/// `[sinks]`: every named sink, each parsed and validated by its kind.
pub fn build_all(cx: &mut Cx<'_>, value: Spanned<DeValue<'_>>) -> Vec<SinkSpec> {
    let sinks: Vec<SinkSpec> = cx
        .typed_sections("sinks", value, build)
        .into_iter()
        .map(|(id, (kind, duplicates))| SinkSpec { id, duplicates, kind })
        .collect();
    if sinks.iter().filter(|s| s.kind.writes_stdout()).count() > 1 {
        cx.error_at("sinks", 0..0, "at most one sink may write to stdout (path \"-\")");
    }
    sinks
}

fn build(cx: &mut Cx<'_>, key: &str, kind: SinkType, v: Spanned<DeValue<'_>>) -> Option<(SinkKind, DuplicatePolicy)> {
    match kind {
        SinkType::Jsonl => parse(cx, key, v, jsonl::JsonlSettings::build, SinkKind::Jsonl),
        SinkType::Sqlite => parse(cx, key, v, sqlite::SqliteSettings::build, SinkKind::Sqlite),
        SinkType::Postgres => parse(cx, key, v, postgres::PostgresSettings::build, SinkKind::Postgres),
        SinkType::Nats => parse(cx, key, v, nats::NatsSettings::build, SinkKind::Nats),
        SinkType::Webhook => parse(cx, key, v, webhook::WebhookSettings::build, SinkKind::Webhook),
    }
}

/// Deserializes one sink table into its kind's raw settings and validates them.
fn parse<R: serde::de::DeserializeOwned, S>(
    cx: &mut Cx<'_>,
    key: &str,
    v: Spanned<DeValue<'_>>,
    build: fn(&mut Cx<'_>, &str, R) -> Option<(S, DuplicatePolicy)>,
    wrap: fn(S) -> SinkKind,
) -> Option<(SinkKind, DuplicatePolicy)> {
    let raw = cx.section(key, v)?;
    build(cx, key, raw).map(|(s, d)| (wrap(s), d))
}

impl SinkKind {
    pub fn writes_stdout(&self) -> bool {
        match self {
            SinkKind::Jsonl(j) => j.target == jsonl::JsonlTarget::Stdout,
            SinkKind::Sqlite(_) | SinkKind::Postgres(_) | SinkKind::Nats(_) | SinkKind::Webhook(_) => false,
        }
    }

    /// Whether the sink can be reached right now (`/readyz`). Blocks for a few seconds at most.
    pub fn probe(&self) -> anyhow::Result<()> {
        match self {
            SinkKind::Jsonl(s) => s.probe(),
            SinkKind::Sqlite(s) => s.probe(),
            SinkKind::Postgres(s) => s.probe(),
            SinkKind::Nats(s) => s.probe(),
            SinkKind::Webhook(s) => s.probe(),
        }
    }
}

/// What a sink writes: records, and story updates right after the record that caused them.
#[derive(Clone, Copy, Debug)]
pub enum Item<'a> {
    Record(&'a Record),
    Update(&'a StoryUpdate),
}

/// An opened sink of one of the closed set of kinds.
pub enum Sink {
    Jsonl(jsonl::JsonlSink),
    Sqlite(sqlite::SqliteSink),
    Postgres(Box<postgres::PostgresSink>),
    Nats(Box<nats::NatsSink>),
    Webhook(webhook::WebhookSink),
}

impl Sink {
    pub fn open(spec: &SinkSpec) -> anyhow::Result<Sink> {
        Ok(match &spec.kind {
            SinkKind::Jsonl(s) => Sink::Jsonl(jsonl::JsonlSink::open(s)?),
            SinkKind::Sqlite(s) => Sink::Sqlite(sqlite::SqliteSink::open(s)?),
            SinkKind::Postgres(s) => Sink::Postgres(Box::new(postgres::PostgresSink::open(s)?)),
            SinkKind::Nats(s) => Sink::Nats(Box::new(nats::NatsSink::open(s)?)),
            SinkKind::Webhook(s) => Sink::Webhook(webhook::WebhookSink::open(s)?),
        })
    }

    /// After a failed write: drop connections so the next write starts clean.
    pub fn reset(&mut self) {
        match self {
            Sink::Postgres(s) => s.reset(),
            Sink::Jsonl(_) | Sink::Sqlite(_) | Sink::Nats(_) | Sink::Webhook(_) => {}
        }
    }

    /// Whether the error rejects the records themselves, so retrying cannot help.
    pub fn is_rejection(&self, e: &anyhow::Error) -> bool {
        match self {
            Sink::Postgres(_) => postgres::PostgresSink::is_rejection(e),
            Sink::Webhook(_) => e.chain().any(|c| c.downcast_ref::<webhook::Rejected>().is_some()),
            Sink::Jsonl(_) | Sink::Sqlite(_) | Sink::Nats(_) => false,
        }
    }

    /// Writes a batch; `Ok` means it is durable as far as the kind can tell.
    pub fn write(&mut self, records: &[Item<'_>]) -> anyhow::Result<()> {
        match self {
            Sink::Jsonl(s) => s.write(records),
            Sink::Sqlite(s) => s.write(records),
            Sink::Postgres(s) => s.write(records),
            Sink::Nats(s) => s.write(records),
            Sink::Webhook(s) => s.write(records),
        }
    }
}

/// Counts acknowledgements per record and marks a page done when the last sink has it.
pub struct Acks {
    sinks: usize,
    pending: Mutex<HashMap<String, Pending>>,
    state: Arc<StateStore>,
    settle: Option<crate::model::Settle>,
}

/// Deliveries of one record some sinks have not acknowledged yet: usually one, more when two
/// inputs make the same record (URL variants of one page with the same bytes), each of which is
/// done only once every sink acknowledged every delivery.
struct Pending {
    left: usize,
    receipts: Vec<Receipt>,
    /// The sinks that have it, and when.
    acked: Vec<(Arc<str>, String)>,
}

impl Acks {
    pub fn new(sinks: usize, state: Arc<StateStore>, settle: Option<crate::model::Settle>) -> Acks {
        Acks {
            sinks,
            pending: Mutex::new(HashMap::new()),
            state,
            settle,
        }
    }

    /// Registers a delivery before it is handed to the sinks.
    pub fn expect(&self, receipt: Receipt) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let pending = p.entry(receipt.record_id.clone()).or_insert_with(|| Pending {
            left: 0,
            receipts: Vec::with_capacity(1),
            acked: Vec::with_capacity(self.sinks),
        });
        pending.left += self.sinks;
        pending.receipts.push(receipt);
    }

    /// Sink `sink` has made these records durable.
    pub fn ack<'a>(&self, sink: &Arc<str>, record_ids: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut complete = Vec::new();
        let mut acks = Vec::new();
        {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for id in record_ids {
                if let Some(pending) = p.get_mut(id) {
                    pending.left -= 1;
                    pending.acked.push((sink.clone(), at.clone()));
                    if pending.left == 0
                        && let Some(done) = p.remove(id)
                    {
                        acks.extend(done.acked.into_iter().map(|(sink, at)| SinkAck {
                            record_id: id.to_string(),
                            sink,
                            at,
                        }));
                        complete.extend(done.receipts);
                    }
                }
            }
        }
        if complete.is_empty() {
            return Ok(());
        }
        self.state.mark_delivered(&complete, &acks)?;
        if let Some(settle) = &self.settle {
            for r in &complete {
                settle(&r.source, &r.key, &r.raw_hash);
            }
        }
        Ok(())
    }

    /// Deliveries not yet acknowledged by every sink.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// How a sink thread behaves when writes fail.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Shutdown was requested: keep retrying for at most `drain_timeout` after it, then give up
    /// (what was not acknowledged is read again on the next start).
    pub shutdown: tokio_util::sync::CancellationToken,
    pub drain_timeout: std::time::Duration,
    /// Where records the sink rejects for good are written, with the reason.
    pub dead_letter: std::path::PathBuf,
    /// How long a batch that is not full may wait for more records before it is written.
    pub linger: std::time::Duration,
}

const BACKOFF_START: std::time::Duration = std::time::Duration::from_millis(100);
/// Short enough that delivery resumes within a few seconds of a server coming back (a failed
/// attempt against a down server costs one refused connection).
const BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// The body of a sink's thread: take what is queued (up to `batch`), write it (retrying transient
/// failures with jittered exponential backoff, dead-lettering rejected records), acknowledge it.
/// `sink` is `None` when it could not be opened at start (already counted as an outage): it is
/// opened here, with the same backoff, before anything is written.
pub fn run(
    spec: &SinkSpec,
    sink: Option<Sink>,
    rx: async_channel::Receiver<Arc<Delivery>>,
    acks: &Acks,
    stats: &Stats,
    batch: usize,
    retry: &Retry,
) -> StageExit {
    let mut queue: Vec<Arc<Delivery>> = Vec::with_capacity(batch);
    let mut cancelled_at: Option<std::time::Instant> = None;
    let sink_name: Arc<str> = spec.id.as_str().into();
    let mut sink = match sink {
        Some(s) => s,
        None => match open_with_retry(spec, &rx, stats, retry, &mut cancelled_at) {
            Ok(s) => s,
            Err(exit) => return exit,
        },
    };
    loop {
        queue.clear();
        match rx.recv_blocking() {
            Ok(d) => queue.push(d),
            Err(_) => return StageExit::InputClosed,
        }
        // Fill the batch with what is queued; with a linger time, wait that long at most for more.
        let deadline = std::time::Instant::now() + retry.linger;
        while queue.len() < batch {
            match rx.try_recv() {
                Ok(d) => queue.push(d),
                Err(async_channel::TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(_) => break,
            }
        }
        let mut items: Vec<Item<'_>> = Vec::with_capacity(queue.len());
        for d in &queue {
            if spec.duplicates == DuplicatePolicy::Mark || d.record.relation == Relation::Original {
                items.push(Item::Record(&d.record));
            }
            items.extend(d.updates.iter().map(Item::Update));
        }
        stats.sink_received(&spec.id, queue.len() as u64);
        let written = match write_with_retry(spec, &mut sink, &items, stats, retry, &mut cancelled_at) {
            Ok(n) => n,
            Err(exit) => return exit,
        };
        stats.delivered(&spec.id, written as u64);
        if let Err(e) = acks.ack(&sink_name, queue.iter().map(|d| d.record.id.as_str())) {
            tracing::error!(stage = "sink", sink = %spec.id, error = %format!("{e:#}"), "cannot record delivery in the state store");
            return StageExit::Failed(format!("state store: {e:#}"));
        }
    }
}

/// Writes `items` until it succeeds; returns how many records were written (rejected ones are
/// dead-lettered instead).
fn write_with_retry(
    spec: &SinkSpec,
    sink: &mut Sink,
    items: &[Item<'_>],
    stats: &Stats,
    retry: &Retry,
    cancelled_at: &mut Option<std::time::Instant>,
) -> Result<usize, StageExit> {
    let records = |items: &[Item<'_>]| items.iter().filter(|i| matches!(i, Item::Record(_))).count();
    let mut backoff = BACKOFF_START;
    let mut outage: Option<std::time::Instant> = None;
    loop {
        let result = sink.write(items);
        let err = match result {
            Ok(()) => {
                if let Some(since) = outage {
                    stats.sink_recovered(&spec.id);
                    tracing::info!(stage = "sink", sink = %spec.id, downtime_ms = since.elapsed().as_millis() as u64, "sink recovered");
                }
                return Ok(records(items));
            }
            Err(e) => e,
        };
        if sink.is_rejection(&err) {
            // One record (or more) is refused for what it is: write them one by one, and set
            // aside those refused.
            return write_one_by_one(spec, sink, items, stats, retry, cancelled_at);
        }
        if outage.is_none() {
            stats.sink_outage(&spec.id);
            tracing::warn!(stage = "sink", sink = %spec.id, error = %format!("{err:#}"), "sink unavailable; retrying with backoff");
            outage = Some(std::time::Instant::now());
        } else {
            tracing::debug!(stage = "sink", sink = %spec.id, error = %format!("{err:#}"), "sink still unavailable");
        }
        stats.sink_retry(&spec.id);
        sink.reset();
        pause(spec, &mut backoff, retry, cancelled_at, records(items), &err)?;
    }
}

/// Opens a sink that could not be opened at start, with backoff; gives up at the drain deadline,
/// or at once when shutdown finds nothing queued for it.
fn open_with_retry(
    spec: &SinkSpec,
    rx: &async_channel::Receiver<Arc<Delivery>>,
    stats: &Stats,
    retry: &Retry,
    cancelled_at: &mut Option<std::time::Instant>,
) -> Result<Sink, StageExit> {
    let since = std::time::Instant::now();
    let mut backoff = BACKOFF_START;
    loop {
        let err = match Sink::open(spec) {
            Ok(sink) => {
                stats.sink_recovered(&spec.id);
                tracing::info!(stage = "sink", sink = %spec.id, downtime_ms = since.elapsed().as_millis() as u64, "sink recovered");
                return Ok(sink);
            }
            Err(e) => e,
        };
        tracing::debug!(stage = "sink", sink = %spec.id, error = %format!("{err:#}"), "sink still unavailable");
        stats.sink_retry(&spec.id);
        if retry.shutdown.is_cancelled() && rx.is_empty() && rx.is_closed() {
            return Err(StageExit::InputClosed);
        }
        pause(spec, &mut backoff, retry, cancelled_at, rx.len(), &err)?;
    }
}

/// Waits out one backoff step after a failure; after shutdown, gives up at the drain deadline.
fn pause(
    spec: &SinkSpec,
    backoff: &mut std::time::Duration,
    retry: &Retry,
    cancelled_at: &mut Option<std::time::Instant>,
    pending: usize,
    err: &anyhow::Error,
) -> Result<(), StageExit> {
    if retry.shutdown.is_cancelled() {
        let since = *cancelled_at.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= retry.drain_timeout {
            tracing::error!(stage = "sink", sink = %spec.id, pending, error = %format!("{err:#}"), "sink still unavailable at the drain deadline; its undelivered pages will be read again on the next start");
            return Err(StageExit::Failed(format!(
                "sink {}: unavailable at shutdown: {err:#}",
                spec.id
            )));
        }
    }
    let jitter = std::time::Duration::from_millis(fastrand::u64(0..=backoff.as_millis() as u64 / 2));
    match *cancelled_at {
        // Draining: the backoff still holds (a shutdown is no reason to hammer a failing
        // server), but never past the drain deadline.
        Some(since) => std::thread::sleep((*backoff + jitter).min(retry.drain_timeout.saturating_sub(since.elapsed()))),
        None => sleep_unless_cancelled(*backoff + jitter, &retry.shutdown),
    }
    *backoff = (*backoff * 2).min(BACKOFF_MAX);
    Ok(())
}

fn write_one_by_one(
    spec: &SinkSpec,
    sink: &mut Sink,
    items: &[Item<'_>],
    stats: &Stats,
    retry: &Retry,
    cancelled_at: &mut Option<std::time::Instant>,
) -> Result<usize, StageExit> {
    let mut written = 0;
    for item in items {
        match sink.write(std::slice::from_ref(item)) {
            Ok(()) => written += usize::from(matches!(item, Item::Record(_))),
            Err(e) if sink.is_rejection(&e) => {
                dead_letter(spec, item, &e, retry);
                stats.dead_lettered(&spec.id);
            }
            // Transient again: back to the retrying path for this item alone.
            Err(_) => written += write_with_retry(spec, sink, std::slice::from_ref(item), stats, retry, cancelled_at)?,
        }
    }
    Ok(written)
}

fn dead_letter(spec: &SinkSpec, item: &Item<'_>, e: &anyhow::Error, retry: &Retry) {
    let (id, value) = match item {
        Item::Record(r) => (r.id.as_str(), serde_json::to_value(r)),
        Item::Update(u) => (u.subject(), serde_json::to_value(u)),
    };
    tracing::warn!(stage = "sink", sink = %spec.id, record_id = %id, error = %format!("{e:#}"), "record rejected by the sink; dead-lettered");
    let line = serde_json::json!({
        "sink": spec.id,
        "reason": format!("{e:#}"),
        "at": chrono::Utc::now(),
        "item": value.unwrap_or(serde_json::Value::Null),
    });
    let written = (|| -> std::io::Result<()> {
        if let Some(dir) = retry.dead_letter.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&retry.dead_letter)?;
        std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes())?;
        f.sync_data()
    })();
    if let Err(err) = written {
        tracing::error!(stage = "sink", sink = %spec.id, record_id = %id, location = %retry.dead_letter.display(), error = %err, "cannot write the dead-letter file");
    }
}

/// Sleeps `d`, waking early (in steps of 100 ms) once shutdown is requested.
fn sleep_unless_cancelled(d: std::time::Duration, token: &tokio_util::sync::CancellationToken) {
    let end = std::time::Instant::now() + d;
    while std::time::Instant::now() < end && !token.is_cancelled() {
        std::thread::sleep((end - std::time::Instant::now()).min(std::time::Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_errors;

    const SOURCE: &str = "[sources.a]\ntype = \"files\"\npath = \"pages\"\n";

    /// Two inputs that make one record (URL variants with the same bytes): each is done, and
    /// settled, only once every sink acknowledged both deliveries.
    #[test]
    fn two_inputs_of_one_record_are_each_done_after_every_delivery() {
        use std::sync::{Arc, Mutex};
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(crate::state::StateStore::open(&dir.path().join("s.sqlite")).unwrap());
        let settled = Arc::new(Mutex::new(Vec::new()));
        let seen = settled.clone();
        let settle: crate::model::Settle =
            Arc::new(move |_: &str, key: &str, _: &str| seen.lock().unwrap().push(key.to_string()));
        let acks = super::Acks::new(2, state.clone(), Some(settle));
        let receipt = |key: &str| crate::model::Receipt {
            source: Arc::from("web"),
            key: key.into(),
            raw_hash: "h".into(),
            record_id: "r1".into(),
            alias: Some("https://x.vn/a".into()),
        };
        acks.expect(receipt("https://x.vn/a?utm_source=rss"));
        acks.expect(receipt("https://x.vn/a?ref=home"));
        let (a, b) = (Arc::from("a"), Arc::from("b"));
        acks.ack(&a, ["r1", "r1"].into_iter()).unwrap();
        acks.ack(&b, ["r1"].into_iter()).unwrap();
        assert!(settled.lock().unwrap().is_empty(), "sink b has one delivery left");
        assert!(!state.is_done("web", "https://x.vn/a?ref=home", "h").unwrap());
        acks.ack(&b, ["r1"].into_iter()).unwrap();
        assert_eq!(
            *settled.lock().unwrap(),
            ["https://x.vn/a?utm_source=rss", "https://x.vn/a?ref=home"]
        );
        for key in [
            "https://x.vn/a?utm_source=rss",
            "https://x.vn/a?ref=home",
            "https://x.vn/a",
        ] {
            assert!(state.is_done("web", key, "h").unwrap(), "{key}");
        }
        assert_eq!(acks.pending(), 0);
    }

    #[test]
    fn every_sink_key_is_validated_with_line_and_column() {
        let text = format!(
            "{SOURCE}[sinks.j]\ntype = \"jsonl\"\npath = \" \"\n[sinks.q]\ntype = \"sqlite\"\npath = \"r.sqlite\"\ntable = \"Bad\"\n[sinks.p]\ntype = \"postgres\"\nurl = \"mysql://x\"\n[sinks.n]\ntype = \"nats\"\nurl = \"http://x\"\nstream = \"a b\"\nsubject = \"news..x\"\n[sinks.w]\ntype = \"webhook\"\nurl = \"ftp://x\"\nsecret = \"\"\ntimeout = \"0s\"\n[sinks.t]\ntype = \"kafka\"\n"
        );
        let got = test_errors(&text);
        let want = [
            "c.toml:6:8: sinks.j.path: must not be empty (use \"-\" for stdout)",
            "c.toml:10:9: sinks.q.table: \"Bad\" must be a lowercase identifier (a-z, 0-9, _)",
            "c.toml:13:7: sinks.p.url: must start with postgres:// or postgresql://",
            "c.toml:16:7: sinks.n.url: must start with nats:// or tls://",
            "c.toml:17:10: sinks.n.stream: must be letters, digits, '-' or '_'",
            "c.toml:18:11: sinks.n.subject: \"news..x\" is not a subject template: dot-separated tokens, with {source} and {lang} as whole tokens",
            "c.toml:21:7: sinks.w.url: must start with http:// or https://",
            "c.toml:22:10: sinks.w.secret: is empty; leave it out to send unsigned batches",
            "c.toml:23:11: sinks.w.timeout: must be longer than zero",
            "c.toml:25:8: sinks.t.type: unknown sink type `kafka`, expected one of `jsonl`, `sqlite`, `postgres`, `nats`, `webhook`",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_missing_environment_variable_names_the_key_not_a_value() {
        let text =
            format!("{SOURCE}[sinks.p]\ntype = \"postgres\"\nurl = \"postgres://u:${{NEWSFOLD_UNSET_PW}}@h/db\"\n");
        assert_eq!(
            test_errors(&text),
            vec!["c.toml:6:7: sinks.p.url: environment variable NEWSFOLD_UNSET_PW is not set"]
        );
    }
}
