//! The HTTP endpoint of `run` (`[api] listen`, off by default): `/metrics` (Prometheus text),
//! `/healthz` (the process answers), `/readyz` (the state store takes writes and every sink is
//! reachable), the status page at `/`, and the story pages from the decision log (`/stories`,
//! `/stories/<id>`, see `stories`).
//!
//! Read-only over the pipeline: it reads `Stats` and the queues' lengths (through weak handles,
//! which never keep a queue open), and probes the state store and the sinks with their own
//! short-lived connections. It serves until the pipeline has drained; during the drain `/readyz`
//! answers 503. With `[api] token` set, every request but `/healthz` must carry
//! `Authorization: Bearer <token>`; others get 401.
//!
//! Clients are bounded: a connection must send its request headers within `[api] header_timeout`
//! (an idle keep-alive connection is closed after as long), and at most `[api] max_connections`
//! are served at once; one more is closed at once, counted, and logged once a minute. So idle or
//! half-sent connections cannot take the daemon's file handles.

mod metrics;
mod page;
mod stories;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::sinks::SinkSpec;
use crate::state::StateStore;
use crate::stats::Stats;

/// How long one readiness probe (the state store, a sink) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A queue's current length.
pub type QueueLen = Box<dyn Fn() -> usize + Send + Sync>;

/// A queue's length read through a weak handle, which never keeps the queue open (0 once closed).
pub fn queue_len<T: Send + 'static>(weak: async_channel::WeakReceiver<T>) -> QueueLen {
    Box::new(move || weak.upgrade().map_or(0, |r| r.len()))
}

/// What the endpoint reads.
pub struct Api {
    pub stats: Arc<Stats>,
    pub state: Arc<StateStore>,
    pub sinks: Vec<SinkSpec>,
    /// (queue name, its length): `scrape`, `fold`, `sink:ID`.
    pub queues: Vec<(String, QueueLen)>,
    pub started: Instant,
    /// Cancelled when shutdown starts: not ready any more.
    pub shutdown: CancellationToken,
    /// The bearer token requests must carry (all but `/healthz`), when set.
    pub token: Option<Arc<str>>,
    pub limits: crate::config::ApiLimits,
    /// This member's part in a cluster, when it is one.
    pub cluster: Option<Arc<crate::cluster::Gauges>>,
}

struct Shared {
    api: Api,
    metrics: metrics::Exporter,
    connections: Connections,
}

/// Connection counts, for `/metrics`.
#[derive(Default)]
pub struct Connections {
    pub open: AtomicU64,
    pub refused: AtomicU64,
}

/// Binds `listen` and serves until `stop` is cancelled. Returns once listening, so a bind failure
/// is a start-up error.
pub async fn serve(listen: SocketAddr, api: Api, stop: CancellationToken) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("api.listen: cannot listen on {listen}"))?;
    let local = listener.local_addr().context("api.listen: no local address")?;
    let shared = Arc::new(Shared {
        api,
        metrics: metrics::Exporter::new(),
        connections: Connections::default(),
    });
    let token = shared.api.token.clone();
    let limits = shared.api.limits;
    let guarded = Router::new()
        .route("/", get(status_page))
        .route("/metrics", get(render_metrics))
        .route("/readyz", get(readyz))
        .route("/stories", get(story_list))
        .route("/stories/{id}", get(story_page))
        .route_layer(axum::middleware::from_fn(move |req, next| {
            authorize(token.clone(), req, next)
        }));
    let app = guarded.route("/healthz", get(healthz)).with_state(shared.clone());
    tracing::info!(listen = %local, "api listening");
    tokio::spawn(accept(listener, app, shared, limits, stop));
    Ok(local)
}

/// Accepts connections until `stop`, each served with the header timeout while a permit is free.
async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    shared: Arc<Shared>,
    limits: crate::config::ApiLimits,
    stop: CancellationToken,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let served = tokio_util::task::TaskTracker::new();
    let mut last_refusal_log: Option<Instant> = None;
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file handles, mostly: wait a little rather than spin.
                    tracing::warn!(error = %e, "api cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shared.connections.refused.fetch_add(1, Ordering::Relaxed);
            if last_refusal_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                last_refusal_log = Some(Instant::now());
                tracing::warn!(
                    max_connections = limits.max_connections,
                    refused_total = shared.connections.refused.load(Ordering::Relaxed),
                    "api connection refused: too many open"
                );
            }
            drop(stream);
            continue;
        };
        let (app, shared, stop) = (app.clone(), shared.clone(), stop.clone());
        served.spawn(async move {
            shared.connections.open.fetch_add(1, Ordering::Relaxed);
            serve_connection(stream, app, limits.header_timeout, stop).await;
            shared.connections.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    served.close();
    served.wait().await;
}

/// One HTTP/1.1 connection; on `stop`, the request in flight finishes and the connection closes.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    header_timeout: Duration,
    stop: CancellationToken,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let service = hyper_util::service::TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // A client that hangs up or times out: nothing the operator can act on.
        tracing::debug!(error = %e, "api connection ended");
    }
}

/// Lets a request through when no token is configured or it carries the token.
async fn authorize(token: Option<Arc<str>>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let Some(token) = token else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(presented.as_bytes(), token.as_bytes()) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response()
    }
}

/// Byte strings compared in time that depends on their lengths only, not on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn render_metrics(State(shared): State<Arc<Shared>>) -> Response {
    let text = shared.metrics.render(&shared.api, &shared.connections);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

fn html(page: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

fn store_error(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "story page: cannot read the decision log");
    (StatusCode::SERVICE_UNAVAILABLE, "the decision log cannot be read now\n").into_response()
}

async fn story_list(State(shared): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    let filter = stories::filter(uri.query());
    let state = shared.api.state.clone();
    let f = filter.clone();
    match tokio::task::spawn_blocking(move || state.stories(&f, stories::LIST_LIMIT)).await {
        Ok(Ok(list)) => html(stories::list(&list, &filter)),
        Ok(Err(e)) => store_error(format!("{e:#}")),
        Err(e) => store_error(e),
    }
}

async fn story_page(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (StatusCode::NOT_FOUND, "not a story id\n").into_response();
    }
    let state = shared.api.state.clone();
    let sid = id.clone();
    match tokio::task::spawn_blocking(move || state.story_members(&sid)).await {
        Ok(Ok(members)) if members.is_empty() => {
            (StatusCode::NOT_FOUND, html(stories::story(&id, &members))).into_response()
        }
        Ok(Ok(members)) => html(stories::story(&id, &members)),
        Ok(Err(e)) => store_error(format!("{e:#}")),
        Err(e) => store_error(e),
    }
}

async fn status_page(State(shared): State<Arc<Shared>>) -> Response {
    let html = page::render(&shared.api, chrono::Utc::now());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// One readiness check's outcome.
#[derive(serde::Serialize)]
struct Check {
    name: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let api = &shared.api;
    let mut checks = Vec::new();
    if api.shutdown.is_cancelled() {
        checks.push(Check {
            name: "pipeline".into(),
            ok: false,
            error: Some("shutting down".into()),
        });
    }
    let state = api.state.clone();
    checks.push(probe("state".into(), move || state.probe_writable()).await);
    let events = api.stats.snapshot().sink_events;
    let mut probes = Vec::new();
    for spec in &api.sinks {
        let name = format!("sink {}", spec.id);
        let seen = events.get(&spec.id);
        if seen.is_some_and(|e| e.stopped) {
            checks.push(Check {
                name,
                ok: false,
                error: Some("the sink stopped".into()),
            });
        } else if seen.is_some_and(|e| e.down) {
            checks.push(Check {
                name,
                ok: false,
                error: Some("the last write failed; retrying".into()),
            });
        } else {
            let spec = spec.clone();
            probes.push(probe(name, move || spec.kind.probe()));
        }
    }
    for p in probes {
        checks.push(p.await);
    }
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "ready": ready, "checks": checks }).to_string() + "\n";
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Runs a blocking probe on a blocking thread, for at most `PROBE_TIMEOUT`.
async fn probe(name: String, f: impl FnOnce() -> anyhow::Result<()> + Send + 'static) -> Check {
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, tokio::task::spawn_blocking(f)).await;
    let error = match outcome {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(format!("{e:#}")),
        Ok(Err(e)) => Some(format!("probe failed: {e}")),
        Err(_) => Some(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    };
    if let Some(e) = &error {
        tracing::debug!(check = %name, error = %e, "not ready");
    }
    Check {
        name,
        ok: error.is_none(),
        error,
    }
}
