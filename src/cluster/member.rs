//! One member's life: announce itself, hold a fair share of the partitions (their sources run
//! here), publish every page they read to the pages stream, and lead the fold while it holds the
//! `fold` lease.
//!
//! Every `lease_ttl / 4` (a tick) the member renews what it holds, counts the live members,
//! takes free partitions up to an even share and gives back what is above it (a joining member
//! gets partitions this way; a dead member's expire and are taken). A partition is released only
//! once its sources have stopped, so two members never poll one host at once; a lease whose
//! renewal fails stops its work at once.
//!
//! Shutdown follows the data: sources stop, the publisher sends what they read, the leader
//! drains its stages, then every lease is released so the others take over without waiting.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, stream};
use tokio_util::sync::CancellationToken;

use super::lease::{self, Leases};
use super::partition::{self, Partition};
use super::{ClusterSettings, Ctx, Gauges, leader, wire};
use crate::config::Config;
use crate::model::Page;
use crate::report::{RunReport, StageExit};
use crate::sources::Mode;
use crate::sources::supervisor::Supervisor;
use crate::state::StateStore;
use crate::stats::Stats;

/// The fold leader's lease.
const FOLD: &str = "fold";

/// How long JetStream remembers a message id to drop a republished copy.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// The pages stream's size; a full stream refuses new pages (the publisher waits and retries).
const STREAM_MAX_BYTES: i64 = 1 << 30;

type LeaderTask = tokio::task::JoinHandle<anyhow::Result<Vec<(String, StageExit)>>>;

pub async fn run(
    config: &Config,
    cluster: &ClusterSettings,
    mode: Mode,
    shutdown: CancellationToken,
    mut reload: Option<tokio::sync::mpsc::Receiver<()>>,
    stats: Arc<Stats>,
) -> anyhow::Result<RunReport> {
    if mode == Mode::Once {
        anyhow::bail!(
            "`once` reads every source itself; in a cluster the members share them: use `run`, or remove [cluster]"
        );
    }
    let shared = cluster.shared.clone();
    let state = tokio::task::spawn_blocking(move || StateStore::open_shared(&shared))
        .await
        .context("state store task failed")??;
    let state = Arc::new(state);
    let js = cluster.connect().await?;
    pages_stream(&js, cluster, config).await?;
    let mut leases = Leases::new(
        lease::bucket(&js, &cluster.leases_bucket(), cluster.lease_ttl).await?,
        &cluster.name,
    );
    let members = lease::bucket(&js, &cluster.members_bucket(), cluster.lease_ttl).await?;
    let partitions = partition::partitions(&config.sources);
    let gauges = Arc::new(Gauges {
        name: cluster.name.clone(),
        partitions: (partitions.len() as u64).into(),
        ..Gauges::default()
    });

    let (page_tx, page_rx) = async_channel::bounded::<Page>(config.pipeline.channel_capacity.get());
    let publish_queue = page_rx.downgrade();
    let publisher = Publisher {
        js: js.clone(),
        subject: cluster.pages_subject(),
        gauges: gauges.clone(),
        shutdown: shutdown.clone(),
        drain_timeout: config.pipeline.drain_timeout,
        last_warning: None,
    };
    let publisher = tokio::spawn(publish(publisher, state.clone(), page_rx));
    let api_stop = CancellationToken::new();
    let _stop_api_on_return = api_stop.clone().drop_guard();
    if let Some(listen) = config.api_listen {
        let queues = vec![("publish".to_string(), crate::api::queue_len(publish_queue))];
        let mut api = crate::pipeline::api(config, &state, &stats, &shutdown, queues);
        api.cluster = Some(gauges.clone());
        crate::api::serve(listen, api, api_stop.clone()).await?;
    }
    let refusal_writer = crate::pipeline::refusal_writer(config, &state, &stats)?;
    let ctx = crate::pipeline::source_ctx(config, Mode::Daemon, page_tx, &state, &stats, &shutdown);
    let mut sources = Supervisor::new(ctx, config.fetch.clone());
    tracing::info!(
        stage = "cluster", member = %cluster.name, partitions = partitions.len(),
        nats = %crate::sinks::sql::redact(&cluster.nats), state = %state.describe(),
        "cluster member started"
    );
    crate::service::ready("running");

    let ctx = Ctx {
        config: config.clone(),
        cluster: cluster.clone(),
        js: js.clone(),
        state: state.clone(),
        stats: stats.clone(),
        gauges: gauges.clone(),
        shutdown: shutdown.clone(),
    };
    let mut member = Member {
        config,
        cluster,
        partitions,
        releasing: Vec::new(),
        fresh: Vec::new(),
        leader: None,
        last_leader_stages: Vec::new(),
        first_tick: true,
    };
    let mut tick = tokio::time::interval(cluster.lease_ttl / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut broken = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            joined = sources.join_next(), if !sources.is_empty() => {
                if joined == Some(true) {
                    tracing::error!(stage = "cluster", "the publisher stopped behind the sources; stopping");
                    broken = true;
                    break;
                }
                continue;
            }
            _ = shutdown.cancelled() => break,
            requested = recv(&mut reload) => {
                if requested {
                    tracing::warn!(stage = "cluster", "a cluster member does not reload its config: every member runs the same file, so restart them one by one");
                } else {
                    reload = None;
                }
                continue;
            }
        }
        member.tick(&mut leases, &members, &mut sources, &ctx).await;
    }

    // Shutdown follows the data.
    crate::service::stopping();
    sources.stop_all();
    while sources.join_next().await.is_some() {}
    let mut stages = crate::pipeline::source_exits(sources);
    let publish_exit = publisher
        .await
        .unwrap_or_else(|_| StageExit::Failed("the publisher panicked".into()));
    stages.push(("publish".into(), publish_exit));
    if let Some((lost, task)) = member.leader.take() {
        lost.cancel();
        member.last_leader_stages = leader_exits(task.await);
    }
    stages.extend(member.last_leader_stages);
    let held: Vec<String> = leases.held().map(str::to_string).collect();
    for key in held {
        leases.release(&key).await;
    }
    let _ = members.delete(&cluster.name).await;
    crate::pipeline::finish_refusals(&stats, refusal_writer).await;
    tracing::info!(stage = "cluster", member = %cluster.name, "cluster member stopped");
    if broken {
        stages.push(("cluster".into(), StageExit::Failed("the publisher stopped".into())));
    }
    Ok(RunReport {
        stages,
        ..stats.snapshot()
    })
}

struct Member<'a> {
    config: &'a Config,
    cluster: &'a ClusterSettings,
    partitions: Vec<Partition>,
    /// Partitions given back whose sources are still stopping.
    releasing: Vec<String>,
    /// Partitions taken on this tick, whose sources start on the next.
    fresh: Vec<String>,
    /// The leader task while this member leads (or its stages drain), with its stop token.
    leader: Option<(CancellationToken, LeaderTask)>,
    last_leader_stages: Vec<(String, StageExit)>,
    /// The first tick only announces the member, so members starting together see each other
    /// before they share the partitions.
    first_tick: bool,
}

impl Member<'_> {
    async fn tick(&mut self, leases: &mut Leases, members: &jetstream::kv::Store, sources: &mut Supervisor, ctx: &Ctx) {
        let (gauges, shutdown) = (&ctx.gauges, &ctx.shutdown);
        let name = &self.cluster.name;
        // Renew first, all at once within a quarter of the TTL: a lease we cannot renew stops
        // its work now, before its entry can have expired and been taken.
        let lost = leases.renew_all(self.cluster.lease_ttl / 4).await;
        if lost.iter().any(|k| k == FOLD)
            && let Some((stop, _)) = &self.leader
        {
            stop.cancel();
        }
        self.releasing.retain(|k| leases.holds(k));
        self.fresh.retain(|k| leases.holds(k));
        if !lost.is_empty() {
            self.run_held(leases, sources, gauges);
        }
        let bucket = self.cluster.members_bucket();
        let alive = match announce(&ctx.js, &bucket, members, name, leases, gauges).await {
            Ok(alive) => alive,
            Err(e) => {
                tracing::warn!(stage = "cluster", error = %format!("{e:#}"), "cannot announce this member");
                Vec::new()
            }
        };
        // This member's share: partitions split evenly by rank among the live members (the
        // first `P mod M` take one more); none moves on a tick this member could not see them.
        let rank = alive.iter().position(|m| m == name);
        let share = rank.map(|r| partition::share(self.partitions.len(), alive.len(), r));
        *gauges.members.lock().unwrap_or_else(|e| e.into_inner()) = alive;
        // Partitions taken on the last tick start now: a partition's old holder stopped a tick
        // before it released it, and the new one waits a tick more.
        self.fresh.clear();

        // The fold: a finished leader task gives the lease back; a free lease is taken.
        if let Some((lost, task)) = &self.leader
            && task.is_finished()
        {
            lost.cancel();
            if let Some((_, task)) = self.leader.take() {
                self.last_leader_stages = leader_exits(task.await);
            }
            leases.release(FOLD).await;
            gauges.leader.store(false, Relaxed);
        }
        if self.leader.is_none() && !self.first_tick && !shutdown.is_cancelled() {
            match leases.try_take(FOLD).await {
                Ok(true) => {
                    let lost = CancellationToken::new();
                    let task = tokio::spawn(leader::lead(ctx.clone(), lost.clone()));
                    self.leader = Some((lost, task));
                    gauges.leader.store(true, Relaxed);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(stage = "cluster", error = %format!("{e:#}"), "cannot take the fold lease"),
            }
        }

        // Partitions: release what stopped, give back above the share, take up to it.
        let mut released = Vec::new();
        for key in &self.releasing {
            let stopped = self
                .partition(key)
                .is_none_or(|p| p.sources.iter().all(|s| !sources.is_running(s)));
            if stopped {
                released.push(key.clone());
            }
        }
        for key in released {
            leases.release(&key).await;
            self.releasing.retain(|k| *k != key);
            tracing::info!(stage = "cluster", member = %name, partition = %key, "partition released");
        }
        if let Some(share) = share.filter(|_| !self.first_tick) {
            let mine: Vec<String> = self
                .partitions
                .iter()
                .filter(|p| leases.holds(&p.key) && !self.releasing.contains(&p.key))
                .map(|p| p.key.clone())
                .collect();
            if mine.len() > share {
                for key in &mine[share..] {
                    self.releasing.push(key.clone());
                }
            } else {
                let mut room = share - mine.len();
                let n = self.partitions.len();
                let start = (xxhash_rust::xxh3::xxh3_64(name.as_bytes()) as usize)
                    .checked_rem(n)
                    .unwrap_or(0);
                for i in 0..n {
                    if room == 0 {
                        break;
                    }
                    let key = &self.partitions[(start + i) % n].key;
                    if leases.holds(key) {
                        continue;
                    }
                    match leases.try_take(key).await {
                        Ok(true) => {
                            room -= 1;
                            self.fresh.push(key.clone());
                            tracing::info!(stage = "cluster", member = %name, partition = %key, "partition taken");
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(stage = "cluster", error = %format!("{e:#}"), "cannot take a partition");
                            break;
                        }
                    }
                }
            }
        }
        self.first_tick = false;
        self.run_held(leases, sources, gauges);
    }

    /// Runs the sources of the partitions held (not being given back, not taken this tick),
    /// and no others.
    fn run_held(&self, leases: &Leases, sources: &mut Supervisor, gauges: &Gauges) {
        let wanted: Vec<crate::sources::SourceSpec> = self
            .partitions
            .iter()
            .filter(|p| leases.holds(&p.key) && !self.releasing.contains(&p.key) && !self.fresh.contains(&p.key))
            .flat_map(|p| p.sources.iter())
            .filter_map(|id| self.config.sources.iter().find(|s| s.id == *id).cloned())
            .collect();
        let held = self.partitions.iter().filter(|p| leases.holds(&p.key)).count();
        gauges.partitions_held.store(held as u64, Relaxed);
        if let Err(e) = sources.apply(&wanted) {
            tracing::error!(stage = "cluster", error = %format!("{e:#}"), "cannot start a partition's sources");
        }
    }

    fn partition(&self, key: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.key == key)
    }
}

async fn recv(reload: &mut Option<tokio::sync::mpsc::Receiver<()>>) -> bool {
    match reload {
        Some(rx) => rx.recv().await.is_some(),
        None => std::future::pending().await,
    }
}

fn leader_exits(
    joined: Result<anyhow::Result<Vec<(String, StageExit)>>, tokio::task::JoinError>,
) -> Vec<(String, StageExit)> {
    match joined {
        Ok(Ok(stages)) => stages,
        Ok(Err(e)) => {
            tracing::error!(stage = "cluster", error = %format!("{e:#}"), "the fold leader stopped");
            vec![("fold leader".into(), StageExit::Failed(format!("{e:#}")))]
        }
        Err(e) => vec![(
            "fold leader".into(),
            StageExit::Failed(format!("the fold leader panicked: {e}")),
        )],
    }
}

/// What a member tells the others, as its entry in the members bucket.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Announcement {
    pub name: String,
    pub pid: u32,
    pub leader: bool,
    pub partitions: u64,
    pub published: u64,
    pub redelivered: u64,
    pub at: String,
}

/// Puts this member's entry and returns the names of every live member.
async fn announce(
    js: &jetstream::Context,
    bucket: &str,
    members: &jetstream::kv::Store,
    name: &str,
    leases: &Leases,
    gauges: &Gauges,
) -> anyhow::Result<Vec<String>> {
    let me = Announcement {
        name: name.to_string(),
        pid: std::process::id(),
        leader: leases.holds(FOLD),
        partitions: leases.held().filter(|k| *k != FOLD).count() as u64,
        published: gauges.published.load(Relaxed),
        redelivered: gauges.redelivered.load(Relaxed),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    members.put(name, serde_json::to_vec(&me)?.into()).await?;
    let alive = lease::entries(js, bucket).await?;
    Ok(alive.into_iter().map(|(name, _)| name).collect())
}

/// Creates the pages stream if it is missing (members starting together may race: both ask
/// for the same config, which JetStream accepts).
async fn pages_stream(js: &jetstream::Context, cluster: &ClusterSettings, config: &Config) -> anyhow::Result<()> {
    let max_message = config
        .pipeline
        .max_page_bytes
        .saturating_add(64 << 10)
        .min(i32::MAX as u64) as i32;
    js.get_or_create_stream(stream::Config {
        name: cluster.pages_stream(),
        subjects: vec![cluster.pages_subject()],
        description: Some("pages read by newsfold members, folded by the leader".into()),
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        max_bytes: STREAM_MAX_BYTES,
        max_message_size: max_message,
        discard: stream::DiscardPolicy::New,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await
    .with_context(|| format!("cannot create the JetStream stream {}", cluster.pages_stream()))?;
    Ok(())
}

/// Pages published and not yet acknowledged by the server, at most.
const PUBLISH_WINDOW: usize = 64;

/// A page on its way to the stream.
struct Outgoing {
    id: String,
    payload: bytes::Bytes,
    source: Arc<str>,
    location: String,
}

/// What publishing needs besides the page.
struct Publisher {
    js: jetstream::Context,
    subject: String,
    gauges: Arc<Gauges>,
    shutdown: CancellationToken,
    drain_timeout: Duration,
    /// Failures are logged at most every 30 s.
    last_warning: Option<Instant>,
}

impl Publisher {
    async fn send(&self, out: &Outgoing) -> Result<jetstream::context::PublishAckFuture, anyhow::Error> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", out.id.as_str());
        Ok(self
            .js
            .publish_with_headers(self.subject.clone(), headers, out.payload.clone())
            .await?)
    }

    /// Waits for the server's acknowledgement of `out`, republishing it until it comes.
    async fn confirm(&mut self, out: Outgoing, ack: jetstream::context::PublishAckFuture) -> Result<(), StageExit> {
        match ack.await {
            Ok(_) => {
                self.gauges.published.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(e) => self.republish(&out, e.into()).await,
        }
    }

    /// Publishes `out` again (same id: JetStream keeps one copy) until the server acknowledges
    /// it, with backoff; gives up only at shutdown, after `drain_timeout`.
    async fn republish(&mut self, out: &Outgoing, mut error: anyhow::Error) -> Result<(), StageExit> {
        let mut backoff = Duration::from_millis(100);
        let mut stopping_since: Option<Instant> = None;
        loop {
            if self.last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                self.last_warning = Some(Instant::now());
                tracing::warn!(stage = "cluster", source = %out.source, location = %out.location, error = %format!("{error:#}"), "cannot publish a page; retrying");
            }
            if self.shutdown.is_cancelled() {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if since.elapsed() > self.drain_timeout {
                    return Err(StageExit::Failed(format!(
                        "pages left unpublished at shutdown: {error:#}"
                    )));
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            let sent = async { anyhow::Ok(self.send(out).await?.await?) }.await;
            match sent {
                Ok(_) => {
                    self.gauges.published.fetch_add(1, Relaxed);
                    return Ok(());
                }
                Err(e) => error = e,
            }
        }
    }
}

/// Publishes every page the sources read, up to `PUBLISH_WINDOW` awaiting the server's
/// acknowledgement (one that fails is republished with the same id until it is acknowledged:
/// JetStream keeps one copy). A page is durable in the stream from then on; one still queued
/// when the process dies is not done in the shared store, so the partition's next holder reads
/// it again. A page larger than the server's `max_payload` is kept as a dead letter.
async fn publish(mut p: Publisher, state: Arc<StateStore>, rx: async_channel::Receiver<Page>) -> StageExit {
    let max_payload = p.js.client().server_info().max_payload;
    let mut window = std::collections::VecDeque::with_capacity(PUBLISH_WINDOW);
    while let Ok(page) = rx.recv().await {
        let (id, payload) = wire::encode(&page);
        if payload.len() > max_payload {
            let reason = format!(
                "{} bytes as a message, over the NATS server's max_payload of {max_payload}: raise max_payload or lower pipeline.max_page_bytes",
                payload.len()
            );
            tracing::error!(stage = "cluster", source = %page.source, location = %page.location, reason, "page kept as a dead letter");
            let letter = crate::state::DeadLetter {
                source: page.source.to_string(),
                key: page.key.clone(),
                location: page.location.clone(),
                raw_hash: page.raw_hash.clone(),
                deliveries: 0,
                reason,
            };
            let st = state.clone();
            if let Ok(Ok(())) = tokio::task::spawn_blocking(move || st.dead_letter(&letter)).await {
                p.gauges.dead_letters.fetch_add(1, Relaxed);
            }
            continue;
        }
        let out = Outgoing {
            id,
            payload: bytes::Bytes::from(payload),
            source: page.source.clone(),
            location: page.location,
        };
        match p.send(&out).await {
            Ok(ack) => window.push_back((out, ack)),
            Err(e) => {
                if let Err(exit) = p.republish(&out, e).await {
                    return exit;
                }
            }
        }
        while window.len() >= PUBLISH_WINDOW {
            if let Some((out, ack)) = window.pop_front()
                && let Err(exit) = p.confirm(out, ack).await
            {
                return exit;
            }
        }
    }
    while let Some((out, ack)) = window.pop_front() {
        if let Err(exit) = p.confirm(out, ack).await {
            return exit;
        }
    }
    StageExit::InputClosed
}
