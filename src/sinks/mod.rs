//! Sinks: where records go. The set of kinds is closed (`SinkKind` in config); each kind opens
//! into a `Sink` that writes a batch and returns only once the batch is durable as far as that
//! kind can tell. Every sink runs on its own thread with its own bounded queue.
//!
//! Delivery contract: a page is marked done in the state store only when every sink has
//! acknowledged its record (`Acks`). A sink that fails stops its thread; its queue closes, the
//! stages before it stop in turn, and the unacknowledged pages are read again on the next start.

pub mod jsonl;
pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{DuplicatePolicy, SinkKind, SinkSpec};
use crate::model::{Delivery, Receipt, Record, Relation, StoryUpdate};
use crate::report::{StageExit, Stats};
use crate::state::StateStore;

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
}

impl Sink {
    pub fn open(spec: &SinkSpec) -> anyhow::Result<Sink> {
        match &spec.kind {
            SinkKind::Jsonl(settings) => Ok(Sink::Jsonl(jsonl::JsonlSink::open(settings)?)),
            SinkKind::Sqlite { path, table } => Ok(Sink::Sqlite(sqlite::SqliteSink::open(path, table)?)),
            SinkKind::Postgres { url, table } => {
                Ok(Sink::Postgres(Box::new(postgres::PostgresSink::open(url, table)?)))
            }
        }
    }

    /// Writes a batch; `Ok` means it is flushed.
    pub fn write(&mut self, records: &[Item<'_>]) -> anyhow::Result<()> {
        match self {
            Sink::Jsonl(s) => s.write(records),
            Sink::Sqlite(s) => s.write(records),
            Sink::Postgres(s) => s.write(records),
        }
    }
}

/// Counts acknowledgements per record and marks a page done when the last sink has it.
pub struct Acks {
    sinks: usize,
    pending: Mutex<HashMap<String, (usize, Receipt)>>,
    state: Arc<StateStore>,
}

impl Acks {
    pub fn new(sinks: usize, state: Arc<StateStore>) -> Acks {
        Acks {
            sinks,
            pending: Mutex::new(HashMap::new()),
            state,
        }
    }

    /// Registers a delivery before it is handed to the sinks.
    pub fn expect(&self, receipt: Receipt) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.insert(receipt.record_id.clone(), (self.sinks, receipt));
    }

    /// One sink has made these records durable.
    pub fn ack<'a>(&self, record_ids: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
        let mut complete = Vec::new();
        {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for id in record_ids {
                if let Some((left, _)) = p.get_mut(id) {
                    *left -= 1;
                    if *left == 0
                        && let Some((_, receipt)) = p.remove(id)
                    {
                        complete.push(receipt);
                    }
                }
            }
        }
        if complete.is_empty() {
            return Ok(());
        }
        self.state.mark_done(&complete)
    }

    /// Deliveries not yet acknowledged by every sink.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The body of a sink's thread: take what is queued (up to `batch`), write it, acknowledge it.
pub fn run(
    spec: &SinkSpec,
    mut sink: Sink,
    rx: async_channel::Receiver<Arc<Delivery>>,
    acks: &Acks,
    stats: &Stats,
    batch: usize,
) -> StageExit {
    let mut queue: Vec<Arc<Delivery>> = Vec::with_capacity(batch);
    loop {
        queue.clear();
        match rx.recv_blocking() {
            Ok(d) => queue.push(d),
            Err(_) => return StageExit::InputClosed,
        }
        while queue.len() < batch {
            match rx.try_recv() {
                Ok(d) => queue.push(d),
                Err(_) => break,
            }
        }
        let mut records: Vec<Item<'_>> = Vec::with_capacity(queue.len());
        for d in &queue {
            if spec.duplicates == DuplicatePolicy::Mark || d.record.relation == Relation::Original {
                records.push(Item::Record(&d.record));
            }
            if let Some(u) = &d.update {
                records.push(Item::Update(u));
            }
        }
        if let Err(e) = sink.write(&records) {
            tracing::error!(stage = "sink", sink = %spec.id, error = %format!("{e:#}"), "sink write failed; stopping the pipeline, undelivered pages will be read again");
            return StageExit::Failed(format!("sink {}: {e:#}", spec.id));
        }
        let delivered = records.iter().filter(|i| matches!(i, Item::Record(_))).count();
        stats.delivered(&spec.id, delivered as u64);
        if let Err(e) = acks.ack(queue.iter().map(|d| d.record.id.as_str())) {
            tracing::error!(stage = "sink", sink = %spec.id, error = %format!("{e:#}"), "cannot record delivery in the state store");
            return StageExit::Failed(format!("state store: {e:#}"));
        }
    }
}
