//! Runs the configured sources as tasks and applies a reloaded config's sources: added ones start,
//! removed ones stop, changed ones stop and start again with their new settings once the old task
//! has finished (so one source never runs twice at once).
//!
//! A stopped source only stops reading: pages it already sent are in the bounded queues and go on
//! through scrape, fold and the sinks as usual, so a reload loses nothing in flight. Pages it was
//! fetching when stopped were not sent, are not done in the state store, and are read again by its
//! successor (or on the next start).
//!
//! Every source watches its own token, a child of the supervisor's, which is a child of the
//! process's shutdown token.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::SourceCtx;
use super::{SourceKind, SourceSpec};
use crate::config::FetchSettings;
use crate::report::{SourceState, StageExit};

struct Running {
    spec: SourceSpec,
    generation: u64,
    token: CancellationToken,
}

/// What a reload changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

pub struct Supervisor {
    /// The context every source gets; its token is replaced by the source's own.
    ctx: SourceCtx,
    fetch: FetchSettings,
    /// Cancelled to stop every source (shutdown, or the pipeline after the sources broke).
    all: CancellationToken,
    tasks: JoinSet<StageExit>,
    running: HashMap<String, Running>,
    /// New specs of changed sources, started when the old task has finished.
    pending: HashMap<String, SourceSpec>,
    /// Each source's memory of what it sent, kept across restarts.
    sent: HashMap<String, Arc<super::Sent>>,
    /// Which source (and generation) each task runs, so even a task that panicked is named.
    task_ids: HashMap<tokio::task::Id, (String, u64)>,
    /// Sources taken out of the config whose task has not ended yet.
    removed: HashSet<String>,
    generation: u64,
    /// The last exit of every source that ran, for the run report.
    exits: BTreeMap<String, StageExit>,
}

impl Supervisor {
    /// `ctx.shutdown` is the process's token; `ctx.fetcher` may be `None` (built when the first
    /// HTTP source starts).
    pub fn new(ctx: SourceCtx, fetch: FetchSettings) -> Supervisor {
        let all = ctx.shutdown.child_token();
        Supervisor {
            ctx,
            fetch,
            all,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            pending: HashMap::new(),
            removed: HashSet::new(),
            task_ids: HashMap::new(),
            sent: HashMap::new(),
            generation: 0,
            exits: BTreeMap::new(),
        }
    }

    pub fn start(&mut self, spec: SourceSpec) -> anyhow::Result<()> {
        if matches!(spec.kind, SourceKind::Http(_)) && self.ctx.fetcher.is_none() {
            self.ctx.fetcher = Some(Arc::new(
                crate::fetch::Fetcher::new(self.fetch.clone(), self.ctx.shutdown.clone())
                    .context("cannot build the HTTP client")?,
            ));
        }
        self.generation += 1;
        let token = self.all.child_token();
        let ctx = SourceCtx {
            shutdown: token.clone(),
            sent: self.sent.entry(spec.id.clone()).or_default().clone(),
            ..self.ctx.clone()
        };
        let generation = self.generation;
        let task = self.tasks.spawn(super::run(spec.clone(), ctx));
        self.task_ids.insert(task.id(), (spec.id.clone(), generation));
        self.running.insert(
            spec.id.clone(),
            Running {
                spec,
                generation,
                token,
            },
        );
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Whether a task of source `id` runs (or is still stopping).
    pub fn is_running(&self, id: &str) -> bool {
        self.running.contains_key(id)
    }

    /// Stops every source.
    pub fn stop_all(&self) {
        self.all.cancel();
    }

    /// Waits for one source task to end and records its exit. `None` when none is running.
    /// A source that broke the pipeline (`DownstreamClosed`) is returned as `Some(true)`.
    pub async fn join_next(&mut self) -> Option<bool> {
        let joined = self.tasks.join_next_with_id().await?;
        let task = match &joined {
            Ok((task, _)) => *task,
            Err(e) => e.id(),
        };
        let Some((id, generation)) = self.task_ids.remove(&task) else {
            return Some(false);
        };
        let exit = match joined {
            Ok((_, exit)) => exit,
            Err(e) => StageExit::Failed(format!("source task panicked: {e}")),
        };
        if let StageExit::Failed(e) = &exit {
            tracing::warn!(stage = "source", source = %id, error = %e, "source failed");
        }
        let broken = exit == StageExit::DownstreamClosed;
        self.exits.insert(id.clone(), exit);
        if self.running.get(&id).is_some_and(|r| r.generation == generation) {
            self.running.remove(&id);
        }
        if self.removed.remove(&id) {
            self.ctx.stats.source_state(&id, SourceState::Removed);
        }
        if let Some(spec) = self.pending.remove(&id)
            && !self.all.is_cancelled()
        {
            if let Err(e) = self.start(spec) {
                tracing::error!(stage = "source", source = %id, error = %format!("{e:#}"), "cannot restart source");
                self.exits.insert(id, StageExit::Failed(format!("{e:#}")));
            } else {
                tracing::info!(stage = "source", source = %id, "source restarted with its new settings");
            }
        }
        Some(broken)
    }

    /// Makes the running sources those of `specs`.
    pub fn apply(&mut self, specs: &[SourceSpec]) -> anyhow::Result<Changes> {
        let mut changes = Changes::default();
        let wanted: HashMap<&str, &SourceSpec> = specs.iter().map(|s| (s.id.as_str(), s)).collect();
        let mut ids: Vec<String> = self.running.keys().cloned().collect();
        ids.sort();
        for id in ids {
            let current = &self.running[&id];
            match wanted.get(id.as_str()) {
                None => {
                    current.token.cancel();
                    self.pending.remove(&id);
                    self.removed.insert(id.clone());
                    self.sent.remove(&id);
                    changes.removed.push(id);
                }
                // Changed, or removed by an earlier reload and wanted again while still stopping.
                Some(spec) if **spec != current.spec || current.token.is_cancelled() => {
                    current.token.cancel();
                    self.removed.remove(&id);
                    current.token.cancel();
                    self.pending.insert(id.clone(), (*spec).clone());
                    changes.changed.push(id);
                }
                Some(_) => {
                    // Unchanged; a restart queued by an earlier reload is no longer wanted.
                    self.pending.remove(&id);
                }
            }
        }
        for spec in specs {
            if !self.running.contains_key(&spec.id) && !self.pending.contains_key(&spec.id) {
                self.start(spec.clone())?;
                changes.added.push(spec.id.clone());
            }
        }
        Ok(changes)
    }

    /// Every source's last exit, by name.
    pub fn into_exits(self) -> BTreeMap<String, StageExit> {
        self.exits
    }
}
