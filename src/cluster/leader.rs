//! The fold leader: the one member at a time that folds. It consumes the pages stream through a
//! durable consumer into scrape → fold → sinks (`pipeline::Back`) over the shared state store,
//! and acknowledges a message only once its input left the pipeline for good: delivered to every
//! sink (and marked done in PostgreSQL), or refused by the scraper. Until then the message is in
//! flight: in-progress acknowledgements keep it from being redelivered while a slow sink holds
//! it; if the leader dies, JetStream redelivers it to the next one after the ack wait
//! (`ack_wait`: the lease TTL, so a dead leader's pages move about when its lease does).
//!
//! Redeliveries: an input already done is acknowledged without work (the leader died between
//! the commit and the acknowledgement); one decided but not delivered is replayed by the fold
//! (the same record id, no second decision); one delivered more than `MAX_TRIES` times without
//! being done, or that does not decode, is kept in the shared store's dead letters and
//! terminated (or, if it cannot be kept, handed back to come again later).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, message::Acker};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{ClusterSettings, Ctx, Gauges, wire};
use crate::pipeline::Back;
use crate::report::StageExit;
use crate::sources::Mode;
use crate::state::{DeadLetter, StateStore};

/// How long a delivered message may stay unacknowledged before JetStream redelivers it: the
/// lease TTL, at least 5 s. Held messages get an in-progress acknowledgement every third of it,
/// so a slow sink never causes a redelivery; a dead leader's do move.
pub fn ack_wait(cluster: &ClusterSettings) -> Duration {
    cluster.lease_ttl.max(Duration::from_secs(5))
}

/// Deliveries of one message before it becomes a dead letter (counted here: the consumer's own
/// MaxDeliver is unlimited, so a message whose dead letter cannot be stored is tried again).
pub const MAX_TRIES: i64 = 5;

/// Messages delivered and not yet acknowledged, at most (the consumer's `max_ack_pending`):
/// about what the stages behind the leader hold.
pub const MAX_IN_FLIGHT: i64 = 4096;

/// Messages asked for at once.
const PULL_BATCH: usize = 128;

/// When a dead letter cannot be stored, the message comes back after this.
const RETRY_DEAD_LETTER: Duration = Duration::from_secs(30);

/// The durable consumer the leaders share.
pub fn consumer_config(cluster: &ClusterSettings) -> pull::Config {
    pull::Config {
        durable_name: Some(cluster.fold_consumer()),
        description: Some("newsfold fold leader".into()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: ack_wait(cluster),
        max_deliver: -1,
        max_ack_pending: MAX_IN_FLIGHT,
        ..Default::default()
    }
}

/// Messages held until their input is settled, by input id (a republished copy of an input
/// joins the first's entry and is acknowledged with it).
#[derive(Default)]
struct Inflight {
    held: Mutex<HashMap<String, Held>>,
}

/// An input's messages (the first, and copies republished meanwhile).
struct Held {
    ackers: Vec<Arc<Acker>>,
}

impl Inflight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Leads until `lost` is cancelled (the lease is gone, or the process stops) or the stages fail;
/// returns the stages' exits. Messages still held when it stops are handed back (`Nak`) so the
/// next leader gets them at once.
pub async fn lead(ctx: Ctx, lost: CancellationToken) -> anyhow::Result<Vec<(String, StageExit)>> {
    let Ctx {
        config,
        cluster,
        js,
        state,
        stats,
        gauges,
        shutdown,
    } = ctx;
    let fenced = state.clone();
    let term = tokio::task::spawn_blocking(move || fenced.take_fold_lead()).await??;
    tracing::info!(stage = "cluster", member = %cluster.name, term, "leading the fold");
    let stream = js.get_stream(cluster.pages_stream()).await?;
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(&cluster.fold_consumer(), consumer_config(&cluster))
        .await?;
    // Small pulls: a message waits in this client's buffer, unannounced, for at most one batch.
    let consumer = consumer.stream().max_messages_per_batch(PULL_BATCH).messages().await?;
    let inflight = Arc::new(Inflight::default());
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<Arc<Acker>>();
    let settle: crate::model::Settle = {
        let (inflight, ack_tx) = (inflight.clone(), ack_tx.clone());
        Arc::new(move |source: &str, key: &str, raw_hash: &str| {
            let id = wire::input_id(source, key, raw_hash);
            if let Some(held) = inflight.lock().remove(&id) {
                for a in held.ackers {
                    let _ = ack_tx.send(a);
                }
            }
        })
    };
    let acker = tokio::spawn(async move {
        while let Some(a) = ack_rx.recv().await {
            if let Err(e) = a.ack().await {
                tracing::warn!(stage = "cluster", error = %e, "cannot acknowledge a page; it will be delivered again");
            }
        }
    });
    let (back, page_tx) = Back::start(&config, Mode::Daemon, &state, &stats, &shutdown, Some(settle)).await?;
    let rules: HashMap<String, Option<Arc<crate::scrape::rules::Rules>>> =
        config.sources.iter().map(|s| (s.id.clone(), s.rules())).collect();
    // Every held message is told "in progress" each third of the ack wait, until the last one
    // is settled or handed back (also while the stages drain after the lease is lost).
    let progress_stop = CancellationToken::new();
    let progress = {
        let (inflight, stop, wait) = (inflight.clone(), progress_stop.clone(), ack_wait(&cluster));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(wait / 3);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => return,
                }
                let held: Vec<Arc<Acker>> = inflight
                    .lock()
                    .values()
                    .flat_map(|h| h.ackers.iter().cloned())
                    .collect();
                for a in held {
                    let _ = a.ack_with(AckKind::Progress).await;
                }
            }
        })
    };
    let mut consumer = consumer;
    let result = loop {
        let next = tokio::select! {
            biased;
            _ = lost.cancelled() => break Ok(()),
            m = consumer.next() => m,
        };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::warn!(stage = "cluster", error = %e, "the pages stream failed; pulling again");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            None => break Err(anyhow::anyhow!("the pages consumer ended")),
        };
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        let (message, acker) = message.split();
        let acker = Arc::new(acker);
        let page = match wire::decode(&message.payload, |s| rules.get(s).cloned().flatten()) {
            Ok(p) => p,
            Err(reason) => {
                give_up(&state, &message.payload, delivered, &reason, &gauges, &acker).await;
                continue;
            }
        };
        let id = wire::input_id(&page.source, &page.key, &page.raw_hash);
        // A copy of an input already in the pipeline is settled with it, whatever its count.
        if let Some(h) = inflight.lock().get_mut(&id) {
            h.ackers.push(acker);
            continue;
        }
        if delivered > 1 {
            gauges.redelivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (st, s, k, h) = (
                state.clone(),
                page.source.clone(),
                page.key.clone(),
                page.raw_hash.clone(),
            );
            if let Ok(Ok(true)) = tokio::task::spawn_blocking(move || st.is_done(&s, &k, &h)).await {
                let _ = acker.ack().await;
                continue;
            }
            if delivered > MAX_TRIES {
                let reason = format!("delivered {delivered} times without being done");
                give_up(&state, &message.payload, delivered, &reason, &gauges, &acker).await;
                continue;
            }
        }
        inflight.lock().insert(id, Held { ackers: vec![acker] });
        tokio::select! {
            biased;
            // Not sent: it is still held, and handed back below.
            _ = lost.cancelled() => break Ok(()),
            sent = page_tx.send(page) => {
                if sent.is_err() {
                    break Err(anyhow::anyhow!("the fold stopped"));
                }
            }
        }
    };
    // Stop taking pages; what is in the pipeline drains and is acknowledged as it settles.
    drop(consumer);
    drop(page_tx);
    let stages = back.finish().await;
    drop(ack_tx);
    let _ = acker.await;
    let left: Vec<Arc<Acker>> = inflight.lock().drain().flat_map(|(_, h)| h.ackers).collect();
    for a in &left {
        let _ = a.ack_with(AckKind::Nak(None)).await;
    }
    progress_stop.cancel();
    let _ = progress.await;
    tracing::info!(stage = "cluster", member = %cluster.name, handed_back = left.len(), "no longer leading the fold");
    result.map(|()| stages)
}

/// Gives a message up: kept as a dead letter and terminated, or (when it cannot be kept) handed
/// back to come again after `RETRY_DEAD_LETTER`.
async fn give_up(
    state: &Arc<StateStore>,
    payload: &[u8],
    deliveries: i64,
    reason: &str,
    gauges: &Gauges,
    acker: &Acker,
) {
    if dead_letter(state, payload, deliveries, reason, gauges).await {
        let _ = acker.ack_with(AckKind::Term).await;
    } else {
        let _ = acker.ack_with(AckKind::Nak(Some(RETRY_DEAD_LETTER))).await;
    }
}

/// Keeps a message the leader gives up on in the shared store; whether it was kept.
async fn dead_letter(state: &Arc<StateStore>, payload: &[u8], deliveries: i64, reason: &str, gauges: &Gauges) -> bool {
    let (source, key, location, raw_hash) = match wire::header(payload) {
        Ok((h, _)) => (h.source, h.key, h.location, h.raw_hash),
        Err(_) => Default::default(),
    };
    tracing::error!(stage = "cluster", source = %source, location = %location, deliveries, reason, "page kept as a dead letter");
    let letter = DeadLetter {
        source,
        key,
        location,
        raw_hash,
        deliveries,
        reason: reason.to_string(),
    };
    let st = state.clone();
    match tokio::task::spawn_blocking(move || st.dead_letter(&letter)).await {
        Ok(Ok(())) => {
            gauges.dead_letters.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            true
        }
        Ok(Err(e)) => {
            tracing::error!(stage = "cluster", error = %format!("{e:#}"), "cannot keep a dead letter");
            false
        }
        Err(e) => {
            tracing::error!(stage = "cluster", error = %e, "cannot keep a dead letter");
            false
        }
    }
}
