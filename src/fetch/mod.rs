//! HTTP fetching, shared by every HTTP source: one client, politeness, safety and retries.
//!
//! A fetch is: check the address policy and robots.txt → wait for the host (slot, spacing, pause)
//! and a global slot → send with timeouts → follow redirects by hand (each hop checked like the
//! first) → read the body up to the cap, counted after decompression → retry transient failures
//! with jittered exponential backoff or the server's Retry-After, within a per-URL budget.
//!
//! Invariants: no request leaves without a host `Visit` and a global permit; no body grows past
//! `max_body_bytes`; no address `guard` refuses is connected to unless the source allows private
//! addresses; a fetch never runs longer than `retries + 1` times its timeout plus its waits.
//! Fetching decodes nothing: bytes and the declared charset go to the scrape stage.

pub mod guard;
pub mod hosts;
pub mod robots;
pub mod urls;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::FetchSettings;
use crate::kinds::FailureKind;
use hosts::{Hosts, Limits};
use robots::{RobotsCache, Rules};
use urls::Scope;

/// Why a URL could not be fetched. `kind()` names it for counters and logs.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Robots(String),
    #[error("redirect to {0} leaves the source's hosts (add the host to allow_hosts to follow it)")]
    OffSite(String),
    #[error("redirect loop: {0} was already visited")]
    RedirectLoop(String),
    #[error("more than {0} redirects (fetch.max_redirects)")]
    TooManyRedirects(usize),
    #[error("redirect without a usable Location header")]
    BadRedirect,
    #[error("body over the {0} byte cap (fetch.max_body_bytes)")]
    TooLarge(u64),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    #[error("unexpected content type {0:?}")]
    ContentType(String),
    #[error("reading the body failed: {0}")]
    Body(String),
    #[error("the server asks to wait {0:?}, longer than fetch.max_retry_after")]
    WaitTooLong(Duration),
    #[error("shutting down")]
    Cancelled,
}

impl FetchError {
    pub fn kind(&self) -> FailureKind {
        match self {
            FetchError::Refused(_) => FailureKind::RefusedAddress,
            FetchError::Robots(_) => FailureKind::Robots,
            FetchError::OffSite(_) => FailureKind::OffSite,
            FetchError::RedirectLoop(_) => FailureKind::RedirectLoop,
            FetchError::TooManyRedirects(_) => FailureKind::TooManyRedirects,
            FetchError::BadRedirect => FailureKind::BadRedirect,
            FetchError::TooLarge(_) => FailureKind::TooLarge,
            FetchError::Timeout(_) => FailureKind::Timeout,
            FetchError::Connect(_) => FailureKind::Connect,
            FetchError::Status { status: 429, .. } => FailureKind::Http429,
            FetchError::Status { status, .. } if *status >= 500 => FailureKind::Http5xx,
            FetchError::Status { .. } => FailureKind::Http4xx,
            FetchError::ContentType(_) => FailureKind::ContentType,
            FetchError::Body(_) => FailureKind::Body,
            FetchError::WaitTooLong(_) => FailureKind::RetryAfter,
            FetchError::Cancelled => FailureKind::Cancelled,
        }
    }

    /// The same error with `what` named in its message.
    pub fn context(self, what: &str) -> FetchError {
        match self {
            FetchError::Refused(s) => FetchError::Refused(format!("{what}: {s}")),
            FetchError::Timeout(s) => FetchError::Timeout(format!("{what}: {s}")),
            FetchError::Connect(s) => FetchError::Connect(format!("{what}: {s}")),
            FetchError::Body(s) => FetchError::Body(format!("{what}: {s}")),
            other => other,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout(_) | FetchError::Connect(_) | FetchError::Body(_) => true,
            FetchError::Status { status, .. } => matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }
}

/// What a source wants from the fetch of one URL.
#[derive(Clone, Debug)]
pub struct Policy {
    pub user_agent: Arc<str>,
    pub allow_private: bool,
    /// Hosts (`host:port`) of the URLs the operator configured: fetched wherever they resolve,
    /// since the config is trusted. Everything found in pages must pass the address policy.
    pub trusted: Arc<HashSet<String>>,
    pub limits: Limits,
    /// Where redirects may lead.
    pub scope: Arc<Scope>,
}

impl Policy {
    /// Whether `url` may resolve to a non-public address.
    fn private_ok(&self, url: &Url) -> bool {
        self.allow_private || self.trusted.contains(&host_key(url))
    }
}

/// What kind of document a request expects, which decides the content types accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// An article or listing page: HTML (or XHTML, or plain text).
    Page,
    /// A feed or sitemap: XML, JSON or gzip.
    Document,
}

/// ETag and Last-Modified as a server sent them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A successful response.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Where the body came from, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    /// The `charset` parameter of Content-Type, if any.
    pub charset: Option<String>,
    pub body: Vec<u8>,
    pub validators: Validators,
    pub status: u16,
    /// The URLs redirected from, the requested one first; empty without redirects.
    pub redirects: Vec<Url>,
    /// Requests made for it (retries included).
    pub attempts: u32,
    /// Time spent waiting on politeness, the global limit and retry backoff.
    pub waited: Duration,
}

impl Fetched {
    /// What the decision log keeps of this fetch of `requested`, listed by `listed_by`.
    pub fn trail(&self, requested: &Url, listed_by: Option<&str>) -> crate::model::FetchTrail {
        crate::model::FetchTrail {
            listed_by: listed_by.map(str::to_string),
            requested: requested.to_string(),
            status: self.status,
            redirects: self.redirects.iter().map(Url::to_string).collect(),
            content_type: self.content_type.clone(),
            etag: self.validators.etag.clone(),
            last_modified: self.validators.last_modified.clone(),
            attempts: self.attempts,
            waited_ms: self.waited.as_millis().min(u64::MAX as u128) as u64,
        }
    }

    /// How the scrape stage should read the body: plain text when the server says so, else HTML.
    pub fn format(&self) -> crate::model::PageFormat {
        let text = self
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("text/plain"));
        if text {
            crate::model::PageFormat::Text
        } else {
            crate::model::PageFormat::Html
        }
    }
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Fetched(Box<Fetched>),
    /// 304: what we have is current.
    NotModified,
}

/// The shared fetcher: one per process, used by every HTTP source.
pub struct Fetcher {
    settings: FetchSettings,
    /// Resolves only to public addresses.
    public: Client,
    /// For sources with `allow_private = true`.
    any: Client,
    global: Semaphore,
    hosts: Hosts,
    robots: RobotsCache,
    shutdown: CancellationToken,
}

impl Fetcher {
    pub fn new(settings: FetchSettings, shutdown: CancellationToken) -> anyhow::Result<Fetcher> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = || {
            Client::builder()
                .user_agent(settings.user_agent.as_str())
                .connect_timeout(settings.connect_timeout)
                .read_timeout(settings.read_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .pool_max_idle_per_host(4)
        };
        let public = builder().dns_resolver(guard::PublicOnly).build()?;
        let any = builder().build()?;
        Ok(Fetcher {
            global: Semaphore::new(settings.max_concurrency.max(1)),
            settings,
            public,
            any,
            hosts: Hosts::default(),
            robots: RobotsCache::default(),
            shutdown,
        })
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// A source starts: the hosts it was configured with take its limits (see `hosts::Hosts`).
    pub fn apply_limits(&self, policy: &Policy) {
        for host in policy.trusted.iter() {
            self.hosts.apply(host, policy.limits);
        }
    }

    /// Fetches `url`, retrying transient failures within the budget.
    pub async fn fetch(
        &self,
        policy: &Policy,
        url: &Url,
        validators: Option<&Validators>,
        expect: Expect,
    ) -> Result<Outcome, FetchError> {
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let result = self.follow(policy, url, validators, expect, &mut waited).await;
            let err = match result {
                Ok(Outcome::Fetched(mut f)) => {
                    f.attempts = attempt + 1;
                    f.waited = waited;
                    return Ok(Outcome::Fetched(f));
                }
                Ok(o) => return Ok(o),
                Err(e) if !e.is_transient() || attempt >= self.settings.retries => return Err(e),
                Err(e) => e,
            };
            attempt += 1;
            let wait = match &err {
                FetchError::Status {
                    retry_after: Some(d), ..
                } => *d,
                _ => backoff(self.settings.backoff, attempt),
            };
            if wait > self.settings.max_retry_after {
                return Err(FetchError::WaitTooLong(wait));
            }
            tracing::debug!(stage = "fetch", url = %url, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
            tokio::select! {
                _ = self.shutdown.cancelled() => return Err(FetchError::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
            waited += wait;
        }
    }

    /// One attempt: the request and its redirects. Adds the time it waited for its turns to
    /// `waited`.
    async fn follow(
        &self,
        policy: &Policy,
        start: &Url,
        validators: Option<&Validators>,
        expect: Expect,
        waited: &mut Duration,
    ) -> Result<Outcome, FetchError> {
        let mut url = start.clone();
        let mut visited: HashSet<String> = HashSet::new();
        let mut hops: Vec<Url> = Vec::new();
        for _hop in 0..=self.settings.max_redirects {
            visited.insert(url.to_string());
            self.check_address(policy, &url)?;
            if self.settings.robots {
                self.rules(policy, &url).await.check(url.as_str())?;
            }
            let mut headers = HeaderMap::new();
            if let Some(v) = validators {
                if let Some(etag) = v.etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
                    headers.insert(header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = v.last_modified.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
                    headers.insert(header::IF_MODIFIED_SINCE, lm);
                }
            }
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_static(match expect {
                    Expect::Page => "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5,*/*;q=0.1",
                    Expect::Document => {
                        "application/rss+xml,application/atom+xml,application/feed+json,application/xml,text/xml;q=0.9,*/*;q=0.5"
                    }
                }),
            );
            let response = self.exchange(policy, &url, headers, expect, None, waited).await?;
            match response {
                Exchange::Redirect(location) => {
                    let next = location
                        .as_deref()
                        .and_then(|l| urls::resolve(Some(&url), l))
                        .ok_or(FetchError::BadRedirect)?;
                    if visited.contains(next.as_str()) {
                        return Err(FetchError::RedirectLoop(next.to_string()));
                    }
                    if !policy.scope.allows(&next) {
                        return Err(FetchError::OffSite(next.to_string()));
                    }
                    hops.push(std::mem::replace(&mut url, next));
                }
                Exchange::NotModified => return Ok(Outcome::NotModified),
                Exchange::Body(mut f) => {
                    f.url = url;
                    f.redirects = hops;
                    return Ok(Outcome::Fetched(f));
                }
            }
        }
        Err(FetchError::TooManyRedirects(self.settings.max_redirects))
    }

    /// IP literals are checked here; names are checked by the resolver after lookup.
    fn check_address(&self, policy: &Policy, url: &Url) -> Result<(), FetchError> {
        if policy.private_ok(url) {
            return Ok(());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if guard::is_public(ip) {
            Ok(())
        } else {
            Err(FetchError::Refused(format!(
                "{ip} is not a public address; set allow_private = true on the source to fetch it"
            )))
        }
    }

    /// The robots.txt rules for `url`'s origin, fetched on first use and cached.
    async fn rules(&self, policy: &Policy, url: &Url) -> Rules {
        let origin = url.origin().ascii_serialization();
        let agent = robots::agent_token(&policy.user_agent);
        if let Some(r) = self.robots.get(&origin, agent) {
            return r;
        }
        let Ok(robots_url) = url.join("/robots.txt") else {
            return Rules::AllowAll;
        };
        let rules = self.fetch_robots(policy, robots_url, agent).await;
        if let Some(delay) = rules.crawl_delay() {
            self.hosts.slow_down(&host_key(url), policy.limits, delay);
        }
        self.robots.put(&origin, agent, rules.clone());
        rules
    }

    async fn fetch_robots(&self, policy: &Policy, start: Url, agent: &str) -> Rules {
        let mut url = start;
        // RFC 9309: follow at least five redirects.
        for _ in 0..5 {
            if let Err(e) = self.check_address(policy, &url) {
                return Rules::Unavailable(e);
            }
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static("text/plain,*/*;q=0.5"));
            let cap = robots::MAX_ROBOTS_BYTES;
            let mut waited = Duration::ZERO;
            match self
                .exchange(policy, &url, headers, Expect::Document, Some(cap), &mut waited)
                .await
            {
                Ok(Exchange::Body(f)) => return Rules::parse(agent, &f.body),
                Ok(Exchange::NotModified) => return Rules::AllowAll,
                Ok(Exchange::Redirect(loc)) => match loc.as_deref().and_then(|l| urls::resolve(Some(&url), l)) {
                    Some(next) => url = next,
                    None => return Rules::AllowAll,
                },
                Err(FetchError::Status { status, .. }) if (400..500).contains(&status) && status != 429 => {
                    return Rules::AllowAll;
                }
                // An oversized robots.txt is cut to its first 500 KiB, which `exchange` read.
                Err(e) => return Rules::Unavailable(e),
            }
        }
        Rules::AllowAll
    }

    /// One request and its response, under the host's and the global limits. `truncate_at` reads
    /// a body up to that size and keeps the prefix instead of failing.
    async fn exchange(
        &self,
        policy: &Policy,
        url: &Url,
        headers: HeaderMap,
        expect: Expect,
        truncate_at: Option<u64>,
        waited: &mut Duration,
    ) -> Result<Exchange, FetchError> {
        let host = host_key(url);
        let asked = tokio::time::Instant::now();
        let visit = tokio::select! {
            _ = self.shutdown.cancelled() => return Err(FetchError::Cancelled),
            v = self.hosts.visit(&host, policy.limits) => v,
        };
        let _permit = match self.global.try_acquire() {
            Ok(p) => p,
            Err(_) => {
                let p = tokio::select! {
                    _ = self.shutdown.cancelled() => return Err(FetchError::Cancelled),
                    p = self.global.acquire() => p.map_err(|_| FetchError::Cancelled)?,
                };
                // Time passed while waiting: keep the host's spacing measured from the request.
                visit.respace().await;
                p
            }
        };
        *waited += asked.elapsed();
        let private_ok = policy.private_ok(url);
        let client = if private_ok { &self.any } else { &self.public };
        let request = client
            .get(url.clone())
            .headers(headers)
            .header(header::USER_AGENT, &*policy.user_agent)
            .timeout(self.settings.timeout);
        let mut response = tokio::select! {
            _ = self.shutdown.cancelled() => return Err(FetchError::Cancelled),
            r = request.send() => r.map_err(classify)?,
        };
        if let Some(addr) = response.remote_addr()
            && !guard::allowed(addr.ip(), private_ok)
        {
            return Err(FetchError::Refused(format!(
                "connected to {}, which is not a public address",
                addr.ip()
            )));
        }
        let status = response.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            return Ok(Exchange::Redirect(location));
        }
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Exchange::NotModified);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            if let Some(wait) = retry_after
                && matches!(status.as_u16(), 429 | 503)
            {
                self.hosts.pause(
                    &host,
                    policy.limits,
                    tokio::time::Instant::now() + wait.min(self.settings.max_retry_after),
                );
            }
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Some(ct) = &content_type
            && !acceptable(ct, expect)
        {
            return Err(FetchError::ContentType(ct.clone()));
        }
        let cap = truncate_at.unwrap_or(self.settings.max_body_bytes);
        if truncate_at.is_none()
            && let Some(len) = response.content_length()
            && len > cap
            && response.headers().get(header::CONTENT_ENCODING).is_none()
        {
            return Err(FetchError::TooLarge(cap));
        }
        let validators = Validators {
            etag: header_string(response.headers(), header::ETAG),
            last_modified: header_string(response.headers(), header::LAST_MODIFIED),
        };
        let mut body = Vec::new();
        loop {
            let chunk = tokio::select! {
                _ = self.shutdown.cancelled() => return Err(FetchError::Cancelled),
                c = response.chunk() => c.map_err(classify)?,
            };
            let Some(chunk) = chunk else { break };
            if (body.len() + chunk.len()) as u64 > cap {
                if truncate_at.is_some() {
                    body.extend_from_slice(&chunk[..(cap as usize - body.len())]);
                    break;
                }
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        let charset = content_type.as_deref().and_then(charset_param);
        Ok(Exchange::Body(Box::new(Fetched {
            url: url.clone(),
            content_type,
            charset,
            body,
            validators,
            status: status.as_u16(),
            redirects: Vec::new(),
            attempts: 1,
            waited: Duration::ZERO,
        })))
    }
}

enum Exchange {
    Redirect(Option<String>),
    NotModified,
    Body(Box<Fetched>),
}

/// Politeness is per host and port: `127.0.0.2:8080` and `127.0.0.2:8081` are different servers.
pub fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

fn header_string(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Jittered exponential backoff: `base · 2^(attempt-1)`, ±50%, at most five minutes.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(Duration::from_secs(300));
    capped.mul_f64(0.5 + fastrand::f64())
}

/// Retry-After as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The `charset` parameter of a Content-Type value.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|s| !s.is_empty())
    })
}

/// Whether a response's media type can be what was asked for. Unknown text types pass; media
/// that is never an article or a feed (images, audio, video, fonts, PDFs) does not.
fn acceptable(content_type: &str, expect: Expect) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (top, sub) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
    match expect {
        Expect::Page => {
            matches!(top, "text" | "")
                || sub.contains("html")
                || sub.contains("xml")
                || mime == "application/octet-stream"
        }
        Expect::Document => !matches!(top, "image" | "audio" | "video" | "font" | "model") && mime != "application/pdf",
    }
}

/// Maps a reqwest error to what it means for us, finding our own refusals in the source chain.
fn classify(e: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    let mut chain = Vec::new();
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<guard::Refused>() {
            return FetchError::Refused(r.0.clone());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    let detail = chain.last().cloned().unwrap_or_else(|| e.to_string());
    if e.is_timeout() {
        FetchError::Timeout(detail)
    } else if e.is_connect() {
        FetchError::Connect(detail)
    } else if e.is_body() || e.is_decode() {
        FetchError::Body(detail)
    } else {
        FetchError::Connect(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_as_seconds_or_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
        let d = parse_retry_after(&later).unwrap();
        assert!(d > Duration::from_secs(3500) && d <= Duration::from_secs(3600), "{d:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_ceiling() {
        let base = Duration::from_secs(1);
        for attempt in 1..6 {
            let d = backoff(base, attempt);
            let nominal = base * (1 << (attempt - 1));
            assert!(d >= nominal / 2 && d <= nominal * 3 / 2, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(base, 40) <= Duration::from_secs(450));
    }

    #[test]
    fn content_types_and_charsets() {
        assert!(acceptable("text/html; charset=windows-1258", Expect::Page));
        assert!(acceptable("application/xhtml+xml", Expect::Page));
        assert!(!acceptable("image/jpeg", Expect::Page));
        assert!(!acceptable("application/pdf", Expect::Document));
        assert!(acceptable("application/x-gzip", Expect::Document));
        assert!(acceptable("application/rss+xml", Expect::Document));
        assert_eq!(charset_param("text/html; Charset=\"UTF-8\""), Some("UTF-8".into()));
        assert_eq!(charset_param("text/html"), None);
    }

    #[test]
    fn transient_errors_are_the_ones_worth_retrying() {
        assert!(FetchError::Timeout("x".into()).is_transient());
        assert!(
            FetchError::Status {
                status: 503,
                retry_after: None
            }
            .is_transient()
        );
        assert!(
            FetchError::Status {
                status: 429,
                retry_after: None
            }
            .is_transient()
        );
        assert!(
            !FetchError::Status {
                status: 404,
                retry_after: None
            }
            .is_transient()
        );
        assert!(!FetchError::TooLarge(1).is_transient());
        assert!(!FetchError::RedirectLoop("u".into()).is_transient());
        assert_eq!(
            FetchError::Status {
                status: 502,
                retry_after: None
            }
            .kind(),
            crate::kinds::FailureKind::Http5xx
        );
    }
}
