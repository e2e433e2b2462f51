//! The top-level sections that belong to no single component: `[state]`, `[api]`, `[log]`,
//! `[pipeline]`, `[fold]` and `[fetch]` (the HTTP client every HTTP source shares), each as
//! written (serde, unknown keys refused) and validated.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::Cx;
use super::duration_opt;
use crate::model::Lang;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default = "default_state_path")]
    pub path: PathBuf,
    /// Keep the decision log (`newsfold explain`, the story pages).
    #[serde(default = "default_true")]
    pub decision_log: bool,
}

fn default_state_path() -> PathBuf {
    PathBuf::from("data/state.sqlite")
}

impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: default_state_path(),
            decision_log: true,
        }
    }
}

/// `[api]`: the HTTP endpoint of `run` (metrics, health, status page). Off unless `listen` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<String>,
    /// A bearer token every request but `/healthz` must present (`${VAR}` expanded).
    pub token: Option<String>,
    /// How long a client may take to send a request's headers (also an idle keep-alive
    /// connection's limit) before the connection is closed.
    #[serde(default, deserialize_with = "duration_opt")]
    pub header_timeout: Option<Duration>,
    /// Connections served at once; more are closed at once (and counted).
    pub max_connections: Option<usize>,
}

/// `[api]` limits on clients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// A secret from the config: compared, never shown (`Debug` prints `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Shortest accepted API token: a guessable one protects nothing.
pub const MIN_TOKEN: usize = 16;

/// `[log]`: the log filter (unless `--log-level` or `RUST_LOG` is given) and the repeat window.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub repeat_window: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Capacity of every channel between stages.
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
    /// Threads that scrape pages in parallel.
    #[serde(default = "default_scrape_workers")]
    pub scrape_workers: usize,
    /// Pages larger than this are refused, whatever their source.
    #[serde(default = "default_max_page_bytes")]
    pub max_page_bytes: u64,
    /// Most records a sink writes before it flushes and acknowledges.
    #[serde(default = "default_sink_batch")]
    pub sink_batch: usize,
    /// After a shutdown request, how long a failing sink keeps retrying before giving up.
    #[serde(default, deserialize_with = "duration_opt")]
    pub drain_timeout: Option<Duration>,
    /// How long a sink waits to fill a batch before writing what it has.
    #[serde(default, deserialize_with = "duration_opt")]
    pub sink_linger: Option<Duration>,
}

fn default_channel_capacity() -> usize {
    64
}
fn default_scrape_workers() -> usize {
    2
}
fn default_max_page_bytes() -> u64 {
    16 * 1024 * 1024
}
fn default_sink_batch() -> usize {
    256
}

impl Default for RawPipeline {
    fn default() -> Self {
        RawPipeline {
            channel_capacity: default_channel_capacity(),
            scrape_workers: default_scrape_workers(),
            max_page_bytes: default_max_page_bytes(),
            sink_batch: default_sink_batch(),
            drain_timeout: None,
            sink_linger: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFold {
    /// Lowest cross-lingual score at which a page can join another language's story.
    #[serde(default = "default_min_score")]
    pub min_score: f64,
    /// Languages preferred for a story's canonical member, best first.
    #[serde(default)]
    pub prefer_lang: Vec<String>,
    /// Documents older than this leave the index.
    #[serde(default, deserialize_with = "duration_opt")]
    pub window: Option<Duration>,
    /// Most documents the index holds; the oldest leave first.
    #[serde(default = "default_max_docs")]
    pub max_docs: usize,
}

fn default_max_docs() -> usize {
    crate::fold::index::Limits::default().max_docs
}

fn default_min_score() -> f64 {
    crate::fold::DEFAULT_MIN_SCORE
}

impl Default for RawFold {
    fn default() -> Self {
        RawFold {
            min_score: default_min_score(),
            prefer_lang: Vec::new(),
            window: None,
            max_docs: default_max_docs(),
        }
    }
}

/// `[fetch]`: the HTTP client every HTTP source shares.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFetch {
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Requests open at once, over all hosts.
    #[serde(default = "default_fetch_concurrency")]
    pub max_concurrency: usize,
    #[serde(default, deserialize_with = "duration_opt")]
    pub connect_timeout: Option<Duration>,
    /// Longest silence while reading a response.
    #[serde(default, deserialize_with = "duration_opt")]
    pub read_timeout: Option<Duration>,
    /// Longest time for one request, body included.
    #[serde(default, deserialize_with = "duration_opt")]
    pub timeout: Option<Duration>,
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// Retries of a transient failure, per URL and fetch.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first retry's delay; each next one doubles it (with jitter).
    #[serde(default, deserialize_with = "duration_opt")]
    pub backoff: Option<Duration>,
    /// A Retry-After longer than this ends the fetch instead of waiting.
    #[serde(default, deserialize_with = "duration_opt")]
    pub max_retry_after: Option<Duration>,
    /// Bodies larger than this (after decompression) are refused.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Obey robots.txt (allow/disallow and Crawl-delay).
    #[serde(default = "default_true")]
    pub robots: bool,
}

fn default_fetch_concurrency() -> usize {
    16
}
fn default_max_redirects() -> usize {
    5
}
fn default_retries() -> u32 {
    3
}
fn default_max_body_bytes() -> u64 {
    8 * 1024 * 1024
}
fn default_true() -> bool {
    true
}

impl Default for RawFetch {
    fn default() -> Self {
        RawFetch {
            user_agent: None,
            max_concurrency: default_fetch_concurrency(),
            connect_timeout: None,
            read_timeout: None,
            timeout: None,
            max_redirects: default_max_redirects(),
            retries: default_retries(),
            backoff: None,
            max_retry_after: None,
            max_body_bytes: default_max_body_bytes(),
            robots: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// An `EnvFilter` directive, checked.
    pub level: Option<String>,
    /// A failure that repeats is logged again at most this often (with the count left out).
    pub repeat_window: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    pub channel_capacity: NonZeroUsize,
    pub scrape_workers: NonZeroUsize,
    pub max_page_bytes: u64,
    pub sink_batch: NonZeroUsize,
    pub drain_timeout: Duration,
    pub sink_linger: Duration,
}

pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// `[fetch]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchSettings {
    pub user_agent: String,
    pub max_concurrency: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub timeout: Duration,
    pub max_redirects: usize,
    pub retries: u32,
    pub backoff: Duration,
    pub max_retry_after: Duration,
    pub max_body_bytes: u64,
    pub robots: bool,
}

pub const DEFAULT_USER_AGENT: &str = concat!(
    "newsfold/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/newsfold/newsfold)"
);

/// Longest User-Agent accepted: real ones are a few hundred bytes; a huge one is a mistake.
pub const MAX_USER_AGENT: usize = 512;

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: DEFAULT_USER_AGENT.to_string(),
            max_concurrency: default_fetch_concurrency(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            max_redirects: default_max_redirects(),
            retries: default_retries(),
            backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(600),
            max_body_bytes: default_max_body_bytes(),
            robots: true,
        }
    }
}

pub fn pipeline(cx: &mut Cx<'_>, raw: RawPipeline) -> PipelineSettings {
    let pipeline = PipelineSettings {
        channel_capacity: cx.nonzero("pipeline.channel_capacity", raw.channel_capacity),
        scrape_workers: cx.nonzero("pipeline.scrape_workers", raw.scrape_workers),
        max_page_bytes: raw.max_page_bytes,
        sink_batch: cx.nonzero("pipeline.sink_batch", raw.sink_batch),
        drain_timeout: raw.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT),
        sink_linger: raw.sink_linger.unwrap_or(Duration::ZERO),
    };
    if pipeline.sink_linger > Duration::from_secs(60) {
        cx.error("pipeline.sink_linger", "must be at most 60s");
    }
    if pipeline.scrape_workers.get() > 256 {
        cx.error("pipeline.scrape_workers", "must be at most 256");
    }
    if pipeline.max_page_bytes == 0 {
        cx.error("pipeline.max_page_bytes", "must be at least 1");
    }
    pipeline
}

pub fn fold(cx: &mut Cx<'_>, raw: RawFold) -> crate::fold::FoldOptions {
    if !(0.0..=1.0).contains(&raw.min_score) {
        cx.error("fold.min_score", "must be between 0 and 1");
    }
    let mut prefer_lang = Vec::new();
    for l in &raw.prefer_lang {
        match Lang::from_code(l) {
            Some(lang) if !prefer_lang.contains(&lang) => prefer_lang.push(lang),
            Some(_) => cx.error("fold.prefer_lang", format!("{l:?} is listed twice")),
            None => cx.error(
                "fold.prefer_lang",
                format!(
                    "unknown language {}, expected one of {}",
                    super::preview(l),
                    Lang::expected()
                ),
            ),
        }
    }
    if raw.max_docs == 0 {
        cx.error("fold.max_docs", "must be at least 1");
    }
    let window_secs = match raw.window {
        Some(w) if w.as_secs() == 0 => {
            cx.error("fold.window", "must be at least one second");
            0
        }
        Some(w) => i64::try_from(w.as_secs()).unwrap_or(i64::MAX),
        None => 0,
    };
    crate::fold::FoldOptions {
        min_score: raw.min_score,
        prefer_lang,
        limits: crate::fold::index::Limits {
            max_docs: raw.max_docs.max(1),
            window_secs,
        },
    }
}

/// `[api] token`: expanded, printable ASCII without spaces, 16 to 512 bytes. The value never
/// appears in an error.
pub fn api_token(cx: &mut Cx<'_>, raw: &RawApi) -> Option<Secret> {
    let t = raw.token.as_deref()?;
    let t = cx.expand_env("api.token", t);
    if t.len() < MIN_TOKEN || t.len() > 512 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        cx.error(
            "api.token",
            format!("must be {MIN_TOKEN} to 512 printable characters without spaces (the value is not shown)"),
        );
        return None;
    }
    Some(Secret(t))
}

pub fn api(cx: &mut Cx<'_>, raw: &RawApi) -> Option<std::net::SocketAddr> {
    let l = match super::env::expand(raw.listen.as_deref()?) {
        Ok(l) => l,
        Err(errors) => {
            for e in errors {
                cx.error("api.listen", e);
            }
            return None;
        }
    };
    match l.parse::<std::net::SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            cx.error(
                "api.listen",
                format!(
                    "{} is not an address and port, e.g. \"127.0.0.1:9464\"",
                    super::preview(&l)
                ),
            );
            None
        }
    }
}

pub fn api_limits(cx: &mut Cx<'_>, raw: &RawApi) -> ApiLimits {
    let d = ApiLimits::default();
    let limits = ApiLimits {
        header_timeout: raw.header_timeout.unwrap_or(d.header_timeout),
        max_connections: raw.max_connections.unwrap_or(d.max_connections),
    };
    if limits.header_timeout.is_zero() {
        cx.error("api.header_timeout", "must be longer than zero");
    }
    if !(1..=65_536).contains(&limits.max_connections) {
        cx.error("api.max_connections", "must be between 1 and 65536");
    }
    limits
}

pub fn log(cx: &mut Cx<'_>, raw: RawLog) -> LogSettings {
    let log = LogSettings {
        level: raw.level,
        repeat_window: raw.repeat_window.unwrap_or(crate::repeats::DEFAULT_WINDOW),
    };
    if let Some(level) = &log.level
        && let Err(e) = tracing_subscriber::EnvFilter::try_new(level)
    {
        cx.error("log.level", format!("invalid filter {}: {e}", super::preview(level)));
    }
    if log.repeat_window.is_zero() {
        cx.error("log.repeat_window", "must be longer than zero");
    }
    log
}

pub fn fetch(cx: &mut Cx<'_>, f: RawFetch) -> FetchSettings {
    let d = FetchSettings::default();
    let positive = |cx: &mut Cx<'_>, key: &str, v: Option<Duration>, default: Duration| {
        let v = v.unwrap_or(default);
        if v.is_zero() {
            cx.error(key, "must be longer than zero");
        }
        v
    };
    let settings = FetchSettings {
        user_agent: f.user_agent.clone().unwrap_or(d.user_agent.clone()),
        max_concurrency: f.max_concurrency,
        connect_timeout: positive(cx, "fetch.connect_timeout", f.connect_timeout, d.connect_timeout),
        read_timeout: positive(cx, "fetch.read_timeout", f.read_timeout, d.read_timeout),
        timeout: positive(cx, "fetch.timeout", f.timeout, d.timeout),
        max_redirects: f.max_redirects,
        retries: f.retries,
        backoff: positive(cx, "fetch.backoff", f.backoff, d.backoff),
        max_retry_after: f.max_retry_after.unwrap_or(d.max_retry_after),
        max_body_bytes: f.max_body_bytes,
        robots: f.robots,
    };
    check_user_agent(cx, "fetch.user_agent", &settings.user_agent);
    if settings.max_concurrency == 0 || settings.max_concurrency > 1024 {
        cx.error("fetch.max_concurrency", "must be between 1 and 1024");
    }
    if settings.max_redirects > 20 {
        cx.error("fetch.max_redirects", "must be at most 20");
    }
    if settings.retries > 10 {
        cx.error("fetch.retries", "must be at most 10");
    }
    if settings.max_body_bytes == 0 {
        cx.error("fetch.max_body_bytes", "must be at least 1");
    }
    settings
}

/// A User-Agent must be a short, printable header value.
pub fn check_user_agent(cx: &mut Cx<'_>, key: &str, ua: &str) {
    if ua.len() > MAX_USER_AGENT {
        cx.error(key, format!("is {} bytes; at most {MAX_USER_AGENT}", ua.len()));
    } else if ua.trim().is_empty() || reqwest::header::HeaderValue::from_str(ua).is_err() {
        cx.error(key, "must be a non-empty header value (printable ASCII)");
    }
}
