//! The TOML configuration: parse → validate, in that order, with every error located.
//!
//! Parsing reads the document once into toml's spanned tree and deserializes each section on its
//! own (one error per section at most, from serde), so a typo in one source does not hide a typo in
//! another. Validation then checks what serde cannot (paths, patterns, ranges) and reports every
//! problem it finds. Each error carries file, line, column and the dotted key path. Building the
//! running pipeline from a `Config` is `pipeline`'s job, not this module's.
//!
//! Invariant: a `Config` only exists when both steps found nothing wrong; relative paths in it are
//! already resolved against the config file's folder.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::model::Lang;

/// The exit code for a bad config (EX_CONFIG from sysexits.h).
pub const EXIT_CONFIG: i32 = 78;

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; absent when the file could not be read at all.
    pub position: Option<(usize, usize)>,
    /// Dotted key path, such as `sources.seeds.glob`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one config file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------------------------
// Raw (as written) configuration

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default = "default_state_path")]
    pub path: PathBuf,
}

fn default_state_path() -> PathBuf {
    PathBuf::from("data/state.sqlite")
}

/// `[api]`: the HTTP endpoint of `run` (metrics, health, status page). Off unless `listen` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<String>,
}

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
    /// Pages larger than this are refused before they are read.
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

/// One or several glob patterns.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Globs {
    One(String),
    Many(Vec<String>),
}

impl Globs {
    fn into_vec(self) -> Vec<String> {
        match self {
            Globs::One(s) => vec![s],
            Globs::Many(v) => v,
        }
    }
}

/// `type = "files"`: a folder of saved pages (`.txt` article text or `.html`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilesSource {
    pub path: PathBuf,
    #[serde(default)]
    pub glob: Option<Globs>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub interval: Option<Duration>,
}

/// `type = "feed" | "sitemap" | "listing" | "pages"`: pages fetched over HTTP. One struct holds
/// every HTTP source's keys; validation refuses the ones a kind does not take.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpSource {
    /// The feed, sitemap or listing page (`feed`, `sitemap`, `listing`).
    #[serde(default)]
    pub url: Option<String>,
    /// The article pages (`pages`).
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    /// CSS selector of article links on a listing page (`listing`).
    #[serde(default)]
    pub links: Option<String>,
    /// CSS selector of the next listing page's link (`listing`).
    #[serde(default)]
    pub next: Option<String>,
    /// Listing pages followed per poll, the first included (`listing`).
    #[serde(default)]
    pub max_pages: Option<usize>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub interval: Option<Duration>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    #[serde(default)]
    pub allow_private: bool,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub min_delay: Option<Duration>,
    /// Re-fetch articles delivered longer ago than this (with ETag/Last-Modified); never if unset.
    #[serde(default, deserialize_with = "duration_opt")]
    pub refresh: Option<Duration>,
    /// CSS rules for this source's article pages.
    #[serde(default)]
    pub extract: Option<RawExtract>,
}

/// `[sources.NAME.extract]`: `selector` or `selector@attribute` per field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExtract {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub authors: Option<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// The closed set of source kinds, by their `type` key.
#[derive(Debug)]
pub enum RawSource {
    Files(RawFilesSource),
    Http(HttpKindName, Box<RawHttpSource>),
}

/// Which HTTP source a `RawHttpSource` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpKindName {
    Feed,
    Sitemap,
    Listing,
    Pages,
}

pub const SOURCE_TYPES: &[&str] = &["files", "feed", "sitemap", "listing", "pages"];

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    /// Every record, with its relation and `duplicate_of`.
    #[default]
    Mark,
    /// One record per story: the original only.
    Drop,
}

/// `type = "jsonl"`: one JSON record a line, to a file or stdout (`-`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJsonlSink {
    pub path: String,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    #[serde(default)]
    pub fsync: Fsync,
    /// Rotate the file once it reaches this many bytes; 0 never rotates.
    #[serde(default)]
    pub rotate_bytes: u64,
}

/// When a file sink forces its writes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// Leave it to the OS (a flushed batch survives a crash of newsfold, not of the machine).
    #[default]
    Never,
    /// `fsync` every batch before acknowledging it.
    Batch,
}

/// `type = "sqlite"`: records in a table of an embedded SQLite file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSqliteSink {
    pub path: String,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

/// `type = "postgres"`: records in a PostgreSQL table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgresSink {
    pub url: String,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

/// `type = "nats"`: records published to NATS JetStream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNatsSink {
    pub url: String,
    pub stream: String,
    #[serde(default = "default_subject")]
    pub subject: String,
    #[serde(default = "default_true")]
    pub create_stream: bool,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

fn default_subject() -> String {
    "news.{source}.{lang}".to_string()
}

fn default_true() -> bool {
    true
}

/// `type = "webhook"`: batches POSTed as JSON, signed with `secret`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhookSink {
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

/// The closed set of sink kinds, by their `type` key.
#[derive(Debug)]
pub enum RawSink {
    Webhook(RawWebhookSink),
    Nats(RawNatsSink),
    Jsonl(RawJsonlSink),
    Sqlite(RawSqliteSink),
    Postgres(RawPostgresSink),
}

pub const SINK_TYPES: &[&str] = &["jsonl", "sqlite", "postgres", "nats", "webhook"];

fn duration_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e} (try \"30s\", \"10m\")")))
}

// ---------------------------------------------------------------------------------------------
// Validated configuration

#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub state_path: PathBuf,
    /// `[api] listen`: where `run` serves /metrics, /healthz, /readyz and the status page.
    pub api_listen: Option<std::net::SocketAddr>,
    pub log: LogSettings,
    pub pipeline: PipelineSettings,
    pub fold: crate::fold::FoldOptions,
    pub fetch: FetchSettings,
    pub sources: Vec<SourceSpec>,
    pub sinks: Vec<SinkSpec>,
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

/// Compared on reload: a source whose spec changed is restarted.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub id: String,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    Files(FilesSettings),
    Http(HttpSettings),
}

/// How an HTTP source finds its article URLs.
#[derive(Debug, Clone, PartialEq)]
pub enum Discover {
    Feed(url::Url),
    Sitemap(url::Url),
    Listing {
        url: url::Url,
        links: String,
        next: String,
        max_pages: usize,
    },
    Pages(Vec<url::Url>),
}

impl Discover {
    /// The URLs the source was configured with; their hosts are the source's own.
    pub fn configured(&self) -> Vec<&url::Url> {
        match self {
            Discover::Feed(u) | Discover::Sitemap(u) | Discover::Listing { url: u, .. } => vec![u],
            Discover::Pages(v) => v.iter().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub discover: Discover,
    pub interval: Duration,
    pub lang: Option<Lang>,
    pub allow_hosts: Vec<String>,
    pub allow_private: bool,
    pub user_agent: String,
    /// Requests open at once to one host.
    pub max_concurrency: usize,
    pub min_delay: Duration,
    pub refresh: Option<Duration>,
    pub extract: Option<std::sync::Arc<crate::scrape::rules::Rules>>,
}

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
pub const DEFAULT_HTTP_INTERVAL: Duration = Duration::from_secs(600);
pub const DEFAULT_MIN_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_LISTING_NEXT: &str = "a[rel=next], link[rel=next]";

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

#[derive(Debug, Clone, PartialEq)]
pub struct FilesSettings {
    pub dir: PathBuf,
    pub patterns: Vec<glob::Pattern>,
    pub lang: Option<Lang>,
    /// How often `run` rescans the folder.
    pub interval: Duration,
}

pub const DEFAULT_FILES_GLOBS: &[&str] = &["*.txt", "*.html", "*.htm"];
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
pub struct SinkSpec {
    pub id: String,
    pub duplicates: DuplicatePolicy,
    pub kind: SinkKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    Jsonl(JsonlSettings),
    Sqlite {
        path: PathBuf,
        table: String,
    },
    /// `url` may hold a password: never log it (see `sinks::sql::redact`).
    Postgres {
        url: String,
        table: String,
    },
    Nats {
        url: String,
        stream: String,
        subject: String,
        create_stream: bool,
    },
    /// `secret` is never logged.
    Webhook {
        url: String,
        secret: Option<String>,
        timeout: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonlTarget {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonlSettings {
    pub target: JsonlTarget,
    pub fsync: Fsync,
    pub rotate_bytes: u64,
}

impl Config {
    /// Where sinks write records they reject for good: beside the state store.
    pub fn dead_letter_dir(&self) -> PathBuf {
        self.state_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join("dead-letter")
    }

    pub fn writes_stdout(&self) -> bool {
        self.sinks.iter().any(|s| match &s.kind {
            SinkKind::Jsonl(j) => matches!(j.target, JsonlTarget::Stdout),
            SinkKind::Sqlite { .. } | SinkKind::Postgres { .. } | SinkKind::Nats { .. } | SinkKind::Webhook { .. } => {
                false
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Parse + validate

/// Reads, parses and validates a config file.
pub fn load(file: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            position: None,
            key: String::new(),
            message: format!("cannot read config: {e}"),
        }])
    })?;
    from_str(&text, file)
}

/// Parses and validates config text as if it were read from `file` (which sets the base folder).
pub fn from_str(text: &str, file: &Path) -> Result<Config, ConfigErrors> {
    let mut cx = Cx {
        file: file.to_path_buf(),
        text,
        spans: HashMap::new(),
        errors: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            cx.toml_error("", e, 0..0);
            return Err(cx.finish());
        }
    };
    index_spans(&mut cx.spans, "", doc.get_ref());
    let raw = parse_document(&mut cx, doc);
    let base = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    // Validation runs on whatever parsed, so one report holds both kinds of error.
    let config = validate(&mut cx, raw, &base);
    if cx.errors.is_empty() {
        Ok(config)
    } else {
        Err(cx.finish())
    }
}

struct Cx<'t> {
    file: PathBuf,
    text: &'t str,
    spans: HashMap<String, Range<usize>>,
    errors: Vec<(usize, ConfigError)>,
}

impl Cx<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    fn error_at(&mut self, key: &str, span: Range<usize>, message: impl Into<String>) {
        let position = self.position(span.start);
        self.errors.push((
            span.start,
            ConfigError {
                file: self.file.clone(),
                position: Some(position),
                key: key.to_string(),
                message: message.into(),
            },
        ));
    }

    /// An error about a key, located at the key's value (or its nearest located parent).
    fn error(&mut self, key: &str, message: impl Into<String>) {
        let mut probe = key.to_string();
        let span = loop {
            if let Some(span) = self.spans.get(&probe) {
                break span.clone();
            }
            match probe.rfind('.') {
                Some(i) => probe.truncate(i),
                None => break 0..0,
            }
        };
        self.error_at(key, span, message);
    }

    fn toml_error(&mut self, key: &str, e: toml::de::Error, fallback: Range<usize>) {
        let span = e.span().unwrap_or(fallback);
        self.error_at(key, span, e.message().to_string());
    }

    fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|(offset, _)| *offset);
        ConfigErrors(self.errors.into_iter().map(|(_, e)| e).collect())
    }
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn index_spans(spans: &mut HashMap<String, Range<usize>>, prefix: &str, table: &DeTable<'_>) {
    for (k, v) in table.iter() {
        let key = join_key(prefix, k.get_ref());
        spans.insert(key.clone(), v.span());
        if let Some(t) = v.get_ref().as_table() {
            index_spans(spans, &key, t);
        }
    }
}

struct RawConfig {
    state: RawState,
    api: RawApi,
    log: RawLog,
    pipeline: RawPipeline,
    fold: RawFold,
    fetch: RawFetch,
    sources: BTreeMap<String, RawSource>,
    sinks: BTreeMap<String, RawSink>,
}

/// Deserializes one section, recording its first error with the full key path.
fn section<T: DeserializeOwned>(cx: &mut Cx<'_>, key: &str, value: Spanned<DeValue<'_>>) -> Option<T> {
    let span = value.span();
    match serde_path_to_error::deserialize::<_, T>(ValueDeserializer::from(value)) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner_path = e.path().to_string();
            let full = if inner_path == "." || inner_path.is_empty() {
                key.to_string()
            } else {
                join_key(key, &inner_path)
            };
            cx.toml_error(&full, e.into_inner(), span);
            None
        }
    }
}

fn parse_document(cx: &mut Cx<'_>, doc: Spanned<DeTable<'_>>) -> RawConfig {
    let mut raw = RawConfig {
        state: RawState {
            path: default_state_path(),
        },
        api: RawApi::default(),
        log: RawLog::default(),
        pipeline: RawPipeline::default(),
        fold: RawFold::default(),
        fetch: RawFetch::default(),
        sources: BTreeMap::new(),
        sinks: BTreeMap::new(),
    };
    // A section that fails to parse keeps its defaults; its error is already recorded.
    for (k, v) in doc.into_inner() {
        match k.get_ref().as_ref() {
            "state" => raw.state = section(cx, "state", v).unwrap_or(raw.state),
            "api" => raw.api = section(cx, "api", v).unwrap_or(raw.api),
            "log" => raw.log = section(cx, "log", v).unwrap_or(raw.log),
            "pipeline" => raw.pipeline = section(cx, "pipeline", v).unwrap_or(raw.pipeline),
            "fold" => raw.fold = section(cx, "fold", v).unwrap_or(raw.fold),
            "fetch" => raw.fetch = section(cx, "fetch", v).unwrap_or(raw.fetch),
            "sources" => typed_sections(cx, "sources", v, SOURCE_TYPES, parse_source, &mut raw.sources),
            "sinks" => typed_sections(cx, "sinks", v, SINK_TYPES, parse_sink, &mut raw.sinks),
            other => cx.error_at(
                other,
                k.span(),
                format!("unknown section `{other}`, expected one of `state`, `api`, `log`, `pipeline`, `fold`, `fetch`, `sources`, `sinks`"),
            ),
        }
    }
    raw
}

fn parse_source(cx: &mut Cx<'_>, key: &str, kind: &str, v: Spanned<DeValue<'_>>) -> Option<RawSource> {
    match kind {
        "files" => section(cx, key, v).map(RawSource::Files),
        "feed" => section(cx, key, v).map(|h| RawSource::Http(HttpKindName::Feed, Box::new(h))),
        "sitemap" => section(cx, key, v).map(|h| RawSource::Http(HttpKindName::Sitemap, Box::new(h))),
        "listing" => section(cx, key, v).map(|h| RawSource::Http(HttpKindName::Listing, Box::new(h))),
        "pages" => section(cx, key, v).map(|h| RawSource::Http(HttpKindName::Pages, Box::new(h))),
        _ => None,
    }
}

fn parse_sink(cx: &mut Cx<'_>, key: &str, kind: &str, v: Spanned<DeValue<'_>>) -> Option<RawSink> {
    match kind {
        "jsonl" => section(cx, key, v).map(RawSink::Jsonl),
        "sqlite" => section(cx, key, v).map(RawSink::Sqlite),
        "postgres" => section(cx, key, v).map(RawSink::Postgres),
        "nats" => section(cx, key, v).map(RawSink::Nats),
        "webhook" => section(cx, key, v).map(RawSink::Webhook),
        _ => None,
    }
}

type ParseKind<T> = fn(&mut Cx<'_>, &str, &str, Spanned<DeValue<'_>>) -> Option<T>;

/// `[sources.NAME]` / `[sinks.NAME]`: tables tagged by `type`, each parsed on its own.
fn typed_sections<T>(
    cx: &mut Cx<'_>,
    prefix: &str,
    value: Spanned<DeValue<'_>>,
    types: &[&str],
    parse: ParseKind<T>,
    out: &mut BTreeMap<String, T>,
) {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        cx.error_at(prefix, span, format!("`{prefix}` must be a table of named tables"));
        return;
    };
    for (name, v) in table {
        let key = join_key(prefix, name.get_ref());
        let vspan = v.span();
        let DeValue::Table(mut t) = v.into_inner() else {
            cx.error_at(&key, vspan, "expected a table");
            continue;
        };
        let expected = types.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
        let kind = match t.remove("type") {
            None => {
                cx.error_at(
                    &key,
                    vspan.clone(),
                    format!("missing `type`, expected one of {expected}"),
                );
                continue;
            }
            Some(tv) => match tv.get_ref().as_str() {
                Some(s) if types.contains(&s) => s.to_string(),
                _ => {
                    let shown = tv
                        .get_ref()
                        .as_str()
                        .map(|s| format!("`{s}`"))
                        .unwrap_or_else(|| "a non-string".into());
                    cx.error_at(
                        &format!("{key}.type"),
                        tv.span(),
                        format!(
                            "unknown {} type {shown}, expected one of {expected}",
                            prefix.trim_end_matches('s')
                        ),
                    );
                    continue;
                }
            },
        };
        if let Some(parsed) = parse(cx, &key, &kind, Spanned::new(vspan, DeValue::Table(t))) {
            out.insert(name.get_ref().to_string(), parsed);
        }
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
}

fn nonzero(cx: &mut Cx<'_>, key: &str, v: usize) -> NonZeroUsize {
    NonZeroUsize::new(v).unwrap_or_else(|| {
        cx.error(key, "must be at least 1");
        NonZeroUsize::MIN
    })
}

fn validate(cx: &mut Cx<'_>, raw: RawConfig, base: &Path) -> Config {
    let pipeline = PipelineSettings {
        channel_capacity: nonzero(cx, "pipeline.channel_capacity", raw.pipeline.channel_capacity),
        scrape_workers: nonzero(cx, "pipeline.scrape_workers", raw.pipeline.scrape_workers),
        max_page_bytes: raw.pipeline.max_page_bytes,
        sink_batch: nonzero(cx, "pipeline.sink_batch", raw.pipeline.sink_batch),
        drain_timeout: raw.pipeline.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT),
        sink_linger: raw.pipeline.sink_linger.unwrap_or(Duration::ZERO),
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
    if !(0.0..=1.0).contains(&raw.fold.min_score) {
        cx.error("fold.min_score", "must be between 0 and 1");
    }
    let mut prefer_lang = Vec::new();
    for l in &raw.fold.prefer_lang {
        match Lang::from_code(l) {
            Some(lang) if !prefer_lang.contains(&lang) => prefer_lang.push(lang),
            Some(_) => cx.error("fold.prefer_lang", format!("{l:?} is listed twice")),
            None => cx.error(
                "fold.prefer_lang",
                format!("unknown language {l:?}, expected \"vi\", \"fr\" or \"en\""),
            ),
        }
    }
    if raw.fold.max_docs == 0 {
        cx.error("fold.max_docs", "must be at least 1");
    }
    let window_secs = match raw.fold.window {
        Some(w) if w.as_secs() == 0 => {
            cx.error("fold.window", "must be at least one second");
            0
        }
        Some(w) => i64::try_from(w.as_secs()).unwrap_or(i64::MAX),
        None => 0,
    };
    let fold = crate::fold::FoldOptions {
        min_score: raw.fold.min_score,
        prefer_lang,
        limits: crate::fold::index::Limits {
            max_docs: raw.fold.max_docs.max(1),
            window_secs,
        },
    };

    let fetch = validate_fetch(cx, raw.fetch);
    let api_listen = raw
        .api
        .listen
        .as_deref()
        .and_then(|l| match l.parse::<std::net::SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                cx.error(
                    "api.listen",
                    format!("{l:?} is not an address and port, e.g. \"127.0.0.1:9464\""),
                );
                None
            }
        });
    let log = LogSettings {
        level: raw.log.level.clone(),
        repeat_window: raw.log.repeat_window.unwrap_or(crate::repeats::DEFAULT_WINDOW),
    };
    if let Some(level) = &log.level
        && let Err(e) = tracing_subscriber::EnvFilter::try_new(level)
    {
        cx.error("log.level", format!("invalid filter {level:?}: {e}"));
    }
    if log.repeat_window.is_zero() {
        cx.error("log.repeat_window", "must be longer than zero");
    }

    // An empty list is an error unless its entries are missing because they failed to parse.
    let failed_under = |cx: &Cx<'_>, prefix: &str| cx.errors.iter().any(|(_, e)| e.key.starts_with(prefix));
    if raw.sources.is_empty() && !failed_under(cx, "sources") {
        cx.error_at(
            "sources",
            0..0,
            "no sources configured: add at least one [sources.NAME] table",
        );
    }
    if raw.sinks.is_empty() && !failed_under(cx, "sinks") {
        cx.error_at(
            "sinks",
            0..0,
            "no sinks configured: add at least one [sinks.NAME] table",
        );
    }

    let mut sources = Vec::new();
    for (id, src) in raw.sources {
        let key = format!("sources.{id}");
        check_id(cx, &key, &id);
        match src {
            RawSource::Files(f) => {
                let raw_path = expand_env(cx, &format!("{key}.path"), &f.path.to_string_lossy());
                let dir = resolve(base, Path::new(&raw_path));
                if !dir.is_dir() {
                    cx.error(&format!("{key}.path"), format!("no such directory: {}", dir.display()));
                }
                let globs = f
                    .glob
                    .map(Globs::into_vec)
                    .unwrap_or_else(|| DEFAULT_FILES_GLOBS.iter().map(|s| s.to_string()).collect());
                if globs.is_empty() {
                    cx.error(&format!("{key}.glob"), "needs at least one pattern");
                }
                let mut patterns = Vec::new();
                for g in &globs {
                    match glob::Pattern::new(g) {
                        Ok(p) => patterns.push(p),
                        Err(e) => cx.error(&format!("{key}.glob"), format!("invalid pattern {g:?}: {e}")),
                    }
                }
                let lang = source_lang(cx, &key, f.lang.as_deref());
                let interval = f.interval.unwrap_or(DEFAULT_POLL_INTERVAL);
                if interval.is_zero() {
                    cx.error(&format!("{key}.interval"), "must be longer than zero");
                }
                sources.push(SourceSpec {
                    id,
                    kind: SourceKind::Files(FilesSettings {
                        dir,
                        patterns,
                        lang,
                        interval,
                    }),
                });
            }
            RawSource::Http(kind, h) => {
                if let Some(settings) = validate_http(cx, &key, kind, *h, &fetch) {
                    sources.push(SourceSpec {
                        id,
                        kind: SourceKind::Http(settings),
                    });
                }
            }
        }
    }

    let mut sinks = Vec::new();
    for (id, sink) in raw.sinks {
        let key = format!("sinks.{id}");
        check_id(cx, &key, &id);
        match sink {
            RawSink::Sqlite(q) => {
                let path = expand_env(cx, &format!("{key}.path"), &q.path);
                let table = sink_table(cx, &key, q.table);
                sinks.push(SinkSpec {
                    id,
                    duplicates: q.duplicates,
                    kind: SinkKind::Sqlite {
                        path: resolve(base, Path::new(&path)),
                        table,
                    },
                });
            }
            RawSink::Postgres(pg) => {
                let url = expand_env(cx, &format!("{key}.url"), &pg.url);
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    cx.error(&format!("{key}.url"), "must start with postgres:// or postgresql://");
                }
                let table = sink_table(cx, &key, pg.table);
                sinks.push(SinkSpec {
                    id,
                    duplicates: pg.duplicates,
                    kind: SinkKind::Postgres { url, table },
                });
            }
            RawSink::Webhook(w) => {
                let url = expand_env(cx, &format!("{key}.url"), &w.url);
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    cx.error(&format!("{key}.url"), "must start with http:// or https://");
                }
                let secret = w.secret.as_deref().map(|s| expand_env(cx, &format!("{key}.secret"), s));
                if secret.as_deref() == Some("") {
                    cx.error(
                        &format!("{key}.secret"),
                        "is empty; leave it out to send unsigned batches",
                    );
                }
                let timeout = w.timeout.unwrap_or(Duration::from_secs(10));
                if timeout.is_zero() {
                    cx.error(&format!("{key}.timeout"), "must be longer than zero");
                }
                sinks.push(SinkSpec {
                    id,
                    duplicates: w.duplicates,
                    kind: SinkKind::Webhook { url, secret, timeout },
                });
            }
            RawSink::Nats(n) => {
                let url = expand_env(cx, &format!("{key}.url"), &n.url);
                if !(url.starts_with("nats://") || url.starts_with("tls://")) {
                    cx.error(&format!("{key}.url"), "must start with nats:// or tls://");
                }
                let stream_ok = !n.stream.is_empty()
                    && n.stream
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !stream_ok {
                    cx.error(&format!("{key}.stream"), "must be letters, digits, '-' or '_'");
                }
                if !crate::sinks::nats::valid_subject(&n.subject) {
                    cx.error(
                        &format!("{key}.subject"),
                        format!("{:?} is not a subject template: dot-separated tokens, with {{source}} and {{lang}} as whole tokens", n.subject),
                    );
                }
                sinks.push(SinkSpec {
                    id,
                    duplicates: n.duplicates,
                    kind: SinkKind::Nats {
                        url,
                        stream: n.stream,
                        subject: n.subject,
                        create_stream: n.create_stream,
                    },
                });
            }
            RawSink::Jsonl(mut j) => {
                j.path = expand_env(cx, &format!("{key}.path"), &j.path);
                let target = if j.path == "-" {
                    JsonlTarget::Stdout
                } else if j.path.trim().is_empty() {
                    cx.error(&format!("{key}.path"), "must not be empty (use \"-\" for stdout)");
                    JsonlTarget::Stdout
                } else {
                    JsonlTarget::File(resolve(base, Path::new(&j.path)))
                };
                sinks.push(SinkSpec {
                    id,
                    duplicates: j.duplicates,
                    kind: SinkKind::Jsonl(JsonlSettings {
                        target,
                        fsync: j.fsync,
                        rotate_bytes: j.rotate_bytes,
                    }),
                });
            }
        }
    }
    let stdout_sinks = sinks
        .iter()
        .filter(|s| {
            matches!(
                &s.kind,
                SinkKind::Jsonl(JsonlSettings {
                    target: JsonlTarget::Stdout,
                    ..
                })
            )
        })
        .count();
    if stdout_sinks > 1 {
        cx.error_at("sinks", 0..0, "at most one sink may write to stdout (path \"-\")");
    }

    Config {
        file: cx.file.clone(),
        state_path: resolve(base, &raw.state.path),
        api_listen,
        log,
        pipeline,
        fold,
        fetch,
        sources,
        sinks,
    }
}

fn source_lang(cx: &mut Cx<'_>, key: &str, lang: Option<&str>) -> Option<Lang> {
    let l = lang?;
    let parsed = Lang::from_code(l);
    if parsed.is_none() {
        cx.error(
            &format!("{key}.lang"),
            format!("unknown language {l:?}, expected one of \"vi\", \"fr\", \"en\""),
        );
    }
    parsed
}

fn validate_fetch(cx: &mut Cx<'_>, f: RawFetch) -> FetchSettings {
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

fn check_user_agent(cx: &mut Cx<'_>, key: &str, ua: &str) {
    if ua.trim().is_empty() || reqwest::header::HeaderValue::from_str(ua).is_err() {
        cx.error(key, "must be a non-empty header value (printable ASCII)");
    }
}

fn http_url(cx: &mut Cx<'_>, key: &str, raw: &str) -> Option<url::Url> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => crate::fetch::urls::normalize(u),
        Ok(_) => {
            cx.error(key, format!("{raw:?} must be an http:// or https:// URL with a host"));
            None
        }
        Err(e) => {
            cx.error(key, format!("{raw:?} is not a URL: {e}"));
            None
        }
    }
}

fn selector(cx: &mut Cx<'_>, key: &str, css: &str) {
    if let Err(e) = scraper::Selector::parse(css) {
        cx.error(key, format!("invalid CSS selector {css:?}: {e}"));
    }
}

fn extract_rules(cx: &mut Cx<'_>, key: &str, e: RawExtract) -> crate::scrape::rules::Rules {
    use crate::scrape::rules::Pick;
    let pick = |cx: &mut Cx<'_>, field: &str, spec: &str| match Pick::parse(spec) {
        Ok(p) => Some(p),
        Err(msg) => {
            cx.error(&format!("{key}.extract.{field}"), msg);
            None
        }
    };
    crate::scrape::rules::Rules {
        title: e.title.as_deref().and_then(|s| pick(cx, "title", s)),
        body: e.body.as_deref().and_then(|s| pick(cx, "body", s)),
        date: e.date.as_deref().and_then(|s| pick(cx, "date", s)),
        authors: e.authors.as_deref().and_then(|s| pick(cx, "authors", s)),
        remove: e.remove.iter().filter_map(|s| pick(cx, "remove", s)).collect(),
    }
}

fn validate_http(
    cx: &mut Cx<'_>,
    key: &str,
    kind: HttpKindName,
    h: RawHttpSource,
    fetch: &FetchSettings,
) -> Option<HttpSettings> {
    let name = match kind {
        HttpKindName::Feed => "feed",
        HttpKindName::Sitemap => "sitemap",
        HttpKindName::Listing => "listing",
        HttpKindName::Pages => "pages",
    };
    let only = |cx: &mut Cx<'_>, field: &str, present: bool, kinds: &str| {
        if present {
            cx.error(
                &format!("{key}.{field}"),
                format!("is not a key of {name} sources (only of {kinds})"),
            );
        }
    };
    if kind != HttpKindName::Listing {
        only(cx, "links", h.links.is_some(), "listing");
        only(cx, "next", h.next.is_some(), "listing");
        only(cx, "max_pages", h.max_pages.is_some(), "listing");
    }
    if kind == HttpKindName::Pages {
        only(
            cx,
            "url",
            h.url.is_some(),
            "feed, sitemap and listing; pages take `urls`",
        );
    } else {
        only(cx, "urls", h.urls.is_some(), "pages; this kind takes `url`");
    }
    let url_key = format!("{key}.url");
    let one_url = |cx: &mut Cx<'_>| match &h.url {
        Some(u) => {
            let u = expand_env(cx, &url_key, u);
            http_url(cx, &url_key, &u)
        }
        None => {
            cx.error(key, format!("missing `url`: the {name} to read"));
            None
        }
    };
    let discover = match kind {
        HttpKindName::Feed => one_url(cx).map(Discover::Feed),
        HttpKindName::Sitemap => one_url(cx).map(Discover::Sitemap),
        HttpKindName::Listing => {
            let url = one_url(cx);
            let links = match &h.links {
                Some(l) => {
                    selector(cx, &format!("{key}.links"), l);
                    l.clone()
                }
                None => {
                    cx.error(key, "missing `links`: the CSS selector of article links");
                    String::new()
                }
            };
            let next = h.next.clone().unwrap_or_else(|| DEFAULT_LISTING_NEXT.to_string());
            selector(cx, &format!("{key}.next"), &next);
            let max_pages = h.max_pages.unwrap_or(1);
            if !(1..=100).contains(&max_pages) {
                cx.error(&format!("{key}.max_pages"), "must be between 1 and 100");
            }
            url.map(|url| Discover::Listing {
                url,
                links,
                next,
                max_pages,
            })
        }
        HttpKindName::Pages => match &h.urls {
            Some(list) if !list.is_empty() => {
                let k = format!("{key}.urls");
                let parsed: Vec<url::Url> = list
                    .iter()
                    .filter_map(|u| {
                        let u = expand_env(cx, &k, u);
                        http_url(cx, &k, &u)
                    })
                    .collect();
                (parsed.len() == list.len()).then_some(Discover::Pages(parsed))
            }
            Some(_) => {
                cx.error(&format!("{key}.urls"), "needs at least one URL");
                None
            }
            None => {
                cx.error(key, "missing `urls`: the pages to fetch");
                None
            }
        },
    };
    let interval = h.interval.unwrap_or(DEFAULT_HTTP_INTERVAL);
    if interval < Duration::from_secs(1) {
        cx.error(&format!("{key}.interval"), "must be at least 1s");
    }
    let user_agent = h.user_agent.clone().unwrap_or_else(|| fetch.user_agent.clone());
    check_user_agent(cx, &format!("{key}.user_agent"), &user_agent);
    let max_concurrency = h.max_concurrency.unwrap_or(1);
    if !(1..=64).contains(&max_concurrency) {
        cx.error(&format!("{key}.max_concurrency"), "must be between 1 and 64");
    }
    let mut allow_hosts = Vec::new();
    for host in &h.allow_hosts {
        let ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        if ok {
            allow_hosts.push(host.to_ascii_lowercase());
        } else {
            cx.error(&format!("{key}.allow_hosts"), format!("{host:?} is not a host name"));
        }
    }
    if h.refresh.is_some_and(|r| r < Duration::from_secs(60)) {
        cx.error(&format!("{key}.refresh"), "must be at least 1m");
    }
    Some(HttpSettings {
        discover: discover?,
        interval,
        lang: source_lang(cx, key, h.lang.as_deref()),
        allow_hosts,
        allow_private: h.allow_private,
        user_agent,
        max_concurrency,
        min_delay: h.min_delay.unwrap_or(DEFAULT_MIN_DELAY),
        refresh: h.refresh,
        extract: h.extract.map(|e| std::sync::Arc::new(extract_rules(cx, key, e))),
    })
}

fn sink_table(cx: &mut Cx<'_>, key: &str, table: Option<String>) -> String {
    let table = table.unwrap_or_else(|| crate::sinks::sql::DEFAULT_TABLE.to_string());
    if !crate::sinks::sql::valid_table(&table) {
        cx.error(
            &format!("{key}.table"),
            format!("{table:?} must be a lowercase identifier (a-z, 0-9, _)"),
        );
    }
    table
}

/// Replaces every `${NAME}` with the environment variable NAME; a missing one is an error at `key`
/// (which names the variable, never its value).
fn expand_env(cx: &mut Cx<'_>, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            cx.error(
                key,
                "unclosed `${` (write ${NAME} to read the environment variable NAME)",
            );
            return value.to_string();
        };
        let name = &after[..end];
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => out.push_str(&v),
            _ => cx.error(key, format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn check_id(cx: &mut Cx<'_>, key: &str, id: &str) {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        cx.error(
            key,
            format!("name {id:?} must be 1 to 64 characters of a-z, 0-9, '_' or '-'"),
        );
    }
}
