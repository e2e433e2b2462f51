//! Builds and runs the pipeline: sources → scrape → fold → sinks, joined by bounded channels.
//!
//! Wiring goes back to front so that closure propagates forward: when every source has stopped,
//! the page channel closes, the scrape workers drain it and stop, which closes the fold's input,
//! and so on to the sinks, which flush and acknowledge what they hold. A failing stage drops its
//! input, so the stages before it see a closed channel and stop too; nothing it did not
//! acknowledge is marked done.
//!
//! Sources are async tasks (they wait on I/O and timers); scrape workers, the fold and each sink
//! are plain threads, since their work is CPU or blocking I/O and must not stall the runtime.

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::fold::Folder;
use crate::fold::index::IndexedDoc;
use crate::model::{Delivery, Page};
use crate::report::{RunReport, StageExit};
use crate::scrape::stage::Scraped;
use crate::sinks::{self, Acks, Sink};
use crate::sources::supervisor::Supervisor;
use crate::sources::{Mode, SourceCtx};
use crate::state::StateStore;
use crate::stats::Stats;

/// Runs until every source has finished (`Mode::Once`) or `shutdown` is cancelled and the
/// pipeline has drained (`Mode::Daemon`). Set-up failures (state store, sinks) are errors; stage
/// failures are in the report. With `[cluster]`, the process is a member of the cluster instead
/// (`cluster::run`).
pub async fn run(
    config: &Config,
    mode: Mode,
    shutdown: CancellationToken,
    reload: Option<tokio::sync::mpsc::Receiver<()>>,
    stats: Arc<Stats>,
) -> anyhow::Result<RunReport> {
    if let Some(cluster) = &config.cluster {
        return crate::cluster::run(config, cluster, mode, shutdown, reload, stats).await;
    }
    let state_path = config.state_path.clone();
    let state = tokio::task::spawn_blocking(move || StateStore::open(&state_path))
        .await
        .context("state store task failed")??;
    let state = Arc::new(state);
    let (back, page_tx) = Back::start(config, mode, &state, &stats, &shutdown, None).await?;

    // The API, when configured, sees every queue through weak handles that do not keep it open.
    let api_stop = CancellationToken::new();
    let _stop_api_on_return = api_stop.clone().drop_guard();
    if let Some(listen) = config.api_listen {
        let api = api(config, &state, &stats, &shutdown, back.queues());
        crate::api::serve(listen, api, api_stop.clone()).await?;
    }
    let refusal_writer = refusal_writer(config, &state, &stats)?;

    // Sources last.
    let mut sources = Supervisor::new(
        source_ctx(config, mode, page_tx, &state, &stats, &shutdown),
        config.fetch.clone(),
    );
    for spec in &config.sources {
        sources.start(spec.clone())?;
    }
    tracing::info!(sources = config.sources.len(), sinks = config.sinks.len(), mode = ?mode, "pipeline started");
    if mode == Mode::Daemon {
        crate::service::ready("running");
    }
    supervise(&mut sources, config.clone(), mode, &shutdown, reload).await;
    // Dropping the supervisor drops the last page sender: the queues close in pipeline order.
    let mut stages = source_exits(sources);
    stages.extend(back.finish().await);
    finish_refusals(&stats, refusal_writer).await;
    Ok(RunReport {
        stages,
        ..stats.snapshot()
    })
}

/// The sources' exits, by name, for the run report.
pub(crate) fn source_exits(sources: Supervisor) -> Vec<(String, StageExit)> {
    let mut stages: Vec<(String, StageExit)> = sources
        .into_exits()
        .into_iter()
        .map(|(id, exit)| (format!("source {id}"), exit))
        .collect();
    stages.sort_by(|a, b| a.0.cmp(&b.0));
    stages
}

/// What every source task shares: the door into the page queue `tx`.
pub(crate) fn source_ctx(
    config: &Config,
    mode: Mode,
    tx: async_channel::Sender<Page>,
    state: &Arc<StateStore>,
    stats: &Arc<Stats>,
    shutdown: &CancellationToken,
) -> SourceCtx {
    SourceCtx {
        tx,
        state: state.clone(),
        stats: stats.clone(),
        max_page_bytes: config.pipeline.max_page_bytes,
        mode,
        shutdown: shutdown.clone(),
        fetcher: None,
        repeat_window: config.log.repeat_window,
        sent: Default::default(),
    }
}

/// What the API reads.
pub(crate) fn api(
    config: &Config,
    state: &Arc<StateStore>,
    stats: &Arc<Stats>,
    shutdown: &CancellationToken,
    queues: Vec<(String, crate::api::QueueLen)>,
) -> crate::api::Api {
    crate::api::Api {
        stats: stats.clone(),
        state: state.clone(),
        sinks: config.sinks.clone(),
        queues,
        started: std::time::Instant::now(),
        shutdown: shutdown.clone(),
        token: config.api_token.as_ref().map(|t| Arc::from(t.0.as_str())),
        limits: config.api_limits,
        cluster: None,
    }
}

/// The decision log's writer for refused inputs (records are logged by the fold stage).
pub(crate) fn refusal_writer(
    config: &Config,
    state: &Arc<StateStore>,
    stats: &Arc<Stats>,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    if !config.decision_log {
        return Ok(None);
    }
    let (refusal_tx, refusal_rx) = async_channel::bounded::<crate::explain::Refusal>(1024);
    stats.log_refusals_to(refusal_tx);
    let (state, keep) = (state.clone(), config.fold.limits.max_docs);
    let handle = std::thread::Builder::new()
        .name("decision-log".into())
        .spawn(move || write_refusals(&refusal_rx, &state, keep))
        .context("cannot start the decision log thread")?;
    Ok(Some(handle))
}

/// Closes the refusal log and waits for its writer.
pub(crate) async fn finish_refusals(stats: &Stats, writer: Option<JoinHandle<()>>) {
    stats.close_refusals();
    if let Some(writer) = writer {
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    }
}

/// The stages behind the page queue: scrape workers, the fold and the sinks, started back to
/// front. In a cluster only the fold leader runs them, fed from the pages stream.
pub(crate) struct Back {
    scrape_threads: Vec<JoinHandle<StageExit>>,
    fold: JoinHandle<StageExit>,
    sinks: Vec<(String, JoinHandle<StageExit>)>,
    templates_stop: std::sync::mpsc::Sender<()>,
    template_saver: JoinHandle<()>,
    acks: Arc<Acks>,
    page_rx: async_channel::WeakReceiver<Page>,
    scraped_rx: async_channel::WeakReceiver<Scraped>,
    sink_rx: Vec<(String, async_channel::WeakReceiver<Arc<Delivery>>)>,
}

impl Back {
    /// Opens the sinks (nothing is read if one cannot open), loads the fold index and the site
    /// templates, and starts every stage; returns the page queue's sender. `settle` is told of
    /// every input that leaves for good (delivered or refused).
    pub(crate) async fn start(
        config: &Config,
        mode: Mode,
        state: &Arc<StateStore>,
        stats: &Arc<Stats>,
        shutdown: &CancellationToken,
        settle: Option<crate::model::Settle>,
    ) -> anyhow::Result<(Back, async_channel::Sender<Page>)> {
        let cap = config.pipeline.channel_capacity.get();
        let mut sink_txs = Vec::new();
        let mut sinks: Vec<(String, JoinHandle<StageExit>)> = Vec::new();
        let acks = Arc::new(Acks::new(config.sinks.len(), state.clone(), settle.clone()));
        let mut opened = Vec::new();
        for spec in &config.sinks {
            // Opening may block (a database connection, a synchronous client with its own runtime).
            let s = spec.clone();
            let sink = tokio::task::spawn_blocking(move || Sink::open(&s))
                .await
                .context("sink task failed")?
                .with_context(|| format!("sink {}", spec.id));
            let sink = match (sink, mode) {
                (Ok(sink), _) => Some(sink),
                // A batch run fails at once; a daemon starts, reports the sink down (`/readyz`,
                // `newsfold_sink_up`) and its thread opens it when the server is back.
                (Err(e), Mode::Once) => return Err(e),
                (Err(e), Mode::Daemon) => {
                    stats.sink_outage(&spec.id);
                    tracing::warn!(stage = "sink", sink = %spec.id, error = %format!("{e:#}"), "sink unavailable at start; retrying with backoff");
                    None
                }
            };
            opened.push((spec.clone(), sink));
        }
        let mut sink_rx = Vec::new();
        for (spec, sink) in opened {
            let (tx, rx) = async_channel::bounded::<Arc<Delivery>>(cap);
            sink_txs.push(tx);
            sink_rx.push((spec.id.clone(), rx.downgrade()));
            let (acks, stats) = (acks.clone(), stats.clone());
            let batch = config.pipeline.sink_batch.get();
            let name = format!("sink {}", spec.id);
            let retry = sinks::Retry {
                shutdown: shutdown.clone(),
                drain_timeout: config.pipeline.drain_timeout,
                dead_letter: config.dead_letter_dir().join(format!("{}.jsonl", spec.id)),
                linger: config.pipeline.sink_linger,
            };
            let handle = std::thread::Builder::new()
                .name(format!("sink-{}", spec.id))
                .spawn(move || {
                    let exit = sinks::run(&spec, sink, rx, &acks, &stats, batch, &retry);
                    stats.sink_stopped(&spec.id);
                    exit
                })
                .context("cannot start sink thread")?;
            sinks.push((name, handle));
        }

        // Fold: one thread owns the story index.
        let folder = load_index(config, state).await?;
        let (scraped_tx, scraped_rx) = async_channel::bounded::<Scraped>(cap);
        let scraped_weak = scraped_rx.downgrade();
        let fold = {
            let (state, stats, acks) = (state.clone(), stats.clone(), acks.clone());
            let decision_log = config.decision_log;
            std::thread::Builder::new()
                .name("fold".into())
                .spawn(move || {
                    crate::fold::stage::run(folder, scraped_rx, sink_txs, &state, &stats, &acks, decision_log)
                })
                .context("cannot start fold thread")?
        };

        // Scrape workers share one queue, and the site templates they learn, which a thread of
        // their own saves every TEMPLATE_SAVE and once the workers are done.
        let state_for_templates = state.clone();
        let saved = tokio::task::spawn_blocking(move || state_for_templates.load_templates())
            .await
            .context("state store task failed")?
            .context("cannot load the site templates from the state store")?;
        let templates = Arc::new(std::sync::Mutex::new(crate::scrape::template::Templates::restore(
            saved,
        )));
        let (templates_stop, templates_stopped) = std::sync::mpsc::channel::<()>();
        let template_saver = {
            let (state, templates) = (state.clone(), templates.clone());
            std::thread::Builder::new()
                .name("templates".into())
                .spawn(move || save_templates(&templates_stopped, &templates, &state))
                .context("cannot start the template thread")?
        };
        let (page_tx, page_rx) = async_channel::bounded::<Page>(cap);
        let page_weak = page_rx.downgrade();
        let mut scrape_threads = Vec::new();
        for n in 0..config.pipeline.scrape_workers.get() {
            let (rx, tx, stats) = (page_rx.clone(), scraped_tx.clone(), stats.clone());
            let (templates, settle) = (templates.clone(), settle.clone());
            let handle = std::thread::Builder::new()
                .name(format!("scrape-{n}"))
                .spawn(move || crate::scrape::stage::run(rx, tx, &stats, &templates, settle.as_ref()))
                .context("cannot start scrape thread")?;
            scrape_threads.push(handle);
        }
        let back = Back {
            scrape_threads,
            fold,
            sinks,
            templates_stop,
            template_saver,
            acks,
            page_rx: page_weak,
            scraped_rx: scraped_weak,
            sink_rx,
        };
        Ok((back, page_tx))
    }

    /// Every queue's length, for the API: `scrape` (the page queue), `fold`, `sink:ID`.
    pub(crate) fn queues(&self) -> Vec<(String, crate::api::QueueLen)> {
        use crate::api::queue_len;
        let mut queues = vec![
            ("scrape".to_string(), queue_len(self.page_rx.clone())),
            ("fold".to_string(), queue_len(self.scraped_rx.clone())),
        ];
        queues.extend(
            self.sink_rx
                .iter()
                .map(|(id, weak)| (format!("sink:{id}"), queue_len(weak.clone()))),
        );
        queues
    }

    /// Waits for every stage to drain (once the page queue's senders are gone) and returns their
    /// exits in pipeline order: scrape, fold, sinks.
    pub(crate) async fn finish(self) -> Vec<(String, StageExit)> {
        let mut stages = vec![("scrape".to_string(), join_all(self.scrape_threads).await)];
        drop(self.templates_stop);
        let saver = self.template_saver;
        let _ = tokio::task::spawn_blocking(move || saver.join()).await;
        stages.push(("fold".into(), join_thread(self.fold).await));
        for (name, handle) in self.sinks {
            stages.push((name, join_thread(handle).await));
        }
        if self.acks.pending() > 0 {
            tracing::warn!(
                pending = self.acks.pending(),
                "records not acknowledged by every sink; their pages will be read again"
            );
        }
        stages
    }
}

/// The story index as the state store holds it (documents past the window are evicted there).
async fn load_index(config: &Config, state: &Arc<StateStore>) -> anyhow::Result<Folder> {
    let state_for_load = state.clone();
    let docs = tokio::task::spawn_blocking(move || state_for_load.load_docs())
        .await
        .context("state store task failed")?
        .context("cannot load the fold index from the state store")?;
    let mut folder = Folder::new(&config.fold);
    let mut evicted = Vec::new();
    for row in &docs {
        let doc = IndexedDoc::from_row(row)
            .map_err(|e| anyhow::anyhow!("state store {}: fold document {}: {e}", state.describe(), row.record_id))?;
        evicted.extend(folder.restore(&doc));
    }
    if !evicted.is_empty() {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.delete_docs(&evicted))
            .await
            .context("state store task failed")?
            .context("cannot trim the fold index in the state store")?;
    }
    tracing::info!(
        stage = "fold",
        documents = folder.len(),
        memory_bytes = folder.memory_bytes() as u64,
        "fold index loaded"
    );
    Ok(folder)
}

/// Waits for the sources: in `once` until each has made its pass; in `run` until shutdown, applying
/// reload requests meanwhile. A source that finds the pipeline broken stops them all.
async fn supervise(
    sources: &mut Supervisor,
    mut running: Config,
    mode: Mode,
    shutdown: &CancellationToken,
    mut reload: Option<tokio::sync::mpsc::Receiver<()>>,
) {
    let mut stopping = false;
    loop {
        if sources.is_empty() && (mode == Mode::Once || stopping) {
            return;
        }
        tokio::select! {
            joined = sources.join_next(), if !sources.is_empty() => {
                if joined == Some(true) && !stopping {
                    tracing::error!(stage = "source", "the pipeline stopped behind the sources; stopping every source");
                    sources.stop_all();
                    stopping = true;
                }
            }
            requested = recv_reload(&mut reload), if !stopping => {
                if requested {
                    crate::service::reloading();
                    reload_config(sources, &mut running).await;
                    crate::service::ready("running");
                } else {
                    reload = None;
                }
            }
            _ = shutdown.cancelled(), if !stopping && mode == Mode::Daemon => {
                crate::service::stopping();
                stopping = true;
            }
        }
    }
}

/// The next reload request; `false` when there will be none.
async fn recv_reload(reload: &mut Option<tokio::sync::mpsc::Receiver<()>>) -> bool {
    match reload {
        Some(rx) => rx.recv().await.is_some(),
        None => std::future::pending().await,
    }
}

/// SIGHUP: reads the config file again. Sources and `[log] level` change now; an invalid file is
/// reported with the same messages as `check` and the running config stays.
async fn reload_config(sources: &mut Supervisor, running: &mut Config) {
    let path = running.file.clone();
    tracing::info!(config = %path.display(), "reloading config");
    let loaded = tokio::task::spawn_blocking(move || crate::config::load(&path)).await;
    let new = match loaded {
        Ok(Ok(c)) => c,
        Ok(Err(errors)) => {
            for e in &errors.0 {
                tracing::error!(config = %running.file.display(), error = %e, "invalid config");
            }
            tracing::error!(config = %running.file.display(), errors = errors.0.len(), "config reload failed; the running config stays");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "config reload failed; the running config stays");
            return;
        }
    };
    let changes = match sources.apply(&new.sources) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "config reload failed; the running config stays");
            return;
        }
    };
    if new.log.level != running.log.level {
        let level = new.log.level.as_deref().unwrap_or("info");
        match crate::telemetry::apply_level(level, true) {
            Ok(_) => tracing::info!(level, "log level changed"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot change the log level"),
        }
    }
    let restart: Vec<&str> = [
        ("state", running.state_path != new.state_path),
        (
            "api",
            running.api_listen != new.api_listen || running.api_token != new.api_token,
        ),
        ("log.repeat_window", running.log.repeat_window != new.log.repeat_window),
        ("pipeline", running.pipeline != new.pipeline),
        ("fold", running.fold != new.fold),
        ("fetch", running.fetch != new.fetch),
        ("sinks", running.sinks != new.sinks),
    ]
    .into_iter()
    .filter_map(|(k, changed)| changed.then_some(k))
    .collect();
    if !restart.is_empty() {
        tracing::warn!(sections = %restart.join(", "), "these settings change only on restart; the running ones stay");
    }
    tracing::info!(
        added = %changes.added.join(","), removed = %changes.removed.join(","), changed = %changes.changed.join(","),
        "config reloaded"
    );
    running.sources = new.sources;
    running.log.level = new.log.level;
}

async fn join_thread(handle: JoinHandle<StageExit>) -> StageExit {
    match tokio::task::spawn_blocking(move || handle.join()).await {
        Ok(Ok(exit)) => exit,
        _ => StageExit::Failed("stage thread panicked".into()),
    }
}

/// The scrape stage's exit: the first failure among its workers, else input closed.
async fn join_all(handles: Vec<JoinHandle<StageExit>>) -> StageExit {
    let mut exit = StageExit::InputClosed;
    for h in handles {
        let e = join_thread(h).await;
        if e.is_failure() && !exit.is_failure() {
            exit = e;
        }
    }
    exit
}

/// How often learnt site templates are saved while the scrape stage runs.
const TEMPLATE_SAVE: std::time::Duration = std::time::Duration::from_secs(30);

/// Saves the hosts whose templates changed, every `TEMPLATE_SAVE` and once `stop` closes. A
/// failed save is logged and retried with the next one: templates are a cache of what pages
/// taught, never data.
fn save_templates(
    stop: &std::sync::mpsc::Receiver<()>,
    templates: &std::sync::Mutex<crate::scrape::template::Templates>,
    state: &StateStore,
) {
    loop {
        let last = matches!(
            stop.recv_timeout(TEMPLATE_SAVE),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) | Ok(())
        );
        let changes = templates.lock().unwrap_or_else(|e| e.into_inner()).take_changes();
        if !changes.is_empty()
            && let Err(e) = state.save_templates(&changes)
        {
            tracing::warn!(stage = "scrape", hosts = changes.save.len(), error = %format!("{e:#}"), "cannot save site templates; retrying later");
            templates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .restore_changes(changes);
        }
        if last {
            return;
        }
    }
}

/// Writes refused inputs to the decision log in small batches until the channel closes. A write
/// failure is logged (once per run) and the entries dropped: the counters still have them.
fn write_refusals(rx: &async_channel::Receiver<crate::explain::Refusal>, state: &StateStore, keep: usize) {
    let mut failed = false;
    while let Ok(first) = rx.recv_blocking() {
        let mut batch = vec![first.entry()];
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(r) => batch.push(r.entry()),
                Err(_) => break,
            }
        }
        if let Err(e) = state.log_refusals(&batch, keep)
            && !failed
        {
            failed = true;
            tracing::error!(error = %format!("{e:#}"), "cannot write refused inputs to the decision log");
        }
    }
}
